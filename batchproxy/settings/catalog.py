"""Which voice-connector settings batchproxy serves, and the few facts about each the model cannot say.

Everything that can be read from the botocore model is read from it (shapes, required members, the Get
output member, whether the setting has its own request structure). What is left is written here, once:
each setting's CLI name and operation suffix, whether it may be deleted, and its quirks — a put member the
Get names differently, a rule the contract adds on top of the model, the defaults rollback restores.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from botocore import xform_name
from botocore.model import Shape, StructureShape

from batchproxy import model

__all__ = ["CONNECTOR_MEMBER", "SETTINGS", "Setting", "UnknownSetting", "setting"]

# The path member every request names the connector with; never a setting member.
CONNECTOR_MEMBER = "VoiceConnectorId"


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


# One instance per setting: identity. Not slotted, so that the derived names below are worked out once
# per setting (``cached_property`` keeps them in the instance dict) rather than once per row.
@dataclass(frozen=True, kw_only=True, eq=False)
class Setting:
    """One setting of a voice connector: its operations and the quirks of its model.

    ``suffix`` names the operations: ``Put``/``Get``/``Delete`` + ``VoiceConnector`` + suffix.
    ``get_names`` maps a put member to the name the Get answers with, where the two differ.
    ``stricter`` adds rules to the model's, keyed by member path (``[]`` stands for a list's items):
    each value is metadata merged over the model's (``min``, ``max``, ``pattern``).
    ``defaults`` is what the service holds when the setting was never put; rollback puts it back
    where there is no delete operation.
    """

    name: str
    suffix: str
    deletable: bool = True
    get_names: Mapping[str, str] = field(default_factory=_frozen)
    stricter: Mapping[str, Mapping[str, Any]] = field(default_factory=_frozen)
    aliases: Mapping[str, str] = field(default_factory=_frozen)
    defaults: Mapping[str, Any] | None = None
    end_of_support: str | None = None

    @functools.cached_property
    def put_operation(self) -> str:
        return f"PutVoiceConnector{self.suffix}"

    @functools.cached_property
    def get_operation(self) -> str:
        return f"GetVoiceConnector{self.suffix}"

    @functools.cached_property
    def delete_operation(self) -> str | None:
        return f"DeleteVoiceConnector{self.suffix}" if self.deletable else None

    @functools.cached_property
    def put_method(self) -> str:
        """The botocore client method (``put_voice_connector_termination``)."""
        return str(xform_name(self.put_operation))

    @functools.cached_property
    def get_method(self) -> str:
        return str(xform_name(self.get_operation))

    @functools.cached_property
    def delete_method(self) -> str | None:
        return None if self.delete_operation is None else str(xform_name(self.delete_operation))

    @functools.cached_property
    def get_member(self) -> str:
        """The Get output member that carries the setting (``Proxy``, ``LoggingConfiguration`` …)."""
        return _get_member(self.get_operation)

    @functools.cached_property
    def structure(self) -> str | None:
        """The put request's member that holds the setting, or None when the request's own members do."""
        return _structure(self.put_operation, self.get_member)

    @functools.cached_property
    def shape(self) -> StructureShape:
        """The structure whose members are the setting's members (columns)."""
        return _setting_shape(self.put_operation, self.structure)

    @functools.cached_property
    def members(self) -> tuple[str, ...]:
        """The setting's members in model order, without the connector id."""
        return tuple(name for name in self.shape.members if name != CONNECTOR_MEMBER)

    def get_name(self, member: str) -> str:
        """The name the Get output uses for put member ``member``."""
        return self.get_names.get(member, member)


@functools.cache
def _get_member(operation: str) -> str:
    output = model.operation(operation).output_shape
    assert output is not None, operation
    names: list[str] = list(output.members)
    assert len(names) == 1, operation
    return names[0]


@functools.cache
def _structure(operation: str, get_member: str) -> str | None:
    request = _input(operation)
    member = request.members.get(get_member)
    return get_member if member is not None and member.type_name == "structure" else None


@functools.cache
def _setting_shape(operation: str, structure: str | None) -> StructureShape:
    request = _input(operation)
    shape: Shape = request if structure is None else request.members[structure]
    assert isinstance(shape, StructureShape)
    return shape


def _input(operation: str) -> StructureShape:
    shape = model.operation(operation).input_shape
    assert isinstance(shape, StructureShape), operation
    return shape


_SETTINGS = (
    Setting(
        name="proxy",
        suffix="Proxy",
        # The put takes PhoneNumberPoolCountries, the Get answers PhoneNumberCountries.
        get_names=_frozen({"PhoneNumberPoolCountries": "PhoneNumberCountries"}),
        # docs/reference.md §1/§7 on top of the model: minutes ≥ 1 (the model has no minimum), and a country
        # code is two letters (the model's pattern also admits an empty code).
        stricter=_frozen(
            {
                "DefaultSessionExpiryMinutes": _frozen({"min": 1}),
                "PhoneNumberPoolCountries[]": _frozen({"pattern": "^[A-Z]{2}$"}),
            }
        ),
        aliases=_frozen({"fallback_phone_number": "FallBackPhoneNumber"}),
        end_of_support="2026-04-07",
    ),
    Setting(name="termination", suffix="Termination"),
    Setting(name="origination", suffix="Origination"),
    Setting(
        name="logging",
        suffix="LoggingConfiguration",
        deletable=False,
        defaults=_frozen({"EnableSIPLogs": False, "EnableMediaMetricLogs": False}),
    ),
    Setting(name="streaming", suffix="StreamingConfiguration"),
    Setting(
        name="emergency-calling",
        suffix="EmergencyCallingConfiguration",
        # The model's Alpha2CountryCode pattern is [A-Z]{2} unanchored, so it would pass "USA".
        stricter=_frozen({"DNIS[].CallingCountry": _frozen({"pattern": "^[A-Z]{2}$"})}),
    ),
    Setting(name="external-systems", suffix="ExternalSystemsConfiguration"),
)

SETTINGS: Mapping[str, Setting] = MappingProxyType({s.name: s for s in _SETTINGS})


class UnknownSetting(ValueError):
    """A ``--setting`` name batchproxy does not serve; the message lists the ones it does."""


def setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise UnknownSetting(f"unknown setting {name!r}: choose one of {', '.join(SETTINGS)}") from None
