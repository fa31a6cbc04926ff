"""One account's world: voice connectors and their settings, kept separately per region.

The region is the one named in the request's SigV4 credential scope, so a connector created through an
``eu-west-2`` client does not exist for a ``us-east-1`` one — as in AWS. Tests read and write this
state directly (``add_connector``, ``proxy``, ``setting``) to arrange a scenario and to check what a
run applied. ``accounts.Accounts`` holds one of these per AWS account.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batchproxy.emulator.settings import settings

__all__ = ["ACCOUNT_ID", "Connector", "EmulatorState", "Proxy", "SharedDials"]

# The account of requests signed with ordinary (not assumed-role) keys; any fixed 12 digits would do.
ACCOUNT_ID = "123456789012"
_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(slots=True, kw_only=True)
class Proxy:
    """A connector's proxy configuration, as GetVoiceConnectorProxy reports it."""

    default_session_expiry_minutes: int
    phone_number_countries: tuple[str, ...]
    disabled: bool = False
    fall_back_phone_number: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The API's ``Proxy`` structure; FallBackPhoneNumber is left out when there is none."""
        wire: dict[str, Any] = {
            "DefaultSessionExpiryMinutes": self.default_session_expiry_minutes,
            "Disabled": self.disabled,
            "PhoneNumberCountries": list(self.phone_number_countries),
        }
        if self.fall_back_phone_number is not None:
            wire["FallBackPhoneNumber"] = self.fall_back_phone_number
        return wire

    def __repr__(self) -> str:
        # The fallback number is sensitive in the model: a repr must never carry it into a log.
        return (
            f"Proxy(default_session_expiry_minutes={self.default_session_expiry_minutes}, "
            f"phone_number_countries={self.phone_number_countries}, disabled={self.disabled}, "
            f"fall_back_phone_number={'<redacted>' if self.fall_back_phone_number else None})"
        )


@dataclass(slots=True, kw_only=True)
class Connector:
    voice_connector_id: str
    region: str
    name: str
    aws_region: str
    require_encryption: bool = False
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    account_id: str = ACCOUNT_ID
    proxy: Proxy | None = None
    # Each other setting as its Get answers it, by the Get output's member name ("Termination", ...).
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """The API's ``VoiceConnector`` structure (timestamps as datetimes; the protocol formats them)."""
        return {
            "VoiceConnectorId": self.voice_connector_id,
            "AwsRegion": self.aws_region,
            "Name": self.name,
            "OutboundHostName": f"{self.voice_connector_id}.voiceconnector.chime.aws",
            "RequireEncryption": self.require_encryption,
            "CreatedTimestamp": self.created,
            "UpdatedTimestamp": self.updated,
            "VoiceConnectorArn": (
                f"arn:aws:chime:{self.region}:{self.account_id}:vc/{self.voice_connector_id}"
            ),
        }


@dataclass(slots=True)
class SharedDials:
    """What every account's state of one emulator reads alike (one object, shared, so one switch)."""

    auto_create: bool = False


