"""A click group whose rarely used commands are imported only when they run.

``batchproxy run`` never needs the emulator's server, the HTML report or merge, yet importing them at
start-up cost about 0.35 s of CPU per run (``python -X importtime -m batchproxy run --help``): the
emulator alone pulls in its web app, STS and settings tables. A lazy command is named with the module
and attribute that define it and imported the first time click looks it up, which is when it is run,
or when the group's own ``--help`` lists every command.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """``click.Group`` plus ``add_lazy_command(name, "module:attribute")``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy: dict[str, str] = {}

    def add_lazy_command(self, name: str, target: str) -> None:
        self._lazy[name] = target

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self._lazy.pop(cmd_name, None)
        if target is not None:
            module, _, attribute = target.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)
