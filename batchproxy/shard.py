"""Splitting one rollout over N processes by rate domain (docs/reference.md §12).

AWS's quota is per (account, region), so a split that never puts one domain in two shards needs no
distributed rate limiter: each process owns the whole rate of its domains.

    parse_shard("2/4") / parse_shard("auto/4", os.environ)   -> ShardSpec(index=2, count=4)
    assign({domain: rows, ...}, count)                       -> Assignment (domain -> shard)
    assignment.owns(spec, domain)                            is this row's domain ours?
    assignment.rows_per_shard()                              rows of each shard, for the summary
    shard_path(path, spec) / split_shard_name(name)          ``x.results.shard-2-of-4.csv`` and back

Every shard reads (and validates) the whole input, so each can count the rows of every domain and
compute the same assignment: greedy longest-processing-time-first over the domains sorted by (rows
descending, canonical key). That is deterministic on any machine given the same input, and far more
even than hashing when there are few domains. A domain the counts do not name (which the engine
should never ask about) falls back to a keyed blake2b hash, never to Python's per-process ``hash``.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from batchproxy.errors import UsageError

__all__ = [
    "AUTO_INDEX_VARIABLES",
    "MAX_SHARDS",
    "Assignment",
    "Domain",
    "ShardSpec",
    "assign",
    "domain_key",
    "hashed_shard",
    "parse_shard",
    "shard_path",
    "split_shard_name",
]

# (kind, name, region): ("profile", None, "us-east-1") is the default profile's domain,
# ("account", "111122223333", "eu-west-1") an assumed role's.
Domain = tuple[Literal["profile", "account"], str | None, str]

# Where ``--shard auto/N`` finds its index, both 0-based: Kubernetes Indexed Job, AWS Batch array job.
AUTO_INDEX_VARIABLES = ("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX")
# A fixed key keeps the fallback hash the same on every machine and in every release that keeps it.
_HASH_KEY = b"batchproxy-shard-v1"
_SPEC = re.compile(r"(?P<index>[0-9]+|auto)/(?P<count>[0-9]+)")
_NAME = re.compile(r"(?P<base>.+)\.shard-(?P<index>[0-9]+)-of-(?P<count>[0-9]+)(?P<ext>\.[^.]*)?")
# A ceiling that no real fleet reaches; it keeps a typo from asking for a million idle shards.
MAX_SHARDS = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardSpec:
    """This process is shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise UsageError(f"--shard: N must be between 1 and {MAX_SHARDS} (got {self.count})")
        if not 1 <= self.index <= self.count:
            raise UsageError(f"--shard: I must be between 1 and N={self.count} (got {self.index})")

    @property
    def suffix(self) -> str:
        """``.shard-I-of-N``, which goes before a file's extension."""
        return f".shard-{self.index}-of-{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, environ: Mapping[str, str] | None = None) -> ShardSpec:
    """``I/N`` or ``auto/N``; for ``auto`` the CLI passes ``os.environ`` (nothing below it reads env)."""
    match = _SPEC.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"--shard {text!r}: expected I/N (e.g. 2/4) or auto/N (e.g. auto/4)")
    count = int(match["count"])
    if match["index"] != "auto":
        return ShardSpec(index=int(match["index"]), count=count)
    return ShardSpec(index=_auto_index(environ or {}, count), count=count)


def _auto_index(environ: Mapping[str, str], count: int) -> int:
    """The 1-based shard index from the first of ``AUTO_INDEX_VARIABLES`` that is set."""
    for name in AUTO_INDEX_VARIABLES:
        value = environ.get(name, "").strip()
        if not value:
            continue
        if not (value.isascii() and value.isdigit()):
            raise UsageError(f"--shard auto/{count}: {name}={value!r} is not a whole number")
        if int(value) >= count:
            raise UsageError(
                f"--shard auto/{count}: {name}={value} is outside 0..{count - 1}: "
                f"the job runs more than {count} indexes"
            )
        return int(value) + 1
    raise UsageError(
        f"--shard auto/{count}: neither {' nor '.join(AUTO_INDEX_VARIABLES)} is set; "
        "outside an Indexed Job or array job, give the index: --shard I/N"
    )


def domain_key(domain: Domain) -> str:
    """A canonical text for a domain: the same on every machine and Python version."""
    return json.dumps(list(domain), ensure_ascii=True, separators=(",", ":"))


def hashed_shard(domain: Domain, count: int) -> int:
    """The 1-based shard of a domain by keyed hash alone (the fallback; stable, but uneven when few)."""
    digest = hashlib.blake2b(domain_key(domain).encode(), digest_size=8, key=_HASH_KEY).digest()
    return int.from_bytes(digest, "big") % count + 1


@dataclass(frozen=True, slots=True)
class Assignment:
    """Which shard owns each domain of one input, and how many rows that gives each shard."""

    count: int
    shard_of_domain: Mapping[Domain, int]
    rows: tuple[int, ...]  # rows per shard, index 0 = shard 1

    def shard_of(self, domain: Domain) -> int:
        """The 1-based shard owning ``domain``; a domain the input did not count is hashed."""
        shard = self.shard_of_domain.get(domain)
        return shard if shard is not None else hashed_shard(domain, self.count)

    def owns(self, spec: ShardSpec, domain: Domain) -> bool:
        """Does shard ``spec`` take the rows of ``domain``?"""
        if spec.count != self.count:
            raise ValueError(f"assignment for {self.count} shards asked about shard {spec}")
        return self.shard_of(domain) == spec.index

    def rows_per_shard(self) -> dict[int, int]:
        """1-based shard -> rows, every shard present (an idle one with 0)."""
        return dict(enumerate(self.rows, start=1))


def assign(rows_by_domain: Mapping[Domain, int], count: int) -> Assignment:
    """Spread domains over ``count`` shards as evenly as whole domains allow (greedy LPT).

    The biggest domain goes first, each to the shard with the fewest rows so far (the lowest index
    on a tie). Ties between domains are broken by their canonical key, so the result does not depend
    on the mapping's order. LPT is within 4/3 of the best possible largest shard; no split can beat
    the largest single domain, since a domain is never divided.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1 (got {count})")
    order = sorted(rows_by_domain.items(), key=lambda item: (-item[1], domain_key(item[0])))
    loads = [(0, index) for index in range(1, count + 1)]  # (rows, shard): a min-heap
    shard_of_domain: dict[Domain, int] = {}
    rows = [0] * count
    for domain, domain_rows in order:
        load, index = heapq.heappop(loads)
        shard_of_domain[domain] = index
        rows[index - 1] += domain_rows
        heapq.heappush(loads, (load + domain_rows, index))
    return Assignment(count, shard_of_domain, tuple(rows))


def shard_path(path: Path, spec: ShardSpec) -> Path:
    """``input.results.csv`` -> ``input.results.shard-2-of-4.csv``: the suffix before the extension."""
    return path.with_name(path.stem + spec.suffix + path.suffix)


def split_shard_name(name: str) -> tuple[str, ShardSpec] | None:
    """``input.results.shard-2-of-4.csv`` -> (``input.results.csv``, 2/4); None without the suffix.

    A name whose numbers are out of range is None too: it is not a shard file of ours.
    """
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    try:
        spec = ShardSpec(index=int(match["index"]), count=int(match["count"]))
    except UsageError:
        return None
    return match["base"] + (match["ext"] or ""), spec
