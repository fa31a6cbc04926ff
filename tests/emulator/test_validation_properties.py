"""Property-based: the emulator's validation agrees with the botocore model for every setting's Put.

Requests are generated from the model's own shapes (``shapes.valid``): each valid one must be
accepted and read back unchanged through Get (flags not sent answered false). Each valid request
is then broken in exactly one rule (``shapes.breakages``) and must be refused with 400
BadRequestException naming the member's path. The emulator runs as a subprocess for the module;
example counts are kept small so the module stays within a few seconds.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore import xform_name
from botocore.model import StructureShape
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from batchproxy import model
from batchproxy.emulator import Setting
from batchproxy.emulator import settings as served_settings
from batchproxy.emulator.process import spawn
from tests.emulator.helpers import auth_header, sync_client
from tests.emulator.shapes import apply, breakages, valid

SETTINGS = {setting.key: setting for setting in served_settings()}
FEW = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with spawn("--auto-create", "--seed", "3") as child:
        yield child.url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[Any]:
    # One client for the module: building a boto3 client costs more than the requests themselves.
    with sync_client(url) as made:
        yield made


def _request_body(setting: Setting, data: st.DataObject) -> dict[str, Any]:
    """A valid Put body for the setting: its structure under its member, or its members themselves."""
    value = data.draw(valid(setting.shape), label=setting.key)
    return {setting.request_member: value} if setting.request_member else value


def _as_answered(setting: Setting, body: dict[str, Any]) -> dict[str, Any]:
    """What Get should answer: what was sent, with the structure's unsent flags false (the test's oracle)."""
    sent = body[setting.request_member] if setting.request_member else body
    flags = {name: False for name, m in setting.shape.members.items() if m.type_name == "boolean"}
    return flags | sent


@pytest.mark.parametrize("key", list(SETTINGS))
@FEW
@given(data=st.data())
def test_valid_puts_are_accepted_and_read_back(client: Any, key: str, data: st.DataObject) -> None:
    """Any request the model allows is a 200, and Get answers exactly what was put."""
    setting = SETTINGS[key]
    body = _request_body(setting, data)
    put = getattr(client, xform_name(setting.put))(VoiceConnectorId="vc-p", **body)
    got = getattr(client, xform_name(setting.get))(VoiceConnectorId="vc-p")
    assert put[key] == _as_answered(setting, body)
    assert got[key] == _as_answered(setting, body)


def _put_raw(url: str, setting: Setting, body: dict[str, Any]) -> tuple[int, str, str]:
    path = model.operation(setting.put).http["requestUri"].replace("{voiceConnectorId}", "vc-p")
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Authorization": auth_header(), "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            return response.status, "", response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("x-amzn-ErrorType", ""), json.loads(error.read())["Message"]


@pytest.mark.parametrize("key", list(SETTINGS))
@settings(FEW, max_examples=6)
@given(data=st.data())
def test_one_broken_rule_is_a_bad_request_naming_the_member(url: str, key: str, data: st.DataObject) -> None:
    """Break one rule (required, type, enum, pattern, length, range, list size), anywhere in the nesting.

    Every single-rule breakage of each generated request is sent, so each rule the request's shape
    carries is tried on every example, not left to chance.
    """
    setting = SETTINGS[key]
    body = _request_body(setting, data)
    shape = model.operation(setting.put).input_shape
    assert isinstance(shape, StructureShape)
    candidates = breakages(shape, body)
    assume(candidates)  # an empty external-systems request has no rule left to break
    wrong = []
    for broken in candidates:
        status, error_type, message = _put_raw(url, setting, apply(body, broken))
        if (status, error_type) != (400, "BadRequestException") or f"{broken.path} " not in message:
            wrong.append((broken.path, broken.rule, status, message))
    assert wrong == []
