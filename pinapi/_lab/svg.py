"""Line charts as SVG on log-log axes, for the plots the documents embed:
a title, axis titles, tick labels at the given x values and at every power
of ten on y, a marker at every point and a legend."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape

__all__ = ["PALETTE", "Series", "log_log_chart"]

#: Distinguishable line colours, taken in turn.
PALETTE: Final = ("#c0392b", "#2471a3", "#76d7c4", "#229954", "#7f8c8d", "#8e44ad", "#d68910", "#1b2631")

_W, _H = 880, 440
_LEFT, _RIGHT, _TOP, _BOTTOM = 90, 600, 40, 370  # the plot area; the legend is right of it


@dataclass(frozen=True)
class Series:
    """One line: (x, y) points, drawn in *colour*, dashed or solid; points
    with a non-positive coordinate have no place on log axes and are left out."""

    label: str
    points: Sequence[tuple[float, float]]
    colour: str
    dashed: bool = False


def _decade(d: int) -> str:
    return f"{10**d:,}" if 0 <= d <= 9 else f"1e{d}"


def log_log_chart(series: Sequence[Series], title: str, x_title: str, y_title: str,
                  x_ticks: Mapping[float, str]) -> str:  # fmt: skip
    """The SVG document of *series* on log-log axes, with a tick at each of
    *x_ticks*' values labelled with its text."""
    drawn = [[(math.log10(x), math.log10(y)) for x, y in s.points if x > 0 and y > 0] for s in series]
    xs = [math.log10(x) for x in x_ticks] + [x for pts in drawn for x, _ in pts]
    ys = [y for pts in drawn for _, y in pts] or [0.0]
    x0, x1 = min(xs), max(xs)
    x0, x1 = (x0 - 0.5, x1 + 0.5) if x0 == x1 else (x0 - (x1 - x0) * 0.05, x1 + (x1 - x0) * 0.05)
    y0, y1 = math.floor(min(ys)), math.ceil(max(ys))
    y1 = y1 if y1 > y0 else y0 + 1

    def px(x: float) -> float:
        return _LEFT + (x - x0) / (x1 - x0) * (_RIGHT - _LEFT)

    def py(y: float) -> float:
        return _BOTTOM - (y - y0) / (y1 - y0) * (_BOTTOM - _TOP)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{_W}" height="{_H}" fill="white"/>',
           f'<text class="title" x="{(_LEFT + _RIGHT) / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
           f'<rect x="{_LEFT}" y="{_TOP}" width="{_RIGHT - _LEFT}" height="{_BOTTOM - _TOP}" fill="none" stroke="#444"/>']  # fmt: skip
    for d in range(y0, y1 + 1):
        out.append(f'<line x1="{_LEFT}" x2="{_RIGHT}" y1="{py(d):.1f}" y2="{py(d):.1f}" stroke="#ddd"/>'
                   f'<text class="tick" x="{_LEFT - 6}" y="{py(d) + 4:.1f}" text-anchor="end">{_decade(d)}</text>')  # fmt: skip
    for x, label in x_ticks.items():
        x_px = px(math.log10(x))
        out.append(f'<line x1="{x_px:.1f}" x2="{x_px:.1f}" y1="{_TOP}" y2="{_BOTTOM}" stroke="#eee"/>'
                   f'<text class="tick" x="{x_px:.1f}" y="{_BOTTOM + 18}" text-anchor="middle">{escape(label)}</text>')  # fmt: skip
    out.append(f'<text class="axis-title" x="{(_LEFT + _RIGHT) / 2}" y="{_BOTTOM + 45}" '
               f'text-anchor="middle">{escape(x_title)}</text>')  # fmt: skip
    out.append(f'<text class="axis-title" x="20" y="{(_TOP + _BOTTOM) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 20 {(_TOP + _BOTTOM) / 2})">{escape(y_title)}</text>')  # fmt: skip
    for i, (s, pts) in enumerate(zip(series, drawn)):
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        coords = [(px(x), py(y)) for x, y in pts]
        if coords:
            line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            out.append(f'<polyline points="{line}" fill="none" stroke="{s.colour}" stroke-width="2"{dash}/>')
        out += [f'<circle class="marker" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{s.colour}"/>' for x, y in coords]
        ly = _TOP + 8 + 18 * i
        out.append(f'<g class="legend"><line x1="{_RIGHT + 15}" x2="{_RIGHT + 45}" y1="{ly}" y2="{ly}" '
                   f'stroke="{s.colour}" stroke-width="2"{dash}/>'
                   f'<circle cx="{_RIGHT + 30}" cy="{ly}" r="3.5" fill="{s.colour}"/>'
                   f'<text x="{_RIGHT + 52}" y="{ly + 4}">{escape(s.label)}</text></g>')  # fmt: skip
    return "\n".join([*out, "</svg>", ""])
