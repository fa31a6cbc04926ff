"""The installed botocore still carries what batchproxy is built on."""

from __future__ import annotations

from botocore.model import StructureShape

from batchproxy import model


def test_installed_botocore_has_the_proxy_operations() -> None:
    """The pins in pyproject.toml must resolve to a botocore that still models the proxy calls."""
    names = set(model.service_model().operation_names)
    assert {"PutVoiceConnectorProxy", "GetVoiceConnectorProxy", "DeleteVoiceConnectorProxy"} <= names
    http = model.operation("PutVoiceConnectorProxy").http
    assert http["method"] == "PUT"
    assert http["requestUri"] == "/voice-connectors/{voiceConnectorId}/programmable-numbers/proxy"
    assert model.service_model().signing_name == model.SIGNING_NAME


def test_fallback_number_is_marked_sensitive() -> None:
    """Redaction relies on the model's ``sensitive`` trait, not on a list we keep by hand."""
    assert "FallBackPhoneNumber" in model.sensitive_member_names()
    assert "VoiceConnectorId" not in model.sensitive_member_names()


def _put_shape() -> StructureShape:
    shape = model.operation("PutVoiceConnectorProxy").input_shape
    assert isinstance(shape, StructureShape)
    return shape


def test_validate_members_accepts_a_valid_request() -> None:
    """A request as the README shows it passes every model rule."""
    params = {
        "VoiceConnectorId": "abcdef1ghij2klmno3pqr4",
        "DefaultSessionExpiryMinutes": 60,
        "PhoneNumberPoolCountries": ["US", "CA"],
        "FallBackPhoneNumber": "+14155550100",
        "Disabled": False,
    }
    assert model.validate_members(_put_shape(), params) == []


def test_validate_members_names_each_broken_rule() -> None:
    """Missing, mistyped, too long, out of pattern: each is reported against its member."""
    params = {
        "VoiceConnectorId": "x" * 129,
        "DefaultSessionExpiryMinutes": True,
        "PhoneNumberPoolCountries": ["us"],
        "FallBackPhoneNumber": "0123",
    }
    problems = dict(model.validate_members(_put_shape(), params))
    assert problems["VoiceConnectorId"] == "must have at most 128 characters"
    assert problems["DefaultSessionExpiryMinutes"] == "must be an integer"
    assert problems["PhoneNumberPoolCountries[0]"].startswith("must match")
    assert problems["FallBackPhoneNumber"].startswith("must match")
    missing = dict(model.validate_members(_put_shape(), {}))
    assert missing["PhoneNumberPoolCountries"] == "is required"


def test_acceptor_agrees_with_validate_members() -> None:
    """The compiled check accepts exactly the values ``validate_members`` finds nothing wrong with."""
    shape = _put_shape()
    samples: dict[str, list[object]] = {
        "VoiceConnectorId": ["abc", " x ", "", "   ", "x" * 128, "x" * 129, 5, None],
        "DefaultSessionExpiryMinutes": [1, 0, -3, 2**31, True, "60", 6.0],
        "PhoneNumberPoolCountries": [
            ["US"],
            ["US", "CA"],
            [],
            ["US"] * 100,
            ["US"] * 101,
            ["us"],
            "US",
            ("US",),
        ],
        "FallBackPhoneNumber": ["+14155550100", "0123", "", 14155550100],
        "Disabled": [True, False, 1, "true"],
    }
    for member, values in samples.items():
        accepts = model.acceptor(shape.members[member])
        for value in values:
            clean = not any(
                path.split("[")[0] == member for path, _ in model.validate_members(shape, {member: value})
            )
            assert accepts(value) == clean, (member, value)
    request = {
        "VoiceConnectorId": "abc",
        "DefaultSessionExpiryMinutes": 60,
        "PhoneNumberPoolCountries": ["US"],
    }
    assert model.acceptor(shape)(request)
    assert not model.acceptor(shape)({"VoiceConnectorId": "abc"})
