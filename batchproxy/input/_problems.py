"""What is wrong with a row: one ``Problem`` per cell, and the ``InvalidRow`` that carries them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InvalidRow", "Problem", "label", "mask", "printable_path", "shown"]

# Enough of a value to recognise it on a terminal line; the invalid report keeps the value whole.
_SHOWN_CHARS = 60


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule of one cell. ``value`` is the cell as read, or masked for a sensitive column."""

    row: int
    column: str
    value: str
    problem: str

    def __str__(self) -> str:
        """``row N, column C: what is wrong (value shown)``, as docs/reference.md §1 words it."""
        return f"row {self.row}, column {self.column}: {self.problem} ({shown(self.value)})"


def shown(value: str) -> str:
    """A cell for a one-line message: quoted so spaces show, control characters escaped, long ones cut."""
    if value == "":
        return "empty"
    if len(value) > _SHOWN_CHARS:
        return f"{value[:_SHOWN_CHARS]!r}… {len(value)} characters"
    return repr(value)


def label(name: str) -> str:
    """A header name for a message: bare when it is short and printable, else as ``shown`` makes it."""
    return name if name.isprintable() and 0 < len(name) <= _SHOWN_CHARS else shown(name)


def printable_path(path: object) -> str:
    """A file name for a message: as it is when printable, else quoted with its control characters
    escaped, so that a name holding a newline or a terminal escape cannot forge or garble a line."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def mask(value: str) -> str:
    """Enough of a sensitive value to find it in the file (its last two characters), not enough to leak it.

    Short values are hidden entirely: two of four digits would be half the secret.
    """
    if value == "":
        return ""
    return "…" + value[-2:] if len(value) > 4 else "…"


@dataclass(frozen=True, slots=True)
class InvalidRow:
    """A data row that failed validation; with ``--skip-invalid`` it is recorded, never sent.

    ``values`` are the row's cells exactly as read, aligned with the header like ``rows.Row.values``.
    """

    number: int
    values: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def message(self) -> str:
        """Every problem of the row on one line, for the results file's ``error_message``."""
        return "; ".join(f"column {p.column}: {p.problem}" for p in self.problems)
