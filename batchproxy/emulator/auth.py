"""SigV4 as the emulator sees it: the header's shape and credential scope, never the signature.

There are no secrets here, so a signature cannot be checked; what is checked is what AWS refuses
before it would look at one — no ``Authorization`` header, a malformed one, a scope for another
service — answered with the error types the AWS front end sends. The scope's region selects which
region's state a request sees, and a configured set of access key ids is refused as if the
credentials had lost their permissions (to exercise a client's auth circuit breaker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchproxy.emulator.protocol import ApiError
from batchproxy.model import SIGNING_NAME

__all__ = ["Credential", "authenticate", "credential_scope"]

_ALGORITHM = "AWS4-HMAC-SHA256"
# Credential=AKID/yyyymmdd/region/service/aws4_request, SignedHeaders=a;b, Signature=hex
_HEADER = re.compile(
    _ALGORITHM + r" +Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request, *SignedHeaders=[a-z0-9;._-]+, *Signature=[0-9a-f]{64}$"
)


@dataclass(frozen=True, slots=True)
class Credential:
    access_key_id: str
    region: str
    service: str = SIGNING_NAME


def credential_scope(header: str | None) -> Credential:
    """The key, region and service a SigV4 ``Authorization`` header names; ``ApiError`` (403) if none."""
    if not header:
        raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
    found = _HEADER.match(header)
    if found is None:
        raise ApiError(
            "IncompleteSignatureException",
            f"Authorization header requires {_ALGORITHM} with Credential, SignedHeaders and Signature.",
        )
    return Credential(access_key_id=found["key"], region=found["region"], service=found["service"])


def authenticate(header: str | None, denied: frozenset[str], deny_error: str) -> Credential:
    """The credential of a Chime request's ``Authorization`` header, or ``ApiError`` (a 401/403)."""
    found = credential_scope(header)
    if found.service != SIGNING_NAME:
        raise ApiError(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SIGNING_NAME}'.",
        )
    key = found.access_key_id
    if key in denied:
        raise ApiError(deny_error, f"Access key {key} is not allowed to perform this operation.")
    return found
