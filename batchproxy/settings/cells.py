"""One CSV cell of a setting's column -> the API value, checked against the model before anything is sent.

How a cell is written follows from the member's shape (docs/reference.md §9): strings as they are, integers in
plain digits 0-9, booleans ``true/false/1/0/yes/no``, a list of strings or enum values ``;``-separated,
a structure or a list of structures as one JSON cell with the API's member names. An empty cell is not
sent. Every rule the model carries (and the catalog's stricter ones) is checked here, inside JSON too,
and a problem names the path inside the cell (``Routes[2].Port``, items counted from 0 as in the SDK).

Checkers are compiled once per setting (``rules``), and the verdicts of cells that repeat from row to
row (everything but the connector id) are remembered, so a bulk file costs a dictionary lookup per cell.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, NamedTuple

from botocore.model import ListShape, Shape

from batchproxy.settings import _values
from batchproxy.settings.catalog import CONNECTOR_MEMBER, Setting
from batchproxy.settings.schema import Column, Kind, columns

__all__ = ["CellProblem", "CellRule", "CheckedCells", "RowRule", "SettingRules", "Verdict", "rules"]

_DIGITS = re.compile(r"[0-9]+")  # [0-9], not \d: that would take any script's digits
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_REMEMBERED = 4096  # verdicts kept per column; a miss costs one lookup more than no cache
_LISTED = 3  # bad list items named in one message before the rest are only counted


class CellProblem(NamedTuple):
    """One broken rule of one cell. ``path`` is the column, or a path inside its JSON (``Routes[2].Port``)."""

    column: str
    path: str
    message: str
    value: str  # the cell as read; the input layer masks it when ``Column.sensitive``

    @property
    def text(self) -> str:
        """The problem for ``row N, column C: <text>``: the path inside the cell, then what is wrong."""
        return self.message if self.path == self.column else f"{self.path}: {self.message}"


# (the API value, or None when the cell is empty or bad; the cell's problems, empty when it is good)
Verdict = tuple[Any, tuple[CellProblem, ...]]
CellRule = Callable[[str], Verdict]
RowRule = Callable[[Sequence[str]], "CheckedCells"]


class _Bad(Exception):
    """A cell's text cannot become a value; the message says why."""


def _integer(text: str, low: float, high: float) -> int:
    if _DIGITS.fullmatch(text) is None:
        raise _Bad("must be a whole number written with the digits 0-9 only")
    # Lengths first: Python refuses to convert strings of more than 4300 digits.
    if len(text.lstrip("0")) > len(str(int(high))) or int(text) > high:
        raise _Bad(f"must be at most {int(high)}")
    if int(text) < low:
        raise _Bad(f"must be at least {int(low)}")
    return int(text)


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _Bad("must be true or false (1/0 and yes/no are accepted too)")


def _scalar(shape: Shape, key: str, setting: Setting) -> Callable[[str], Any]:
    """Text -> checked value for a string, integer or boolean member; raises ``_Bad``."""
    if shape.type_name in ("integer", "long"):
        low, high = _values.limits(shape, key, setting.stricter)
        return functools.partial(_integer, low=low, high=high)
    if shape.type_name == "boolean":
        return _boolean
    check = _values.compile_check(shape, key, setting.stricter)

    def string(text: str) -> str:
        problem = next(check(text, ""), None)
        if problem is not None:
            raise _Bad(problem[1])
        return text

    return string


