"""Which voice-connector setting a command is about: ``--setting``, or what the results file recorded.

A results file records its setting (``journal.meta``) as soon as it is created, so ``rollback
RESULTS.csv`` and ``--resume`` take it from there; a ``--setting`` that contradicts the record is
refused before anything is read or sent, since running one setting's rows as another's would put
the wrong thing on every connector. A results file with no record predates settings: it is the proxy's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from batchproxy import settings
from batchproxy.errors import UsageError
from batchproxy.journal import load_meta

__all__ = ["DEFAULT_SETTING", "choose_setting", "common_setting", "recorded_setting"]

DEFAULT_SETTING = "proxy"


def recorded_setting(results: Path) -> str:
    """The setting ``results`` is about: its record, or the proxy when it has none."""
    return load_meta(results).setting or DEFAULT_SETTING


def choose_setting(given: str | None, records: Sequence[Path]) -> settings.Setting:
    """``given`` (the ``--setting`` value, None when not passed), checked against the results files
    in ``records`` that exist; without ``given``, the first record; else the proxy.

    Raises ``UsageError`` when a record contradicts ``given`` (or another record).
    """
    chosen, source = given, "--setting"
    for path in records:
        if not path.exists():
            continue  # nothing recorded yet: the command itself says what is wrong with the path
        recorded = recorded_setting(path)
        if chosen is None:
            chosen, source = recorded, str(path)
        elif recorded != chosen:
            raise UsageError(
                f"{path} holds results for the {recorded} setting, but {source} says {chosen}; "
                f"drop --setting (it is taken from the results file) or name another file; nothing was sent"
            )
    try:
        return settings.setting(chosen or DEFAULT_SETTING)
    except settings.UnknownSetting as exc:
        raise UsageError(f"{source}: {exc}") from None


def common_setting(results: Sequence[Path]) -> str:
    """The one setting all of ``results`` record (shards being merged); ``UsageError`` when they differ."""
    found = {path: recorded_setting(path) for path in results}
    names = sorted(set(found.values()))
    if len(names) > 1:
        listed = ", ".join(f"{path} ({name})" for path, name in found.items())
        raise UsageError(f"these results files are about different settings: {listed}; merge them apart")
    return names[0] if names else DEFAULT_SETTING
