"""Summary lines fitted to an 80-column terminal (issue 14, item 5), commands still runnable as printed.

A line the terminal wraps starts its second half at column 0, under the labels, and a command cut at
an arbitrary column cannot be pasted back into a shell. So the summary breaks its own lines: text at
a space, indented under where the text began; a command between two words, with a backslash at the end
of each broken line, which a shell reads as one command line. A single word longer than the room
(a very long path) is left whole: a path cut in two would no longer name the file.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from collections.abc import Sequence

__all__ = ["WIDTH", "command_lines", "fit_line"]

WIDTH = 80
LABEL_WIDTH = 10  # "  results:  " — a label, its colon and padding, after two spaces
_CONTINUED = " \\"
_LABELLED = re.compile(r"^ *\S+: +")


def fit_line(line: str, *, width: int = WIDTH) -> list[str]:
    """``line`` as lines of at most ``width`` columns, broken at spaces; the rest indented under its
    text (after a ``label:`` if it has one). A label's text that is one word (a path) stays whole on
    the label's line."""
    if len(line) <= width:
        return [line]
    labelled = _LABELLED.match(line)
    head = labelled.group() if labelled else line[: len(line) - len(line.lstrip())]
    text = line[len(head) :]
    if " " not in text:
        return [line]
    indent = len(head) if labelled else len(head) + 2
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=head,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def command_lines(label: str, argv: Sequence[str], *, width: int = WIDTH) -> list[str]:
    """``  label:   command`` over as many lines as it takes, each broken line ending in `` \\``.

    An option stays on the line of the value that follows it (``--region eu-west-2``).
    """
    head = f"  {label + ':':<{LABEL_WIDTH}}"
    indent = " " * (len(head) + 2)
    lines: list[str] = []
    current = head
    for word in _words(argv):
        if current.strip() and len(current) + 1 + len(word) + len(_CONTINUED) > width:
            lines.append(current + _CONTINUED)
            current = indent + word
        else:
            current += word if current == head else " " + word
    lines.append(current)
    return lines


def _words(argv: Sequence[str]) -> list[str]:
    """The shell words of ``argv``, quoted; an option joined to the value that follows it."""
    quoted = [shlex.quote(arg) for arg in argv]
    words: list[str] = []
    for arg, text in zip(argv, quoted, strict=True):
        if words and words[-1].startswith("--") and " " not in words[-1] and not arg.startswith("-"):
            words[-1] += " " + text
        else:
            words.append(text)
    return words
