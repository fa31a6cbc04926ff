"""Helpers for the report tests: a timeline made from a real results file, and a PNG reader.

``timeline_from_results`` is a STAND-IN: the engine does not call ``Timeline`` yet. It replays each row
of a real run's results file (its finish time, duration, attempts and final HTTP status) through the
real ``Timeline`` API, so the report is drawn from the same events the engine will produce. Once the
engine is wired, the tests should drop it and use the timeline the run itself wrote (see
``TODO(lead)`` in tests/test_report_browser.py).
"""

from __future__ import annotations

import csv
import struct
import zlib
from datetime import datetime
from pathlib import Path

from batchproxy.journal.layout import Layout
from batchproxy.report.domain import Domain
from batchproxy.report.timeline import Timeline


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def timeline_from_results(results: Path, *, exit_code: int, resume: bool = False, after: str = "") -> None:
    """Append one segment to ``results``' timeline that replays the rows of ``results``.

    ``after``: replay only rows finished later than this ``finished_at`` (a resumed run's own rows).

    Retries are taken to be 429s (true of a run against an emulator whose only fault is its rate), and
    the limiter's rate follows a crude halve-on-429, climb-on-200 rule: only the shape matters here.
    """
    with results.open(newline="", encoding="utf-8") as source:
        rows = sorted(csv.DictReader(source), key=lambda r: r["finished_at"])
    rows = [row for row in rows if row["attempts"] not in ("", "0") and row["finished_at"] > after]
    now = [_epoch(rows[0]["finished_at"]) - int(rows[0]["duration_ms"]) / 1000 if rows else 0.0]
    timeline = Timeline.open(results, command="run", resume=resume, clock=lambda: now[0])
    rates: dict[Domain, float] = {}
    for row in rows:
        domain = Domain("profile", None, row["Region"])
        end = _epoch(row["finished_at"])
        attempts, duration = int(row["attempts"]), int(row["duration_ms"]) / 1000
        for n in range(attempts):
            sent = end - duration + duration * n / attempts
            status = int(row["http_status"]) if n == attempts - 1 and row["http_status"] else 429
            timeline.on_attempt(domain, sent)
            timeline.on_answer(domain, sent + duration / attempts, status, duration / attempts)
            rate = rates.get(domain, 40.0)
            rates[domain] = max(rate / 2, 1.0) if status == 429 else min(rate + 1.0, 40.0)
            timeline.on_rate(domain, rates[domain])
        now[0] = end
    timeline.close(exit_code=exit_code)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the raw RGB(A) rows of an 8-bit truecolour PNG (what Chromium writes).

    A few lines of stdlib (zlib + the five PNG row filters) instead of an imaging library.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8, f"unexpected PNG bit depth {depth}"
            assert colour in (2, 6), f"unexpected PNG colour type {colour}"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    return width, height, _unfilter(zlib.decompress(chunks), width, height, channels)


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[bytes]:
    stride, rows, previous = width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return rows


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


INPUT_HEADER = ("VoiceConnectorId", "Region", "DefaultSessionExpiryMinutes", "PhoneNumberPoolCountries",
                "FallBackPhoneNumber", "Disabled")  # fmt: skip


def write_results(path: Path, lines: list[dict[str, str]]) -> Path:
    """A results file in the real format (header from the journal's ``Layout``); unset cells empty."""
    header = Layout.for_input(INPUT_HEADER).results_header
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for line in lines:
            writer.writerow([line.get(name, "") for name in header])
    return path
