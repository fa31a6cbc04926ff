"""The field rules of CONTRACT §1 and §7, checked one row at a time.

Each cell is first parsed by our own rule: the syntax a CSV cell must have, plus what the contract adds
on top of AWS (minutes ≥ 1, no empty country code, digits 0-9 only). What parses becomes request
parameters, which the botocore model then checks (lengths, list bounds, patterns), so a rule AWS
changes arrives with a botocore upgrade. A cell gets at most one problem: ours, or else the model's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.model import StructureShape

from batchproxy import model
from batchproxy.columns import (
    DEFAULT_SESSION_EXPIRY_MINUTES,
    DISABLED,
    FALL_BACK_PHONE_NUMBER,
    INPUT_COLUMNS,
    PHONE_NUMBER_POOL_COUNTRIES,
    PROFILE,
    REGION,
    VOICE_CONNECTOR_ID,
)
from batchproxy.input._problems import Problem, mask
from batchproxy.input._reader import Header
from batchproxy.rows import ProxySettings, Row, Target

__all__ = ["Checked", "Key", "RowChecker", "duplicate_problem", "looks_like_region"]

Key = tuple[str, str]  # (region after the run's default, VoiceConnectorId): one connector

# fullmatch everywhere: with search, ``$`` also matches before a final newline, which a quoted cell
# can hold; and [0-9] rather than \d, which would accept any script's digits.
_DIGITS = re.compile(r"[0-9]+")
_COUNTRY = re.compile(r"[A-Z]{2}")
_E164 = re.compile(r"\+?[1-9][0-9]{1,14}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
# The model's integers are 32-bit (Smithy); a larger number could only ever be refused by AWS.
_INT32_MAX = 2**31 - 1
# How many bad country codes one message names before it just counts the rest.
_LISTED = 3


class _Invalid(Exception):
    """A cell breaks one of our rules; the message says which."""


def looks_like_region(text: str) -> bool:
    return _REGION.fullmatch(text) is not None


def _required(text: str) -> str:
    if text == "":
        raise _Invalid("is required")
    return text


def _connector_id(text: str) -> str:
    # The model says the same with the pattern .*\S.*; this says it in words.
    if not _required(text).strip():
        raise _Invalid("must contain a character other than whitespace")
    return text  # as given: surrounding spaces are the user's to keep


def _minutes(text: str) -> int:
    if _DIGITS.fullmatch(_required(text)) is None:
        raise _Invalid("must be a whole number of minutes, written with the digits 0-9 only")
    # Compare lengths before int(): Python refuses to convert strings of more than 4300 digits.
    if len(text.lstrip("0")) > len(str(_INT32_MAX)) or int(text) > _INT32_MAX:
        raise _Invalid(f"must be at most {_INT32_MAX}")
    if int(text) < 1:
        raise _Invalid("must be at least 1")
    return int(text)


def _countries(text: str) -> list[str]:
    codes = _required(text).split(";")
    bad = [
        f"code {number} is empty" if code == "" else f"code {number} ({code!r}) is not two letters A-Z"
        for number, code in enumerate(codes, start=1)
        if _COUNTRY.fullmatch(code) is None
    ]
    if bad:
        listed = "; ".join(bad[:_LISTED]) + (f"; and {len(bad) - _LISTED} more" if len(bad) > _LISTED else "")
        raise _Invalid(f"must be country codes such as US;CA, separated by ';': {listed}")
    return codes


def _fall_back(text: str) -> str | None:
    if text == "":
        return None  # not sent
    if _E164.fullmatch(text) is None:
        raise _Invalid("must be an E.164 phone number such as +14155550100")
    return text


def _disabled(text: str) -> bool | None:
    if text == "":
        return None  # not sent
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise _Invalid("must be true or false (1/0 and yes/no are accepted too)")


def _region(text: str, default: str | None) -> str:
    if text == "":
        if default is None:
            raise _Invalid("is empty and the run has no default region: fill in Region or pass --region")
        return default
    if not looks_like_region(text):
        raise _Invalid("is not an AWS region name such as us-east-1")
    return text


def _profile(text: str) -> str | None:
    return text or None


@functools.cache
def _put_shape() -> StructureShape:
    shape = model.operation("PutVoiceConnectorProxy").input_shape
    assert isinstance(shape, StructureShape)
    return shape


_MEMBER_PATH = re.compile(r"(\w+)(?:\[(\d+)\])?")


def _member_path(path: str) -> tuple[str, int | None]:
    """``PhoneNumberPoolCountries[3]`` -> (``PhoneNumberPoolCountries``, 3)."""
    match = _MEMBER_PATH.match(path)
    assert match is not None, path
    return match[1], None if match[2] is None else int(match[2])


@dataclass(frozen=True, slots=True)
class Checked:
    """One row's verdict: ``row`` when valid, else the problems (in the order of the file's columns)."""

    values: tuple[str, ...]
    row: Row | None
    problems: tuple[Problem, ...]


class RowChecker:
    """Checks the rows of one header; built once per pass over the file."""

    def __init__(self, header: Header, *, default_region: str | None, needs_settings: bool) -> None:
        self._width = len(header.names)
        self._at = {column: header.index(column) for column in INPUT_COLUMNS}
        self._default_region = default_region
        self._needs_settings = needs_settings
        self._sensitive = model.sensitive_member_names()
        parsers: dict[str, Callable[[str], Any]] = {
            VOICE_CONNECTOR_ID: _connector_id,
            REGION: functools.partial(_region, default=default_region),
            PROFILE: _profile,
        }
        if needs_settings:  # delete and plan reads ignore the settings columns even when present
            parsers |= {
                DEFAULT_SESSION_EXPIRY_MINUTES: _minutes,
                PHONE_NUMBER_POOL_COUNTRIES: _countries,
                FALL_BACK_PHONE_NUMBER: _fall_back,
                DISABLED: _disabled,
            }
        self._parsers = sorted(parsers.items(), key=lambda item: self._position(item[0]))

    def _position(self, column: str) -> int:
        at = self._at[column]
        return self._width if at is None else at

    def cell(self, record: Sequence[str], column: str) -> str:
        """The cell of ``column``; empty when the file has no such column or the row is short."""
        at = self._at[column]
        return record[at] if at is not None and at < len(record) else ""

    def check(self, number: int, record: Sequence[str]) -> Checked:
        values: dict[str, Any] = {}
        ours: dict[str, str] = {}
        for column, parse in self._parsers:
            try:
                values[column] = parse(self.cell(record, column))
            except _Invalid as exc:
                ours[column] = str(exc)
        # Only parsed cells become parameters, so the model never repeats a cell ours flagged.
        messages = ours | self._model_messages(values)
        problems = [self._problem(number, record, c, messages[c]) for c, _ in self._parsers if c in messages]
        if len(record) > self._width:
            problems.append(self._extra_fields(number, record))
        cells = tuple(record[: self._width]) + ("",) * (self._width - len(record))
        if problems:
            return Checked(cells, None, tuple(problems))
        return Checked(cells, self._row(number, cells, values), ())

    def key(self, record: Sequence[str]) -> Key | None:
        """The connector a row names, or None when its id or region is unusable (reported elsewhere)."""
        connector = self.cell(record, VOICE_CONNECTOR_ID)
        if not connector.strip():
            return None
        try:
            return _region(self.cell(record, REGION), self._default_region), connector
        except _Invalid:
            return None

    def _model_messages(self, values: dict[str, Any]) -> dict[str, str]:
        shape = _put_shape()
        params = {name: v for name, v in values.items() if name in shape.members and v is not None}
        found: dict[str, list[str]] = {}
        for path, text in model.validate_members(shape, params):
            member, index = _member_path(path)
            if member not in params:
                continue  # "is required": ours reported the cell already, or this operation does not send it
            item = "" if index is None else f"item {index + 1} ({params[member][index]!r}) "
            found.setdefault(member, []).append(item + text)
        return {member: "; ".join(texts) for member, texts in found.items()}

    def _problem(self, number: int, record: Sequence[str], column: str, text: str) -> Problem:
        value = self.cell(record, column)
        return Problem(number, column, mask(value) if column in self._sensitive else value, text)

    def _extra_fields(self, number: int, record: Sequence[str]) -> Problem:
        extra = record[self._width :]
        return Problem(
            number,
            str(self._width + 1),
            ",".join(extra),
            f"the row has {len(record)} fields but the header has {self._width} columns",
        )

    def _row(self, number: int, cells: tuple[str, ...], values: dict[str, Any]) -> Row:
        target = Target(
            voice_connector_id=values[VOICE_CONNECTOR_ID], region=values[REGION], profile=values[PROFILE]
        )
        settings = None
        if self._needs_settings:
            settings = ProxySettings(
                default_session_expiry_minutes=values[DEFAULT_SESSION_EXPIRY_MINUTES],
                phone_number_pool_countries=tuple(values[PHONE_NUMBER_POOL_COUNTRIES]),
                fall_back_phone_number=values[FALL_BACK_PHONE_NUMBER],
                disabled=values[DISABLED],
            )
        return Row(number=number, values=cells, target=target, settings=settings)


def duplicate_problem(number: int, other: int, key: Key) -> Problem:
    """The problem of a row that names the same connector as row ``other``."""
    region, connector = key
    return Problem(
        number,
        VOICE_CONNECTOR_ID,
        connector,
        f"duplicate of row {other}: both name this connector in {region}, and concurrent "
        "requests to one connector would race",
    )
