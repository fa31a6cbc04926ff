"""Checked members -> botocore kwargs, and the canonical text a row's fingerprint is made of."""

from __future__ import annotations

import pytest

from batchproxy.input._reader import Header
from batchproxy.input._rules import RowChecker
from batchproxy.settings import connector_request, members_code, put_request, rules, setting


def test_own_members_sit_beside_the_connector_id() -> None:
    members = {"SessionBorderControllerTypes": ("RIBBON_SBC",)}
    assert put_request(setting("external-systems"), "vc", members) == {
        "VoiceConnectorId": "vc",
        "SessionBorderControllerTypes": ["RIBBON_SBC"],
    }


def test_a_setting_structure_holds_the_members() -> None:
    assert put_request(setting("logging"), "vc", {"EnableSIPLogs": True}) == {
        "VoiceConnectorId": "vc",
        "LoggingConfiguration": {"EnableSIPLogs": True},
    }


def test_get_and_delete_name_only_the_connector() -> None:
    assert connector_request("vc") == {"VoiceConnectorId": "vc"}


def test_members_code_ignores_json_member_order_but_not_values_or_setting() -> None:
    origination = setting("origination")
    one = rules(origination).check({"VoiceConnectorId": "a", "Routes": '[{"Host":"h","Port":1}]'}).members
    two = rules(origination).check({"VoiceConnectorId": "b", "Routes": '[{"Port":1,"Host":"h"}]'}).members
    three = rules(origination).check({"VoiceConnectorId": "c", "Routes": '[{"Port":2,"Host":"h"}]'}).members
    assert members_code(origination, one) == members_code(origination, two)
    assert members_code(origination, one) != members_code(origination, three)
    assert members_code(setting("termination"), {"Disabled": True}) != members_code(
        setting("origination"), {"Disabled": True}
    )


# Proxy cells today's input rules accept or refuse; the settings rules must agree on every one.
_PROXY_CELLS = [
    ("60", "US;CA", "", ""),
    ("1", "GB", "+447700900123", "TRUE"),
    ("0", "US", "", ""),
    ("2147483647", "US", "", "no"),
    ("2147483648", "US", "", ""),
    ("+5", "US", "", ""),
    ("60", "US;", "", ""),
    ("60", "us", "", ""),
    ("60", "USA", "", ""),
    ("60", "US\n", "", ""),
    ("60", ";".join(["US"] * 101), "", ""),
    ("60", "US", "4155550100", ""),
    ("60", "US", "+0155550100", ""),
    ("60", "US", "", "maybe"),
    ("", "", "", ""),
]
_NAMES = (
    "VoiceConnectorId",
    "DefaultSessionExpiryMinutes",
    "PhoneNumberPoolCountries",
    "FallBackPhoneNumber",
    "Disabled",
)


@pytest.mark.parametrize("cells", _PROXY_CELLS)
def test_proxy_rules_agree_with_todays_input_rules(cells: tuple[str, str, str, str]) -> None:
    """Same cells, same verdict per column and the same request: the proxy can move onto this layer."""
    record = ("vc-1", *cells)
    header = Header(names=_NAMES, columns=_NAMES, unknown_columns=())
    today = RowChecker(header, default_region="us-east-1", needs_settings=True).check(1, record)
    now = rules(setting("proxy")).for_header(_NAMES)(record)
    assert [p.column for p in now.problems] == [p.column for p in today.problems]
    if today.row is not None:
        assert today.row.settings is not None
        assert put_request(setting("proxy"), "vc-1", now.members) == {
            "VoiceConnectorId": "vc-1",
            **put_request(setting("proxy"), "vc-1", today.row.settings.members),
        }
