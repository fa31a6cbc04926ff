"""Cells -> API values: every model rule checked before sending, problems naming the path in the cell."""

from __future__ import annotations

import pytest

from batchproxy.settings import SETTINGS, CellProblem, put_request, rules, setting
from tests.settings_examples import FULL, MINIMAL, sdk_problems


def _problems(name: str, **cells: str) -> list[tuple[str, str]]:
    """(path, message) of every problem of one row of ``name`` built from its minimal valid row."""
    row = dict(MINIMAL[name]) | cells
    return [(p.path, p.message) for p in rules(setting(name)).check(row).problems]


@pytest.mark.parametrize("name", list(SETTINGS))
@pytest.mark.parametrize("example", [FULL, MINIMAL], ids=["full", "minimal"])
def test_valid_cells_make_a_request_botocore_accepts(name: str, example: dict[str, dict[str, str]]) -> None:
    """The SDK's own parameter validation accepts the put built from every setting's valid cells."""
    chosen = setting(name)
    checked = rules(chosen).check(example[name])
    assert checked.problems == ()
    request = put_request(chosen, example[name]["VoiceConnectorId"], checked.members)
    assert sdk_problems(chosen, request) == ""


def test_full_origination_row_becomes_the_api_values() -> None:
    checked = rules(setting("origination")).check(FULL["origination"])
    assert checked.members == {
        "Routes": [
            {"Host": "sbc1.example.com", "Port": 5060, "Protocol": "TCP", "Priority": 1, "Weight": 10},
            {"Host": "sbc2.example.com", "Port": 5061, "Protocol": "UDP", "Priority": 2, "Weight": 5},
        ],
        "Disabled": False,
    }


def test_empty_cells_are_not_sent() -> None:
    checked = rules(setting("termination")).check({"VoiceConnectorId": "vc", "CpsLimit": "", "Disabled": ""})
    assert checked.members == {}
    assert put_request(setting("termination"), "vc", checked.members) == {
        "VoiceConnectorId": "vc",
        "Termination": {},
    }


@pytest.mark.parametrize(("text", "value"), [("TRUE", True), ("Yes", True), ("1", True), ("no", False)])
def test_booleans_take_every_contract_spelling(text: str, value: bool) -> None:
    assert rules(setting("logging")).check({"VoiceConnectorId": "v", "EnableSIPLogs": text}).members == {
        "EnableSIPLogs": value
    }


def test_lists_of_scalars_are_semicolon_separated() -> None:
    cells = {"VoiceConnectorId": "v", "CidrAllowedList": "192.0.2.0/24;203.0.113.0/24"}
    members = rules(setting("termination")).check(cells).members
    assert put_request(setting("termination"), "v", members)["Termination"] == {
        "CidrAllowedList": ["192.0.2.0/24", "203.0.113.0/24"]
    }


