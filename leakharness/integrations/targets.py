"""Turn command-line targets into unittest tests.

A target is a folder (tests discovered from ``test*.py``), a ``.py`` file, a
dotted module, a unittest id such as ``module.Class.test_x``, or a file's
test as pytest names it: ``tests/test_x.py::Class::test_x``.
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
        if not target.strip():
            raise LeakHarnessError("a target must not be empty (got '')")
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
    file, _, inside = target.partition("::")
    if file.endswith(".py") or os.sep in file or "/" in file:
        if not Path(file).is_file():
            raise LeakHarnessError(f"cannot find target {target!r}: no such file")
        module = _import_file(Path(file))
        return _load_from(loader, module, inside.split("::") if inside else [], target)
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
    """The module of a test file. When its name is taken by another module (a
    second ``test_same.py`` in another folder, a file named like a stdlib
    module), the file is loaded from its location under a name that says where
    it lives instead of silently running the other module's tests."""
    path = path.resolve()
    root = _package_root(path.parent)
    name = ".".join(path.with_suffix("").relative_to(root).parts)
    _ensure_on_path(str(root))
    if _is_free(name, path):
        return _import(name, str(path))
    return _import_location(_unique_name(path), path)


def _is_free(name: str, path: Path) -> bool:
    """``name`` is unused, or already names the module of ``path``."""
    module = sys.modules.get(name)
    if module is None:
        return name.split(".")[0] not in sys.stdlib_module_names
    file = getattr(module, "__file__", None)
    return file is not None and Path(file).resolve() == path


def _unique_name(path: Path) -> str:
    """A dotted name from the path below the working folder (``a.test_same``),
    made unique if need be."""
    try:
        parts = path.with_suffix("").relative_to(Path.cwd().resolve()).parts
    except ValueError:
        parts = path.with_suffix("").parts[-2:]
    base = ".".join(part.replace(".", "_") for part in parts)
    name, number = base, 2
    while name in sys.modules or name.split(".")[0] in sys.stdlib_module_names:
        name, number = f"{base}_{number}", number + 1
    return name


def _import_location(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LeakHarnessError(f"cannot import target {str(path)!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as err:
        del sys.modules[name]
        if isinstance(err, KeyboardInterrupt):
            raise
        raise LeakHarnessError(f"cannot import target {str(path)!r}: {_last_line(err)}") from err
    return module


def _load_name(loader: unittest.TestLoader, name: str) -> unittest.TestSuite:
    module_name, attributes = _split_importable(name)
    return _load_from(loader, _import(module_name, name), attributes, name)


def _load_from(
    loader: unittest.TestLoader, module: ModuleType, attributes: list[str], name: str
) -> unittest.TestSuite:
    """The tests ``attributes`` name inside ``module`` (all of them when none)."""
    try:
        obj: object = module
        for attribute in attributes:
            obj = getattr(obj, attribute)
    except AttributeError as err:
        raise LeakHarnessError(f"cannot find target {name!r}: {err}") from err
    if not attributes:
        return loader.loadTestsFromModule(module)
    if not _names_tests(obj, len(attributes)):
        raise LeakHarnessError(
            f"target {name!r} is a {type(obj).__name__}, not a test: "
            "name a module, a TestCase class or a test method"
        )
    return loader.loadTestsFromName(".".join(attributes), module)


def _names_tests(obj: object, depth: int) -> bool:
    """A TestCase class, a method of one (two names deep), a suite, or a
    module: what unittest loads without calling anything of the user's."""
    if isinstance(obj, type):
        return issubclass(obj, unittest.TestCase)
    if isinstance(obj, (ModuleType, unittest.TestSuite)):
        return True
    return depth >= 2 and callable(obj) and hasattr(obj, "__qualname__") and "." in obj.__qualname__


def _split_importable(name: str) -> tuple[str, list[str]]:
    """The longest importable dotted prefix of ``name`` and the rest."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        try:
            found = importlib.util.find_spec(candidate)  # imports the parent packages
        except (ImportError, ValueError):
            found = None
        except BaseException as err:  # a package's __init__ may raise anything, even SystemExit
            if isinstance(err, KeyboardInterrupt):
                raise
            raise LeakHarnessError(f"cannot import target {name!r}: {_last_line(err)}") from err
        if found is not None:
            return candidate, parts[end:]
    raise LeakHarnessError(f"cannot import target {name!r}: no module named {parts[0]!r}")


def _import(module_name: str, shown: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except BaseException as err:  # a target's import may raise anything, even SystemExit
        if isinstance(err, KeyboardInterrupt):
            raise
        raise LeakHarnessError(f"cannot import target {shown!r}: {_last_line(err)}") from err


def _last_line(err: BaseException) -> str:
    """The exception's last line; for a missing module, where it was looked for
    (a pre-commit hook runs in an environment of its own)."""
    line = traceback.format_exception_only(type(err), err)[-1].strip()
    if isinstance(err, ModuleNotFoundError):
        line += f" (not installed for {sys.executable}: under pre-commit, see docs/ci.md)"
    return line


def _ensure_on_path(folder: str) -> None:
    if folder not in sys.path:
        sys.path.insert(0, folder)
