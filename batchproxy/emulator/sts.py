"""STS ``AssumeRole`` on the emulator's port, in the query protocol as botocore's ``sts`` model has it.

A request is ``POST /`` with a form body (``Action=AssumeRole&Version=2011-06-15&RoleArn=…``), signed
for the service ``sts``; the answer is the ``AssumeRoleResponse`` XML document botocore parses, or an
``ErrorResponse`` document. The account is the one in the role's ARN; the temporary key issued is
remembered (``sessions``) so that Chime calls signed with it reach that account's connectors.

Dials (``StsDials``), all reproducible: refuse given accounts or role names (403 ``AccessDenied``,
which is also what AWS answers for a role that does not exist), answer the next N calls with
``ServiceUnavailable`` (503) or ``Throttling`` (400), delay every answer, and cap the lifetime of
what is handed out (the ``Expiration`` on the wire tells the truth, so a client that refreshes
ahead of it never meets an expired key; ``Sessions.expire_all`` is the early revocation).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import StructureShape

from batchproxy import model
from batchproxy.emulator.sessions import Session, Sessions

__all__ = ["ASSUME_ROLE", "StsDials", "StsError", "assume_role", "error_document", "success_document"]

ASSUME_ROLE = "AssumeRole"  # the operation name in stats
_VERSION = "2011-06-15"
_NAMESPACE = f"https://sts.amazonaws.com/doc/{_VERSION}/"
_DEFAULT_DURATION = 3600  # AWS's default when DurationSeconds is not sent
# arn:<partition>:iam::<12 digits>:role/<optional path/>name
_ROLE_ARN = re.compile(
    r"arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[^/\s]+/)*(?P<name>[\w+=,.@-]{1,64})"
)


class StsError(Exception):
    """An ``ErrorResponse``: HTTP status, the ``Code``, and a sender/receiver fault type."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(slots=True, kw_only=True)
class StsDials:
    """What the STS side is told to do; changed while serving through ``/_emulator/config``."""

    denied_accounts: set[str] = field(default_factory=set)
    denied_roles: set[str] = field(default_factory=set)  # role names, not ARNs
    throttle: int = 0  # how many of the next AssumeRole calls answer Throttling (400)
    failures: int = 0  # how many of the next AssumeRole calls answer ServiceUnavailable (503)
    latency: float = 0.0  # seconds every AssumeRole answer waits (to let concurrent callers pile up)
    credential_lifetime: float | None = None  # seconds; None: the DurationSeconds asked for

    def describe(self) -> dict[str, object]:
        return {
            "sts_denied_accounts": sorted(self.denied_accounts),
            "sts_denied_roles": sorted(self.denied_roles),
            "sts_throttle": self.throttle,
            "sts_failures": self.failures,
            "sts_latency": self.latency,
            "credential_lifetime": self.credential_lifetime,
        }


@functools.cache
def _input_shape() -> StructureShape:
    shape = botocore.session.get_session().get_service_model("sts").operation_model(ASSUME_ROLE).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def assume_role(form: Mapping[str, str], dials: StsDials, sessions: Sessions) -> Session:
    """Answer one AssumeRole request (its form fields); ``StsError`` for every refusal."""
    if form.get("Action") != ASSUME_ROLE:
        action = form.get("Action", "")
        raise StsError(400, "InvalidAction", f"Could not find operation {action} for version {_VERSION}")
    params = _params(form)
    if dials.failures > 0:
        dials.failures -= 1
        raise StsError(503, "ServiceUnavailable", "Service is unavailable")
    if dials.throttle > 0:
        dials.throttle -= 1
        raise StsError(400, "Throttling", "Rate exceeded")
    found = _ROLE_ARN.fullmatch(params["RoleArn"])
    if found is None:
        raise StsError(400, "ValidationError", f"{params['RoleArn']} is invalid")
    account, role = found["account"], found["name"]
    if account in dials.denied_accounts or role in dials.denied_roles:
        raise StsError(
            403,
            "AccessDenied",
            f"User: arn:aws:iam::{account}:user/emulated is not authorized to perform: "
            f"sts:AssumeRole on resource: {params['RoleArn']}",
        )
    lifetime = float(params.get("DurationSeconds", _DEFAULT_DURATION))
    if dials.credential_lifetime is not None:
        lifetime = min(lifetime, dials.credential_lifetime)
    return sessions.issue(account, params["RoleArn"], lifetime)


def _params(form: Mapping[str, str]) -> dict[str, Any]:
    """The request's scalar members, typed and checked against the sts model."""
    shape = _input_shape()
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        if name not in form or member.type_name in ("list", "structure"):
            continue  # policies, tags: accepted and ignored, as they change nothing here
        text = form[name]
        if member.type_name == "integer":
            if not re.fullmatch(r"-?\d{1,12}", text):
                raise StsError(400, "ValidationError", f"{name} must be an integer")
            params[name] = int(text)
        else:
            params[name] = text
    problems = model.validate_members(shape, params)
    # STS's patterns are character classes meant for the whole value ("[\w+=,.@-]*"), so a value
    # must match from end to end, not merely contain a match as an unanchored search would allow.
    problems += [
        (name, f"must match {shape.members[name].metadata['pattern']}")
        for name, value in params.items()
        if isinstance(value, str) and not _whole_match(shape.members[name].metadata.get("pattern"), value)
    ]
    problems = list(dict.fromkeys(problems))  # a pattern broken both ways is reported once
    if problems:
        detail = "; ".join(f"{path} {problem}" for path, problem in problems)
        raise StsError(400, "ValidationError", f"{len(problems)} validation error(s) detected: {detail}")
    return params


def _whole_match(pattern: str | None, value: str) -> bool:
    return pattern is None or re.fullmatch(pattern, value) is not None


def success_document(session: Session, session_name: str, request_id: str) -> bytes:
    """The ``AssumeRoleResponse`` botocore's query parser reads (its ``AssumeRoleResult`` wrapper)."""
    expiration = datetime.fromtimestamp(session.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    role_name = session.role_arn.rsplit("/", 1)[-1]
    role_id = "AROA" + session.access_key_id[4:]
    return (
        f'<AssumeRoleResponse xmlns="{_NAMESPACE}"><AssumeRoleResult>'
        "<AssumedRoleUser>"
        f"<Arn>arn:aws:sts::{session.account_id}:assumed-role/{escape(role_name)}/{escape(session_name)}</Arn>"
        f"<AssumedRoleId>{role_id}:{escape(session_name)}</AssumedRoleId>"
        "</AssumedRoleUser>"
        "<Credentials>"
        f"<AccessKeyId>{session.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{session.secret_access_key}</SecretAccessKey>"
        f"<SessionToken>{session.session_token}</SessionToken>"
        f"<Expiration>{expiration}</Expiration>"
        "</Credentials>"
        "</AssumeRoleResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</AssumeRoleResponse>"
    ).encode()


def error_document(error: StsError, request_id: str) -> bytes:
    """An ``ErrorResponse`` as the query protocol sends it (``Sender`` for 4xx, ``Receiver`` for 5xx)."""
    fault = "Sender" if error.status < 500 else "Receiver"
    return (
        f'<ErrorResponse xmlns="{_NAMESPACE}"><Error>'
        f"<Type>{fault}</Type><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
