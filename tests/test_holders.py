"""Who holds a leaked object: the path from a module, class, frame or thread-local."""

from __future__ import annotations

import gc
import json
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import objgraph
import pytest

from leakharness.diagnose import holders
from leakharness.diagnose.findings import type_name
from leakharness.diagnose.holder_steps import HolderKind
from leakharness.diagnose.holders import find_holder, render_graph

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
on_event = _make_handler()


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def instances(cls: type) -> list[object]:
    """The live instances of ``cls``, roughly oldest first (as the locate
    phase's samples: generations 2, 1, 0 in turn are about allocation order)."""
    return [obj for generation in (2, 1, 0) for obj in gc.get_objects(generation) if type(obj) is cls]


def holder_of(cls: type) -> holders.Holder:
    holder = find_holder(instances(cls))
    assert holder is not None
    return holder


@pytest.fixture(autouse=True)
def _empty_holders() -> Iterator[None]:
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
    assert repr(holder.steps[1]) == "<Step global 'dict _SESSIONS'>"
    assert holder.to_dict() == {
        "type": name_of(Session),
        "path": holder.path,
        "steps": [{"kind": s.kind.value, "label": s.label} for s in holder.steps],
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
