"""Turn command-line targets into unittest tests.

A target is a folder (tests discovered from ``test*.py``), a ``.py`` file, a
dotted module, or a unittest id such as ``module.Class.test_x``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
import unittest
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from leakharness.errors import LeakHarnessError

Test = unittest.TestCase


def load_tests(targets: list[str], pattern: str = "test*.py") -> list[Test]:
    """Every test case named by ``targets``, in order; bad targets raise LeakHarnessError."""
    _ensure_on_path(os.getcwd())
    tests: list[Test] = []
    for target in targets:
        found = list(iterate(_load(target, pattern)))
        if not found:
            raise LeakHarnessError(f"no tests found in {target!r}")
        tests.extend(found)
    return tests


def iterate(suite: unittest.TestSuite | Test) -> Iterator[Test]:
    """The test cases of a (nested) suite, depth first."""
    if isinstance(suite, unittest.TestSuite):
        for item in suite:
            yield from iterate(item)
    else:
        yield suite


def _load(target: str, pattern: str) -> unittest.TestSuite:
    loader = unittest.TestLoader()
    path = Path(target)
    if path.is_dir():
        return _discover(loader, path, pattern)
    if target.endswith(".py") or os.sep in target or "/" in target:
        if not path.is_file():
            raise LeakHarnessError(f"cannot find target {target!r}: no such file")
        return loader.loadTestsFromModule(_import_file(path))
    return _load_name(loader, target)


def _discover(loader: unittest.TestLoader, folder: Path, pattern: str) -> unittest.TestSuite:
    top = _package_root(folder.resolve())
    try:
        return loader.discover(str(folder.resolve()), pattern=pattern, top_level_dir=str(top))
    except ImportError as err:
        raise LeakHarnessError(f"cannot discover tests in {str(folder)!r}: {err}") from err


def _package_root(folder: Path) -> Path:
    """The folder above the outermost package that contains ``folder``."""
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        folder = folder.parent
    return folder


def _import_file(path: Path) -> ModuleType:
    path = path.resolve()
    root = _package_root(path.parent)
    parts = path.with_suffix("").relative_to(root).parts
    _ensure_on_path(str(root))
    return _import(".".join(parts), str(path))


def _load_name(loader: unittest.TestLoader, name: str) -> unittest.TestSuite:
    module_name, attributes = _split_importable(name)
    module = _import(module_name, name)
    try:
        obj: object = module
        for attribute in attributes:
            obj = getattr(obj, attribute)
    except AttributeError as err:
        raise LeakHarnessError(f"cannot find target {name!r}: {err}") from err
    return loader.loadTestsFromName(name) if attributes else loader.loadTestsFromModule(module)


def _split_importable(name: str) -> tuple[str, list[str]]:
    """The longest importable dotted prefix of ``name`` and the rest."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        try:
            found = importlib.util.find_spec(candidate)
        except (ImportError, ValueError):
            found = None
        if found is not None:
            return candidate, parts[end:]
    raise LeakHarnessError(f"cannot import target {name!r}: no module named {parts[0]!r}")


def _import(module_name: str, shown: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except BaseException as err:  # a target's import may raise anything, even SystemExit
        if isinstance(err, KeyboardInterrupt):
            raise
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        raise LeakHarnessError(f"cannot import target {shown!r}: {last}") from err


def _ensure_on_path(folder: str) -> None:
    if folder not in sys.path:
        sys.path.insert(0, folder)
