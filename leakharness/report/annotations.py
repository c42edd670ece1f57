"""GitHub Actions annotations: one ``::error file=PATH,line=N::MESSAGE`` per leak.

The file and line are the first project line the report names, relative to
the repository (``GITHUB_WORKSPACE``, else the working directory), so the
leak shows on the pull request's diff. A leak the baseline holds is a
``::warning``. Escaping follows the workflow-command format: ``%``, CR and LF
in the message; those and ``:`` and ``,`` in property values.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping

from leakharness.report.model import Report, TestReport
from leakharness.report.sites import one_line, project_site, relative_path


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def wanted(choice: str | None, environ: Mapping[str, str]) -> bool:
    """``--annotations github``, or none given and running in GitHub Actions."""
    if choice is not None:
        return choice == "github"
    return environ.get("GITHUB_ACTIONS") == "true"


def annotation(test: TestReport, root: str, known: bool = False) -> str:
    level = "warning" if known else "error"
    properties = {"title": f"{'known leak' if known else 'leak'} in {test.id}"}
    site = project_site(test, root)
    if site is not None:
        properties = {"file": relative_path(site, root), "line": str(site.line), **properties}
    fields = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{level} {fields}::{escape_data(one_line(test, root))}"


def github_annotations(
    report: Report, known: Collection[str] = (), environ: Mapping[str, str] = os.environ
) -> Iterator[str]:
    root = environ.get("GITHUB_WORKSPACE") or os.getcwd()
    for test in report.tests:
        if test.leaked:
            yield annotation(test, root, test.id in known)
