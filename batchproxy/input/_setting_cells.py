"""A row's cells of the chosen setting -> its ``SettingValues``, by the settings package's model rules.

The input layer keeps the connector's own columns (``VoiceConnectorId``, ``Region``, ``Profile``);
every other column a setting has comes from ``settings`` (docs/reference.md §9), checked here. Most rows of a
bulk file repeat a few combinations of setting cells, so the verdict of each combination is
remembered: a row then costs one tuple and one dictionary lookup, and rows with equal cells share one
``SettingValues`` (its canonical code computed once).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from batchproxy import settings
from batchproxy.input._problems import Problem, mask
from batchproxy.rows import SettingValues

__all__ = ["SettingCells"]

_REMEMBERED = 4096  # combinations of setting cells whose verdicts are kept
_CONNECTOR = "VoiceConnectorId"  # checked with the target columns, keyed with the region

Verdict = tuple[SettingValues | None, tuple[settings.CellProblem, ...]]


class SettingCells:
    """The setting's columns of one header, checked together; built once per pass over the file."""

    def __init__(self, setting: settings.Setting, header_columns: Sequence[str | None]) -> None:
        names = set(settings.column_names(setting)) - {_CONNECTOR}
        self._at = tuple(at for at, name in enumerate(header_columns) if name in names)
        row_rule = settings.rules(setting).for_header(
            [header_columns[at] for at in self._at], skip=(_CONNECTOR,)
        )
        self._sensitive = frozenset(c.name for c in settings.columns(setting) if c.sensitive)

        @functools.lru_cache(maxsize=_REMEMBERED)
        def verdict(cells: tuple[str, ...]) -> Verdict:
            checked = row_rule(cells)
            if checked.problems:
                return None, checked.problems
            return SettingValues.of(setting, checked.members), ()

        self._verdict = verdict

    def check(self, number: int, cells: Sequence[str]) -> tuple[SettingValues | None, list[Problem]]:
        """The row's values, or its problems as ``row N, column C: …`` (sensitive values masked)."""
        found, problems = self._verdict(tuple([cells[at] for at in self._at]))
        if not problems:
            return found, []
        return None, [self._problem(number, problem) for problem in problems]

    def _problem(self, number: int, problem: settings.CellProblem) -> Problem:
        value = mask(problem.value) if problem.column in self._sensitive else problem.value
        return Problem(number, problem.column, value, problem.text)
