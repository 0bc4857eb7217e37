"""Reading the dashboard's SVG back: points, path segments, gap bands (for the unit and browser tests)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Point:
    date: str
    value: float
    x: float
    y: float


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def points(root: ET.Element, series: str) -> list[Point]:
    group = root.find(f'{NS}g[@class="points"][@data-series="{series}"]')
    assert group is not None, f"no points for {series}"
    return [
        Point(c.get("data-date"), float(c.get("data-value")), float(c.get("cx")), float(c.get("cy")))
        for c in group.iter(f"{NS}circle")
    ]


def path_segments(d: str) -> list[list[tuple[float, float]]]:
    """The subpaths of a path made of M, L and h0 commands, as lists of vertices."""
    segments: list[list[tuple[float, float]]] = []
    for command, args in re.findall(r"([MLh])([^MLh]*)", d):
        if command == "h":
            continue
        x, y = (float(v) for v in args.split())
        if command == "M":
            segments.append([])
        segments[-1].append((x, y))
    return segments


def line(root: ET.Element, series: str) -> list[list[tuple[float, float]]]:
    path = root.find(f'{NS}path[@data-series="{series}"]')
    assert path is not None, f"no line for {series}"
    return path_segments(path.get("d"))


def gaps(root: ET.Element, series: str) -> list[tuple[str, str]]:
    return [
        (g.get("data-from"), g.get("data-to"))
        for g in root.iter(f"{NS}g")
        if g.get("class") == "gap" and g.get("data-series") == series
    ]
