"""The catalog names operations that exist in the installed model, and reads the rest from it."""

from __future__ import annotations

import pytest

import batchproxy.settings as api
from batchproxy import model
from batchproxy.settings import SETTINGS, UnknownSetting, setting

CONTRACT_NAMES = (
    "proxy",
    "termination",
    "origination",
    "logging",
    "streaming",
    "emergency-calling",
    "external-systems",
)


def test_the_settings_are_the_contracts() -> None:
    """docs/reference.md §9's table, in its order."""
    assert tuple(SETTINGS) == CONTRACT_NAMES


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_every_named_operation_exists_in_the_installed_model(name: str) -> None:
    """A botocore upgrade that renames an operation fails here, not in a run."""
    chosen = setting(name)
    operations = set(model.service_model().operation_names)
    named = [chosen.put_operation, chosen.get_operation]
    if chosen.delete_operation is not None:
        named.append(chosen.delete_operation)
    assert set(named) <= operations
    assert chosen.get_method.startswith("get_voice_connector_")
    assert (chosen.delete_method is None) == (chosen.delete_operation is None)


def test_only_logging_has_no_delete() -> None:
    """Logging has no delete in the API; rollback puts its defaults back instead."""
    without = [s.name for s in SETTINGS.values() if s.delete_operation is None]
    assert without == ["logging"]
    assert "DeleteVoiceConnectorLoggingConfiguration" not in model.service_model().operation_names
    assert setting("logging").defaults == {"EnableSIPLogs": False, "EnableMediaMetricLogs": False}


@pytest.mark.parametrize(
    ("name", "structure", "get_member", "put_method"),
    [
        ("proxy", None, "Proxy", "put_voice_connector_proxy"),
        ("termination", "Termination", "Termination", "put_voice_connector_termination"),
        ("origination", "Origination", "Origination", "put_voice_connector_origination"),
        (
            "logging",
            "LoggingConfiguration",
            "LoggingConfiguration",
            "put_voice_connector_logging_configuration",
        ),
        (
            "streaming",
            "StreamingConfiguration",
            "StreamingConfiguration",
            "put_voice_connector_streaming_configuration",
        ),
        (
            "emergency-calling",
            "EmergencyCallingConfiguration",
            "EmergencyCallingConfiguration",
            "put_voice_connector_emergency_calling_configuration",
        ),
        (
            "external-systems",
            None,
            "ExternalSystemsConfiguration",
            "put_voice_connector_external_systems_configuration",
        ),
    ],
)
def test_structure_and_get_member_come_from_the_model(
    name: str, structure: str | None, get_member: str, put_method: str
) -> None:
    chosen = setting(name)
    assert chosen.structure == structure
    assert chosen.get_member == get_member
    assert chosen.put_method == put_method


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_every_put_member_has_its_get_counterpart(name: str) -> None:
    """Compare and rollback map put names to Get names; each must exist in the Get's setting."""
    chosen = setting(name)
    output = model.operation(chosen.get_operation).output_shape
    assert output is not None
    held = output.members[chosen.get_member]
    for member in chosen.members:
        assert chosen.get_name(member) in held.members


def test_proxy_get_names_its_countries_differently() -> None:
    assert setting("proxy").get_name("PhoneNumberPoolCountries") == "PhoneNumberCountries"
    assert setting("proxy").get_name("Disabled") == "Disabled"


def test_an_unknown_setting_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSetting, match="choose one of proxy, termination"):
        setting("sip-media")


def test_the_public_api_is_what_the_lead_wires_in() -> None:
    """The names input, operations and the CLI import; renaming one must be a deliberate change."""
    assert sorted(api.__all__) == sorted(
        [
            "MISSING",
            "NO_STATE",
            "SETTINGS",
            "CellProblem",
            "CheckedCells",
            "Column",
            "Kind",
            "Restore",
            "Setting",
            "SettingRules",
            "UnknownSetting",
            "canonical_column",
            "column_names",
            "columns",
            "connector_request",
            "differences",
            "members_code",
            "previous_members",
            "put_request",
            "required_columns",
            "restore",
            "rules",
            "setting",
            "setting_in",
            "snapshot_text",
        ]
    )
    assert all(hasattr(api, name) for name in api.__all__)
