"""A setting's columns come from the model; headers match in any case and in snake_case."""

from __future__ import annotations

import pytest

from batchproxy.columns import INPUT_COLUMNS, REQUIRED_FOR_PUT, canonical_input_column
from batchproxy.settings import Kind, canonical_column, column_names, columns, required_columns, setting


def test_proxy_columns_are_todays_proxy_columns() -> None:
    """The derived proxy columns are exactly the hand-written ones (without Region/Profile)."""
    assert column_names(setting("proxy")) == tuple(
        c for c in INPUT_COLUMNS if c not in ("Region", "Profile", "AccountId", "RoleArn")
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "termination",
            (
                "VoiceConnectorId",
                "CpsLimit",
                "DefaultPhoneNumber",
                "CallingRegions",
                "CidrAllowedList",
                "Disabled",
            ),
        ),
        ("origination", ("VoiceConnectorId", "Routes", "Disabled")),
        ("logging", ("VoiceConnectorId", "EnableSIPLogs", "EnableMediaMetricLogs")),
        (
            "streaming",
            (
                "VoiceConnectorId",
                "DataRetentionInHours",
                "Disabled",
                "StreamingNotificationTargets",
                "MediaInsightsConfiguration",
            ),
        ),
        ("emergency-calling", ("VoiceConnectorId", "DNIS")),
        (
            "external-systems",
            ("VoiceConnectorId", "SessionBorderControllerTypes", "ContactCenterSystemTypes"),
        ),
    ],
)
def test_columns_follow_the_model(name: str, expected: tuple[str, ...]) -> None:
    assert column_names(setting(name)) == expected


def test_required_kind_and_sensitivity_come_from_the_model() -> None:
    by_name = {c.name: c for c in columns(setting("streaming"))}
    assert [n for n, c in by_name.items() if c.required] == [
        "VoiceConnectorId",
        "DataRetentionInHours",
        "Disabled",
    ]
    assert by_name["DataRetentionInHours"].kind is Kind.INTEGER
    assert by_name["StreamingNotificationTargets"].kind is Kind.JSON
    assert by_name["MediaInsightsConfiguration"].kind is Kind.JSON
    # ConfigurationArn inside it is sensitive, so the whole cell is masked in messages.
    assert by_name["MediaInsightsConfiguration"].sensitive
    assert not by_name["Disabled"].sensitive
    term = {c.name: c for c in columns(setting("termination"))}
    assert term["CidrAllowedList"].kind is Kind.LIST
    assert term["DefaultPhoneNumber"].sensitive


@pytest.mark.parametrize(
    ("name", "header", "column"),
    [
        ("logging", "enablesiplogs", "EnableSIPLogs"),
        ("logging", "enable_sip_logs", "EnableSIPLogs"),
        ("logging", "ENABLE_S_I_P_LOGS", "EnableSIPLogs"),
        ("emergency-calling", "dnis", "DNIS"),
        ("termination", " cidr_allowed_list ", "CidrAllowedList"),
        ("streaming", "voice_connector_id", "VoiceConnectorId"),
        ("proxy", "fallback_phone_number", "FallBackPhoneNumber"),
        ("proxy", "fall_back_phone_number", "FallBackPhoneNumber"),
        ("termination", "Region", None),
        ("termination", "Routes", None),
    ],
)
def test_header_spellings(name: str, header: str, column: str | None) -> None:
    assert canonical_column(setting(name), header) == column


@pytest.mark.parametrize(
    "header",
    [
        "VoiceConnectorId",
        "voice_connector_id",
        "DEFAULTSESSIONEXPIRYMINUTES",
        "phone_number_pool_countries",
        "fall_back_phone_number",
        "fallback_phone_number",
        "disabled",
    ],
)
def test_proxy_spellings_agree_with_todays_columns(header: str) -> None:
    assert canonical_column(setting("proxy"), header) == canonical_input_column(header)


def test_required_columns_match_todays_proxy_and_the_model() -> None:
    assert required_columns(setting("proxy")) == REQUIRED_FOR_PUT
    assert required_columns(setting("logging")) == ("VoiceConnectorId",)
    assert required_columns(setting("streaming")) == ("VoiceConnectorId", "DataRetentionInHours", "Disabled")
