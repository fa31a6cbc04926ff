"""The model's rules for one member, compiled into a checker of Python values (as JSON carries them).

``model.validate_members`` walks the shapes for every value; a bulk run checks the same few members a
million times, so here the walk happens once per member: bounds are read, patterns compiled and the
catalog's stricter rules merged up front. A checker returns ``(path, problem)`` pairs, empty when the
value is good. Unlike the emulator's check, a member name the model does not know is an error: in a
JSON cell it is a typo the user wants to hear about, not a member AWS may add tomorrow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

__all__ = [
    "Accepts",
    "Check",
    "Rules",
    "compile_accepts",
    "compile_check",
    "limits",
    "pattern_test",
    "words_for_pattern",
]

Check = Callable[[Any, str], Iterator[tuple[str, str]]]
Rules = Mapping[str, Mapping[str, Any]]  # the catalog's stricter rules, by member path

# Smithy integers are 32-bit and longs 64-bit; the model states no bound where the type sets it.
_TYPE_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}

# What a pattern means, in words; a pattern not listed is shown as it is.
_PATTERN_WORDS = {
    r"^\+?[1-9]\d{1,14}$": "must be an E.164 phone number such as +14155550100",
    r".*\S.*": "must contain a character other than whitespace",
    r"^[A-Z]{2}$": "must be a two-letter country code such as US",
}


def words_for_pattern(pattern: str) -> str:
    return _PATTERN_WORDS.get(pattern, f"must match {pattern}")


def _meta(shape: Shape, key: str, rules: Rules) -> dict[str, Any]:
    return {**shape.metadata, **rules.get(key, {})}


def limits(shape: Shape, key: str, rules: Rules) -> tuple[float, float]:
    """(low, high) for a number's value or a string's or list's length; numbers get their type's bounds."""
    meta = _meta(shape, key, rules)
    low, high = _TYPE_BOUNDS.get(shape.type_name, (-float("inf"), float("inf")))
    return max(low, meta.get("min", low)), min(high, meta.get("max", high))


def pattern_test(pattern: str) -> Callable[[str], bool]:
    """AWS patterns are searched, not matched; ``$`` here means the very end (no final newline)."""
    # ASCII: \d is 0-9 only, as in the SDKs' regex engines, not any script's digits.
    compiled = re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern), re.DOTALL | re.ASCII)
    return lambda text: compiled.search(text) is not None


def compile_check(shape: Shape, key: str, rules: Rules) -> Check:
    """The checker of a value of ``shape``; ``key`` is its path for ``rules`` (``DNIS[].CallingCountry``)."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        return _structure(shape, key, rules)
    if isinstance(shape, ListShape):
        return _list(shape, key, rules)
    if kind == "string":
        return _string(shape, key, rules)
    if kind in ("integer", "long"):
        return _integer(shape, key, rules)
    if kind == "boolean":
        return _boolean
    return _anything  # no setting has other types today; AWS checks them


def _anything(value: Any, path: str) -> Iterator[tuple[str, str]]:
    return iter(())


def _boolean(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if not isinstance(value, bool):
        yield path, "must be true or false"


def _integer(shape: Shape, key: str, rules: Rules) -> Check:
    low, high = limits(shape, key, rules)

    def check(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if type(value) is not int:  # True is an int in Python, not in JSON
            yield path, "must be a whole number"
        elif value < low:
            yield path, f"must be at least {low}"
        elif value > high:
            yield path, f"must be at most {high}"

    return check


def _string(shape: Shape, key: str, rules: Rules) -> Check:
    low, high = limits(shape, key, rules)
    pattern = _meta(shape, key, rules).get("pattern")
    matches = None if pattern is None else pattern_test(pattern)
    allowed = tuple(shape.enum) if getattr(shape, "enum", None) else None

    def check(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if not isinstance(value, str):
            yield path, "must be a string"
        elif len(value) < low:
            yield path, "must not be empty" if low == 1 else f"must have at least {low} characters"
        elif len(value) > high:
            yield path, f"must have at most {high} characters"
        elif allowed is not None and value not in allowed:
            yield path, "must be one of " + ", ".join(allowed)
        elif matches is not None and not matches(value):
            assert pattern is not None
            yield path, words_for_pattern(pattern)

    return check


def _list(shape: ListShape, key: str, rules: Rules) -> Check:
    low, high = limits(shape, key, rules)
    item = compile_check(shape.member, key + "[]", rules)

    def check(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if not isinstance(value, list):
            yield path, "must be a list"
            return
        if len(value) < low:
            yield path, f"must have at least {int(low)} item" + ("s" if low != 1 else "")
        elif len(value) > high:
            yield path, f"must have at most {int(high)} items"
        for index, element in enumerate(value):
            yield from item(element, f"{path}[{index}]")

    return check


def _structure(shape: StructureShape, key: str, rules: Rules) -> Check:
    members = {name: compile_check(m, f"{key}.{name}", rules) for name, m in shape.members.items()}
    required = tuple(shape.required_members)
    known = ", ".join(members)

    def check(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if not isinstance(value, dict):
            yield path, f"must be an object with members {known}"
            return
        for name in required:
            if name not in value:
                yield f"{path}.{name}", "is required"
        for name, element in value.items():
            member = members.get(name)
            if member is None:
                yield f"{path}.{name}", f"is not a member of {shape.name} (members: {known})"
            elif element is None:
                yield f"{path}.{name}", "must not be null (leave the member out instead)"
            else:
                yield from member(element, f"{path}.{name}")

    return check


Accepts = Callable[[Any], bool]


def compile_accepts(shape: Shape, key: str, rules: Rules) -> Accepts:
    """The same rules as ``compile_check`` as one yes/no test, for the common case of a good value.

    A checker builds a generator per value it visits; a JSON cell with a few routes visits a dozen, so
    a good cell is first asked this plain test, and only a refused one is walked again for the messages.
    True exactly when ``compile_check`` reports nothing (a property test holds the two together).
    """
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        return _structure_accepts(shape, key, rules)
    low, high = limits(shape, key, rules)
    if isinstance(shape, ListShape):
        return _list_accepts(shape, key, rules, low, high)
    if kind in ("integer", "long"):
        return lambda value: type(value) is int and low <= value <= high
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    if kind == "string":
        return _string_accepts(shape, key, rules, low, high)
    return lambda value: True


def _string_accepts(shape: Shape, key: str, rules: Rules, low: float, high: float) -> Accepts:
    pattern = _meta(shape, key, rules).get("pattern")
    matches = None if pattern is None else pattern_test(pattern)
    allowed = frozenset(shape.enum) if getattr(shape, "enum", None) else None
    return lambda value: (
        isinstance(value, str)
        and low <= len(value) <= high
        and (allowed is None or value in allowed)
        and (matches is None or matches(value))
    )


# Plain loops below, not all(<generator>): this runs for every item of every JSON cell.
def _structure_accepts(shape: StructureShape, key: str, rules: Rules) -> Accepts:
    members = {name: compile_accepts(m, f"{key}.{name}", rules) for name, m in shape.members.items()}
    required = tuple(shape.required_members)

    def accepts(value: Any) -> bool:
        if type(value) is not dict:
            return False
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            member = members.get(name)
            if member is None or item is None or not member(item):
                return False
        return True

    return accepts


def _list_accepts(shape: ListShape, key: str, rules: Rules, low: float, high: float) -> Accepts:
    item = compile_accepts(shape.member, key + "[]", rules)

    def accepts(value: Any) -> bool:
        return type(value) is list and low <= len(value) <= high and all(map(item, value))

    return accepts
