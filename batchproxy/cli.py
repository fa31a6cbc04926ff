"""The command line: parse options once, build the frozen configuration, hand over to the engine."""

from __future__ import annotations

import click

from batchproxy import __version__
from batchproxy.emulator.command import emulator_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batchproxy")
def main() -> None:
    """Apply Chime SDK Voice Connector proxy settings in bulk: rate-limited, retried, resumable."""


main.add_command(emulator_command)
