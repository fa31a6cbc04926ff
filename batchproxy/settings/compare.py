"""What a connector holds now against what it will hold after the put, and how to put the old back.

A put replaces the whole setting, so the comparison is with what the connector will hold after it
(docs/reference.md §8, §9): a member not sent compares as the service default (false for booleans, an empty
list
for lists, absent otherwise), lists of scalars compare as sets, lists of structures in order. The output
is the proxy's ``differences`` format, generalised: ``Column: old -> new`` with ``(none)`` for missing,
and for a JSON cell a path inside it (``Routes[1].Port``) where both sides have the structure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal, NamedTuple

from botocore.model import ListShape, Shape, StructureShape

from batchproxy.settings import _values
from batchproxy.settings.catalog import Setting
from batchproxy.settings.request import connector_request, put_request

__all__ = [
    "MISSING",
    "NO_STATE",
    "Restore",
    "after_put",
    "differences",
    "held_now",
    "previous_members",
    "restore",
    "setting_in",
    "snapshot_text",
]

NO_STATE = "none"  # previous_state of a connector that did not have the setting
MISSING = "(none)"  # a member with no value, in ``changes``


def setting_in(setting: Setting, response: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The setting in a Get response, or None when it has none (200 without the member, or empty)."""
    found = None if response is None else response.get(setting.get_member)
    return dict(found) if found else None


def after_put(setting: Setting, members: Mapping[str, Any]) -> dict[str, Any]:
    """What the connector holds after a put of ``members``, comparable, by column."""
    shape = setting.shape
    return {name: _comparable(shape.members[name], members.get(name)) for name in setting.members}


def held_now(setting: Setting, current: Mapping[str, Any]) -> dict[str, Any]:
    """What a Get's setting holds, comparable, by column (the put's member names)."""
    shape = setting.shape
    return {
        name: _comparable(shape.members[name], current.get(setting.get_name(name)))
        for name in setting.members
    }


def differences(setting: Setting, current: Mapping[str, Any] | None, members: Mapping[str, Any]) -> list[str]:
    """``Column: old -> new`` for each difference, in column order; empty when the put changes nothing.

    With ``current`` None (the connector has no such setting) every member the put sets is listed
    against ``(none)``. Like the proxy's, the text goes to files only, never to a log.
    """
    after = after_put(setting, members)
    if current is None:
        return [_describe(name, None, new) for name, new in after.items() if not _empty(new)]
    now = held_now(setting, current)
    return [line for name in after for line in _changes(name, now[name], after[name])]


def snapshot_text(current: Mapping[str, Any] | None) -> str:
    """``previous_state``: the setting exactly as its Get returned it, compact JSON, or ``none``."""
    if current is None:
        return NO_STATE
    return json.dumps(current, separators=(",", ":"), default=str)


class Restore(NamedTuple):
    """How rollback puts a previous state back: which client call, with which kwargs."""

    action: Literal["put", "delete"]
    method: str
    kwargs: dict[str, Any]


def restore(setting: Setting, voice_connector_id: str, previous_state: str) -> Restore:
    """The call that restores ``previous_state``; ``ValueError`` naming what is wrong when it cannot.

    ``none`` means the connector had no such setting: delete it, or for a setting that cannot be
    deleted (logging) put the service's defaults back.
    """
    if previous_state == NO_STATE:
        if setting.delete_method is not None:
            return Restore("delete", setting.delete_method, connector_request(voice_connector_id))
        assert setting.defaults is not None, setting.name
        return Restore("put", setting.put_method, put_request(setting, voice_connector_id, setting.defaults))
    members = previous_members(setting, previous_state)
    return Restore("put", setting.put_method, put_request(setting, voice_connector_id, members))


def previous_members(setting: Setting, text: str) -> dict[str, Any]:
    """The put members that recreate a ``previous_state`` other than ``none``; else ``ValueError``."""
    try:
        state = json.loads(text)
    except ValueError:
        raise ValueError(f"previous_state is neither {NO_STATE!r} nor JSON") from None
    if not isinstance(state, dict):
        raise ValueError("previous_state is not a JSON object")
    # Members the Get answers but the put does not take are left out: they are not the setting's.
    members = {
        n: state[setting.get_name(n)] for n in setting.members if state.get(setting.get_name(n)) is not None
    }
    shape = setting.shape
    required = [name for name in shape.required_members if name in setting.members]
    problems = [f"{name} is required" for name in required if name not in members]
    for name, value in members.items():
        # The model's rules only: what AWS held may be put back even where batchproxy is stricter.
        check = _values.compile_check(shape.members[name], name, {})
        problems.extend(f"{path}: {message}" for path, message in check(value, name))
    if problems:
        raise ValueError("previous_state cannot be put back: " + "; ".join(problems))
    return members


def _comparable(shape: Shape, value: Any) -> Any:
    """A value as compared: defaults for what is absent, sets for lists of scalars, tuples for the rest."""
    kind = shape.type_name
    if kind == "boolean":
        return bool(value)
    if isinstance(shape, ListShape):
        items = value or ()
        if shape.member.type_name in ("structure", "list"):
            return tuple(_comparable(shape.member, item) for item in items)
        return frozenset(items)
    if isinstance(shape, StructureShape):
        if value is None:
            return None
        return {name: _comparable(member, value.get(name)) for name, member in shape.members.items()}
    return None if value == "" else value  # an empty string is what some answers say for "none"


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, frozenset | tuple) and not value)


def _changes(path: str, old: Any, new: Any) -> Iterator[str]:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for name in new:
            yield from _changes(f"{path}.{name}", old[name], new[name])
    elif isinstance(old, tuple) and isinstance(new, tuple) and old and new:
        for index in range(max(len(old), len(new))):
            before = old[index] if index < len(old) else None
            after = new[index] if index < len(new) else None
            yield from _changes(f"{path}[{index}]", before, after)
    else:
        yield _describe(path, old, new)


def _describe(path: str, old: Any, new: Any) -> str:
    return f"{path}: {_show(old)} -> {_show(new)}"


def _show(value: Any) -> str:
    if _empty(value):
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset):
        return ";".join(sorted(value))
    if isinstance(value, dict | tuple):
        return json.dumps(_plain(value), separators=(",", ":"))
    return str(value)


def _plain(value: Any) -> Any:
    """A comparable value back as JSON would write it: sets sorted, absent members left out."""
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items() if not _empty(item)}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, frozenset):
        return sorted(value)
    return value
