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
from typing import Any, NamedTuple, Protocol

from botocore.model import StructureShape

from batchproxy import model
from batchproxy.columns import (
    ACCOUNT_ID,
    DEFAULT_SESSION_EXPIRY_MINUTES,
    DISABLED,
    FALL_BACK_PHONE_NUMBER,
    INPUT_COLUMNS,
    PHONE_NUMBER_POOL_COUNTRIES,
    PROFILE,
    REGION,
    ROLE_ARN,
    VOICE_CONNECTOR_ID,
)
from batchproxy.input._problems import Problem, mask
from batchproxy.input._reader import Header
from batchproxy.input._roles import CellError, RoleColumns, account_cell, role_arn_cell
from batchproxy.rows import ProxySettings, Row, Target

__all__ = ["Checked", "Key", "Profiles", "RowChecker", "duplicate_problem", "looks_like_region"]

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


def _countries(text: str) -> tuple[str, ...]:
    codes = _required(text).split(";")
    bad = [
        f"code {number} is empty" if code == "" else f"code {number} ({code!r}) is not two letters A-Z"
        for number, code in enumerate(codes, start=1)
        if _COUNTRY.fullmatch(code) is None
    ]
    if bad:
        listed = "; ".join(bad[:_LISTED]) + (f"; and {len(bad) - _LISTED} more" if len(bad) > _LISTED else "")
        raise _Invalid(f"must be country codes such as US;CA, separated by ';': {listed}")
    return tuple(codes)


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


class Profiles(Protocol):
    """The run's AWS profiles, as the rules need them (``profiles.AwsProfiles`` is one)."""

    files: str  # where profiles are looked up, for messages

    def known(self, profile: str) -> bool: ...

    def region(self, profile: str | None) -> str | None: ...


def _profile(text: str, profiles: Profiles | None) -> str | None:
    if text and profiles is not None and not profiles.known(text):
        raise _Invalid(f"is not a profile in {profiles.files}")
    return text or None


def _region_or_profiles(text: str) -> str | None:
    """A Region cell when the run has no default: empty means "the row's profile's region"."""
    return _region(text, None) if text else None


def _profile_region(profiles: Profiles, profile: str | None) -> str:
    """The region ``profile`` is configured with (None: the run's profile), for a row with no Region."""
    region = profiles.region(profile)
    if region is None:
        if profile is None:
            raise _Invalid("is empty and the run has no default region: fill in Region or pass --region")
        raise _Invalid(f"is empty and profile {profile} has no region: fill in Region or pass --region")
    if not looks_like_region(region):
        raise _Invalid(f"is empty and profile {profile}'s region {region!r} is not an AWS region name")
    return region


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


def _as_param(value: Any) -> Any:
    """A parsed value as the JSON protocol carries it: the model wants a list where we keep a tuple."""
    return list(value) if isinstance(value, tuple) else value


def _model_message(member: str, value: Any) -> str:
    """What the model says is wrong with one member's value: each broken rule, items numbered from 1."""
    param = _as_param(value)
    texts = []
    for path, text in model.validate_members(_put_shape(), {member: param}):
        name, index = _member_path(path)
        if name != member:
            continue  # another member "is required": not this cell's business
        texts.append(("" if index is None else f"item {index + 1} ({param[index]!r}) ") + text)
    return "; ".join(texts)


# (parsed value, None) for a good cell; (None, what is wrong) for a bad one.
Verdict = tuple[Any, str | None]

# Cells of every column but the id repeat from row to row (a few minute values and country lists, one
# fallback number for many connectors), so their verdicts are remembered, in bounded caches; so are
# the settings they make up. A cache that misses costs a lookup more than not having it.
_REPEATING = frozenset(INPUT_COLUMNS) - {VOICE_CONNECTOR_ID}
_REMEMBERED = 4096


