"""Run metadata that is not per row, in a small sidecar ``<results>.state.json``.

The rate each (profile, region) settled at, so a resumed run starts there instead of probing again;
and which voice-connector setting the results are about (docs/reference.md §9), written as soon as a new
results file exists, so that ``--resume`` and ``rollback`` never need ``--setting`` repeated. The
rates are a convenience: a missing or unreadable sidecar means "nothing learned yet", never a refused
resume; and no recorded setting means the proxy, which is what every results file written before
settings existed is about.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchproxy.errors import UsageError
from batchproxy.journal.files import atomic_replace, open_reading
from batchproxy.principal import Domain, Principal, Role

__all__ = ["RunMeta", "discard_meta", "load_meta", "meta_path", "save_meta"]

_VERSION = 1
# A sidecar of a run with thousands of domains is a few hundred kB; anything far larger is not ours.
_MAX_BYTES = 16 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMeta:
    # Requests per second that each (profile, region) was running at when last saved.
    learned_rates: Mapping[Domain, float] = field(default_factory=dict)
    # The --setting the results file is about; None: not recorded (a file from before settings: proxy).
    setting: str | None = None


def meta_path(results: Path) -> Path:
    return results.with_name(results.name + ".state.json")


def save_meta(results: Path, meta: RunMeta) -> None:
    """Write the sidecar atomically (mode 0600), replacing any earlier one."""
    document: dict[str, Any] = {
        "version": _VERSION,
        "learned_rates": [
            _rate_entry(principal, region, rate)
            for (principal, region), rate in sorted(meta.learned_rates.items(), key=lambda item: str(item[0]))
        ],
    }
    if meta.setting is not None:
        document["setting"] = meta.setting
    with atomic_replace(meta_path(results)) as out:
        out.write(json.dumps(document, indent=2).encode() + b"\n")


def load_meta(results: Path) -> RunMeta:
    """The sidecar's content; an empty ``RunMeta`` when it is missing, unreadable or of another version."""
    try:
        with open_reading(meta_path(results)) as raw:  # not through a link, never blocked by a FIFO
            document = json.loads(raw.read(_MAX_BYTES))
        return _parse(document) if document.get("version") == _VERSION else RunMeta()
    except (OSError, UsageError, ValueError, TypeError, KeyError, AttributeError):
        return RunMeta()


def discard_meta(results: Path) -> None:
    """Forget what an earlier run learned: a new run writing these results starts fresh."""
    with contextlib.suppress(FileNotFoundError):
        meta_path(results).unlink()


def _rate_entry(principal: Principal, region: str, rate: float) -> dict[str, Any]:
    """A profile's entry as it always was; an assumed role's names it by ARN instead."""
    if isinstance(principal, Role):
        return {"role": principal.arn, "region": region, "rate": rate}
    return {"profile": principal, "region": region, "rate": rate}


def _parse(document: dict[str, Any]) -> RunMeta:
    rates: dict[Domain, float] = {}
    for entry in document["learned_rates"]:
        region, rate = entry["region"], float(entry["rate"])
        principal: Principal = entry.get("profile")
        if "role" in entry:
            try:
                principal = Role.parse(entry["role"])
            except (ValueError, TypeError):
                continue
        if (principal is None or isinstance(principal, str | Role)) and isinstance(region, str) and rate > 0:
            rates[(principal, region)] = rate
    setting = document.get("setting")
    return RunMeta(learned_rates=rates, setting=setting if isinstance(setting, str) else None)
