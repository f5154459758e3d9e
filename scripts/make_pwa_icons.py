"""Draws the migrant app's icons (static/img/icon-192.png, icon-512.png, icon-maskable-512.png) from the
brand mark in static/img/icon.svg — a path (an open triangle, a roof) with a sun, on #0b5394 — using only
the standard library (zlib PNG, anti-aliased by signed distances). Run once after changing the mark:

    .venv/bin/python scripts/make_pwa_icons.py
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

STATIC_IMG = Path(__file__).resolve().parent.parent / "static" / "img"

BLUE = (0x0B, 0x53, 0x94)
WHITE = (0xFF, 0xFF, 0xFF)
YELLOW = (0xFF, 0xBF, 0x47)
# The mark in the 64-unit box of icon.svg.
TRIANGLE = ((14.0, 50.0), (32.0, 14.0), (50.0, 50.0))
STROKE = 6.0
SUN = ((32.0, 40.0), 5.0)
RADIUS = 12.0  # the rounded square's corner


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _rounded_square_distance(px: float, py: float, radius: float) -> float:
    """Signed distance to the 64×64 square with rounded corners (negative inside)."""
    qx = abs(px - 32.0) - (32.0 - radius)
    qy = abs(py - 32.0) - (32.0 - radius)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - radius


def _coverage(distance: float, unit: float) -> float:
    """Pixel coverage from a signed distance in mark units (`unit` = mark units per pixel)."""
    return max(0.0, min(1.0, 0.5 - distance / unit))


def draw(size: int, *, maskable: bool) -> bytes:
    """RGBA rows of the icon. Maskable: full-bleed background, mark inside the central 80 % circle."""
    unit = 64.0 / size
    scale = 0.8 if maskable else 1.0  # the mark's farthest point is ~30 units out: 24 fits the safe zone
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter: none
        for x in range(size):
            # The pixel centre in the 64-unit box, and in the mark's own (scaled) coordinates.
            px = (x + 0.5) * unit
            py = (y + 0.5) * unit
            mx = 32.0 + (px - 32.0) / scale
            my = 32.0 + (py - 32.0) / scale
            mark_unit = unit / scale
            background = 1.0 if maskable else _coverage(_rounded_square_distance(px, py, RADIUS), unit)
            edge = min(_segment_distance(mx, my, TRIANGLE[i], TRIANGLE[(i + 1) % 3]) for i in range(3))
            stroke = _coverage(edge - STROKE / 2, mark_unit)
            (cx, cy), r = SUN
            sun = _coverage(math.hypot(mx - cx, my - cy) - r, mark_unit)
            colour = list(BLUE)
            for layer, alpha in ((WHITE, stroke), (YELLOW, sun)):
                colour = [round(c + (lc - c) * alpha) for c, lc in zip(colour, layer, strict=True)]
            rows += bytes((*colour, round(255 * background)))
    return bytes(rows)


def png(size: int, rgba_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rgba_rows, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        path = STATIC_IMG / name
        path.write_bytes(png(size, draw(size, maskable=maskable)))
        print(f"{path.relative_to(STATIC_IMG.parent.parent)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
