"""A setting's input columns, read from the model at run time (docs/reference.md §9).

``VoiceConnectorId`` first, then one column per member of the setting, named as the API names it and
required where the model requires it. How a cell is written follows from the member's shape: a scalar
as in §1, a list of scalars ``;``-separated, anything holding a structure as one JSON cell.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

from botocore import xform_name
from botocore.model import ListShape, Shape, StructureShape

from batchproxy import model
from batchproxy.settings.catalog import CONNECTOR_MEMBER, Setting

__all__ = [
    "Column",
    "Kind",
    "canonical_column",
    "column_names",
    "columns",
    "required_columns",
    "spellings",
]


class Kind(enum.StrEnum):
    """How a column's cell is written."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    LIST = "list"  # of strings or enum values, ';'-separated
    JSON = "json"  # a structure, or a list of structures


@dataclass(frozen=True, slots=True)
class Column:
    """One input column: the API member it sets and how its cell is read."""

    name: str
    shape: Shape
    required: bool
    kind: Kind
    # True when the member, or anything inside it, is sensitive: the whole cell is then masked in output.
    sensitive: bool


def kind_of(shape: Shape) -> Kind:
    kind = shape.type_name
    if kind == "structure":
        return Kind.JSON
    if kind == "list":
        assert isinstance(shape, ListShape)
        return Kind.JSON if shape.member.type_name in ("structure", "list") else Kind.LIST
    if kind in ("integer", "long"):
        return Kind.INTEGER
    if kind == "boolean":
        return Kind.BOOLEAN
    return Kind.STRING


def holds_sensitive(shape: Shape) -> bool:
    if shape.metadata.get("sensitive"):
        return True
    if isinstance(shape, StructureShape):
        return any(holds_sensitive(member) for member in shape.members.values())
    if isinstance(shape, ListShape):
        return holds_sensitive(shape.member)
    return False


@functools.cache
def columns(setting: Setting) -> tuple[Column, ...]:
    """``VoiceConnectorId`` (from the put request), then the setting's members in model order."""
    request = setting.shape if setting.structure is None else _put_input(setting)
    connector = request.members[CONNECTOR_MEMBER]
    found = [Column(CONNECTOR_MEMBER, connector, True, Kind.STRING, False)]
    shape = setting.shape
    for name in setting.members:
        member = shape.members[name]
        found.append(
            Column(name, member, name in shape.required_members, kind_of(member), holds_sensitive(member))
        )
    return tuple(found)


def _put_input(setting: Setting) -> StructureShape:
    shape = model.operation(setting.put_operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def column_names(setting: Setting) -> tuple[str, ...]:
    return tuple(column.name for column in columns(setting))


def required_columns(setting: Setting) -> tuple[str, ...]:
    """The columns a file must have for a put of ``setting`` (the header check asks for these)."""
    return tuple(column.name for column in columns(setting) if column.required)


def _naive_snake(name: str) -> str:
    """``EnableSIPLogs`` -> ``enable_s_i_p_logs``: one underscore before every capital, as §1 spells it."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def spellings(setting: Setting) -> dict[str, str]:
    """Every accepted header spelling, lowered, -> the canonical column name.

    Any case; snake_case both the SDK's way (``enable_sip_logs``) and letter by letter
    (``enable_s_i_p_logs``); plus the setting's historic aliases (proxy: ``fallback_phone_number``).
    """
    found: dict[str, str] = {}
    for name in column_names(setting):
        for spelling in (name.lower(), xform_name(name), _naive_snake(name)):
            found[spelling] = name
    for alias, name in setting.aliases.items():
        found[alias.lower()] = name
    return found


def canonical_column(setting: Setting, header: str) -> str | None:
    """The column a header names for ``setting``, or None when it is none of its columns."""
    return spellings(setting).get(header.strip().lower())
