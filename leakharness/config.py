"""Run settings: one frozen, validated value, with defaults from pyproject.toml."""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from leakharness.errors import LeakHarnessError
from leakharness.judge.tolerance import Tolerance
from leakharness.resources import Resource
from leakharness.units import is_real

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def _all_resources() -> tuple[Resource, ...]:
    return tuple(r for r in Resource if r.in_process)


@dataclass(frozen=True)
class Settings:
    """How a cycle is repeated and judged.

    ``min_cycles``..``max_cycles`` bound the detection phase, which stops as
    soon as every resource has a clear verdict or ``time_budget`` seconds
    have passed; ``run_budget`` bounds a whole command-line run.
    ``tolerances`` maps a resource to the growth still accepted (a number per
    cycle in the resource's unit, ``"2%"`` over the run, or both);
    ``warn_tolerances`` flags accepted growth above a lower level. Allocations
    charged to files matching an ``ignore`` glob are not shown and confirm nothing.
    ``memory_profile`` adds memory-profiler's line-by-line process memory of
    the cycle to the report of a native leak. ``holder_graph`` draws the chain
    that holds a leaked object with graphviz, while the object is alive.
    """

    warmup: int = 2
    min_cycles: int = 10
    max_cycles: int = 400
    time_budget: float = 20.0
    locate_cycles: int = 12  # two halves of 6: each sees a leak that strikes once every 5 cycles
    top_lines: int = 10
    traceback_depth: int = 5
    resources: tuple[Resource, ...] = field(default_factory=_all_resources)
    tolerances: Mapping[Resource, Tolerance] = field(default_factory=dict)
    warn_tolerances: Mapping[Resource, Tolerance] = field(default_factory=dict)
    run_budget: float | None = None
    ignore: tuple[str, ...] = ()
    memory_profile: bool = False
    holder_graph: bool = False

    def __post_init__(self) -> None:
        _at_least("warmup", self.warmup, 0)
        _at_least("min_cycles", self.min_cycles, 1)
        _at_least("max_cycles", self.max_cycles, self.min_cycles, "min_cycles")
        _at_least("locate_cycles", self.locate_cycles, 2)
        _at_least("top_lines", self.top_lines, 0)
        _at_least("traceback_depth", self.traceback_depth, 1)
        _seconds("time_budget", self.time_budget)
        if self.run_budget is not None:
            _seconds("run_budget", self.run_budget)
        object.__setattr__(self, "resources", _resources(self.resources))
        object.__setattr__(self, "tolerances", _tolerances(self.tolerances))
        object.__setattr__(self, "warn_tolerances", _tolerances(self.warn_tolerances, "warn_tolerances"))
        object.__setattr__(self, "ignore", _patterns(self.ignore))
        for resource in self.warn_tolerances:
            if resource not in self.tolerances:
                raise LeakHarnessError(
                    f"a warning level for {resource.value} needs a tolerance for it too: "
                    "it marks growth the tolerance accepts"
                )
        for name in ("memory_profile", "holder_graph"):
            if not isinstance(getattr(self, name), bool):
                raise LeakHarnessError(f"{name} must be true or false (got {getattr(self, name)!r})")

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied; unknown names raise LeakHarnessError."""
        unknown = sorted(set(changes) - FIELD_NAMES)
        if unknown:
            raise LeakHarnessError(
                f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(FIELD_NAMES))})"
            )
        return dataclasses.replace(self, **changes)

    def split(self, options: Mapping[str, Any]) -> tuple[Settings, dict[str, Any]]:
        """Apply the keywords of ``options`` that name fields; return the others
        (a cycle's own arguments) as they are."""
        mine = {k: v for k, v in options.items() if k in FIELD_NAMES}
        rest = {k: v for k, v in options.items() if k not in FIELD_NAMES}
        return (self.replace(**mine) if mine else self), rest

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by field values, read-only mappings as plain dicts (for worker processes)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        plain = {k: dict(v) if isinstance(v, Mapping) else v for k, v in values.items()}
        return (_settings_from, (plain,))

    def tolerance(self, resource: Resource) -> Tolerance | None:
        return self.tolerances.get(resource)

    def warn_tolerance(self, resource: Resource) -> Tolerance | None:
        return self.warn_tolerances.get(resource)

    def to_dict(self) -> dict[str, Any]:
        """Every field, in JSON's types (resources by name, tolerances as tables)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_pyproject(cls, path: Path, *, required: bool = False) -> Settings:
        """Settings from the ``[tool.leakharness]`` table of ``path``; the
        defaults when it has none, unless the table is ``required``."""
        return read_pyproject(path, required=required).settings


def _settings_from(values: dict[str, Any]) -> Settings:
    return Settings(**values)


FIELD_NAMES = frozenset(f.name for f in fields(Settings))


def require_settings(value: object, name: str = "settings") -> Settings:
    """``value`` if it is a Settings; otherwise a one-line error that says what to pass."""
    if not isinstance(value, Settings):
        raise LeakHarnessError(
            f"{name} must be a leakharness.Settings (got {value!r}); "
            "single fields can be given as keywords, such as max_cycles=100"
        )
    return value


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` with a [tool.leakharness]
    table. One that is not valid TOML is skipped, unless it names leakharness."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            if _table(candidate) is not None:
                return candidate
        except LeakHarnessError:
            if b"leakharness" in candidate.read_bytes():
                raise
    return None


@dataclass(frozen=True)
class SettingsFile:
    """Settings as a file gave them: ``path`` (None: no file, the built-in
    defaults) and the fields its table ``named``."""

    settings: Settings
    path: Path | None = None
    named: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"<SettingsFile {self.path} named={sorted(self.named)}>"


def read_pyproject(path: Path, *, required: bool = False) -> SettingsFile:
    """``Settings.from_pyproject``, with the fields the table set."""
    table = _table(path)
    if table is None:
        if required:
            raise LeakHarnessError(f"{path}: no [tool.leakharness] table")
        return SettingsFile(Settings(), path)
    keys: dict[str, str] = {}
    for key in table:
        name = key.replace("-", "_")
        if name in keys:
            raise LeakHarnessError(f"{path} [tool.leakharness]: {keys[name]!r} and {key!r} name one setting")
        keys[name] = key
    try:
        settings = Settings().replace(**{name: table[key] for name, key in keys.items()})
    except LeakHarnessError as err:
        raise LeakHarnessError(f"{path} [tool.leakharness]: {err}") from err
    return SettingsFile(settings, path, frozenset(keys))


def command_line_settings(config: Path | None, start: Path) -> SettingsFile:
    """A command line's defaults: ``[tool.leakharness]`` of ``config`` (the file
    ``--config`` names: it must exist and have the table), else of the nearest
    pyproject.toml at or above ``start`` that has one, else the built-in ones."""
    if config is not None and not config.is_file():
        raise LeakHarnessError(f"--config {config}: no such file")
    path = config if config is not None else find_pyproject(start)
    if path is None:
        return SettingsFile(Settings())
    return read_pyproject(path, required=config is not None)


def _table(path: Path) -> dict[str, Any] | None:
    """The ``[tool.leakharness]`` table of a TOML file, None when it has none;
    an unreadable file, text that is not UTF-8 or invalid TOML raise
    LeakHarnessError naming the file (and, for TOML, the line)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise LeakHarnessError(f"cannot read settings from {path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise LeakHarnessError(
            f"cannot read settings from {path}: not UTF-8 text (byte {err.start})"
        ) from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LeakHarnessError(f"cannot read settings from {path}: invalid TOML: {err}") from err
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise LeakHarnessError(f"{path}: [tool] must be a table")
    table = tool.get("leakharness")
    if table is not None and not isinstance(table, dict):
        raise LeakHarnessError(f"{path}: [tool.leakharness] must be a table")
    return table


