"""The unit a run is seen by: one (profile or account, region), the scope of one rate limit.

Events, the timeline and the report all name domains the same way, so a chart and an event line about
the same limiter can be matched up.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from batchproxy.logs import Redact

__all__ = ["Domain", "DomainKind", "redact"]

DomainKind = Literal["profile", "account"]


class Domain(NamedTuple):
    """``kind`` says how credentials were chosen; ``name`` None means the default credential chain."""

    kind: DomainKind
    name: str | None
    region: str

    @property
    def label(self) -> str:
        """``region`` alone for the default chain, else ``name / region``."""
        return self.region if self.name is None else f"{self.name} / {self.region}"


def redact(text: str) -> str:
    """Free text with secrets and phone numbers blanked: the one rule set, shared with the logs."""
    cleaned = Redact(())(None, "", {"text": text})["text"]
    return str(cleaned)
