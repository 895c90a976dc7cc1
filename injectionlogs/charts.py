"""Server-side SVG charts: plain markup the browser draws, no script and no outside host.

Every chart is correct on no data: an empty series draws its axes and says so."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = [
    "#417690",  # the admin's own blue first
    "#e08e0b",
    "#5b9a3c",
    "#b94a48",
    "#7a5fa8",
    "#2a9d8f",
    "#8d6e63",
    "#9e9e9e",
]
# Fixed colours for the words staff learn to read at a glance.
NAMED = {
    "created": "#5b9a3c",
    "updated": "#417690",
    "accepted": "#5b9a3c",
    "rejected": "#b94a48",
    "other": "#9e9e9e",
}


def colours(names: Sequence[str]) -> dict[str, str]:
    out, n = {}, 0
    for name in names:
        if name in NAMED:
            out[name] = NAMED[name]
        else:
            out[name] = PALETTE[n % len(PALETTE)]
            n += 1
    return out


def _nice_max(value: int) -> int:
    """A round axis maximum at or above the value (1, 2, 5, 10, 20, 50, ...)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= value:
                return step * m
        step *= 10


def _legend(names: Sequence[str], palette: dict[str, str], y: int) -> list[str]:
    parts, x = [], 40
    for name in names:
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{palette[name]}"/>'
            f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return parts


def stacked_bars(
    labels: Sequence[str],
    series: dict[str, Sequence[int]],
    *,
    title: str,
    width: int = 760,
    height: int = 200,
    label_every: int = 1,
) -> SafeString:
    """Vertical bars, one per label, each stacked by series; a <title> on every part."""
    names = list(series)
    palette = colours(names)
    totals = [sum(series[n][i] for n in names) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    left, right, chart_top, bottom = 40, 10, 10, 40
    plot_w = width - left - right
    plot_h = height - chart_top - bottom
    slot = plot_w / max(len(labels), 1)
    bar_w = min(max(slot * 0.8, 1), 48)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'width="{width}" height="{height + 20}" viewBox="0 0 {width} {height + 20}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{chart_top + plot_h}" x2="{width - right}" '
        f'y2="{chart_top + plot_h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{chart_top}" x2="{width - right}" y2="{chart_top}" stroke="#eee"/>',
        f'<text x="{left - 4}" y="{chart_top + 4}" font-size="10" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{chart_top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        y = chart_top + plot_h
        for name in names:
            value = series[name][i]
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{palette[name]}"><title>{escape(label)} {escape(name)}: {value}'
                f"</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{chart_top + plot_h + 14}" font-size="10" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    if not any(totals):
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{chart_top + plot_h / 2:.1f}" '
            f'font-size="13" fill="#777" text-anchor="middle" class="empty">No intake in this '
            f"period</text>"
        )
    parts += _legend(names, palette, height + 4)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)


def horizontal_bars(
    items: Sequence[tuple[str, int]],
    *,
    title: str,
    width: int = 520,
    empty: str = "None",
    colour: str = "#b94a48",
) -> SafeString:
    """One bar per (label, value), longest first as given, the value written beside it."""
    row_h, left = 20, 200
    height = max(len(items), 1) * row_h + 10
    top = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * row_h
        w = (width - left - 60) * value / top
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" font-size="11" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{y + 13}" font-size="11">{value}</text>'
        )
    if not items:
        parts.append(
            f'<text x="{left}" y="18" font-size="12" fill="#777" class="empty">'
            f"{escape(empty)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)
