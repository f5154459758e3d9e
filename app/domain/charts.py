"""Server-rendered, accessible SVG bar charts for the managers' dashboards (service 13).

No JavaScript and no inline styles (CSP): plain SVG markup with presentation attributes. Each chart is
`role="img"` with a <title> and a <desc> that lists every figure, so a screen reader hears the same
numbers the data table beside it shows. The figures are also drawn as text next to each bar, so no one
needs to read a bar's length or tell colours apart: every category is named in text, and each series has
its own fill pattern (solid, diagonal hatching, dots) in a colour with at least 3:1 contrast on white,
named in a legend with the same pattern.

Bars are horizontal with the category's name above each group of bars, because names (languages, service
types) are long and the page must work 360 px wide: the chart scales with its viewBox. For right-to-left
pages the geometry is mirrored (labels at the right edge, bars growing to the left); coordinates and text
anchors are computed here, with direction pinned to ltr on the root so they mean the same in every page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 360
PAD = 8
FONT = 16
LABEL_LINE = 20  # height of one line of a category label
BAR = 18
BAR_GAP = 5
GROUP_GAP = 12
GLYPH = 0.55  # average glyph width in em, for estimating how long a text is
LEGEND_ROW = 24
CHARS_PER_LINE = 38  # label characters per line at FONT in WIDTH - 2 * PAD
INK = "#1b1f23"
CHART_ID = re.compile(r"[a-z][a-z0-9_-]*")

# Colours with at least 3:1 contrast against white (WCAG 1.4.11) and a pattern of their own each.
PALETTE = (
    ("#0b5394", "solid"),  # blue, 7.6:1
    ("#8a4b00", "hatch"),  # brown, 6.6:1
    ("#1e6b2e", "dots"),  # green, 6.4:1
)

Number = int | float | Decimal


@dataclass(frozen=True)
class Series:
    key: str
    label: str


@dataclass(frozen=True)
class Category:
    label: str
    values: tuple[Number | None, ...]  # one per series; None: no figure (shown as its text only)
    texts: tuple[str, ...]  # the figures as shown, formatted for the interface language


def wrap(text: str, width: int = CHARS_PER_LINE) -> list[str]:
    """Words onto lines of at most `width` characters (a single longer word gets a line of its own)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines or [""]


def _pattern_defs(chart_id: str, count: int) -> str:
    parts = []
    for index in range(count):
        colour, kind = PALETTE[index % len(PALETTE)]
        pid = f"{chart_id}-p{index}"
        if kind == "hatch":
            parts.append(
                f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse" '
                f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
                f'<rect width="3" height="6" fill="{colour}"/></pattern>'
            )
        elif kind == "dots":
            parts.append(
                f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">'
                f'<rect width="6" height="6" fill="#ffffff"/><circle cx="3" cy="3" r="1.8" fill="{colour}"/>'
                f"</pattern>"
            )
    return f"<defs>{''.join(parts)}</defs>" if parts else ""


def _fill(chart_id: str, index: int) -> tuple[str, str]:
    colour, kind = PALETTE[index % len(PALETTE)]
    return (colour if kind == "solid" else f"url(#{chart_id}-p{index})"), colour


def description(summary: str, series: Sequence[Series], categories: Sequence[Category]) -> str:
    """The summary followed by every figure, in the order the chart draws them."""
    figures = []
    for category in categories:
        if len(series) == 1:
            figures.append(f"{category.label}: {category.texts[0]}")
        else:
            shown = ", ".join(f"{s.label} {t}" for s, t in zip(series, category.texts, strict=True))
            figures.append(f"{category.label}: {shown}")
    return f"{summary} {'; '.join(figures)}." if figures else summary


def bar_chart(
    *,
    chart_id: str,
    title: str,
    summary: str,
    series: Sequence[Series],
    categories: Sequence[Category],
    rtl: bool = False,
) -> Markup:
    """A horizontal bar chart; several series are drawn as grouped bars with a legend."""
    if not CHART_ID.fullmatch(chart_id):
        raise ValueError("a chart id is lower-case letters, digits, hyphens and underscores")
    if not series:
        raise ValueError("a chart needs at least one series")
    for category in categories:
        if len(category.values) != len(series) or len(category.texts) != len(series):
            raise ValueError("each category needs one value and one text per series")
    top = max((float(v) for c in categories for v in c.values if v is not None and float(v) > 0), default=0.0)
    # The longest bar leaves room after it for the longest figure.
    longest = max((len(t) for c in categories for t in c.texts), default=1)
    span = WIDTH - 2 * PAD - 6 - longest * FONT * GLYPH
    body: list[str] = []
    y = PAD

    def x_of(start: float, length: float) -> float:
        """A box from `start` (distance from the inline-start edge) mirrored for right-to-left."""
        return WIDTH - start - length if rtl else start

    def text(at: float, baseline: float, content: str, anchor_start: bool = True, bold: bool = False) -> str:
        # In rtl the inline start is the right edge: a text that starts there is anchored at its end.
        anchor = ("start" if anchor_start else "end") if not rtl else ("end" if anchor_start else "start")
        weight = ' font-weight="600"' if bold else ""
        return (
            f'<text x="{x_of(at, 0):.1f}" y="{baseline:.1f}" text-anchor="{anchor}" font-size="{FONT}" '
            f'fill="{INK}"{weight}>{escape(content)}</text>'
        )

    if len(series) > 1:  # legend: a swatch with the series' pattern and its name
        at = float(PAD)
        for index, item in enumerate(series):
            fill, stroke = _fill(chart_id, index)
            body.append(
                f'<rect x="{x_of(at, 16):.1f}" y="{y + 2}" width="16" height="16" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="1.5"/>'
            )
            body.append(text(at + 22, y + 15, item.label))
            at += 22 + len(item.label) * FONT * GLYPH + 18
            if at > WIDTH - 120 and index < len(series) - 1:
                at, y = float(PAD), y + LEGEND_ROW
        y += LEGEND_ROW + 4
    for category in categories:
        for line in wrap(category.label):
            y += LABEL_LINE
            body.append(text(PAD, y - 4, line, bold=True))
        for index, (value, shown) in enumerate(zip(category.values, category.texts, strict=True)):
            fill, stroke = _fill(chart_id, index)
            length = span * float(value) / top if value is not None and top > 0 and float(value) > 0 else 0.0
            if length:
                length = max(length, 2.0)  # a small non-zero value still shows as a sliver
                body.append(
                    f'<rect x="{x_of(PAD, length):.1f}" y="{y + 2}" width="{length:.1f}" height="{BAR}" '
                    f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
                )
            body.append(text(PAD + length + 6, y + BAR - 1, shown))
            y += BAR + BAR_GAP
        y += GROUP_GAP
    height = y + PAD
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    # Every text in it went through escape(); the rest is numbers and fixed markup.
    return Markup(  # noqa: S704 - texts escaped above, chart_id matches CHART_ID  # nosec B704
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" direction="ltr" focusable="false">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(description(summary, series, categories))}</desc>'
        f"{_pattern_defs(chart_id, len(series))}{''.join(body)}</svg>"
    )