# Each kind of bad cell the issue names, with the exact problem it gives.
BAD_CELLS = [
    ("streaming", {"DataRetentionInHours": ""}, [("DataRetentionInHours", "is required")]),
    ("proxy", {"PhoneNumberPoolCountries": ""}, [("PhoneNumberPoolCountries", "is required")]),
    (
        "emergency-calling",
        {"DNIS": '[{"CallingCountry":"US"}]'},
        [("DNIS[0].EmergencyPhoneNumber", "is required")],
    ),
    (
        "termination",
        {"CpsLimit": "ten"},
        [("CpsLimit", "must be a whole number written with the digits 0-9 only")],
    ),
    (
        "termination",
        {"CpsLimit": "+5"},
        [("CpsLimit", "must be a whole number written with the digits 0-9 only")],
    ),
    ("termination", {"CpsLimit": "0"}, [("CpsLimit", "must be at least 1")]),
    (
        "proxy",
        {"DefaultSessionExpiryMinutes": "2147483648"},
        [("DefaultSessionExpiryMinutes", "must be at most 2147483647")],
    ),
    (
        "proxy",
        {"DefaultSessionExpiryMinutes": "9" * 5000},
        [("DefaultSessionExpiryMinutes", "must be at most 2147483647")],
    ),
    (
        "logging",
        {"EnableSIPLogs": "on"},
        [("EnableSIPLogs", "must be true or false (1/0 and yes/no are accepted too)")],
    ),
    (
        "origination",
        {"Routes": '[{"Host":"a.example.com","Port":true}]'},
        [("Routes[0].Port", "must be a whole number")],
    ),
    (
        "origination",
        {"Routes": '[{"Host":"a.example.com","Port":5060.5}]'},
        [("Routes[0].Port", "must be a whole number")],
    ),
    ("origination", {"Routes": '[{},{"Port":65536}]'}, [("Routes[1].Port", "must be at most 65535")]),
    ("origination", {"Routes": '[{"Protocol":"TLS"}]'}, [("Routes[0].Protocol", "must be one of TCP, UDP")]),
    ("origination", {"Routes": '[{"Priority":0}]'}, [("Routes[0].Priority", "must be at least 1")]),
    (
        "external-systems",
        {"SessionBorderControllerTypes": "RIBBON_SBC;Ribbon"},
        [
            (
                "SessionBorderControllerTypes",
                "item 2 ('Ribbon') must be one of RIBBON_SBC, ORACLE_ACME_PACKET_SBC, AVAYA_SBCE, "
                "CISCO_UNIFIED_BORDER_ELEMENT, AUDIOCODES_MEDIANT_SBC",
            )
        ],
    ),
    (
        "termination",
        {"DefaultPhoneNumber": "555-0100"},
        [("DefaultPhoneNumber", "must be an E.164 phone number such as +14155550100")],
    ),
    (
        "emergency-calling",
        {"DNIS": '[{"EmergencyPhoneNumber":"+12025550199","CallingCountry":"USA"}]'},
        [("DNIS[0].CallingCountry", "must be a two-letter country code such as US")],
    ),
    (
        "streaming",
        {"MediaInsightsConfiguration": '{"ConfigurationArn":"pipeline-1"}'},
        [("MediaInsightsConfiguration.ConfigurationArn", r"must match ^arn[\/\:\-\_\.a-zA-Z0-9]+$")],
    ),
    (
        "streaming",
        {"StreamingNotificationTargets": "[]"},
        [("StreamingNotificationTargets", "must have at least 1 item")],
    ),
    (
        "streaming",
        {"StreamingNotificationTargets": '[{"NotificationTarget":"SNS"},{},{},{}]'},
        [("StreamingNotificationTargets", "must have at most 3 items")],
    ),
    (
        "proxy",
        {"PhoneNumberPoolCountries": ";".join(["US"] * 101)},
        [("PhoneNumberPoolCountries", "must have at most 100 items")],
    ),
    ("proxy", {"PhoneNumberPoolCountries": "US;"}, [("PhoneNumberPoolCountries", "item 2 is empty")]),
    (
        "origination",
        {"Routes": '[{"Host":"a.example.com",'},
        [("Routes", "is not valid JSON: Expecting property name enclosed in double quotes at character 26")],
    ),
    (
        "origination",
        {"Routes": '[{"Port":5060,"Port":5061}]'},
        [("Routes", "is not valid JSON: member 'Port' appears twice in one object")],
    ),
    ("origination", {"Routes": "[" * 100_000}, [("Routes", "is not valid JSON: nested too deeply")]),
    ("origination", {"Routes": "[NaN]"}, [("Routes", "is not valid JSON: NaN is not a JSON number")]),
    (
        "origination",
        {"Routes": '[{"Hostname":"a.example.com"}]'},
        [
            (
                "Routes[0].Hostname",
                "is not a member of OriginationRoute (members: Host, Port, Protocol, Priority, Weight)",
            )
        ],
    ),
    ("origination", {"Routes": '{"Host":"a"}'}, [("Routes", "must be a list")]),
    (
        "origination",
        {"Routes": '[{"Host":null}]'},
        [("Routes[0].Host", "must not be null (leave the member out instead)")],
    ),
    (
        "origination",
        {"Routes": '["sbc1.example.com"]'},
        [("Routes[0]", "must be an object with members Host, Port, Protocol, Priority, Weight")],
    ),
    (
        "proxy",
        {"VoiceConnectorId": " \t"},
        [("VoiceConnectorId", "must contain a character other than whitespace")],
    ),
    ("proxy", {"VoiceConnectorId": "v" * 129}, [("VoiceConnectorId", "must have at most 128 characters")]),
]


