"""Helpers for the report tests: a PNG reader (for the browser's screenshots) and results files."""

from __future__ import annotations

import csv
import struct
import zlib
from pathlib import Path

from batchproxy.journal.layout import Layout


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
