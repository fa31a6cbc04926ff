"""Which connectors exist at start, read from a CSV file — batchproxy's own input file works as is.

Only these columns matter: ``VoiceConnectorId`` (required), ``Region`` (optional; empty means the
default region) and the account, from ``AccountId`` or the account inside ``RoleArn`` (optional;
empty means the default account). Headers match case-insensitively and in snake_case, like the
client's input. This module deliberately does not import the client's column handling: the
emulator shares nothing with the client but the API model.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

__all__ = ["read_account_connectors", "read_connectors"]

_ARN_ACCOUNT = re.compile(r"arn:[^:]*:iam::(\d{12}):")


def _key(header: str) -> str:
    return header.strip().lower().replace("_", "")


def read_connectors(path: Path, default_region: str) -> list[tuple[str, str]]:
    """``(region, VoiceConnectorId)`` for each data row with an id; ``ValueError`` without the column."""
    return [(region, vc_id) for _, region, vc_id in read_account_connectors(path, default_region)]


def read_account_connectors(path: Path, default_region: str) -> list[tuple[str, str, str]]:
    """``(account or "", region, VoiceConnectorId)`` for each data row with an id."""
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
        account_column, arn_column = columns.get("accountid"), columns.get("rolearn")
        found: list[tuple[str, str, str]] = []
        for cells in reader:
            vc_id = cells[id_column] if id_column < len(cells) else ""
            if not vc_id.strip():
                continue  # blank lines and rows without an id name no connector
            # The id is kept exactly as written: the client sends it byte-for-byte too.
            region = _cell(cells, region_column)
            account = _cell(cells, account_column) or _account_of(_cell(cells, arn_column))
            found.append((account, region or default_region, vc_id))
        return found


def _cell(cells: list[str], column: int | None) -> str:
    return cells[column].strip() if column is not None and column < len(cells) else ""


def _account_of(role_arn: str) -> str:
    found = _ARN_ACCOUNT.match(role_arn)
    return found[1] if found else ""
