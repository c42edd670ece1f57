"""Who holds a leaked object: the path from a module, class, frame or thread-local."""

from __future__ import annotations

import gc
import json
import os
import random
import stat
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import objgraph
import pytest

from leakharness import frames
from leakharness.diagnose import holders
from leakharness.diagnose.findings import Findings, type_name
from leakharness.diagnose.holder_steps import Holder, HolderKind, Step
from leakharness.diagnose.holders import find_holder, render_graph
from leakharness.diagnose.references import frame_locals

HERE = Path(__file__).name


class Session:
    pass


class Button:
    def on_click(self) -> None:
        pass


class Token:
    pass


class Entry:
    pass


class Ticket:
    pass


class Job:
    pass


class Leaf:
    pass


class Orphan:
    pass


class Node:
    def __init__(self) -> None:
        self.children: list[object] = []


class Registry:
    items: ClassVar[list[Entry]] = []


class Outer:
    class Inner:
        pass


def _make_handler() -> Callable[[], list[Token]]:
    seen: list[Token] = []

    def on_event() -> list[Token]:
        return seen

    return on_event


_SESSIONS: dict[str, Session] = {}
_LATEST: list[Session] = []
_LISTENERS: list[Callable[[], None]] = []
_STATE = threading.local()
_ROOT = Node()
_KEPT_BY_HARNESS: list[object] = []
on_event = _make_handler()


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def instances(cls: type) -> list[object]:
    """The live instances of ``cls``, roughly oldest first (as the locate
    phase's samples: generations 2, 1, 0 in turn are about allocation order)."""
    return [obj for generation in (2, 1, 0) for obj in gc.get_objects(generation) if type(obj) is cls]


def holder_of(cls: type) -> Holder:
    holder = find_holder(instances(cls))
    assert holder is not None
    return holder


@pytest.fixture(autouse=True)
def _empty_holders() -> Iterator[None]:
    gc.collect()  # as the diagnosis does before its searches: earlier tests' garbage eats their visits
    yield
    _SESSIONS.clear()
    _LATEST.clear()
    _LISTENERS.clear()
    Registry.items.clear()
    on_event().clear()
    _ROOT.children.clear()
    vars(_STATE).clear()


def open_session(key: str) -> None:
    _SESSIONS[key] = Session()


def test_a_module_dict_registry_is_named_by_its_global() -> None:
    for key in ("s1", "s2", "s3"):
        open_session(key)
    holder = holder_of(Session)
    assert holder.path == f"module {__name__} → dict _SESSIONS → Session"
    assert [s.kind for s in holder.steps] == [HolderKind.MODULE, HolderKind.GLOBAL, HolderKind.KEY]
    assert holder.root.kind.root and holder.type_name == name_of(Session)


def test_a_listener_list_of_bound_methods() -> None:
    for _ in range(3):
        _LISTENERS.append(Button().on_click)
    holder = holder_of(Button)
    assert holder.path == f"module {__name__} → list _LISTENERS → method Button.on_click → Button"
    assert [s.kind for s in holder.steps][1:3] == [HolderKind.GLOBAL, HolderKind.ITEM]


def test_a_closure_cell_names_its_variable_and_function() -> None:
    on_event().append(Token())
    holder = holder_of(Token)
    assert holder.path == (
        f"module {__name__} → function _make_handler.<locals>.on_event "
        "→ list seen (closure of on_event) → Token"
    )
    assert holder.steps[2].kind is HolderKind.CLOSURE


def test_a_class_attribute_is_rooted_at_the_class() -> None:
    Registry.items.append(Entry())
    holder = holder_of(Entry)
    assert holder.path == f"class {__name__}.Registry → list .items → Entry"
    assert [s.kind for s in holder.steps][:2] == [HolderKind.CLASS, HolderKind.CLASS_ATTRIBUTE]


def test_instance_attributes_and_dict_keys_are_named() -> None:
    _ROOT.children.append({"pending": [Leaf()]})
    holder = holder_of(Leaf)
    assert holder.path == f"module {__name__} → Node _ROOT → list .children → dict → list ['pending'] → Leaf"
    kinds = [s.kind for s in holder.steps]
    assert kinds == [
        HolderKind.MODULE,
        HolderKind.GLOBAL,
        HolderKind.ATTRIBUTE,
        HolderKind.ITEM,
        HolderKind.KEY,
        HolderKind.ITEM,
    ]


def test_a_thread_local_is_a_root() -> None:
    _STATE.ticket = Ticket()
    holder = holder_of(Ticket)
    assert holder.path == f"thread-local {__name__}._STATE → Ticket"
    assert holder.root.kind is HolderKind.THREAD_LOCAL


