"""The field rules of docs/reference.md §1, §7 and §9, checked one row at a time.

The connector's own columns are checked here: ``VoiceConnectorId``, and the ``Region`` and ``Profile``
that say where it is reached. The chosen setting's columns are checked by the settings package's rules,
derived from the botocore model (``_setting_cells``), so a rule AWS changes arrives with a botocore
upgrade. A cell gets at most one problem.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

from batchproxy import settings
from batchproxy.columns import ACCOUNT_ID, PROFILE, REGION, ROLE_ARN, VOICE_CONNECTOR_ID
from batchproxy.input._problems import Problem
from batchproxy.input._reader import Header
from batchproxy.input._roles import CellError, RoleColumns, account_cell, role_arn_cell
from batchproxy.input._setting_cells import SettingCells
from batchproxy.rows import Row, SettingValues, Target
from batchproxy.settings.cells import CellRule

__all__ = ["Checked", "Key", "Profiles", "RowChecker", "duplicate_problem", "looks_like_region"]

Key = tuple[str, str]  # (region after the run's default, VoiceConnectorId): one connector

# fullmatch: with search, ``$`` also matches before a final newline, which a quoted cell can hold.
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


class _Invalid(Exception):
    """A cell breaks one of our rules; the message says which."""


def looks_like_region(text: str) -> bool:
    return _REGION.fullmatch(text) is not None


def _connector_id(rule: CellRule, text: str) -> str:
    """The model's rules for the id (required, not only whitespace, its length); kept as given."""
    _, problems = rule(text)
    if problems:
        raise _Invalid(problems[0].text)
    return text


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


# (parsed value, None) for a good cell; (None, what is wrong) for a bad one.
Verdict = tuple[Any, str | None]

# Region and Profile cells repeat from row to row, so their verdicts are remembered, in bounded
# caches. A cache that misses costs a lookup more than not having it.
_TARGET_COLUMNS = (VOICE_CONNECTOR_ID, REGION, PROFILE, ACCOUNT_ID, ROLE_ARN)
_REMEMBERED = 4096


def _cell_rule(column: str, parse: Callable[[str], Any]) -> Callable[[str], Verdict]:
    """One column's whole check, compiled once here."""

    def verdict(text: str) -> Verdict:
        try:
            return parse(text), None
        except (_Invalid, CellError) as exc:
            return None, str(exc)

    if column != VOICE_CONNECTOR_ID:
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
_SLOT = {column: slot for slot, column in enumerate(_TARGET_COLUMNS)}


class RowChecker:
    """Checks the rows of one header; built once per pass over the file.

    Everything that does not depend on the row is settled here: which rule checks which position, the
    model's constraints compiled, and the verdict of every column the file lacks. ``setting`` says
    which columns are settings (checked only when ``needs_settings``: delete and rollback ignore them).
    """

    def __init__(
        self,
        header: Header,
        *,
        default_region: str | None,
        needs_settings: bool,
        profiles: Profiles | None = None,
        setting: settings.Setting | None = None,
        role_name: str | None = None,
    ) -> None:
        self._width = len(header.names)
        self._at = {column: header.index(column) for column in _TARGET_COLUMNS}
        self._default_region = default_region
        setting = setting or settings.setting("proxy")
        self._settings = SettingCells(setting, header.columns) if needs_settings else None
        # Problems are listed in the file's column order, a missing column's after the present ones.
        self._order = {name: at for at, name in enumerate(header.columns) if name is not None}
        # With no run default, a row's region may come from its profile: settled after its cells.
        self._profile_region: Callable[[str | None], str] | None = None
        region_rule: Callable[[str], Any] = functools.partial(_region, default=default_region)
        if default_region is None and profiles is not None:
            region_rule = _region_or_profiles
            self._profile_region = functools.lru_cache(maxsize=_REMEMBERED)(
                functools.partial(_profile_region, profiles)
            )
        parsers: dict[str, Callable[[str], Any]] = {
            VOICE_CONNECTOR_ID: functools.partial(
                _connector_id, settings.rules(setting).rule(VOICE_CONNECTOR_ID)
            ),
            REGION: region_rule,
            PROFILE: functools.partial(_profile, profiles=profiles),
            ACCOUNT_ID: account_cell,
            ROLE_ARN: role_arn_cell,
        }
        # Only a file with an AccountId or RoleArn column has rows that may combine them wrongly.
        self._roles: RoleColumns | None = None
        if self._at[ACCOUNT_ID] is not None or self._at[ROLE_ARN] is not None:
            self._roles = RoleColumns(role_name)
        ordered = sorted(parsers.items(), key=lambda item: self._position(item[0]))
        # Present columns in file order; a missing column's cell is always "", so its verdict is too.
        self._present: list[tuple[int, int, str, Callable[[str], Verdict]]] = []
        self._absent: list[tuple[str, str]] = []  # (column, what is wrong), after the present ones
        self._values: list[Any] = [None] * len(_TARGET_COLUMNS)
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
                problems.append(Problem(number, column, cells[at], message))
        for column, message in self._absent:
            problems.append(Problem(number, column, "", message))
        found = None
        if self._settings is not None:
            found, bad = self._settings.check(number, cells)
            if bad:
                problems = sorted([*problems, *bad], key=self._position_of)
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
        return Checked(cells, self._row(number, cells, values, found), ())

    def _position_of(self, problem: Problem) -> int:
        return self._order.get(problem.column, self._width)

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

    def _extra_fields(self, number: int, record: Sequence[str]) -> Problem:
        extra = record[self._width :]
        return Problem(
            number,
            str(self._width + 1),
            ",".join(extra),
            f"the row has {len(record)} fields but the header has {self._width} columns",
        )

    def _row(
        self, number: int, cells: tuple[str, ...], values: list[Any], found: SettingValues | None
    ) -> Row:
        target = Target(
            voice_connector_id=values[_SLOT[VOICE_CONNECTOR_ID]],
            region=values[_SLOT[REGION]],
            profile=values[_SLOT[PROFILE]],
            role=None
            if self._roles is None
            else self._roles.role(values[_SLOT[ACCOUNT_ID]], values[_SLOT[ROLE_ARN]], values[_SLOT[REGION]]),
        )
        return Row(number=number, values=cells, target=target, settings=found)


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
