"""How a chain of references reads: named steps from a root to the held object.

Each object in the chain is named by how it holds the next one (global name,
attribute, dict key, closure variable, default argument); the namespace
dicts, closure tuples and defaults tuples in between are left out. Each step
also says, in Python's own spelling, through what the previous object holds
it (``via``): ``.items``, ``['pending']``, ``[3]``, ``__defaults__[0]``,
``__closure__ seen``, ``__self__``.
"""

from __future__ import annotations

import os
import threading
import types
from dataclasses import dataclass

from leakharness.diagnose.references import HolderKind, global_name, reference


@dataclass(frozen=True)
class Step:
    """One object on the path, named by how the previous one holds it."""

    kind: HolderKind
    label: str
    via: str = ""  # how the previous step holds this one: ".items", "['pending']", "[3]", "__self__"

    def __repr__(self) -> str:
        via = f" via {self.via}" if self.via else ""
        return f"<Step {self.kind.value} {self.label!r}{via}>"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind.value, "label": self.label, "via": self.via}


@dataclass(frozen=True)
class Holder:
    """The reference path from a root to a sample object of ``type_name``."""

    steps: tuple[Step, ...]
    type_name: str
    project_root: bool = False  # rooted in the project under test
    library_steps: int = 0  # objects of libraries or the stdlib between the root and the held object

    @property
    def rank(self) -> tuple[bool, int, int]:
        """Chains a user can change first: rooted in the project, through
        fewer library objects, shorter."""
        return (not self.project_root, self.library_steps, len(self.steps))

    @property
    def path(self) -> str:
        return " → ".join(step.label for step in self.steps)

    @property
    def root(self) -> Step:
        return self.steps[0]

    def __repr__(self) -> str:
        return f"<Holder {self.type_name}: {self.path}>"

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type_name, "path": self.path, "steps": [s.to_dict() for s in self.steps]}


def _root_kind(obj: object) -> HolderKind:
    if isinstance(obj, types.ModuleType):
        return HolderKind.MODULE
    if isinstance(obj, type):
        return HolderKind.CLASS
    if isinstance(obj, types.FrameType):
        return HolderKind.FRAME
    return HolderKind.THREAD_LOCAL


def _noun(obj: object) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if isinstance(obj, type):
        return f"class {obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, types.FrameType):
        code = obj.f_code
        return f"frame {code.co_name} ({os.path.basename(code.co_filename)}:{obj.f_lineno})"
    if isinstance(obj, threading.local):
        return f"thread-local {global_name(obj)}".rstrip()
    if isinstance(obj, types.FunctionType):
        return f"function {obj.__qualname__}"
    if isinstance(obj, types.MethodType):
        return f"method {getattr(obj.__func__, '__qualname__', '?')}"
    return type(obj).__qualname__


def _label(obj: object, kind: HolderKind, name: str) -> str:
    noun = _noun(obj)
    if not name or name == getattr(obj, "__name__", None):
        return noun
    slot = f".{name}" if kind in (HolderKind.ATTRIBUTE, HolderKind.CLASS_ATTRIBUTE) else name
    if kind is HolderKind.ITEM:
        return f"{noun} {slot}"
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        word, _, qualname = noun.partition(" ")
        return f"{word} {slot} ({qualname})"
    return f"{noun} {slot}"


def steps(chain: list[object], held_by_frames: dict[int, tuple[types.FrameType, str]]) -> tuple[Step, ...]:
    """The named steps of ``chain``, a root first; ``held_by_frames`` maps the id
    of an object held by a running frame's variable to that frame and name."""
    first = chain[0]
    held = held_by_frames.get(id(first))
    if held is None:
        steps = [Step(_root_kind(first), _noun(first))]
    else:
        frame, name = held
        only = len(chain) == 1
        label = type(first).__qualname__ if only else _label(first, HolderKind.LOCAL, name)
        steps = [Step(HolderKind.FRAME, _noun(frame)), Step(HolderKind.LOCAL, label, f"local {name}")]
    at = 0
    while at < len(chain) - 1:
        at, kind, name, via = reference(chain, at)
        target = at == len(chain) - 1
        label = type(chain[at]).__qualname__ if target else _label(chain[at], kind, name)
        steps.append(Step(kind, label, via))
    return tuple(steps)