def hold_job(ready: threading.Event, done: threading.Event) -> None:
    job = Job()
    ready.set()
    done.wait()  # WAITING
    del job


def test_a_variable_of_a_running_thread_is_rooted_at_its_frame() -> None:
    ready, done = threading.Event(), threading.Event()
    worker = threading.Thread(target=hold_job, args=(ready, done), name="holder")
    worker.start()
    try:
        ready.wait()
        holder = holder_of(Job)
    finally:
        done.set()
        worker.join()
    line = next(n for n, text in enumerate(Path(__file__).read_text().splitlines(), 1) if "# WAITING" in text)
    assert holder.path == f"frame hold_job ({HERE}:{line}) → Job"
    assert [s.kind for s in holder.steps] == [HolderKind.FRAME, HolderKind.LOCAL]


def test_a_frames_variables_are_a_dict_where_f_locals_is_a_proxy() -> None:
    # Python 3.13's f_locals is a mapping, not a dict (PEP 667): taken as no variables,
    # no frame variable was a root there.
    frame = types.SimpleNamespace(f_locals=types.MappingProxyType({"job": Job()}))
    variables = frame_locals(frame)  # type: ignore[arg-type]
    assert isinstance(variables, dict) and list(variables) == ["job"]


def test_a_variable_of_the_calling_frame_is_a_root() -> None:
    orphan = Orphan()
    holder = find_holder([orphan])
    assert holder is not None
    assert holder.path.startswith(f"frame {sys._getframe().f_code.co_name} ({HERE}:")
    assert holder.path.endswith("→ Orphan")


def test_the_sample_list_itself_is_not_a_holder() -> None:
    assert find_holder([Orphan()]) is None
    assert find_holder([]) is None


def test_the_newest_object_is_the_sample() -> None:
    open_session("old")
    _LATEST.append(Session())
    assert "list _LATEST" in holder_of(Session).path


def test_a_class_can_be_the_leaked_object() -> None:
    dynamic = type("Dynamic", (), {})
    _LATEST.append(dynamic())
    holder = find_holder([dynamic])
    assert holder is not None
    assert holder.path == f"module {__name__} → list _LATEST → Dynamic → type"


def test_type_names_match_objgraph_typestats() -> None:
    open_session("a")
    inner = Outer.Inner()
    gc.collect()  # sessions of earlier tests caught in reference cycles
    stats = objgraph.typestats(shortnames=False)
    assert stats[type_name(_SESSIONS["a"])] == 1
    assert type_name(inner) == name_of(Outer.Inner) == f"{__name__}.Inner"
    assert stats[type_name(inner)] >= 1
    assert type_name(1) == "builtins.int"


def test_the_search_stops_after_its_visit_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    open_session("a")
    monkeypatch.setattr(holders, "MAX_VISITS", 1)
    assert find_holder(instances(Session)) is None


def test_values_repr_and_serialise() -> None:
    open_session("a")
    holder = holder_of(Session)
    assert repr(holder) == f"<Holder {name_of(Session)}: {holder.path}>"
    assert repr(holder.steps[1]) == "<Step global 'dict _SESSIONS' via ._SESSIONS>"
    assert holder.to_dict() == {
        "type": name_of(Session),
        "path": holder.path,
        "steps": [{"kind": s.kind.value, "label": s.label, "via": s.via} for s in holder.steps],
    }
    assert json.loads(json.dumps(holder.to_dict()))["path"] == holder.path


