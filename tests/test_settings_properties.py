"""Properties over values generated from the model itself, for every setting.

The examples elsewhere pin messages; these check the rules hold for whatever the model allows: what the
model allows is accepted and round-trips, what batchproxy accepts botocore accepts too, and a setting
compared with itself has no changes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.model import ListShape, Shape, StructureShape
from hypothesis import given, settings
from hypothesis import strategies as st

from batchproxy import model
from batchproxy.settings import SETTINGS, Kind, Setting, columns, differences, put_request, restore, rules
from batchproxy.settings import snapshot_text as snapshot
from batchproxy.settings._values import compile_accepts, compile_check, limits
from tests.settings_examples import sdk_problems

# Load on the shared machine makes timings meaningless; the example count keeps each test short.
_QUICK = settings(max_examples=40, deadline=None, database=None)  # no .hypothesis/ left behind
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters=";\r\n"))


def _pattern(shape: Shape, key: str, chosen: Setting) -> str | None:
    pattern: str | None = {**shape.metadata, **chosen.stricter.get(key, {})}.get("pattern")
    return pattern


def _valid(shape: Shape, key: str, chosen: Setting) -> st.SearchStrategy[Any]:
    """Any value the model (with the catalog's stricter rules) allows for ``shape``."""
    if isinstance(shape, StructureShape):
        required = {
            n: _valid(m, f"{key}.{n}", chosen)
            for n, m in shape.members.items()
            if n in shape.required_members
        }
        optional = {n: _valid(m, f"{key}.{n}", chosen) for n, m in shape.members.items() if n not in required}
        return st.fixed_dictionaries(required, optional=optional)
    low, high = limits(shape, key, chosen.stricter)
    if isinstance(shape, ListShape):
        return st.lists(
            _valid(shape.member, key + "[]", chosen), min_size=int(max(low, 0)), max_size=int(min(high, 4))
        )
    return _valid_scalar(shape, key, chosen, low, high)


def _valid_scalar(shape: Shape, key: str, chosen: Setting, low: float, high: float) -> st.SearchStrategy[Any]:
    if shape.type_name == "integer":
        return st.integers(int(low), int(high))
    if shape.type_name == "boolean":
        return st.booleans()
    if getattr(shape, "enum", None):
        return st.sampled_from(shape.enum)
    pattern = _pattern(shape, key, chosen)
    if pattern is not None:
        return st.from_regex(re.compile(pattern.strip("^$"), re.ASCII), fullmatch=True).filter(
            lambda t: t.strip()
        )
    return _TEXT.filter(lambda t: len(t) >= max(low, 1) and len(t) <= high)


def _cell(kind: Kind, value: Any, spelling: int) -> str:
    if kind is Kind.BOOLEAN:
        return (("true", "false"), ("1", "0"), ("YES", "No"))[spelling % 3][0 if value else 1]
    if kind is Kind.LIST:
        return ";".join(map(str, value))
    if kind is Kind.JSON:
        return json.dumps(value)
    return str(value)


@st.composite
def _row(draw: st.DrawFn, chosen: Setting) -> tuple[dict[str, str], dict[str, Any]]:
    """Cells and the members they stand for; each optional member is sent or left empty."""
    cells, members = {"VoiceConnectorId": draw(st.from_regex(r"[a-z0-9]{22}", fullmatch=True))}, {}
    for column in columns(chosen)[1:]:
        if not column.required and draw(st.booleans()):
            continue
        value = draw(_valid(column.shape, column.name, chosen))
        if column.kind is Kind.LIST and not value:
            continue  # a ';' cell cannot say "empty list"; empty is "not sent", which compares the same
        cells[column.name] = _cell(column.kind, value, draw(st.integers(0, 2)))
        members[column.name] = value
    return cells, members


def _input_shape(chosen: Setting) -> StructureShape:
    shape = model.operation(chosen.put_operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


@_QUICK
@given(data=st.data())
def test_what_the_model_allows_is_accepted_and_sent_as_written(data: st.DataObject) -> None:
    for chosen in SETTINGS.values():
        cells, members = data.draw(_row(chosen), label=chosen.name)
        checked = rules(chosen).check(cells)
        assert checked.problems == ()
        request = put_request(chosen, cells["VoiceConnectorId"], checked.members)
        assert request == put_request(chosen, cells["VoiceConnectorId"], members)
        assert sdk_problems(chosen, request) == ""
        assert model.validate_members(_input_shape(chosen), request) == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Host",
                    "Port",
                    "Protocol",
                    "Priority",
                    "Weight",
                    "NotificationTarget",
                    "Disabled",
                    "ConfigurationArn",
                    "EmergencyPhoneNumber",
                    "TestPhoneNumber",
                    "CallingCountry",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@_QUICK
@given(value=_JSON, which=st.integers(0, 3))
def test_any_json_cell_is_either_reported_or_acceptable_to_botocore(value: Any, which: int) -> None:
    """Whatever JSON a user writes: no exception, and a cell with no problem is one the SDK accepts."""
    json_columns = [(s, c) for s in SETTINGS.values() for c in columns(s) if c.kind is Kind.JSON]
    chosen, column = json_columns[which % len(json_columns)]
    base = {"VoiceConnectorId": "vc", "DataRetentionInHours": "1", "Disabled": "false"}
    checked = rules(chosen).check(base | {column.name: json.dumps(value)})
    if all(p.column != column.name for p in checked.problems):
        request = put_request(chosen, "vc", checked.members)
        assert sdk_problems(chosen, request) == ""
        assert model.validate_members(_input_shape(chosen), request) == []


@_QUICK
@given(text=st.text(max_size=12) | st.from_regex(r"[0-9]{1,12}", fullmatch=True))
def test_an_integer_cell_is_plain_digits_within_the_range(text: str) -> None:
    chosen = SETTINGS["termination"]
    value, problems = rules(chosen).rule("CpsLimit")(text)
    expected = re.fullmatch(r"[0-9]+", text) is not None and 1 <= int(text) <= 2**31 - 1
    assert (value is not None) == expected
    assert bool(problems) == (text != "" and not expected)
    if expected:
        assert value == int(text)


@_QUICK
@given(data=st.data())
def test_a_setting_compared_with_what_it_put_has_no_changes(data: st.DataObject) -> None:
    """What a Get answers after the put (lists reordered) compares unchanged, and so does its rollback."""
    for chosen in SETTINGS.values():
        cells, _ = data.draw(_row(chosen), label=chosen.name)
        members = rules(chosen).check(cells).members
        held = {}
        for name, value in members.items():
            shuffled = data.draw(st.permutations(value)) if isinstance(value, tuple) else value
            held[chosen.get_name(name)] = shuffled
        assert differences(chosen, held, members) == []
        back = restore(chosen, "vc", snapshot(held))
        body = back.kwargs if chosen.structure is None else back.kwargs[chosen.structure]
        assert differences(chosen, held, {k: v for k, v in body.items() if k != "VoiceConnectorId"}) == []


@_QUICK
@given(value=_JSON, which=st.integers(0, 3), data=st.data())
def test_the_fast_test_agrees_with_the_checker(value: Any, which: int, data: st.DataObject) -> None:
    """``compile_accepts`` says yes exactly when ``compile_check`` finds nothing, on any JSON value."""
    json_columns = [(s, c) for s in SETTINGS.values() for c in columns(s) if c.kind is Kind.JSON]
    chosen, column = json_columns[which % len(json_columns)]
    if data.draw(st.booleans()):  # half the time a value the model allows, to cover the "yes" side
        value = data.draw(_valid(column.shape, column.name, chosen))
    accepts = compile_accepts(column.shape, column.name, chosen.stricter)
    check = compile_check(column.shape, column.name, chosen.stricter)
    assert accepts(value) == (list(check(value, column.name)) == [])
