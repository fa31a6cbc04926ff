"""The REST-JSON wire protocol of Chime SDK Voice, derived from the botocore model at start-up.

Routes (method, URI template, success status), where each input member travels (URI label, query
string, header, JSON body), the validation rules and the error statuses are all read from the model
once, when a ``Router`` is built; the request path then only does a dict lookup, a compiled regex
match and the validation itself. Errors are written as the AWS front end writes them: the status,
``x-amzn-ErrorType: <ExceptionName>`` and a body ``{"Code": "<short code>", "Message": "…"}``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from botocore.model import Shape, StructureShape

from batchproxy import model
from batchproxy.emulator.settings import settings

__all__ = ["OPERATIONS", "ApiError", "Route", "Router", "error_body", "render_output", "short_code"]

# The operations the emulator serves; everything else about them comes from the model.
OPERATIONS: tuple[str, ...] = (
    "CreateVoiceConnector",
    "GetVoiceConnector",
    "ListVoiceConnectors",
    "DeleteVoiceConnector",
    "PutVoiceConnectorProxy",
    "GetVoiceConnectorProxy",
    "DeleteVoiceConnectorProxy",
    *(name for setting in settings() for name in setting.operations),
)

# Rules AWS enforces that the model does not carry. The API reference states the session expiry is a
# positive number of minutes; the model only says "integer".
_EXTRA_MINIMUMS: dict[tuple[str, str], int] = {("PutVoiceConnectorProxy", "DefaultSessionExpiryMinutes"): 1}

# Errors the AWS front end answers with that no operation models (authentication, unknown paths).
_UNMODELED_STATUS = {
    "MissingAuthenticationTokenException": 403,
    "IncompleteSignatureException": 403,
    "InvalidSignatureException": 403,
    "UnknownOperationException": 404,
    # A temporary key whose session ended, or whose session token is not its own (AWS's front end).
    "ExpiredTokenException": 403,
    "UnrecognizedClientException": 403,
    "RequestEntityTooLargeException": 413,
}


class ApiError(Exception):
    """An error response: the exception name decides the status, as the model's error shape says."""

    def __init__(self, exception: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.exception = exception
        self.message = message
        self.status = error_status(exception)
        self.headers = dict(headers or {})


@functools.cache
def error_status(exception: str) -> int:
    known = _UNMODELED_STATUS.get(exception)
    if known is not None:
        return known
    shape = model.service_model().shape_for(exception)
    return int(shape.metadata["error"]["httpStatusCode"])


@functools.cache
def short_code(exception: str) -> str:
    """The body's ``Code`` for an exception: ``ThrottledClientException`` → ``Throttled``.

    The service's ``ErrorCode`` enum lists the short codes; an exception's name minus ``Exception``
    (and minus ``Client`` where the enum has no such entry) is its code.
    """
    codes = set(model.service_model().shape_for("ErrorCode").enum)
    stem = exception.removesuffix("Exception")
    if stem not in codes and stem.removesuffix("Client") in codes:
        return stem.removesuffix("Client")
    return stem


def error_body(exception: str, message: str) -> bytes:
    return json.dumps({"Code": short_code(exception), "Message": message}).encode()


@dataclass(frozen=True, slots=True)
class _Member:
    wire: str  # the name on the wire: URI label group, query key, header or JSON key
    name: str  # the member name in the model
    type_name: str


@dataclass(frozen=True, slots=True)
class Route:
    """One operation's wire form, precomputed from the model."""

    operation: str
    method: str
    pattern: re.Pattern[str]
    success_status: int
    input_shape: StructureShape
    output_shape: StructureShape | None
    labels: tuple[_Member, ...]
    query: tuple[_Member, ...]
    headers: tuple[_Member, ...]
    body: tuple[_Member, ...]

    @property
    def has_body(self) -> bool:
        return bool(self.body)

    def params(
        self,
        found: re.Match[str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The operation's input, assembled from every location and validated; ``ApiError`` if invalid."""
        # A JSON null is an absent member, as AWS treats it.
        params: dict[str, Any] = {m.name: body[m.wire] for m in self.body if body.get(m.wire) is not None}
        for member in self.headers:
            if member.wire in headers:
                params[member.name] = _coerce(member, headers[member.wire])
        for member in self.query:
            if member.wire in query:
                params[member.name] = _coerce(member, query[member.wire])
        for member in self.labels:
            params[member.name] = unquote(found[member.wire])
        self.validate(params)
        return params

    def validate(self, params: Mapping[str, Any]) -> None:
        problems = model.validate_members(self.input_shape, params)
        for (operation, name), low in _EXTRA_MINIMUMS.items():
            value = params.get(name)
            if operation == self.operation and isinstance(value, int) and value < low:
                problems.append((name, f"must be at least {low}"))
        if problems:
            detail = "; ".join(f"{path} {problem}" for path, problem in problems)
            raise ApiError("BadRequestException", f"Invalid input: {detail}")


def _coerce(member: _Member, text: str) -> Any:
    # Non-body members arrive as text; the model's type says what they were before serialisation.
    if member.type_name in ("integer", "long"):
        if not re.fullmatch(r"-?\d+", text):
            raise ApiError("BadRequestException", f"Invalid input: {member.name} must be an integer")
        return int(text)
    if member.type_name == "boolean":
        if text not in ("true", "false"):
            raise ApiError("BadRequestException", f"Invalid input: {member.name} must be a boolean")
        return text == "true"
    return text


class Router:
    """Finds the route of a request by method and raw (still percent-encoded) path."""

    def __init__(self, operations: tuple[str, ...] = OPERATIONS) -> None:
        self._by_method: dict[str, list[Route]] = {}
        for name in operations:
            route = _build_route(name)
            self._by_method.setdefault(route.method, []).append(route)

    def match(self, method: str, raw_path: str) -> tuple[Route, re.Match[str]] | None:
        for route in self._by_method.get(method, ()):
            found = route.pattern.fullmatch(raw_path)
            if found is not None:
                return route, found
        return None

    def routes(self) -> list[Route]:
        return [route for routes in self._by_method.values() for route in routes]


_LABEL = re.compile(r"\{(\w+)(\+?)\}")


def _build_route(name: str) -> Route:
    operation = model.operation(name)
    http = operation.http
    path = http["requestUri"].split("?", 1)[0]
    shape = operation.input_shape
    assert isinstance(shape, StructureShape), f"{name} has no input structure"
    regex, groups = _uri_regex(path)
    members = _members_by_location(shape, groups)
    output = operation.output_shape
    return Route(
        operation=name,
        method=http["method"],
        pattern=re.compile(regex),
        success_status=int(http.get("responseCode", 200)),
        input_shape=shape,
        output_shape=output if isinstance(output, StructureShape) else None,
        labels=tuple(members["uri"]),
        query=tuple(members["querystring"]),
        headers=tuple(members["header"]),
        body=tuple(members["body"]),
    )


def _uri_regex(path: str) -> tuple[str, dict[str, str]]:
    """A regex for a URI template, and the group name of each label (labels may not be identifiers)."""
    groups: dict[str, str] = {}
    parts, position = [], 0
    for found in _LABEL.finditer(path):
        group = groups.setdefault(found[1], f"g{len(groups)}")
        # A greedy label (``{Key+}``) may span slashes; a plain one is a single path segment.
        label = f"(?P<{group}>.+)" if found[2] else f"(?P<{group}>[^/]+)"
        parts += [re.escape(path[position : found.start()]), label]
        position = found.end()
    return "".join([*parts, re.escape(path[position:])]), groups


def _members_by_location(shape: StructureShape, groups: Mapping[str, str]) -> dict[str, list[_Member]]:
    located: dict[str, list[_Member]] = {"uri": [], "querystring": [], "header": [], "body": []}
    for name, member in shape.members.items():
        location = member.serialization.get("location", "body")
        wire = member.serialization.get("name", name)
        if location == "uri":
            wire = groups[wire]
        elif location == "header":
            wire = wire.lower()
        located.setdefault(location, []).append(_Member(wire=wire, name=name, type_name=member.type_name))
    return located


def render_output(shape: Shape, value: Any) -> Any:
    """``value`` as the model's output shape serialises it: only modeled members, ISO 8601 timestamps."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        members = shape.members
        return {
            name: render_output(members[name], item)
            for name, item in value.items()
            if name in members and item is not None
        }
    if kind == "list":
        member = shape.member
        return [render_output(member, item) for item in value]
    if kind == "timestamp" and isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value