def _at_least(name: str, value: object, low: int, low_name: str | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LeakHarnessError(f"{name} must be an integer (got {value!r})")
    if value < low:
        bound = f"{low_name} ({low})" if low_name else str(low)
        raise LeakHarnessError(f"{name} must be >= {bound} (got {value})")


def _plain(value: object) -> object:
    """A field's value in JSON's types."""
    if isinstance(value, Resource):
        return value.value
    if isinstance(value, Tolerance):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _resources(value: Iterable[Resource | str]) -> tuple[Resource, ...]:
    if isinstance(value, (str, Resource)):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(r, (str, Resource)) for r in value):
        raise LeakHarnessError(f"resources must be a list of resource names (got {value!r})")
    try:
        chosen = tuple(r if isinstance(r, Resource) else Resource.parse(r) for r in value)
    except ValueError as err:
        raise LeakHarnessError(str(err)) from err
    if not chosen:
        raise LeakHarnessError("resources must name at least one resource (got none)")
    return tuple(dict.fromkeys(chosen))


def _seconds(name: str, value: object) -> None:
    if not is_real(value) or not 0 < value < math.inf:  # type: ignore[operator]
        raise LeakHarnessError(f"{name} must be > 0 seconds (got {value!r})")


def _patterns(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(p, str) for p in value):
        raise LeakHarnessError(f"ignore must be a list of file globs (got {value!r})")
    return tuple(value)


def _tolerances(value: object, name: str = "tolerances") -> Mapping[Resource, Tolerance]:
    if not isinstance(value, Mapping):
        raise LeakHarnessError(f"{name} must map resource names to tolerances (got {value!r})")
    parsed: dict[Resource, Tolerance] = {}
    for key, amount in value.items():
        try:
            resource = key if isinstance(key, Resource) else Resource.parse(str(key))
        except ValueError as err:
            raise LeakHarnessError(f"{name}: {err}") from err
        try:
            parsed[resource] = Tolerance.parse(amount)
        except LeakHarnessError as err:
            raise LeakHarnessError(f"{name} for {resource.value}: {err}") from err
    return MappingProxyType(parsed)
