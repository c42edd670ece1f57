#!/usr/bin/env python3
"""Score leakharness on real leaks in published packages.

Each case in ``scripts/real_leaks/cases.toml`` names a package, a leaky and a
fixed release, a kind (refcount, native, rust, cache, fd, thread) and a
unittest file whose user line, the test's call into the library, ends in
``# LEAK``. For each (package, release) the script makes a virtual
environment holding that release and leakharness's own requirements (read
from the checkout's ``setup.cfg``); leakharness itself comes from the
checkout through ``PYTHONPATH``, so one set of environments serves any
worktree. Then it runs ``python -m leakharness FILE --json OUT -q`` from the
cases folder, with ``--config`` naming an empty ``[tool.leakharness]`` table,
so that no project settings apply.

Scoring (``score_run``), per run of one case on one release:

- verdict right: the leaky release's test is ``leak``, the fixed one's
  ``clean``.
- sites: the ranked lists of places the report gives for the test, each cut
  to its first three entries: ``lines``; the thread groups of
  ``diagnosis.threads`` (a group's place is its example's ``start_stack``);
  the descriptor groups of ``diagnosis.fds`` (its example's ``created``
  stack); and any other list of dicts with ``file`` and ``line`` found
  directly in the test or in its ``diagnosis`` (``memory_lines`` excepted:
  it lists every line of the test in source order, not a ranking).
- charged line of a site: a line's own ``file:line``; for a stack, the
  first frame whose ``origin`` is ``"project"`` when frames carry an
  ``origin``, else the first frame.
- user line in the top 3 (strict): the marked ``file:line`` is the charged
  line of one of those sites. Only the leaky release is scored.
- in the top-3 tracebacks (loose, reported apart): the marked line is the
  charged line, or any frame of the traceback or stack, of one of them.

Files are compared after resolving them against the cases folder.

Usage: python scripts/bench_real_leaks.py [--only a,b] [--json OUT]
       [--markdown OUT] [--reports DIR] [--keep] [--cache DIR] [--repo CHECKOUT]
"""

from __future__ import annotations

import argparse
import configparser
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

from benchlib import machine_line, text_table

CASES_DIR = Path(__file__).resolve().parent / "real_leaks"
REPO = Path(__file__).resolve().parent.parent
MARK = "# LEAK"
TOP = 3
SKIPPED_LISTS = {"memory_lines", "traceback", "resources", "types"}
RUN_TIMEOUT = 600

Json = dict[str, Any]


@dataclass(frozen=True)
class Case:
    name: str
    package: str
    leaky: str
    fixed: str
    kind: str
    file: str
    fix: str
    requires: tuple[str, ...] = ()


@dataclass
class Outcome:
    """One case on one release."""

    case: str
    release: str
    expected: str
    verdict: str
    right: bool
    strict: bool
    loose: bool
    rank: int | None
    top_site: str
    seconds: float
    reason: str


def load_cases(path: Path = CASES_DIR / "cases.toml") -> list[Case]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cases = []
    for item in data["case"]:
        item = dict(item)
        item["requires"] = tuple(item.get("requires", ()))
        cases.append(Case(**item))
    return cases


def marked_line(path: Path) -> tuple[str, int]:
    """The file and number of the single line ending in ``# LEAK``."""
    hits = [n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if MARK in text]
    if len(hits) != 1:
        raise SystemExit(f"{path}: expected one line marked {MARK!r}, found {len(hits)}")
    return str(path.resolve()), hits[0]


# --- scoring -----------------------------------------------------------------


def _place(frame: Json, base: Path) -> tuple[str, int]:
    file = Path(str(frame.get("file", "")))
    if not file.is_absolute():
        file = base / file
    return os.path.realpath(file), int(frame.get("line", 0))


def _charged(stack: list[Json]) -> Json | None:
    if not stack:
        return None
    if any("origin" in frame for frame in stack):
        return next((f for f in stack if f.get("origin") == "project"), stack[0])
    return stack[0]


def _is_site_list(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "file" in v and "line" in v for v in value)
    )


def sites(test: Json) -> list[tuple[str, int, Json, list[Json]]]:
    """(list name, rank in it, charged frame, whole stack) for the first three of each ranked list."""
    found: list[tuple[str, int, Json, list[Json]]] = []
    for rank, line in enumerate(test.get("lines", [])[:TOP], 1):
        found.append(("lines", rank, line, [line, *line.get("traceback", [])]))
    diagnosis = test.get("diagnosis", {})
    for group_list, stack_key in (("threads", "start_stack"), ("fds", "created")):
        for rank, group in enumerate(diagnosis.get(group_list, [])[:TOP], 1):
            stack = group.get("example", {}).get(stack_key, [])
            charged = _charged(stack)
            if charged is not None:
                found.append((group_list, rank, charged, stack))
    for owner in (test, diagnosis):
        for key, value in owner.items():
            if key in SKIPPED_LISTS or key == "lines" or not _is_site_list(value):
                continue
            for rank, site in enumerate(value[:TOP], 1):
                found.append((key, rank, site, [site, *site.get("traceback", site.get("stack", []))]))
    return found


