"""The voice-connector settings the emulator keeps, each described by the botocore model alone.

A setting is a ``PutVoiceConnector<Suffix>`` / ``Get…`` / (``Delete…``) triple. Everything else is
read from the model: the Get output's one member names the setting (``Termination``,
``LoggingConfiguration`` …) and gives its shape; the Put request either carries that structure as a
member (``Termination``) or carries the setting's members itself (external systems). So one generic
put/get/delete serves them all, and a member AWS adds appears here with a botocore upgrade.

What a Get answers for a setting that was never put (docs/reference.md §9: a 404 and a 200 without the
member both mean "none"; each setting uses one of them, so a client meets both):

    Termination                    404 NotFoundException
    Origination                    404 NotFoundException
    StreamingConfiguration         404 NotFoundException
    EmergencyCallingConfiguration  200 without the member
    ExternalSystemsConfiguration   200 without the member
    LoggingConfiguration           200 with the defaults (both flags false): logging always exists
                                   and has no delete

A put replaces the whole setting and is stored as AWS answers it: the setting structure's own
boolean members that were not sent are answered ``false`` (``Disabled``, logging's flags); every
other member not sent stays absent.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.model import StructureShape

from batchproxy import model

__all__ = [
    "ABSENT_ANSWERS",
    "ABSENT_KINDS",
    "SETTING_SUFFIXES",
    "Absent",
    "Setting",
    "parse_absent_answers",
    "setting_by_operation",
    "settings",
]

# The settings served; termination credentials (passwords) are out of scope (docs/reference.md §9).
SETTING_SUFFIXES: tuple[str, ...] = (
    "Termination",
    "Origination",
    "LoggingConfiguration",
    "StreamingConfiguration",
    "EmergencyCallingConfiguration",
    "ExternalSystemsConfiguration",
)

Absent = Literal["not-found", "empty", "defaults"]
ABSENT_KINDS: tuple[Absent, ...] = ("not-found", "empty", "defaults")

# How a Get answers when the setting was never put (see the module docstring).
ABSENT_ANSWERS: dict[str, Absent] = {
    "Termination": "not-found",
    "Origination": "not-found",
    "StreamingConfiguration": "not-found",
    "EmergencyCallingConfiguration": "empty",
    "ExternalSystemsConfiguration": "empty",
    "LoggingConfiguration": "defaults",
}


def parse_absent_answers(pairs: Mapping[str, str]) -> dict[str, Absent]:
    """``{"Termination": "empty"}`` checked: a served setting's key and one of ``ABSENT_KINDS``.

    A test can so make any setting answer either way docs/reference.md §9 allows, to exercise both paths of
    a client against every setting.
    """
    keys = set(ABSENT_ANSWERS)
    checked: dict[str, Absent] = {}
    for key, kind in pairs.items():
        if key not in keys:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(keys))}")
        if kind not in ABSENT_KINDS:
            raise ValueError(f"{key}: answer must be one of {', '.join(ABSENT_KINDS)}, not {kind!r}")
        checked[key] = kind
    return checked


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting's operations and shape, as the model describes them."""

    key: str  # the Get output's member: "Termination", "ExternalSystemsConfiguration", ...
    put: str
    get: str
    delete: str | None  # None where the model has no delete (logging)
    shape: StructureShape  # the setting structure, as Get answers it
    request_member: str | None  # the Put member carrying the structure; None: the request's own members
    absent: Absent

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(name for name in (self.put, self.get, self.delete) if name is not None)

    def from_request(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The setting a validated Put request carries, as it will be stored and answered."""
        if self.request_member is not None:
            sent: Mapping[str, Any] = params[self.request_member]
        else:
            sent = {name: params[name] for name in self.shape.members if name in params}
        return self.normalise(sent)

    def normalise(self, sent: Mapping[str, Any]) -> dict[str, Any]:
        """A put replaces the whole setting: unsent booleans of the structure are answered false."""
        stored = {name: value for name, value in sent.items() if name in self.shape.members}
        for name, member in self.shape.members.items():
            if member.type_name == "boolean" and stored.get(name) is None:
                stored[name] = False
        return stored

    def validate(self, value: Mapping[str, Any]) -> list[tuple[str, str]]:
        """What the model finds wrong with a stored value (for seeding from the control endpoint)."""
        return model.validate_members(self.shape, value)

    @property
    def defaults(self) -> dict[str, Any]:
        return self.normalise({})


@functools.cache
def settings() -> tuple[Setting, ...]:
    """Every served setting, read from the installed model."""
    return tuple(_from_model(suffix) for suffix in SETTING_SUFFIXES)


@functools.cache
def setting_by_operation() -> dict[str, Setting]:
    return {name: setting for setting in settings() for name in setting.operations}


def _from_model(suffix: str) -> Setting:
    names = set(model.service_model().operation_names)
    put, get, delete = (f"{verb}VoiceConnector{suffix}" for verb in ("Put", "Get", "Delete"))
    output = model.operation(get).output_shape
    assert isinstance(output, StructureShape), f"{get} has an output structure"
    assert len(output.members) == 1, f"{get} answers one member: the setting"
    [(key, shape)] = output.members.items()
    assert isinstance(shape, StructureShape), f"{get}.{key} is a structure"
    request = model.operation(put).input_shape
    assert isinstance(request, StructureShape)
    return Setting(
        key=key,
        put=put,
        get=get,
        delete=delete if delete in names else None,
        shape=shape,
        request_member=key if key in request.members else None,
        absent=ABSENT_ANSWERS[key],
    )
