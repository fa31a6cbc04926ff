"""Now vs after the put, member by member; previous_state; the call that restores it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batchproxy.settings import (
    NO_STATE,
    SETTINGS,
    differences,
    restore,
    rules,
    setting,
    setting_in,
    snapshot_text,
)
from tests.settings_examples import FULL, MINIMAL, sdk_problems

PROXY = setting("proxy")


def _proxy_cells(minutes: str, countries: str, fallback: str = "", disabled: str = "") -> dict[str, str]:
    return {
        "VoiceConnectorId": "vc",
        "DefaultSessionExpiryMinutes": minutes,
        "PhoneNumberPoolCountries": countries,
        "FallBackPhoneNumber": fallback,
        "Disabled": disabled,
    }


_DESIRED = [
    _proxy_cells("60", "US;CA"),
    _proxy_cells("60", "CA;US;US"),
    _proxy_cells("30", "US", "+14155550100", "true"),
    _proxy_cells("60", "US;CA", "", "false"),
    _proxy_cells("1", "GB;DE;FR", "+442079460000", "no"),
]
_CURRENT: list[dict[str, Any] | None] = [
    None,
    {"DefaultSessionExpiryMinutes": 60, "PhoneNumberCountries": ["US", "CA"]},
    {"DefaultSessionExpiryMinutes": 60, "PhoneNumberCountries": ["CA", "US"], "Disabled": False},
    {
        "DefaultSessionExpiryMinutes": 30,
        "PhoneNumberCountries": ["US"],
        "FallBackPhoneNumber": "+14155550100",
        "Disabled": True,
    },
    {
        "DefaultSessionExpiryMinutes": 5,
        "PhoneNumberCountries": ["MX"],
        "FallBackPhoneNumber": "",
        "Disabled": True,
    },
    {
        "DefaultSessionExpiryMinutes": 60,
        "PhoneNumberCountries": ["US", "CA"],
        "FallBackPhoneNumber": "+15555550100",
    },
]


# What the proxy's plan said before it moved onto the settings layer (operations/proxy_state.py, checked
# equal to it over every pair above before that module was removed): the wording scripts read.
_PROXY_BEFORE = {
    (0, 0): [
        "DefaultSessionExpiryMinutes: (none) -> 60",
        "PhoneNumberPoolCountries: (none) -> CA;US",
        "Disabled: (none) -> false",
    ],
    (1, 2): [],
    (2, 1): [
        "DefaultSessionExpiryMinutes: 60 -> 30",
        "PhoneNumberPoolCountries: CA;US -> US",
        "FallBackPhoneNumber: (none) -> +14155550100",
        "Disabled: false -> true",
    ],
    (0, 5): ["FallBackPhoneNumber: +15555550100 -> (none)"],
    (4, 3): [
        "DefaultSessionExpiryMinutes: 30 -> 1",
        "PhoneNumberPoolCountries: US -> DE;FR;GB",
        "FallBackPhoneNumber: +14155550100 -> +442079460000",
        "Disabled: true -> false",
    ],
}


@pytest.mark.parametrize(("desired", "current"), sorted(_PROXY_BEFORE))
def test_proxy_changes_are_byte_identical_to_before(desired: int, current: int) -> None:
    """The proxy's plan output did not change by moving it onto the settings layer."""
    members = rules(PROXY).check(_DESIRED[desired]).members
    assert differences(PROXY, _CURRENT[current], members) == _PROXY_BEFORE[(desired, current)]


def test_proxy_snapshot_text_is_as_before() -> None:
    proxy = {"DefaultSessionExpiryMinutes": 60, "PhoneNumberCountries": ["US"], "Disabled": False}
    assert (
        snapshot_text(proxy)
        == '{"DefaultSessionExpiryMinutes":60,"PhoneNumberCountries":["US"],"Disabled":false}'
    )
    assert snapshot_text(None) == NO_STATE == "none"


def _members(name: str, **cells: str) -> dict[str, Any]:
    checked = rules(setting(name)).check(dict(MINIMAL[name]) | cells)
    assert checked.problems == ()
    return checked.members


def test_members_not_sent_compare_as_the_service_defaults() -> None:
    """Absent booleans are false, absent lists empty: a Get that says so is unchanged."""
    current = {"CidrAllowedList": [], "Disabled": False, "CallingRegions": []}
    assert differences(setting("termination"), current, _members("termination")) == []


def test_lists_of_scalars_compare_as_sets() -> None:
    current = {"CidrAllowedList": ["198.51.100.0/24", "192.0.2.0/24"]}
    members = _members("termination", CidrAllowedList="192.0.2.0/24;198.51.100.0/24;192.0.2.0/24")
    assert differences(setting("termination"), current, members) == []


def test_a_list_emptied_by_the_put_shows_none() -> None:
    current = {"CidrAllowedList": ["192.0.2.0/24"], "CpsLimit": 5}
    assert differences(setting("termination"), current, _members("termination", CpsLimit="5")) == [
        "CidrAllowedList: 192.0.2.0/24 -> (none)"
    ]


_ROUTE1 = {"Host": "sbc1.example.com", "Port": 5060, "Protocol": "TCP", "Priority": 1, "Weight": 10}
_ROUTE2 = {"Host": "sbc2.example.com", "Port": 5061, "Protocol": "UDP", "Priority": 2, "Weight": 5}


