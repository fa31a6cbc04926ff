"""Which connectors exist at start, read from a CSV file — batchproxy's own input file works as is.

Only two columns matter: ``VoiceConnectorId`` (required) and ``Region`` (optional; empty means the
default region). Headers match case-insensitively and in snake_case, like the client's input. This
module deliberately does not import the client's column handling: the emulator shares nothing with
the client but the API model.
"""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["read_connectors"]


def _key(header: str) -> str:
    return header.strip().lower().replace("_", "")


def read_connectors(path: Path, default_region: str) -> list[tuple[str, str]]:
    """``(region, VoiceConnectorId)`` for each data row with an id; ``ValueError`` without the column."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path} is empty")
        columns = {_key(name): index for index, name in enumerate(header)}
        id_column = columns.get("voiceconnectorid")
        if id_column is None:
            raise ValueError(f"{path} has no VoiceConnectorId column")
        region_column = columns.get("region")
        found: list[tuple[str, str]] = []
        for cells in reader:
            vc_id = cells[id_column] if id_column < len(cells) else ""
            if not vc_id.strip():
                continue  # blank lines and rows without an id name no connector
            # The id is kept exactly as written: the client sends it byte-for-byte too.
            region = (
                cells[region_column].strip()
                if region_column is not None and region_column < len(cells)
                else ""
            )
            found.append((region or default_region, vc_id))
        return found