def test_no_graph_without_graphviz(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    open_session("a")
    assert render_graph(_SESSIONS["a"], tmp_path / "holder.png") is None
    assert list(tmp_path.iterdir()) == []


def test_a_graph_is_drawn_with_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_dot = tmp_path / "dot"
    fake_dot.write_text('#!/bin/sh\n# dot -Tpng -o OUT IN\ncp "$4" "$3"\n')
    fake_dot.chmod(fake_dot.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    open_session("a")
    drawn = render_graph(_SESSIONS["a"], tmp_path / "holder.png")
    assert drawn == tmp_path / "holder.png"
    graph = drawn.read_text()
    assert graph.startswith("digraph ObjectGraph") and "Session" in graph and "module" in graph


class Record:
    pass


def _dedupe(item: object, seen: list[object] = []) -> None:  # noqa: B006 - the leak under test
    seen.append(item)


def _remember(key: str, value: object, *, cache: dict[str, object] = {}) -> None:  # noqa: B006
    cache[key] = value


_PAIR: tuple[list[object], list[object]] = ([], [])


def test_a_default_argument_is_named_with_its_parameter() -> None:
    _dedupe(Record())
    try:
        holder = holder_of(Record)
    finally:
        _dedupe.__defaults__[0].clear()  # type: ignore[index]
    assert holder.path == f"module {__name__} → function _dedupe → list seen (default of _dedupe) → Record"
    assert (holder.steps[2].kind, holder.steps[2].via) == (HolderKind.DEFAULT, "__defaults__[0]")
    assert holder.steps[3].via == "[0]"


def test_a_keyword_only_default_is_named_with_its_key() -> None:
    _remember("a", Record())
    try:
        holder = holder_of(Record)
    finally:
        _remember.__kwdefaults__["cache"].clear()
    assert (
        holder.path == f"module {__name__} → function _remember → dict cache (default of _remember) → Record"
    )
    assert [s.via for s in holder.steps[2:]] == ["__kwdefaults__['cache']", "['a']"]


def test_each_step_says_through_what_it_is_held() -> None:
    _ROOT.children.append({"pending": [Leaf()]})
    assert [s.via for s in holder_of(Leaf).steps] == ["", "._ROOT", ".children", "[0]", "['pending']", "[0]"]
    on_event().append(Token())
    assert [s.via for s in holder_of(Token).steps][2:] == ["__closure__ seen", "[0]"]
    _LISTENERS.append(Button().on_click)
    assert [s.via for s in holder_of(Button).steps][2:] == ["[0]", "__self__"]


def test_a_tuple_item_is_labelled_with_its_index() -> None:
    _PAIR[1].append(Record())
    try:
        holder = holder_of(Record)
    finally:
        _PAIR[1].clear()
    assert holder.path == f"module {__name__} → tuple _PAIR → list [1] → Record"


def test_dict_keys_and_values_are_told_apart() -> None:
    key = Token()
    _SESSIONS["s1"] = Session()
    registry: dict[object, int] = {key: 1}
    _LATEST.append(registry)  # type: ignore[arg-type]
    del key
    assert holder_of(Session).steps[-1].via == "['s1']"
    assert holder_of(Token).steps[-1].via == "(a key)"


@pytest.fixture
def library_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A module that counts as an installed library's (by its file's folder)."""
    module = types.ModuleType("vendorlib")
    module.__file__ = os.path.join(os.sep, "opt", "env", "site-packages", "vendorlib", "__init__.py")
    module.registry = []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vendorlib", module)
    return module


def test_a_chain_from_the_project_beats_a_shorter_one_through_a_library(
    library_module: types.ModuleType,
) -> None:
    leaf = Leaf()
    library_module.registry.append(leaf)  # type: ignore[attr-defined]  # two steps from a library root
    _ROOT.children.append({"pending": [leaf]})  # five from the project's
    del leaf
    holder = holder_of(Leaf)
    assert holder.path == f"module {__name__} → Node _ROOT → list .children → dict → list ['pending'] → Leaf"
    assert holder.project_root and holder.rank[0] is False


def test_a_chain_through_a_library_is_kept_when_it_is_the_only_one(library_module: types.ModuleType) -> None:
    library_module.registry.append(Leaf())  # type: ignore[attr-defined]
    holder = holder_of(Leaf)
    assert holder.path == "module vendorlib → list registry → Leaf"
    assert not holder.project_root


@pytest.mark.parametrize(
    ("ranked", "best"),
    [  # (rooted in the project, library objects on the way, steps)
        ([(False, 0, 3), (True, 0, 5)], (True, 0, 5)),  # a project root first
        ([(True, 2, 4), (True, 0, 6)], (True, 0, 6)),  # then fewer library objects
        ([(False, 1, 4), (False, 1, 3)], (False, 1, 3)),  # then shorter
    ],
)
def test_holders_rank_project_roots_then_library_steps_then_length(
    ranked: list[tuple[bool, int, int]], best: tuple[bool, int, int]
) -> None:
    chains = [
        Holder(tuple(Step(HolderKind.ITEM, str(i)) for i in range(n)), "T", project, library)
        for project, library, n in ranked
    ]
    top = min(chains, key=lambda h: h.rank)
    assert (top.project_root, top.library_steps, len(top.steps)) == best


class Knot:
    pass


class Receipt:
    pass


def _tangle(rng: random.Random, modules: list[types.ModuleType]) -> list[Knot]:
    """Knots that refer to each other at random, through lists, dicts and
    attributes, some of them bound in ``modules``."""
    leaves = [Knot() for _ in range(120)]
    for leaf in leaves:
        for _ in range(rng.randint(0, 3)):
            other = rng.choice(leaves)
            setattr(leaf, f"a{rng.randint(0, 4)}", rng.choice([other, [other], {"k": other}]))
    for module in modules:
        for n in range(rng.randint(10, 20)):
            setattr(module, f"g{n}", rng.choice(leaves))
    return leaves


@pytest.mark.parametrize("seed", range(4))
def test_the_walk_by_levels_finds_the_chain_of_a_walk_one_object_at_a_time(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(holders, "BATCH", 3)  # levels span several batches
    modules = [types.ModuleType(f"tangle{n}") for n in range(4)]
    rng = random.Random(seed)
    leaves = _tangle(rng, modules)
    ours = (id(leaves), id(modules))

    def is_root(obj: object) -> bool:
        return any(obj is module for module in modules)

    found = 0
    for leaf in rng.sample(leaves, 30):
        expected = objgraph.find_backref_chain(leaf, is_root, max_depth=6, extra_ignore=ours)
        chain = holders.referrer_chain(leaf, is_root, 6, set(ours))
        assert [id(o) for o in chain or [leaf]] == [id(o) for o in expected]
        found += chain is not None
    assert found >= 10  # most leaves are held from a module


def test_the_harness_own_objects_hold_no_one() -> None:
    _KEPT_BY_HARNESS.append(Findings((Receipt(),)))  # a module's list → a harness object → a receipt
    try:
        assert find_holder(instances(Receipt)) is None
        _KEPT_BY_HARNESS.append(instances(Receipt)[0])
        assert holder_of(Receipt).path == f"module {__name__} → list _KEPT_BY_HARNESS → Receipt"
    finally:
        _KEPT_BY_HARNESS.clear()


def test_the_callers_containers_are_no_holders() -> None:
    _LATEST.append(Session())
    samples = {"Session": [_LATEST[-1]]}
    assert find_holder(instances(Session), besides=[samples, *samples.values()]) is not None
    _LATEST.clear()
    _KEPT_BY_HARNESS.append(samples)
    try:
        assert find_holder(samples["Session"][:], besides=[samples, *samples.values()]) is None
        assert find_holder(samples["Session"][:]) is not None  # through the module's list
    finally:
        _KEPT_BY_HARNESS.clear()


def _keeper() -> Callable[[], None]:
    kept: list[Token] = []

    def keep() -> None:
        kept.append(Token())

    return keep


def test_a_closure_a_frame_holds_is_a_root() -> None:
    keep = _keeper()
    keep()
    holder = holder_of(Token)
    assert holder.path.startswith("frame test_a_closure_a_frame_holds_is_a_root (test_holders.py:")
    assert holder.path.endswith("→ function _keeper.<locals>.keep → list kept (closure of keep) → Token")
    assert keep is not None


def test_a_closures_globals_lead_to_its_module() -> None:
    def cycle() -> None:
        open_session("a")

    cycle()
    assert holder_of(Session).path == f"module {__name__} → dict _SESSIONS → Session"


def test_the_walk_looks_at_none_of_its_own_containers() -> None:
    token = Token()
    box = [token]
    module = types.ModuleType("boxes")
    module.box = box
    seen: list[int] = []  # ids: a list of the objects would refer to them

    def is_root(obj: object) -> bool:
        seen.append(id(obj))
        return obj is module

    chain = holders.referrer_chain(token, is_root, 4, {id(sys._getframe())})
    assert [id(obj) for obj in chain or []] == [id(module), id(vars(module)), id(box), id(token)]
    assert seen == [id(token), id(box), id(vars(module)), id(module)]


class Lazy:
    """Evaluates itself when asked its class, as Django's ``LazyObject`` does."""

    def __init__(self, wrapped: object) -> None:
        self.wrapped = wrapped

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("a lazy object was evaluated")


def test_a_lazy_object_among_the_referrers_is_not_evaluated() -> None:
    _LATEST.append(Session())
    _KEPT_BY_HARNESS.append(Lazy(_LATEST))  # beside the module's dict, a referrer of the list
    try:
        assert holder_of(Session).path == f"module {__name__} → list _LATEST → Session"
    finally:
        _KEPT_BY_HARNESS.clear()


def test_a_project_root_declared_later_makes_its_modules_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site-packages" / "pkg"
    module, library = types.ModuleType("pkg.sessions"), types.ModuleType("lib.cache")
    module.__file__ = str(package / "sessions.py")
    library.__file__ = str(tmp_path / "site-packages" / "lib" / "cache.py")
    module.kept = [Session()]  # type: ignore[attr-defined]
    library.current = module.kept[0]  # type: ignore[attr-defined]  # nearer, in another package
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(sys.modules, library.__name__, library)
    monkeypatch.setattr(frames, "_project_roots", ())
    frames.origin.cache_clear()
    try:
        holder = holder_of(Session)  # both are installed packages' modules: the nearer wins
        assert not holder.project_root and holder.path == "module lib.cache → Session"
        frames.add_project_root(package)
        holder = holder_of(Session)
        assert holder.project_root and holder.path == "module pkg.sessions → list kept → Session"
    finally:
        monkeypatch.undo()
        frames.origin.cache_clear()
