"""The Chime SDK Voice API model, loaded from botocore at runtime.

This is the one module the client side and the emulator share. Both take the rules of the API —
required members, types, lengths, list bounds, patterns, which members are sensitive — from the same
botocore service model, so that a rule AWS changes is picked up by a botocore upgrade, not by editing
our code in two places.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from botocore.loaders import Loader, create_loader
from botocore.model import ListShape, OperationModel, ServiceModel, Shape, StructureShape

SERVICE_NAME = "chime-sdk-voice"
SIGNING_NAME = "chime"

__all__ = [
    "SERVICE_NAME",
    "SIGNING_NAME",
    "Accepts",
    "acceptor",
    "loader",
    "operation",
    "sensitive_member_names",
    "service_model",
    "validate_members",
]


@functools.cache
def loader() -> Loader:
    """botocore's data loader, one per process: it caches what it loads, so the clients' sessions
    borrow it (``profiles.AwsProfiles``) and the ~9 MB model is parsed once for the whole process.

    Made directly rather than by a botocore session, which would read the user's AWS config files
    first: a broken one is reported where the files are read, not here.
    """
    return create_loader()


@functools.cache
def service_model() -> ServiceModel:
    """The installed botocore's model of ``chime-sdk-voice`` (loaded once per process)."""
    data = loader().load_service_model(SERVICE_NAME, "service-2")
    return ServiceModel(data, service_name=SERVICE_NAME)


def operation(name: str) -> OperationModel:
    return service_model().operation_model(name)


@functools.cache
def sensitive_member_names() -> frozenset[str]:
    """Every structure member whose shape the model marks ``sensitive`` (never to be logged)."""
    model = service_model()
    names: set[str] = set()
    for shape_name in model.shape_names:
        shape = model.shape_for(shape_name)
        if isinstance(shape, StructureShape):
            names.update(m for m, s in shape.members.items() if s.metadata.get("sensitive"))
    return frozenset(names)


def validate_members(shape: StructureShape, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Check ``params`` against ``shape``; return ``(member path, problem)`` pairs, empty when valid.

    Values are the Python types the JSON protocol carries (str, int, bool, list, dict). Unknown
    members are not reported: AWS ignores them too.
    """
    return list(_structure_problems(shape, params, prefix=""))


Accepts = Callable[[Any], bool]


def acceptor(shape: Shape) -> Accepts:
    """The rules ``validate_members`` checks for a value of ``shape``, compiled into one yes/no test.

    The shape is walked here, once, not for every value: bounds are read and patterns compiled up
    front. True exactly when ``validate_members`` would report nothing for the value; for a value it
    refuses, ask ``validate_members`` what is wrong (the messages live there only).
    """
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        return _structure_acceptor(shape)
    if kind == "list":
        assert isinstance(shape, ListShape)
        return _list_acceptor(shape)
    if kind == "string":
        return _string_acceptor(shape)
    if kind in ("integer", "long"):
        low, high = _bounds(shape)
        return lambda value: type(value) is int and low <= value <= high  # a bool is not an int in JSON
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    return lambda value: True  # validate_members checks nothing else either


def _bounds(shape: Shape) -> tuple[float, float]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    implicit_low, implicit_high = _IMPLICIT_RANGE.get(shape.type_name, (-float("inf"), float("inf")))
    return (implicit_low if low is None else low), (implicit_high if high is None else high)


# Where the model gives no bound, an integer is still what the service stores it in: Smithy's
# ``integer`` is 32-bit and ``long`` 64-bit, so AWS refuses what does not fit.
_IMPLICIT_RANGE: dict[str, tuple[float, float]] = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}


def _structure_acceptor(shape: StructureShape) -> Accepts:
    required = tuple(shape.required_members)
    members = tuple((name, acceptor(member)) for name, member in shape.members.items())

    def accepts(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        if any(value.get(name) is None for name in required):
            return False
        return all(value[name] is None or check(value[name]) for name, check in members if name in value)

    return accepts


def _list_acceptor(shape: ListShape) -> Accepts:
    low, high = _bounds(shape)
    item = acceptor(shape.member)
    return lambda value: isinstance(value, list) and low <= len(value) <= high and all(map(item, value))


def _string_acceptor(shape: Shape) -> Accepts:
    low, high = _bounds(shape)
    pattern = shape.metadata.get("pattern")
    search = None if pattern is None else _compiled(pattern).search
    allowed = frozenset(shape.enum) if shape.enum else None

    def accepts(value: Any) -> bool:
        return (
            isinstance(value, str)
            and low <= len(value) <= high
            and (search is None or search(value) is not None)
            and (allowed is None or value in allowed)
        )

    return accepts


def _structure_problems(
    shape: StructureShape, params: Mapping[str, Any], prefix: str
) -> Iterator[tuple[str, str]]:
    for name in shape.required_members:
        if params.get(name) is None:
            yield prefix + name, "is required"
    for name, member in shape.members.items():
        value = params.get(name)
        if value is not None:
            yield from _value_problems(member, value, prefix + name)


def _value_problems(shape: Shape, value: Any, path: str) -> Iterator[tuple[str, str]]:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            yield path, "must be an object"
            return
        assert isinstance(shape, StructureShape)
        yield from _structure_problems(shape, value, prefix=path + ".")
    elif kind == "list":
        yield from _list_problems(shape, value, path)
    elif kind == "string":
        yield from _string_problems(shape, value, path)
    elif kind in ("integer", "long"):
        # bool is an int in Python but not in JSON: True must not pass as 1.
        if not isinstance(value, int) or isinstance(value, bool):
            yield path, "must be an integer"
        else:
            yield from _range_problems(shape, value, path)
    elif kind == "boolean" and not isinstance(value, bool):
        yield path, "must be a boolean"


def _list_problems(shape: Shape, value: Any, path: str) -> Iterator[tuple[str, str]]:
    if not isinstance(value, list):
        yield path, "must be a list"
        return
    yield from _length_problems(shape, len(value), path, unit="items")
    assert isinstance(shape, ListShape)
    for index, item in enumerate(value):
        yield from _value_problems(shape.member, item, f"{path}[{index}]")


def _string_problems(shape: Shape, value: Any, path: str) -> Iterator[tuple[str, str]]:
    if not isinstance(value, str):
        yield path, "must be a string"
        return
    yield from _length_problems(shape, len(value), path, unit="characters")
    pattern = shape.metadata.get("pattern")
    if pattern is not None and _compiled(pattern).search(value) is None:
        yield path, f"must match {pattern}"
    if shape.enum and value not in shape.enum:
        yield path, "must be one of " + ", ".join(shape.enum)


def _length_problems(shape: Shape, length: int, path: str, unit: str) -> Iterator[tuple[str, str]]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        yield path, f"must have at least {low} {unit}"
    if high is not None and length > high:
        yield path, f"must have at most {high} {unit}"


def _range_problems(shape: Shape, value: int, path: str) -> Iterator[tuple[str, str]]:
    low, high = _bounds(shape)
    if value < low:
        yield path, f"must be at least {int(low)}"
    if value > high:
        yield path, f"must be at most {int(high)}"


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # AWS patterns are anchored where they mean to be (``^…$``); ``.*\S.*`` is meant as "somewhere".
    return re.compile(pattern, re.DOTALL)