class EmulatorState:
    """One account's connectors by region, then by id. Dict order is creation order (list paging).

    With ``auto_create``, ``lookup`` creates any connector it is asked about, so a run against an
    emulator nobody seeded finds every connector of its input.
    """

    def __init__(
        self,
        *,
        auto_create: bool = False,
        seed: int | None = None,
        account_id: str = ACCOUNT_ID,
        dials: SharedDials | None = None,
    ) -> None:
        self.account_id = account_id
        self._dials = dials if dials is not None else SharedDials(auto_create=auto_create)
        self._regions: dict[str, dict[str, Connector]] = {}
        # Ids of created connectors come from their own generator so that they repeat with the seed
        # whatever the fault dice do; another account's ids from another one.
        tag = "ids" if account_id == ACCOUNT_ID else f"ids-{account_id}"
        self._ids = random.Random(f"{seed}-{tag}") if seed is not None else random.Random()

    @property
    def auto_create(self) -> bool:
        return self._dials.auto_create

    @auto_create.setter
    def auto_create(self, value: bool) -> None:
        self._dials.auto_create = value

    def add_connector(
        self, region: str, voice_connector_id: str | None = None, *, name: str = "emulated"
    ) -> Connector:
        """Create a connector (a fresh id when none is given); an existing one is returned as is."""
        connectors = self._regions.setdefault(region, {})
        if voice_connector_id is not None and voice_connector_id in connectors:
            return connectors[voice_connector_id]
        new_id = voice_connector_id if voice_connector_id is not None else self._new_id(connectors)
        connector = Connector(
            voice_connector_id=new_id, region=region, name=name, aws_region=region, account_id=self.account_id
        )
        connectors[new_id] = connector
        return connector

    def connector(self, region: str, voice_connector_id: str) -> Connector | None:
        """The connector if it exists; never creates one."""
        return self._regions.get(region, {}).get(voice_connector_id)

    def lookup(self, region: str, voice_connector_id: str) -> Connector | None:
        """The connector a request addresses: created on first use when ``auto_create`` is on."""
        found = self.connector(region, voice_connector_id)
        if found is None and self.auto_create:
            found = self.add_connector(region, voice_connector_id)
        return found

    def delete_connector(self, region: str, voice_connector_id: str) -> bool:
        return self._regions.get(region, {}).pop(voice_connector_id, None) is not None

    def connectors(self, region: str) -> list[Connector]:
        """The region's connectors in creation order."""
        return list(self._regions.get(region, {}).values())

    def page(self, region: str, start: int, size: int) -> tuple[list[Connector], int | None]:
        """Connectors ``start .. start+size`` of the region, and the next start (None at the end)."""
        everything = self._regions.get(region, {})
        chunk = list(everything.values())[start : start + size]
        following = start + size
        return chunk, (following if following < len(everything) else None)

    def proxy(self, region: str, voice_connector_id: str) -> Proxy | None:
        """The connector's proxy settings; None when the connector or its proxy does not exist."""
        connector = self.connector(region, voice_connector_id)
        return None if connector is None else connector.proxy

    def set_proxy(self, region: str, voice_connector_id: str, proxy: Proxy | None) -> None:
        """Give an existing connector a proxy (or none), as a test's arrangement step."""
        connector = self.connector(region, voice_connector_id)
        if connector is None:
            raise KeyError(f"no connector {voice_connector_id!r} in {region}")
        connector.proxy = proxy
        connector.updated = datetime.now(UTC)

    def setting(self, region: str, voice_connector_id: str, key: str) -> dict[str, Any] | None:
        """A setting as its Get answers it (``key`` is its member name, e.g. ``"Termination"``).

        None when the connector does not exist or the setting was never put (or was deleted).
        """
        connector = self.connector(region, voice_connector_id)
        return None if connector is None else connector.settings.get(key)

    def set_setting(
        self, region: str, voice_connector_id: str, key: str, value: dict[str, Any] | None
    ) -> None:
        """Give an existing connector a setting (None removes it), as a test's arrangement step."""
        connector = self.connector(region, voice_connector_id)
        if connector is None:
            raise KeyError(f"no connector {voice_connector_id!r} in {region}")
        if value is None:
            connector.settings.pop(key, None)
        else:
            connector.settings[key] = value
        connector.updated = datetime.now(UTC)

    @property
    def regions(self) -> list[str]:
        return sorted(self._regions)

    def count(self) -> int:
        """How many connectors this account has, over all regions."""
        return sum(len(connectors) for connectors in self._regions.values())

    def dump(self) -> dict[str, Any]:
        """Every region's connectors with each setting (null when absent), JSON-ready."""
        return {
            region: {vc_id: _dump(connector) for vc_id, connector in connectors.items()}
            for region, connectors in sorted(self._regions.items())
        }

    def _new_id(self, taken: dict[str, Connector]) -> str:
        # AWS ids are 22 lowercase letters and digits; the shape is all a client could rely on.
        while True:
            candidate = "".join(self._ids.choices(_ID_ALPHABET, k=22))
            if candidate not in taken:
                return candidate


def _dump(connector: Connector) -> dict[str, Any]:
    dumped: dict[str, Any] = {
        "Name": connector.name,
        "Proxy": None if connector.proxy is None else connector.proxy.to_wire(),
    }
    for setting in settings():
        dumped[setting.key] = connector.settings.get(setting.key)
    return dumped