@pytest.mark.parametrize(("name", "cells", "expected"), BAD_CELLS)
def test_each_kind_of_bad_cell_gives_a_precise_problem(
    name: str, cells: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert _problems(name, **cells) == expected


def test_a_json_problem_names_its_column_path_and_the_cell() -> None:
    cell = '[{"Host":"a.example.com","Port":99999}]'
    [problem] = rules(setting("origination")).check({"VoiceConnectorId": "v", "Routes": cell}).problems
    assert problem == CellProblem("Routes", "Routes[0].Port", "must be at most 65535", cell)
    assert problem.text == "Routes[0].Port: must be at most 65535"


def test_every_problem_of_a_json_cell_is_reported() -> None:
    """A user fixing a JSON cell hears about all of it at once, not one problem per attempt."""
    found = _problems("origination", Routes='[{"Port":-1,"Protocol":"tcp"},{"Weight":101}]')
    assert found == [
        ("Routes[0].Port", "must be at least 0"),
        ("Routes[0].Protocol", "must be one of TCP, UDP"),
        ("Routes[1].Weight", "must be at most 100"),
    ]


def test_a_sensitive_list_item_is_not_echoed() -> None:
    """Phone numbers are not repeated in messages (the value column is masked by the input layer)."""
    [(path, message)] = _problems(
        "emergency-calling", DNIS='[{"EmergencyPhoneNumber":"0911","CallingCountry":"US"}]'
    )
    assert "0911" not in message
    assert path == "DNIS[0].EmergencyPhoneNumber"


def test_a_final_newline_does_not_pass_an_anchored_pattern() -> None:
    """``$`` in a Python regex also matches before a final newline, which a quoted cell can hold."""
    assert _problems("termination", DefaultPhoneNumber="+14155550100\n") == [
        ("DefaultPhoneNumber", "must be an E.164 phone number such as +14155550100")
    ]


def test_non_ascii_digits_are_not_digits() -> None:
    assert _problems("termination", DefaultPhoneNumber="+1٤١٥٥٥٥٠١٠٠") == [
        ("DefaultPhoneNumber", "must be an E.164 phone number such as +14155550100")
    ]
    assert _problems("termination", CpsLimit="١٠") == [
        ("CpsLimit", "must be a whole number written with the digits 0-9 only")
    ]


def test_many_bad_list_items_are_counted_after_three() -> None:
    [(_, message)] = _problems("proxy", PhoneNumberPoolCountries="us;ca;mx;de;fr")
    assert message.endswith("; and 2 more")
    assert message.startswith("item 1 ('us') must be a two-letter country code such as US")


def test_columns_are_checked_in_column_order() -> None:
    found = _problems("streaming", VoiceConnectorId="", DataRetentionInHours="x", Disabled="")
    assert [path for path, _ in found] == ["VoiceConnectorId", "DataRetentionInHours", "Disabled"]


def test_a_cached_verdict_is_not_changed_by_a_request() -> None:
    """Equal cells share one checked value; building a request must not let one row alter another's."""
    chosen = setting("origination")
    first = put_request(chosen, "a", rules(chosen).check(FULL["origination"]).members)
    first["Origination"]["Routes"][0]["Port"] = 1
    again = rules(chosen).check(FULL["origination"]).members
    assert again["Routes"][0]["Port"] == 5060


def test_a_header_check_reads_cells_by_position() -> None:
    """``for_header`` is the input layer's per-pass check: positions, ignored and missing columns."""
    check = rules(setting("logging")).for_header(
        ["Region", "enable_sip_logs_is_not_canonical", "VoiceConnectorId", "EnableSIPLogs"]
    )
    assert check(("us-east-1", "junk", "vc-1", "yes")) == ({"EnableSIPLogs": True}, ())
    assert check(("us-east-1", "junk", "vc-1")).members == {}  # a short row reads as empty cells


def test_a_missing_required_column_is_reported_on_every_row() -> None:
    check = rules(setting("streaming")).for_header(["VoiceConnectorId", "Disabled"])
    assert [(p.column, p.message) for p in check(("vc", "true")).problems] == [
        ("DataRetentionInHours", "is required")
    ]
