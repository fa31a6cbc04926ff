"""A click group whose rarely used commands are imported only when they run.

``batchproxy run`` never needs the emulator's server, the HTML report or merge, yet importing them at
start-up cost about 0.12 s of CPU per run (``python -X importtime -m batchproxy run --help``): the
emulator alone pulls in its web app, STS and settings tables. A lazy command is named with the module
and attribute that define it and imported the first time it is looked up: when it runs, when the
group's own ``--help`` lists every command, or when code reads ``group.commands[name]``.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["LazyGroup"]


class _Commands(dict[str, click.Command]):
    """The group's ``commands``: a lazy command is imported on first ``[name]`` or ``get(name)``."""

    def __init__(self, loaded: dict[str, click.Command]) -> None:
        super().__init__(loaded)
        self.lazy: dict[str, str] = {}

    def __missing__(self, name: str) -> click.Command:
        target = self.lazy.pop(name, None)
        if target is None:
            raise KeyError(name)
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        self[name] = command
        return command

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default


class LazyGroup(click.Group):
    """``click.Group`` plus ``add_lazy_command(name, "module:attribute")``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(dict(self.commands))

    def add_lazy_command(self, name: str, target: str) -> None:
        commands = self.commands
        assert isinstance(commands, _Commands)
        commands.lazy[name] = target

    def list_commands(self, ctx: click.Context) -> list[str]:
        commands = self.commands
        lazy = commands.lazy if isinstance(commands, _Commands) else {}
        return sorted({*commands, *lazy})
