"""Hypothesis strategies read from a botocore shape: valid values, and values with one rule broken.

``valid(shape)`` walks the shape once and composes a strategy that keeps every rule the model
carries (required members, types, enums, patterns, lengths, ranges, list sizes, nested). Sizes of
unbounded lists and strings are kept small: the point is the rules, not the volume.

``breakages(shape, value)`` lists, for one valid value, every single-rule violation it can be turned
into, each with the member path ``model.validate_members`` would name (``Routes[1].Port``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.model import ListShape, Shape, StructureShape
from hypothesis import strategies as st

__all__ = ["Breakage", "apply", "breakages", "valid"]

_SMALL = 3  # the most items or extra characters drawn where the model sets no bound
_INT32 = (-(2**31), 2**31 - 1)
_DELETE = object()


def valid(shape: Shape) -> st.SearchStrategy[Any]:
    """Values of ``shape`` that the model's rules accept."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        required = set(shape.required_members)
        members = {name: valid(member) for name, member in shape.members.items()}
        return st.fixed_dictionaries(
            {name: s for name, s in members.items() if name in required},
            optional={name: s for name, s in members.items() if name not in required},
        )
    if kind == "list":
        assert isinstance(shape, ListShape)
        low = shape.metadata.get("min", 0)
        high = min(shape.metadata.get("max", low + _SMALL), low + _SMALL)
        return st.lists(valid(shape.member), min_size=low, max_size=high)
    if kind == "string":
        return _string(shape)
    if kind in ("integer", "long"):
        low, high = shape.metadata.get("min", _INT32[0]), shape.metadata.get("max", _INT32[1])
        return st.integers(min_value=low, max_value=high)
    if kind == "boolean":
        return st.booleans()
    raise NotImplementedError(f"no strategy for {kind} shapes ({shape.name})")


def _string(shape: Shape) -> st.SearchStrategy[str]:
    if shape.enum:
        return st.sampled_from(shape.enum)
    low = shape.metadata.get("min", 0)
    high = min(shape.metadata.get("max", low + 20), low + 40)
    pattern = shape.metadata.get("pattern")
    if pattern is None:
        return st.text(min_size=low, max_size=high)
    ascii_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    return st.from_regex(pattern, fullmatch=True, alphabet=ascii_printable).filter(
        lambda text: low <= len(text) <= high
    )


@dataclass(frozen=True, slots=True)
class Breakage:
    """Put ``replacement`` at ``location`` (or delete the member there) to break exactly one rule."""

    location: tuple[str | int, ...]
    replacement: Any
    rule: str  # what is broken, for the test's failure message

    @property
    def path(self) -> str:
        """The location as ``validate_members`` names it: ``Routes[1].Port``."""
        text = ""
        for step in self.location:
            text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
        return text


def apply(value: dict[str, Any], breakage: Breakage) -> dict[str, Any]:
    """A copy of ``value`` with the breakage applied."""
    broken = copy.deepcopy(value)
    *parents, last = breakage.location
    target: Any = broken
    for step in parents:
        target = target[step]
    if breakage.replacement is _DELETE:
        del target[last]
    else:
        target[last] = breakage.replacement
    return broken


def breakages(shape: StructureShape, value: dict[str, Any]) -> list[Breakage]:
    """Every one-rule violation of a valid ``value`` found by walking it with its shape."""
    return list(_structure(shape, value, ()))


def _structure(shape: StructureShape, value: dict[str, Any], at: tuple[str | int, ...]) -> Iterator[Breakage]:
    for name in shape.required_members:
        if name in value:
            yield Breakage((*at, name), _DELETE, "required")
    for name, member in shape.members.items():
        if name in value:
            yield from _member(member, value[name], (*at, name))


def _member(shape: Shape, value: Any, at: tuple[str | int, ...]) -> Iterator[Breakage]:
    kind = shape.type_name
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        yield Breakage(at, ["not", "an", "object"], "type")
        yield from _structure(shape, value, at)
    elif kind == "list":
        assert isinstance(shape, ListShape)
        yield Breakage(at, "not a list", "type")
        if low and value:
            yield Breakage(at, value[: low - 1], "min items")
        if high is not None and value:
            yield Breakage(at, (value * (high + 1))[: high + 1], "max items")
        for index, item in enumerate(value):
            yield from _member(shape.member, item, (*at, index))
    elif kind == "string":
        yield from _string_breakages(shape, at)
    elif kind in ("integer", "long"):
        yield Breakage(at, str(value), "type")
        yield Breakage(at, True, "type (a boolean is not an integer)")
        yield Breakage(at, (_INT32[0] if low is None else low) - 1, "minimum")
        yield Breakage(at, (_INT32[1] if high is None else high) + 1, "maximum")
    elif kind == "boolean":
        yield Breakage(at, "true", "type")


def _string_breakages(shape: Shape, at: tuple[str | int, ...]) -> Iterator[Breakage]:
    yield Breakage(at, 12345, "type")
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if shape.enum:
        yield Breakage(at, "NOT_" + shape.enum[0], "enum")
    if low:
        yield Breakage(at, "", "min length")
    if high is not None:
        yield Breakage(at, "a" * (high + 1), "max length")
    pattern = shape.metadata.get("pattern")
    if pattern is not None:
        search = re.compile(pattern, re.DOTALL).search
        misfit = next((text for text in ("abc", "ab", " ", "!", "") if search(text) is None), None)
        if misfit is not None:
            yield Breakage(at, misfit, "pattern")
