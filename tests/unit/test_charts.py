"""The dashboards' SVG charts: accessible names and figures, escaping, proportional bars, patterns and a
legend for several series, colours with enough contrast, right-to-left mirroring, and scaling by viewBox."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from app.domain import charts
from app.domain.charts import Category, Series, bar_chart

ONE = [Series("clients", "Clients")]


def rects(svg: str) -> list[tuple[float, float]]:
    """(x, width) of every bar (rects outside <defs> and without the legend's fixed 16 × 16 size)."""
    body = re.sub(r"<defs>.*?</defs>", "", svg)
    return [
        (float(x), float(w))
        for x, w, h in re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="(\d+)"', body)
        if h == str(charts.BAR)
    ]


def texts(svg: str) -> list[tuple[float, str, str]]:
    return [
        (float(x), anchor, t)
        for x, anchor, t in re.findall(
            r'<text x="([\d.]+)" [^>]*text-anchor="(\w+)"[^>]*>([^<]*)</text>', svg
        )
    ]


def test_named_image_with_title_and_every_figure_in_the_description() -> None:
    svg = bar_chart(
        chart_id="chart-x",
        title="Clients by segment",
        summary="Number of clients in each segment.",
        series=ONE,
        categories=[Category("Segment 1", (12,), ("12",)), Category("Segment 2", (1234,), ("1 234",))],
    )
    assert svg.startswith("<svg ")
    assert 'role="img"' in svg and 'aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<title id="chart-x-title">Clients by segment</title>' in svg
    assert (
        '<desc id="chart-x-desc">Number of clients in each segment. Segment 1: 12; Segment 2: 1 234.</desc>'
        in svg
    )
    # The figures and names are drawn as text, not only as lengths.
    shown = [t for _x, _a, t in texts(svg)]
    assert shown == ["Segment 1", "12", "Segment 2", "1 234"]
    # It scales: a viewBox, the intrinsic size the same, and no inline style (CSP).
    height = re.search(r'viewBox="0 0 360 (\d+)"', svg)
    assert height and f'width="360" height="{height.group(1)}"' in svg
    assert "style=" not in svg and "<script" not in svg


def test_text_is_escaped() -> None:
    svg = bar_chart(
        chart_id="c",
        title="<b>T</b>",
        summary="S & more",
        series=ONE,
        categories=[Category('<script>alert("x")</script>', (1,), ("1",))],
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert '<title id="c-title">&lt;b&gt;T&lt;/b&gt;</title>' in svg
    assert "S &amp; more" in svg


def test_bars_are_proportional_and_zero_has_no_bar() -> None:
    svg = bar_chart(
        chart_id="c",
        title="t",
        summary="s",
        series=ONE,
        categories=[
            Category("a", (10,), ("10",)),
            Category("b", (5,), ("5",)),
            Category("c", (0,), ("0",)),
            Category("d", (Decimal("2.5"),), ("2.5",)),
            Category("e", (None,), ("–",)),
        ],
    )
    bars = rects(svg)
    assert len(bars) == 3  # no bar for zero and for a missing figure, but their texts are there
    (x0, longest), (_x1, half), (_x2, quarter) = bars
    assert x0 == charts.PAD
    assert half == pytest.approx(longest / 2, abs=0.1) and quarter == pytest.approx(longest / 4, abs=0.1)
    assert x0 + longest < charts.WIDTH - charts.PAD  # room left for the figure after the longest bar
    assert "0" in [t for _x, _a, t in texts(svg)] and "–" in [t for _x, _a, t in texts(svg)]


def test_several_series_have_patterns_a_legend_and_their_names_in_the_description() -> None:
    series = [Series("within", "Within the deadline"), Series("late", "Late"), Series("unknown", "Unknown")]
    svg = bar_chart(
        chart_id="d",
        title="Deadlines",
        summary="Within the deadline and late.",
        series=series,
        categories=[Category("First plans", (6, 14, 1), ("6", "14", "1"))],
    )
    assert '<pattern id="d-p1"' in svg and '<pattern id="d-p2"' in svg
    fills = re.findall(
        r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="\d+" fill="([^"]+)"',
        re.sub(r"<defs>.*?</defs>", "", svg),
    )
    assert len(set(fills)) == 3  # solid, hatched and dotted: told apart without colour
    assert {"url(#d-p1)", "url(#d-p2)"} <= set(fills)
    shown = [t for _x, _a, t in texts(svg)]
    assert shown[:3] == ["Within the deadline", "Late", "Unknown"]  # the legend
    assert "First plans: Within the deadline 6, Late 14, Unknown 1." in svg


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_have_enough_contrast_on_white() -> None:
    for colour, _kind in charts.PALETTE:
        assert contrast(colour, "#ffffff") >= 3.0, colour  # WCAG 1.4.11, graphical objects
    assert contrast(charts.INK, "#ffffff") >= 4.5  # the figures are text
    assert len({kind for _c, kind in charts.PALETTE}) == len(charts.PALETTE)  # each its own pattern


def test_right_to_left_mirrors_the_geometry() -> None:
    categories = [Category("عربي", (10,), ("10",)), Category("Somali", (5,), ("5",))]
    ltr = bar_chart(chart_id="c", title="t", summary="s", series=ONE, categories=categories)
    rtl = bar_chart(chart_id="c", title="t", summary="s", series=ONE, categories=categories, rtl=True)
    for (x, width), (mx, mwidth) in zip(rects(ltr), rects(rtl), strict=True):
        assert mwidth == width
        assert mx == pytest.approx(charts.WIDTH - x - width, abs=0.11)  # grows from the right edge
    label, value = texts(rtl)[0], texts(rtl)[1]
    assert label[0] == charts.WIDTH - charts.PAD and label[1] == "end"  # the name at the right edge
    assert value[1] == "end" and value[0] < rects(rtl)[0][0]  # the figure left of its bar
    assert texts(ltr)[0][1] == "start"
    assert 'direction="ltr"' in rtl  # anchors mean left/right whatever the page's direction


def test_long_labels_wrap_onto_lines() -> None:
    label = "2 – municipal placement after asylum or temporary protection"
    assert charts.wrap(label) == ["2 – municipal placement after asylum", "or temporary protection"]
    svg = bar_chart(
        chart_id="c", title="t", summary="s", series=ONE, categories=[Category(label, (1,), ("1",))]
    )
    assert [t for _x, _a, t in texts(svg)][:2] == charts.wrap(label)
    assert all(len(line) <= charts.CHARS_PER_LINE for line in charts.wrap("word " * 40))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="chart id"):
        bar_chart(chart_id='x" onload="y', title="t", summary="s", series=ONE, categories=[])
    with pytest.raises(ValueError, match="one value"):
        bar_chart(
            chart_id="c", title="t", summary="s", series=ONE, categories=[Category("a", (1, 2), ("1", "2"))]
        )
    with pytest.raises(ValueError, match="series"):
        bar_chart(chart_id="c", title="t", summary="s", series=[], categories=[])


def test_an_empty_chart_still_has_its_name() -> None:
    svg = bar_chart(chart_id="c", title="Nothing yet", summary="No figures.", series=ONE, categories=[])
    assert '<title id="c-title">Nothing yet</title>' in svg and '<desc id="c-desc">No figures.</desc>' in svg