def _list(shape: ListShape, key: str, setting: Setting, sensitive: bool) -> Callable[[str], Any]:
    item = _scalar(shape.member, key + "[]", setting)
    low, high = _values.limits(shape, key, setting.stricter)

    def parse(text: str) -> tuple[Any, ...]:
        values, bad = [], []
        for number, part in enumerate(text.split(";"), start=1):
            try:
                if part == "":
                    raise _Bad("is empty")
                values.append(item(part))
            except _Bad as exc:
                shown = "" if sensitive or part == "" else f" ({part!r})"
                bad.append(f"item {number}{shown} {exc}")
        if bad:
            more = f"; and {len(bad) - _LISTED} more" if len(bad) > _LISTED else ""
            raise _Bad("; ".join(bad[:_LISTED]) + more)
        if len(values) < low:
            raise _Bad(f"must have at least {int(low)} items")
        if len(values) > high:
            raise _Bad(f"must have at most {int(high)} items")
        return tuple(values)

    return parse


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object naming a member twice: Python would keep the last silently, the user meant one of them."""
    found = dict(pairs)
    if len(found) != len(pairs):
        twice = next(name for name in found if sum(1 for n, _ in pairs if n == name) > 1)
        raise ValueError(f"member {twice!r} appears twice in one object")
    return found


def _json(column: Column, setting: Setting) -> Callable[[str], tuple[Any, list[tuple[str, str]]]]:
    check = _values.compile_check(column.shape, column.name, setting.stricter)
    accepts = _values.compile_accepts(column.shape, column.name, setting.stricter)

    def parse(text: str) -> tuple[Any, list[tuple[str, str]]]:
        try:
            value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_members)
        except RecursionError:
            raise _Bad("is not valid JSON: nested too deeply") from None
        except ValueError as exc:
            where = f" at character {exc.pos + 1}" if isinstance(exc, json.JSONDecodeError) else ""
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise _Bad(f"is not valid JSON: {message}{where}") from None
        return value, [] if accepts(value) else list(check(value, column.name))

    return parse


def _cell_rule(column: Column, setting: Setting) -> CellRule:
    """One column's whole check, compiled once: empty, required, then the value's rules."""
    name, required = column.name, column.required
    parse: Callable[[str], Any]
    if column.kind is Kind.JSON:
        parse_json = _json(column, setting)

        def verdict(text: str) -> Verdict:
            if text == "":
                return None, ((CellProblem(name, name, "is required", ""),) if required else ())
            try:
                value, found = parse_json(text)
            except _Bad as exc:
                return None, (CellProblem(name, name, str(exc), text),)
            if found:
                return None, tuple(CellProblem(name, path, message, text) for path, message in found)
            return value, ()

        return verdict
    if column.kind is Kind.LIST:
        assert isinstance(column.shape, ListShape)
        parse = _list(column.shape, name, setting, column.sensitive)
    else:
        parse = _scalar(column.shape, name, setting)

    def scalar_verdict(text: str) -> Verdict:
        if text == "":
            return None, ((CellProblem(name, name, "is required", ""),) if required else ())
        try:
            return parse(text), ()
        except _Bad as exc:
            return None, (CellProblem(name, name, str(exc), text),)

    return scalar_verdict


class CheckedCells(NamedTuple):
    """A row's setting cells checked: the members to send (column order), or the problems."""

    members: dict[str, Any]
    problems: tuple[CellProblem, ...]


class SettingRules:
    """Every column's rule for one setting, compiled once (get it from ``rules(setting)``)."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting
        self.columns: tuple[Column, ...] = columns(setting)
        self._rules: dict[str, CellRule] = {}
        for column in self.columns:
            rule = _cell_rule(column, setting)
            if column.name != CONNECTOR_MEMBER:  # ids are unique per row: remembering them only costs
                rule = functools.lru_cache(maxsize=_REMEMBERED)(rule)
            self._rules[column.name] = rule

    def rule(self, column: str) -> CellRule:
        """The check of one column's cell; ``KeyError`` for a column the setting does not have."""
        return self._rules[column]

    def check(self, cells: Mapping[str, str]) -> CheckedCells:
        """Check a row's cells, keyed by canonical column name (a missing column reads as empty).

        ``members`` holds the setting's members to send (not ``VoiceConnectorId``); values may be
        shared between rows with equal cells, so they must not be mutated (``put_request`` copies).
        """
        members: dict[str, Any] = {}
        problems: list[CellProblem] = []
        for name, rule in self._rules.items():
            value, found = rule(cells.get(name, ""))
            if found:
                problems.extend(found)
            elif value is not None and name != CONNECTOR_MEMBER:
                members[name] = value
        return CheckedCells(members, tuple(problems))

    def for_header(self, header: Sequence[str | None], *, skip: Collection[str] = ()) -> RowRule:
        """A row check for one file's header, where ``header[i]`` is the column at position i (or None).

        ``skip`` names columns checked elsewhere (the input layer checks ``VoiceConnectorId`` itself,
        with the region and profile it is keyed by): neither read nor reported missing here.

        What does not depend on the row is settled here, once per pass: which rule reads which
        position, and the verdict of every column the file lacks (its cell is always empty). Rows are
        the cells as read; a short row reads as empty cells.
        """
        present = [
            (at, name, self._rules[name])
            for at, name in enumerate(header)
            if name in self._rules and name not in skip
        ]
        absent_members: dict[str, Any] = {}
        absent_problems: list[CellProblem] = []
        for name, rule in self._rules.items():
            if name not in header and name not in skip:
                value, found = rule("")
                absent_problems.extend(found)
                if value is not None:
                    absent_members[name] = value
        width = len(header)
        connector = CONNECTOR_MEMBER

        def check(cells: Sequence[str]) -> CheckedCells:
            if len(cells) < width:
                cells = tuple(cells) + ("",) * (width - len(cells))
            members = absent_members.copy()
            problems: list[CellProblem] = []
            for at, name, rule in present:
                value, found = rule(cells[at])
                if found:
                    problems.extend(found)
                elif value is not None and name != connector:
                    members[name] = value
            if absent_problems:
                problems.extend(absent_problems)
            return CheckedCells(members, tuple(problems))

        return check


@functools.cache
def rules(setting: Setting) -> SettingRules:
    return SettingRules(setting)
