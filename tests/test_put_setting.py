"""PutSetting's read-back check: the put's response must echo what was asked, else `ReadBackMismatch`.

The emulator stores exactly what it is sent, so it cannot be made to answer with something else;
these tests hand ``PutSetting.apply`` a ``Caller`` (batchproxy's own interface, not the SDK) that
answers with a crafted response.
"""

from __future__ import annotations

from typing import Any

import pytest

from batchproxy import settings
from batchproxy.errors import CallFailed
from batchproxy.operations import PutSetting
from batchproxy.rows import FailureKind, Row, SettingValues, Target, proxy_settings
from batchproxy.settings import SETTINGS as CATALOG

SETTINGS = proxy_settings(
    default_session_expiry_minutes=60,
    phone_number_pool_countries=("US", "CA"),
    fall_back_phone_number="+12065550100",
    disabled=None,
)
ROW = Row(number=1, values=(), target=Target(voice_connector_id="vc1", region="us-east-1"), settings=SETTINGS)
METADATA = {"HTTPStatusCode": 200, "RequestId": "req-1"}


class _Answers:
    """A ``Caller`` that records each call and answers puts with one fixed response."""

    def __init__(self, put_response: dict[str, Any]) -> None:
        self.put_response = put_response
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, method: str, **params: Any) -> dict[str, Any]:
        self.calls.append((method, params))
        return self.put_response


def _echo(**changes: Any) -> dict[str, Any]:
    proxy = {
        "DefaultSessionExpiryMinutes": 60,
        "Disabled": False,
        "PhoneNumberCountries": ["CA", "US"],
        "FallBackPhoneNumber": "+12065550100",
    }
    proxy.update(changes)
    return {"Proxy": {k: v for k, v in proxy.items() if v is not None}, "ResponseMetadata": METADATA}


async def test_a_faithful_echo_is_ok() -> None:
    """The stored proxy equal by the comparison rules (countries as a set, no Disabled = false): ok."""
    call = _Answers(_echo())
    applied = await PutSetting().apply(ROW, call)
    assert applied.extra == {}
    assert [method for method, _ in call.calls] == ["put_voice_connector_proxy"]


async def test_an_echo_word_for_word_what_was_sent_is_ok_without_a_comparison(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The usual answer (the put's own members, under the Get's names) passes without the member-by-
    member comparison: ``settings.differences`` is made to fail here, so only the fast path can pass."""

    def no_comparison(*args: Any) -> list[str]:
        raise AssertionError("compared member by member")

    monkeypatch.setattr(settings, "differences", no_comparison)
    sent = {"DefaultSessionExpiryMinutes": 60, "PhoneNumberCountries": ["US", "CA"]}
    sent["FallBackPhoneNumber"] = "+12065550100"
    call = _Answers({"Proxy": sent, "ResponseMetadata": METADATA})
    applied = await PutSetting().apply(ROW, call)
    assert applied.extra == {}
    [(_, params)] = call.calls
    assert params["PhoneNumberPoolCountries"] == ["US", "CA"]
    with pytest.raises(AssertionError, match="member by member"):  # any other echo is compared
        await PutSetting().apply(ROW, _Answers(_echo()))


@pytest.mark.parametrize(
    ("response", "named"),
    [
        (_echo(DefaultSessionExpiryMinutes=30), "DefaultSessionExpiryMinutes: 30 -> 60"),
        (_echo(PhoneNumberCountries=["US"]), "PhoneNumberPoolCountries: US -> CA;US"),
        (_echo(FallBackPhoneNumber=None), "FallBackPhoneNumber: (none) -> +12065550100"),
        (_echo(Disabled=True), "Disabled: true -> false"),
        ({"ResponseMetadata": METADATA}, "Proxy: missing from the response"),
    ],
)
async def test_a_different_echo_fails_the_row_with_read_back_mismatch(
    response: dict[str, Any], named: str
) -> None:
    """Any field stored differently (or no Proxy at all) is a permanent `ReadBackMismatch` naming it."""
    with pytest.raises(CallFailed) as raised:
        await PutSetting().apply(ROW, _Answers(response))
    failure = raised.value
    assert failure.code == "ReadBackMismatch"
    assert failure.kind is FailureKind.PERMANENT
    assert named in failure.message
    assert (failure.http_status, failure.request_id) == (200, "req-1")


LOGGING = SettingValues.of(CATALOG["logging"], {"EnableSIPLogs": True})
ROUTES = SettingValues.of(
    CATALOG["origination"],
    {"Routes": ({"Host": "sbc1.example.com", "Port": 5060, "Protocol": "TCP", "Priority": 1, "Weight": 10},)},
)


@pytest.mark.parametrize(
    ("values", "echo", "named"),
    [
        (LOGGING, {"EnableSIPLogs": True, "EnableMediaMetricLogs": False}, None),
        (LOGGING, {"EnableSIPLogs": False, "EnableMediaMetricLogs": False}, "EnableSIPLogs: false -> true"),
        (
            LOGGING,
            {"EnableSIPLogs": True, "EnableMediaMetricLogs": True},
            "EnableMediaMetricLogs: true -> false",
        ),
        (ROUTES, {"Routes": [dict(ROUTES.members["Routes"][0])], "Disabled": False}, None),
        (ROUTES, {"Routes": [dict(ROUTES.members["Routes"][0], Port=5061)]}, "Routes[0].Port: 5061 -> 5060"),
    ],
)
async def test_every_setting_is_read_back_from_its_own_put_response(
    values: SettingValues, echo: dict[str, Any], named: str | None
) -> None:
    """The put's response carries the setting under the Get's member name; a difference names its path."""
    setting = values.setting
    row = Row(number=1, values=(), target=ROW.target, settings=values)
    call = _Answers({setting.get_member: echo, "ResponseMetadata": METADATA})
    operation = PutSetting(setting=setting)
    if named is None:
        await operation.apply(row, call)
        assert [method for method, _ in call.calls] == [setting.put_method]
        return
    with pytest.raises(CallFailed) as raised:
        await operation.apply(row, call)
    assert raised.value.code == "ReadBackMismatch"
    assert named in raised.value.message


async def test_a_row_of_another_setting_is_refused_before_sending() -> None:
    call = _Answers({})
    with pytest.raises(ValueError, match="has no logging values"):
        await PutSetting(setting=CATALOG["logging"]).apply(ROW, call)
    assert call.calls == []