def _cell_rule(column: str, parse: Callable[[str], Any]) -> Callable[[str], Verdict]:
    """One column's whole check: our rule, then the model's for an API member (compiled once here)."""
    shape = _put_shape()
    accepts = model.acceptor(shape.members[column]) if column in shape.members else None

    def verdict(text: str) -> Verdict:
        try:
            value = parse(text)
        except (_Invalid, CellError) as exc:
            return None, str(exc)
        # Only a parsed value meets the model, so the model never repeats a problem ours found.
        if value is None or accepts is None or accepts(_as_param(value)):
            return value, None
        return None, _model_message(column, value) or None

    if column in _REPEATING:
        return functools.lru_cache(maxsize=_REMEMBERED)(verdict)
    return verdict


class Checked(NamedTuple):
    """One row's verdict: ``row`` when valid, else the problems (in the order of the file's columns).

    A named tuple: one is made for every row of every pass, at half the cost of a frozen dataclass.
    """

    values: tuple[str, ...]
    row: Row | None
    problems: tuple[Problem, ...]


# Where each column's parsed value sits in the list ``RowChecker.check`` fills.
_SLOT = {column: slot for slot, column in enumerate(INPUT_COLUMNS)}


class RowChecker:
    """Checks the rows of one header; built once per pass over the file.

    Everything that does not depend on the row is settled here: which rule checks which position, the
    model's constraints compiled, and the verdict of every column the file lacks.
    """

    def __init__(
        self,
        header: Header,
        *,
        default_region: str | None,
        needs_settings: bool,
        profiles: Profiles | None = None,
        role_name: str | None = None,
    ) -> None:
        self._width = len(header.names)
        self._at = {column: header.index(column) for column in INPUT_COLUMNS}
        self._default_region = default_region
        self._needs_settings = needs_settings
        self._sensitive = model.sensitive_member_names()
        # With no run default, a row's region may come from its profile: settled after its cells.
        self._profile_region: Callable[[str | None], str] | None = None
        region_rule: Callable[[str], Any] = functools.partial(_region, default=default_region)
        if default_region is None and profiles is not None:
            region_rule = _region_or_profiles
            self._profile_region = functools.lru_cache(maxsize=_REMEMBERED)(
                functools.partial(_profile_region, profiles)
            )
        parsers: dict[str, Callable[[str], Any]] = {
            VOICE_CONNECTOR_ID: _connector_id,
            REGION: region_rule,
            PROFILE: functools.partial(_profile, profiles=profiles),
            ACCOUNT_ID: account_cell,
            ROLE_ARN: role_arn_cell,
        }
        if needs_settings:  # delete and plan reads ignore the settings columns even when present
            parsers |= {
                DEFAULT_SESSION_EXPIRY_MINUTES: _minutes,
                PHONE_NUMBER_POOL_COUNTRIES: _countries,
                FALL_BACK_PHONE_NUMBER: _fall_back,
                DISABLED: _disabled,
            }
        # Only a file with an AccountId or RoleArn column has rows that may combine them wrongly.
        self._roles: RoleColumns | None = None
        if self._at[ACCOUNT_ID] is not None or self._at[ROLE_ARN] is not None:
            self._roles = RoleColumns(role_name)
        ordered = sorted(parsers.items(), key=lambda item: self._position(item[0]))
        # Present columns in file order; a missing column's cell is always "", so its verdict is too.
        self._present: list[tuple[int, int, str, Callable[[str], Verdict]]] = []
        self._absent: list[tuple[str, str]] = []  # (column, what is wrong), after the present ones
        self._values: list[Any] = [None] * len(INPUT_COLUMNS)
        for column, parse in ordered:
            rule = _cell_rule(column, parse)
            at = self._at[column]
            if at is not None:
                self._present.append((at, _SLOT[column], column, rule))
                continue
            value, message = rule("")
            self._values[_SLOT[column]] = value
            if message is not None:
                self._absent.append((column, message))

    def _position(self, column: str) -> int:
        at = self._at[column]
        return self._width if at is None else at

    def cell(self, record: Sequence[str], column: str) -> str:
        """The cell of ``column``; empty when the file has no such column or the row is short."""
        at = self._at[column]
        return record[at] if at is not None and at < len(record) else ""

    def check(self, number: int, record: Sequence[str]) -> Checked:
        width = self._width
        cells = tuple(record)
        if len(cells) != width:  # a short row is padded, a long one cut (and reported below)
            cells = cells[:width] + ("",) * (width - len(cells))
        values = self._values.copy()
        problems: list[Problem] = []
        for at, slot, column, rule in self._present:
            value, message = rule(cells[at])
            if message is None:
                values[slot] = value
            else:
                problems.append(self._problem(number, column, cells[at], message))
        for column, message in self._absent:
            problems.append(Problem(number, column, "", message))
        if self._profile_region is not None and values[_SLOT[REGION]] is None:
            self._region_from_profile(number, cells, values, problems)
        if self._roles is not None:
            problems += self._roles.problems(
                number,
                {column: self.cell(cells, column) for column in (PROFILE, ACCOUNT_ID, ROLE_ARN)},
                values[_SLOT[ROLE_ARN]],
                values[_SLOT[REGION]],
            )
        if len(record) > width:
            problems.append(self._extra_fields(number, record))
        if problems:
            return Checked(cells, None, tuple(problems))
        return Checked(cells, self._row(number, cells, values), ())

    def _region_from_profile(
        self, number: int, cells: tuple[str, ...], values: list[Any], problems: list[Problem]
    ) -> None:
        """An empty Region cell takes the row's profile's region (a bad Region cell stays reported)."""
        assert self._profile_region is not None
        if self.cell(cells, REGION) or any(p.column in (REGION, PROFILE) for p in problems):
            return
        try:
            values[_SLOT[REGION]] = self._profile_region(values[_SLOT[PROFILE]])
        except _Invalid as exc:
            problems.append(Problem(number, REGION, "", str(exc)))

    def key(self, record: Sequence[str]) -> Key | None:
        """The connector a row names, or None when its id or region is unusable (reported elsewhere)."""
        connector = self.cell(record, VOICE_CONNECTOR_ID)
        if not connector.strip():
            return None
        text = self.cell(record, REGION)
        try:
            if not text and self._profile_region is not None:
                return self._profile_region(self.cell(record, PROFILE) or None), connector
            return _region(text, self._default_region), connector
        except _Invalid:
            return None

    def _problem(self, number: int, column: str, value: str, text: str) -> Problem:
        return Problem(number, column, mask(value) if column in self._sensitive else value, text)

    def _extra_fields(self, number: int, record: Sequence[str]) -> Problem:
        extra = record[self._width :]
        return Problem(
            number,
            str(self._width + 1),
            ",".join(extra),
            f"the row has {len(record)} fields but the header has {self._width} columns",
        )

    def _row(self, number: int, cells: tuple[str, ...], values: list[Any]) -> Row:
        target = Target(
            voice_connector_id=values[_SLOT[VOICE_CONNECTOR_ID]],
            region=values[_SLOT[REGION]],
            profile=values[_SLOT[PROFILE]],
            role=None
            if self._roles is None
            else self._roles.role(values[_SLOT[ACCOUNT_ID]], values[_SLOT[ROLE_ARN]], values[_SLOT[REGION]]),
        )
        settings = None
        if self._needs_settings:
            settings = _settings(
                values[_SLOT[DEFAULT_SESSION_EXPIRY_MINUTES]],
                values[_SLOT[PHONE_NUMBER_POOL_COUNTRIES]],
                values[_SLOT[FALL_BACK_PHONE_NUMBER]],
                values[_SLOT[DISABLED]],
            )
        return Row(number=number, values=cells, target=target, settings=settings)


@functools.lru_cache(maxsize=_REMEMBERED)
def _settings(
    minutes: int, countries: tuple[str, ...], fall_back: str | None, disabled: bool | None
) -> ProxySettings:
    """Rows share equal settings objects: they are immutable, and most rows repeat a few."""
    return ProxySettings(
        default_session_expiry_minutes=minutes,
        phone_number_pool_countries=countries,
        fall_back_phone_number=fall_back,
        disabled=disabled,
    )


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
