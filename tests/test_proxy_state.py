"""The comparison rules of plan, --skip-unchanged and read-back (CONTRACT §8), and the snapshot text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batchproxy.operations.proxy_state import (
    NO_PROXY,
    differences,
    settings_from_proxy,
    snapshot_text,
)
from batchproxy.rows import ProxySettings


def _settings(
    minutes: int = 60,
    countries: tuple[str, ...] = ("US", "CA"),
    fallback: str | None = None,
    disabled: bool | None = None,
) -> ProxySettings:
    return ProxySettings(
        default_session_expiry_minutes=minutes,
        phone_number_pool_countries=countries,
        fall_back_phone_number=fallback,
        disabled=disabled,
    )


def _proxy(**members: Any) -> dict[str, Any]:
    proxy: dict[str, Any] = {"DefaultSessionExpiryMinutes": 60, "PhoneNumberCountries": ["US", "CA"]}
    proxy.update(members)
    return proxy


def test_identical_settings_have_no_differences() -> None:
    """The same values, as GetVoiceConnectorProxy returns them, compare equal."""
    assert (
        differences(
            _proxy(Disabled=True, FallBackPhoneNumber="+12065550100"),
            _settings(fallback="+12065550100", disabled=True),
        )
        == []
    )


def test_countries_compare_as_sets() -> None:
    """Order and repetition of country codes do not make a difference."""
    assert differences(_proxy(PhoneNumberCountries=["CA", "US", "US"]), _settings()) == []


def test_empty_disabled_means_false() -> None:
    """A row without Disabled puts `false`: equal to a proxy that is enabled, or says nothing."""
    assert differences(_proxy(Disabled=False), _settings(disabled=None)) == []
    assert differences(_proxy(), _settings(disabled=False)) == []
    assert differences(_proxy(Disabled=True), _settings(disabled=None)) == ["Disabled: true -> false"]


def test_empty_fallback_means_none() -> None:
    """A row without FallBackPhoneNumber removes it: a proxy that has one differs, shown as `(none)`."""
    assert differences(_proxy(), _settings(fallback=None)) == []
    assert differences(_proxy(FallBackPhoneNumber=""), _settings(fallback=None)) == []
    assert differences(_proxy(FallBackPhoneNumber="+12065550100"), _settings()) == [
        "FallBackPhoneNumber: +12065550100 -> (none)"
    ]
    assert differences(_proxy(), _settings(fallback="+442071234567")) == [
        "FallBackPhoneNumber: (none) -> +442071234567"
    ]


def test_changes_use_input_column_names_in_column_order() -> None:
    """Every differing field is listed as `Column: old -> new`, countries sorted and `;`-joined."""
    current = _proxy(DefaultSessionExpiryMinutes=30, PhoneNumberCountries=["US"], Disabled=True)
    assert differences(current, _settings(minutes=45, countries=("GB", "US"), disabled=False)) == [
        "DefaultSessionExpiryMinutes: 30 -> 45",
        "PhoneNumberPoolCountries: US -> GB;US",
        "Disabled: true -> false",
    ]


def test_no_proxy_lists_every_field_against_none() -> None:
    """With no proxy yet, each field the put will set is shown coming from `(none)`."""
    assert differences(None, _settings(fallback="+12065550100")) == [
        "DefaultSessionExpiryMinutes: (none) -> 60",
        "PhoneNumberPoolCountries: (none) -> CA;US",
        "FallBackPhoneNumber: (none) -> +12065550100",
        "Disabled: (none) -> false",
    ]


def test_snapshot_is_compact_json_with_the_api_member_names_or_none() -> None:
    """`previous_state` is the Proxy exactly as returned (compact JSON), or `none` without a proxy."""
    proxy = _proxy(Disabled=False, FallBackPhoneNumber="+12065550100")
    text = snapshot_text(proxy)
    assert " " not in text
    assert json.loads(text) == proxy
    assert snapshot_text(None) == NO_PROXY == "none"


@pytest.mark.parametrize(
    "proxy",
    [
        _proxy(),
        _proxy(Disabled=True, FallBackPhoneNumber="+12065550100", PhoneNumberCountries=["GB"]),
        _proxy(FallBackPhoneNumber=""),
    ],
)
def test_settings_from_a_snapshot_recreate_it_exactly(proxy: dict[str, Any]) -> None:
    """Rollback's put, built from a snapshot, compares equal to the snapshot by the same rules."""
    restored = settings_from_proxy(json.loads(snapshot_text(proxy)))
    assert differences(proxy, restored) == []
    assert restored.as_request()["PhoneNumberPoolCountries"] == proxy["PhoneNumberCountries"]
