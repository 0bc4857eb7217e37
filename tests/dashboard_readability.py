"""Measuring what a reader sees on the dashboard, for the unit and browser tests: the y axes' labels read
back as numbers, and WCAG 2.x contrast ratios of the colours the browser renders."""

from __future__ import annotations

import re
from decimal import Decimal

SUFFIXES = {"": 1, "k": 10**3, "M": 10**6, "B": 10**9}
# Large text per WCAG 2.x: at least 18 pt (24 CSS px), or 14 pt (18.66 px) when bold.
LARGE_PX, LARGE_BOLD_PX = 24.0, 18.66


def read_label(label: str) -> tuple[Decimal, Decimal]:
    """An axis label as a reader reads it: its value, and half a unit in its last place (how far from
    the label the value it stands for may be, if it is correctly rounded)."""
    match = re.fullmatch(r"(-?[\d,]+(?:\.(\d+))?)([kMB]?)", label)
    assert match, f"not a number: {label!r}"
    unit = SUFFIXES[match[3]]
    decimals = len(match[2] or "")
    return Decimal(match[1].replace(",", "")) * unit, Decimal(unit) / 10**decimals / 2


def is_correctly_rounded(label: str, value: Decimal) -> bool:
    shown, half_ulp = read_label(label)
    return abs(shown - value) <= half_ulp


def rgb(css: str) -> tuple[int, int, int]:
    """An opaque CSS colour as the browser computes it ("rgb(26, 32, 44)")."""
    match = re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", css)
    assert match, f"not an opaque rgb() colour: {css!r}"
    return int(match[1]), int(match[2]), int(match[3])


def relative_luminance(css: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb(css))]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def required_ratio(font_px: float, font_weight: int) -> float:
    """WCAG 2.x AA (1.4.3): 4.5:1 for text, 3:1 for large text."""
    large = font_px >= LARGE_PX or (font_px >= LARGE_BOLD_PX and font_weight >= 700)
    return 3.0 if large else 4.5


# Where the states screenshot is taken: the section's heading at the top of the viewport.
SHOW_STATES = "document.getElementById('states').scrollIntoView()"

# Every y axis of the page's charts: each label's text, its tick's value and where it is drawn.
AXES = """(() => [...document.querySelectorAll('svg.chart')].filter(svg => svg.querySelector('g.axis.y')).map(svg => {
  const box = svg.getBoundingClientRect();
  return {
    id: svg.id,
    box: [box.left, box.top, box.right, box.bottom],
    ticks: [...svg.querySelectorAll('g.axis.y text')].map(t => {
      const b = t.getBoundingClientRect();
      return {label: t.textContent, value: t.dataset.value, y: Number(t.getAttribute('y')),
              box: [b.left, b.top, b.right, b.bottom]};
    }),
    points: [...svg.querySelectorAll('g.points circle')].map(
      c => [Number(c.dataset.value), Number(c.getAttribute('cy'))]),
  };
}))()"""

# The states map as rendered: per tile and legend chip, its text's colour and size and the colours under
# it (a pattern's own colours for a pattern fill); the legend's box, and the viewport.
MAP = """(() => {
  const style = el => getComputedStyle(el);
  const paints = shape => {
    const ref = style(shape).fill.match(/^url\\("?#([^")]+)"?\\)$/);
    return ref ? [...document.getElementById(ref[1]).querySelectorAll('rect')].map(r => style(r).fill)
               : [style(shape).fill];
  };
  const page = svg => {
    for (let node = svg.parentElement; node; node = node.parentElement) {
      const colour = style(node).backgroundColor;
      if (colour !== 'rgba(0, 0, 0, 0)') return colour;
    }
    return 'rgb(255, 255, 255)';
  };
  const opacity = el => {
    let product = Number(style(el).fillOpacity);
    for (let node = el; node; node = node.parentElement) product *= Number(style(node).opacity);
    return product;
  };
  const box = el => { const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  const text = (t, under) => ({text: t.textContent, colour: style(t).fill, under, opacity: opacity(t),
    px: parseFloat(style(t).fontSize) * t.getScreenCTM().a, weight: Number(style(t).fontWeight), box: box(t)});
  const shapes = group => {
    const rect = group.querySelector('rect');
    return {fill: style(rect).fill, dashes: style(rect).strokeDasharray, box: box(rect),
            texts: [...group.querySelectorAll('text')].map(t => text(t, paints(rect)))};
  };
  const map = document.getElementById('states-map');
  const legend = document.getElementById('states-legend');
  return {
    tiles: [...map.querySelectorAll('g.tile')].map(
      g => ({state: g.dataset.state, value: g.dataset.value, ...shapes(g)})),
    chips: [...legend.querySelectorAll('g.bin')].map(shapes),
    title: text(legend.querySelector(':scope > text'), [page(map)]),
    legend: box(legend),
    viewport: [innerWidth, innerHeight],
  };
})()"""


def texts_of(seen_map: dict) -> list[dict]:
    """Every text of the map: on the tiles, on the legend's chips, and the legend's title."""
    return [t for shape in seen_map["tiles"] + seen_map["chips"] for t in shape["texts"]] + [seen_map["title"]]


def lowest_contrast(text: dict) -> float:
    """The text's contrast with the least contrasting colour under it."""
    return min(contrast_ratio(text["colour"], under) for under in text["under"])


def inside(inner: list[float], outer: list[float]) -> bool:
    """Whether box ``inner`` ([left, top, right, bottom]) lies within ``outer``."""
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]