def short_path(file: str) -> str:
    """A file as a reader knows it: from its package inside site-packages, else its name."""
    _, inside, rest = file.partition("site-packages/")
    return rest if inside else Path(file).name


def score_run(report: Json, marked: tuple[str, int], base: Path) -> tuple[str, bool, bool, int | None, str]:
    """Verdict, strict hit, loose hit, best rank (1-3) of a strict hit, and the first site, for one run.

    The report holds one test (one case file, one test method); ``marked`` is
    the realpath and number of the ``# LEAK`` line; relative files in the
    report are resolved against ``base``.
    """
    tests = report.get("tests", [])
    if not tests:
        return "missing", False, False, None, "-"
    listed = sites(tests[0])
    ranks = [rank for _, rank, charged, _ in listed if _place(charged, base) == marked]
    loose = any(_place(frame, base) == marked for _, _, _, stack in listed for frame in stack)
    first = "-"
    if listed:
        file, line = _place(listed[0][2], base)
        first = f"{listed[0][0]}: {short_path(file)}:{line}"
    return (
        str(tests[0].get("verdict", "missing")),
        bool(ranks),
        bool(ranks) or loose,
        min(ranks, default=None),
        first,
    )


# --- environments ------------------------------------------------------------


def harness_requirements(repo: Path) -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(repo / "setup.cfg", encoding="utf-8")
    raw = parser.get("options", "install_requires", fallback="")
    return [r.strip() for r in raw.splitlines() if r.strip()]


def env_key(package: str, version: str, extra: tuple[str, ...], harness: list[str]) -> str:
    digest = hashlib.sha1("\n".join([*extra, *harness]).encode()).hexdigest()[:8]
    return f"{package}-{version}-{digest}"


