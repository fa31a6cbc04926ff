"""What a shard's results file was written for: a sidecar ``<results>.shard.json`` that ``merge`` checks.

A shard's results file alone cannot say which shard it is, how many there were, or whether the other
shards ran over the same input: the file name can be changed with ``--results``, and two inputs with
the same columns give identical headers. So a sharded run records, beside its results file, its index,
the shard count, a digest of the input file's bytes and how many lines the shard and the whole merge
must hold. ``merge`` refuses files whose records disagree, instead of guessing.

The sidecar is written when the shard's journal is opened (and again on ``--resume``), so a shard that
is killed still says what it belongs to; whether it finished is checked from its lines.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from batchproxy.errors import UsageError
from batchproxy.journal.files import atomic_replace
from batchproxy.shard import ShardSpec

__all__ = ["ShardRecord", "input_digest", "load_shard_record", "save_shard_record", "shard_record_path"]

_VERSION = 1
_READ_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardRecord:
    index: int  # 1-based
    count: int
    input_digest: str  # input_digest() of the input file this shard read
    input_rows: int  # lines the merged results file must hold: the input's rows, every shard's
    shard_rows: int  # lines this shard's finished results file holds

    @property
    def spec(self) -> ShardSpec:
        return ShardSpec(index=self.index, count=self.count)


def shard_record_path(results: Path) -> Path:
    return results.with_name(results.name + ".shard.json")


def input_digest(path: Path) -> str:
    """``blake2b:<hex>`` of the input file's bytes: two shards read the same input iff these match.

    One sequential read; a million-row input (about 60 MB) takes a fraction of a second.
    """
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as source:
        while chunk := source.read(_READ_CHUNK):
            digest.update(chunk)
    return "blake2b:" + digest.hexdigest()


def save_shard_record(results: Path, record: ShardRecord) -> None:
    """Write the sidecar atomically, mode 0600, replacing an earlier run's."""
    document = {"version": _VERSION, **asdict(record)}
    with atomic_replace(shard_record_path(results)) as out:
        out.write(json.dumps(document, indent=2).encode() + b"\n")


def load_shard_record(results: Path) -> ShardRecord:
    """The sidecar of ``results``; a ``UsageError`` naming the file when it is missing or not ours."""
    path = shard_record_path(results)
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UsageError(
            f"{results} has no shard record ({path.name}): it was not written by a run with --shard"
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the shard record {path}: {exc}") from None
    record = _parse(document) if isinstance(document, dict) else None
    if record is None:
        raise UsageError(f"{path} is not a shard record this batchproxy can read")
    return record


def _parse(document: dict[str, Any]) -> ShardRecord | None:
    if document.get("version") != _VERSION:
        return None
    numbers = [document.get(name) for name in ("index", "count", "input_rows", "shard_rows")]
    digest = document.get("input_digest")
    if not all(type(n) is int and n >= 0 for n in numbers) or not isinstance(digest, str):
        return None
    index, count, input_rows, shard_rows = (int(n) for n in numbers if n is not None)
    if not 1 <= index <= count or shard_rows > input_rows:
        return None
    return ShardRecord(
        index=index, count=count, input_digest=digest, input_rows=input_rows, shard_rows=shard_rows
    )