def test_routes_compare_in_order_with_a_path_inside_the_cell() -> None:
    current = {"Routes": [_ROUTE1, dict(_ROUTE2, Port=5080)], "Disabled": False}
    assert differences(
        setting("origination"), current, _members("origination", Routes=json.dumps([_ROUTE1, _ROUTE2]))
    ) == ["Routes[1].Port: 5080 -> 5061"]
    swapped = differences(
        setting("origination"),
        {"Routes": [_ROUTE2, _ROUTE1]},
        _members("origination", Routes=json.dumps([_ROUTE1, _ROUTE2])),
    )
    assert swapped[0] == "Routes[0].Host: sbc2.example.com -> sbc1.example.com"
    assert len(swapped) == 10


def test_an_added_route_shows_as_json() -> None:
    current = {"Routes": [_ROUTE1]}
    members = _members("origination", Routes=json.dumps([_ROUTE1, _ROUTE2]), Disabled="true")
    assert differences(setting("origination"), current, members) == [
        "Routes[1]: (none) -> "
        '{"Host":"sbc2.example.com","Port":5061,"Protocol":"UDP","Priority":2,"Weight":5}',
        "Disabled: false -> true",
    ]


def test_a_nested_structure_compares_member_by_member() -> None:
    arn = "arn:aws:chime:us-east-1:111122223333:media-insights-pipeline-configuration/a"
    current = {
        "DataRetentionInHours": 24,
        "Disabled": False,
        "MediaInsightsConfiguration": {"Disabled": True, "ConfigurationArn": arn},
    }
    members = _members(
        "streaming",
        DataRetentionInHours="24",
        Disabled="false",
        MediaInsightsConfiguration=json.dumps({"ConfigurationArn": arn}),
    )
    assert differences(setting("streaming"), current, members) == [
        "MediaInsightsConfiguration.Disabled: true -> false"
    ]


def test_nothing_there_yet_lists_what_the_put_sets() -> None:
    members = _members("logging", EnableSIPLogs="true")
    assert differences(setting("logging"), None, members) == [
        "EnableSIPLogs: (none) -> true",
        "EnableMediaMetricLogs: (none) -> false",
    ]
    assert differences(
        setting("external-systems"),
        None,
        _members("external-systems", ContactCenterSystemTypes="AVAYA_AURA_CONTACT_CENTER"),
    ) == ["ContactCenterSystemTypes: (none) -> AVAYA_AURA_CONTACT_CENTER"]


def test_setting_in_a_get_response() -> None:
    assert setting_in(setting("logging"), {"LoggingConfiguration": {"EnableSIPLogs": True}}) == {
        "EnableSIPLogs": True
    }
    assert setting_in(setting("logging"), {"ResponseMetadata": {}}) is None
    assert setting_in(setting("origination"), {"Origination": {}}) is None
    assert setting_in(setting("origination"), None) is None


@pytest.mark.parametrize("name", list(SETTINGS))
def test_rollback_of_a_snapshot_puts_the_same_setting_back(name: str) -> None:
    """Whatever the Get returned, rollback's put holds it again: the comparison afterwards is empty."""
    chosen = setting(name)
    members = rules(chosen).check(FULL[name]).members
    # What a Get would answer after the put (the proxy's countries under their Get name).
    held = {chosen.get_name(n): v if not isinstance(v, tuple) else list(v) for n, v in members.items()}
    back = restore(chosen, "vc", snapshot_text(held))
    assert back.action == "put"
    assert back.method == chosen.put_method
    assert sdk_problems(chosen, back.kwargs) == ""
    body = back.kwargs if chosen.structure is None else back.kwargs[chosen.structure]
    body = {k: v for k, v in body.items() if k != "VoiceConnectorId"}
    assert differences(chosen, held, body) == []


@pytest.mark.parametrize("name", [n for n in SETTINGS if n != "logging"])
def test_rollback_of_none_deletes(name: str) -> None:
    back = restore(setting(name), "vc-1", NO_STATE)
    assert back == ("delete", setting(name).delete_method, {"VoiceConnectorId": "vc-1"})


def test_rollback_of_logging_none_puts_the_defaults() -> None:
    back = restore(setting("logging"), "vc-1", NO_STATE)
    assert back.action == "put"
    assert back.kwargs == {
        "VoiceConnectorId": "vc-1",
        "LoggingConfiguration": {"EnableSIPLogs": False, "EnableMediaMetricLogs": False},
    }


def test_rollback_ignores_members_only_the_get_returns() -> None:
    back = restore(setting("logging"), "v", '{"EnableSIPLogs":true,"EnableMediaMetricLogs":false,"Extra":1}')
    assert back.kwargs["LoggingConfiguration"] == {"EnableSIPLogs": True, "EnableMediaMetricLogs": False}


def test_rollback_restores_what_aws_held_even_where_batchproxy_is_stricter() -> None:
    back = restore(PROXY, "v", '{"DefaultSessionExpiryMinutes":0,"PhoneNumberCountries":["US"]}')
    assert back.kwargs == {
        "VoiceConnectorId": "v",
        "DefaultSessionExpiryMinutes": 0,
        "PhoneNumberPoolCountries": ["US"],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "previous_state is neither 'none' nor JSON"),
        ("[1]", "previous_state is not a JSON object"),
        ('{"Disabled":false}', "previous_state cannot be put back: DataRetentionInHours is required"),
        (
            '{"DataRetentionInHours":"24","Disabled":false}',
            "previous_state cannot be put back: DataRetentionInHours: must be a whole number",
        ),
    ],
)
def test_an_unusable_previous_state_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        restore(setting("streaming"), "v", text)