def build_env(folder: Path, requirements: list[str], python: str) -> str:
    """Make (or reuse) a venv in ``folder`` holding ``requirements``; return an error or ''.

    A lock file beside the folder keeps two runs sharing the cache from
    building the same environment at once.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / ".ready").exists():
            return ""
        shutil.rmtree(folder, ignore_errors=True)
        pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        steps = [[python, "-m", "venv", str(folder)], [*pip, *requirements]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode:
                return (done.stderr.strip().splitlines() or ["failed"])[-1]
        (folder / ".ready").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    return ""


# --- running -----------------------------------------------------------------


def expected_verdict(case: Case, release: str) -> str:
    return "leak" if release == case.leaky else "clean"


def failed(case: Case, release: str, message: str, seconds: float = 0.0) -> Outcome:
    return Outcome(
        case.name,
        release,
        expected_verdict(case, release),
        "error",
        False,
        False,
        False,
        None,
        "-",
        seconds,
        message,
    )


def run_case(case: Case, release: str, env: Path, repo: Path, work: Path) -> Outcome:
    expected = expected_verdict(case, release)
    out = work / f"{case.name}-{release}.json"
    config = work / "pyproject.toml"
    config.write_text("[tool.leakharness]\n", encoding="utf-8")
    cmd = [str(env / "bin" / "python"), "-m", "leakharness", case.file, "--json", str(out), "-q"]
    cmd += ["--config", str(config)]
    environ = {**os.environ, "PYTHONPATH": str(repo), "NO_COLOR": "1"}
    start = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=CASES_DIR, env=environ, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        failure = "" if out.exists() else (done.stderr.strip().splitlines() or ["no report"])[-1]
    except subprocess.TimeoutExpired:
        failure = f"timed out after {RUN_TIMEOUT} s"
    seconds = time.perf_counter() - start
    if failure:
        return Outcome(
            case.name, release, expected, "error", False, False, False, None, "-", seconds, failure
        )
    report = json.loads(out.read_text(encoding="utf-8"))
    marked = marked_line(CASES_DIR / case.file)
    verdict, strict, loose, rank, first = score_run(report, marked, CASES_DIR)
    reason = report["tests"][0].get("reason", "") if report.get("tests") else ""
    leaky = release == case.leaky
    return Outcome(
        case.name,
        release,
        expected,
        verdict,
        verdict == expected,
        strict and leaky,
        loose and leaky,
        rank if leaky else None,
        first,
        seconds,
        reason,
    )


def summary_line(outcomes: list[Outcome]) -> str:
    right = sum(o.right for o in outcomes)
    leaky = [o for o in outcomes if o.expected == "leak"]
    strict = sum(o.strict for o in leaky)
    loose = sum(o.loose for o in leaky)
    return (
        f"verdicts {right}/{len(outcomes)}, user line in the top 3: {strict}/{len(leaky)}"
        f" (looser, anywhere in the top-3 sites' tracebacks: {loose}/{len(leaky)})"
    )


def table_rows(outcomes: list[Outcome], cases: dict[str, Case]) -> list[list[str]]:
    rows = []
    by_case: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_case.setdefault(o.case, []).append(o)
    for name, runs in by_case.items():
        case = cases[name]
        leaky = next((o for o in runs if o.expected == "leak"), None)
        fixed = next((o for o in runs if o.expected == "clean"), None)
        rows.append(
            [
                name,
                case.kind,
                f"{case.package} {case.leaky}",
                _verdict_cell(leaky),
                f"{case.fixed}",
                _verdict_cell(fixed),
                _hit_cell(leaky),
                "yes" if leaky and leaky.loose else "no",
                leaky.top_site if leaky else "-",
            ]
        )
    return rows


def _verdict_cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return "-"
    return outcome.verdict + ("" if outcome.right else " (wrong)")


def _hit_cell(outcome: Outcome | None) -> str:
    if outcome is None or not outcome.strict:
        return "no"
    return f"yes (#{outcome.rank})"


HEADER = [
    "case",
    "kind",
    "leaky",
    "verdict",
    "fixed",
    "verdict",
    "user line top 3",
    "in tracebacks",
    "first site",
]


def markdown(rows: list[list[str]], summary: str, command: str) -> str:
    lines = [machine_line(command), "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join([*lines, "", summary, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--json", type=Path, help="write the per-run results as JSON")
    parser.add_argument("--markdown", type=Path, help="write the table as Markdown")
    parser.add_argument("--reports", type=Path, help="keep each run's leakharness JSON report in this folder")
    parser.add_argument("--keep", action="store_true", help="keep the environments in --cache for reruns")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "leakharness-real-leaks",
        help="where --keep stores the environments",
    )
    parser.add_argument("--repo", type=Path, default=REPO, help="the leakharness checkout to score")
    parser.add_argument("--python", default=sys.executable, help="interpreter the environments are made from")
    args = parser.parse_args(argv)

    cases = load_cases()
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {c.name for c in cases}
        if unknown:
            parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
        cases = [c for c in cases if c.name in wanted]
    repo = args.repo.resolve()
    harness = harness_requirements(repo)
    work = Path(tempfile.mkdtemp(prefix="leakharness-real-leaks-"))
    envs_root = args.cache if args.keep else work / "envs"
    envs_root.mkdir(parents=True, exist_ok=True)

    jobs = {}
    for case in cases:
        for release in (case.leaky, case.fixed):
            key = env_key(case.package, release, case.requires, harness)
            jobs[(case.name, release)] = (
                envs_root / key,
                [f"{case.package}=={release}", *case.requires, *harness],
            )
    unique = {folder: reqs for folder, reqs in jobs.values()}
    print(f"{len(unique)} environments in {envs_root} (2 built at a time)", flush=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        errors = dict(
            zip(unique, pool.map(lambda f: build_env(f, unique[f], args.python), unique), strict=True)
        )

    outcomes = []
    for case in cases:
        for release in (case.leaky, case.fixed):
            folder = jobs[(case.name, release)][0]
            if errors[folder]:
                outcomes.append(failed(case, release, errors[folder]))
            else:
                outcomes.append(run_case(case, release, folder, repo, work))
            o = outcomes[-1]
            print(f"  {case.name} {release}: {o.verdict} ({o.seconds:.0f} s) {o.top_site}", flush=True)

    rows = table_rows(outcomes, {c.name: c for c in cases})
    summary = summary_line(outcomes)
    print()
    print(text_table(HEADER, rows))
    print()
    print(summary)
    command = "python scripts/bench_real_leaks.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.markdown:
        args.markdown.write_text(markdown(rows, summary, command.strip()), encoding="utf-8")
    if args.json:
        results = {"summary": summary, "runs": [asdict(o) for o in outcomes]}
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.reports:
        args.reports.mkdir(parents=True, exist_ok=True)
        for report in work.glob("*.json"):
            shutil.copy(report, args.reports / report.name)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
