"""The reports' charts as inline SVG drawn by matplotlib: no script, so they open offline, print, go into
e-mails and render to PDF with weasyprint. Text stays text (searchable, and drawn with the reader's Chinese
font); the output is deterministic (fixed hash salt, no date in the metadata)."""

from __future__ import annotations

import html
import io
import logging
import math
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from aipl.report.fonts import cjk_font, cjk_font_file

RED = "#e4393c"  # the product's red
SERIES_COLOURS = (RED, "#888888", "#22aa77", "#3366cc")
WIDTH = 7.5  # inches: 720 px on screen, fits A4 landscape
HALF = 5.2  # inches: two charts side by side
EMPTY = '<p class="muted">—</p>'
# one colour per state in every chart (AIPL and its DEEPLINK stages share their parent's hue)
STATE_COLOURS = {"A": "#7fb3e6", "I": "#3366cc", "P": "#f08a24", "L": RED}


def bar(labels: Sequence[str], values: Sequence[float], title: str = "", xlabel: str = "",
        colours: Sequence[str] | None = None) -> str:
    """Horizontal bars, largest value's bar full width, each labelled with its value (each bar in its own colour
    when `colours` is given, e.g. STATE_COLOURS for a funnel).

    >>> svg = bar(["page_view", "purchase"], [1200, 30], title="事件 events", xlabel="events")
    >>> svg.startswith('<svg class="chart"') and "page_view" in svg and "1,200" in svg
    True
    """
    if not values:
        return EMPTY
    with _canvas(0.9 + 0.28 * len(values)) as (fig, ax):
        pos = range(len(values))
        ax.barh(pos, values, color=list(colours) if colours else RED, height=0.7)
        ax.set_yticks(pos, [str(x) for x in labels])
        ax.invert_yaxis()  # the first label on top
        top = max(values) or 1
        for y, v in zip(pos, values, strict=True):
            ax.text(v + top * 0.01, y, f"{v:,.0f}", va="center", fontsize=8)
        ax.set_xlim(0, top * 1.12)
        ax.xaxis.set_major_formatter(_thousands)
        ax.set_xlabel(xlabel)
        return _svg(fig, title)


def line(labels: Sequence[str], values: Sequence[float | None], title: str = "", ylabel: str = "") -> str:
    """One series by day (or any ordered label), a few labels on the x axis.

    >>> "2026-01-03" in line(["2026-01-01", "2026-01-02", "2026-01-03"], [5, 9, 7], title="每天 per day")
    True
    """
    return lines(labels, {"": values}, title, ylabel)


def lines(labels: Sequence[str], series: dict[str, Sequence[float | None]], title: str = "",
          ylabel: str = "", mark: str | None = None, width: float = WIDTH) -> str:
    """Several series over the same labels, with a legend; a missing value (None) leaves a gap. The label
    `mark` (a day that matters, such as the presale start) gets a vertical line and the ticks count from it;
    `width` is in inches (96 px each).

    >>> svg = lines(["D-2", "D-1", "D+0"], {"今年 this year": [1, 2, None], "去年 last year": [1, 3, 4]}, mark="D+0")
    >>> "去年 last year" in svg and "D-1" in svg
    True
    """
    values = [v for vs in series.values() for v in vs if _present(v)]
    if len(labels) < 2 or not values:
        return EMPTY
    with _canvas(2.3, width) as (fig, ax):
        x = range(len(labels))
        for k, (name, vs) in enumerate(series.items()):
            ax.plot(x, [v if _present(v) else math.nan for v in vs], color=SERIES_COLOURS[k % len(SERIES_COLOURS)],
                    linewidth=1.8, label=name or None, linestyle="--" if k == 3 else "-")
        if mark in labels:
            m, step = labels.index(mark), math.ceil(len(labels) / 8)
            ax.axvline(m, color="#999999", linewidth=0.8, linestyle=":")
            ax.set_xticks([i for i in x if (i - m) % step == 0])
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=7, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: labels[int(v)] if 0 <= v < len(labels) else ""))
        ax.set_xlim(0, len(labels) - 1)
        ax.set_ylim(0, max(values) * 1.08 or 1)
        ax.yaxis.set_major_formatter(_thousands)
        ax.set_ylabel(ylabel)
        if any(series):
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(series), frameon=False, fontsize=7.5,
                      handlelength=1.5, columnspacing=1.0)
        return _svg(fig, title)


def trend(labels: Sequence[str], series: dict[str, Sequence[float]],
          last_year: dict[str, Sequence[float]] | None = None, title: str = "", names: dict[str, str] | None = None
          ) -> str:
    """One small panel per state (each on its own scale, so that L is as readable as A): this period's daily
    counts as a solid line in the state's colour, and the same days a year earlier dashed.

    >>> svg = trend(["11-01", "11-02", "11-03"], {"A": [5, 9, 7], "P": [1, 1, 2]}, {"A": [4, 4, 5], "P": [0, 1, 1]},
    ...             title="趋势 trend", names={"A": "认知 A"})
    >>> "认知 A" in svg and "去年 last year" in svg and "11-03" in svg
    True
    """
    states = [s for s in series if len(series[s])]
    if len(labels) < 2 or not states:
        return EMPTY
    with rc_context(_style()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = Figure(figsize=(WIDTH, 2.1), layout="constrained")
        axes = fig.subplots(1, len(states), squeeze=False)[0]
        x = range(len(labels))
        for ax, state in zip(axes, states, strict=True):
            colour = STATE_COLOURS.get(state, RED)
            ax.plot(x, series[state], color=colour, linewidth=1.8, label="今年 this period")
            if last_year and state in last_year and len(last_year[state]) == len(labels):
                ax.plot(x, last_year[state], color=colour, linewidth=1.2, linestyle="--", alpha=0.8,
                        label="去年 last year")
            ax.set_title((names or {}).get(state, state), fontsize=9, color=colour)
            ax.set_xticks([0, len(labels) - 1], [labels[0], labels[-1]])
            top = max([*series[state], *((last_year or {}).get(state) or [])], default=0)
            ax.set_ylim(0, max(top, 1) * 1.1)  # a state nobody holds: a flat line at 0, not a column of zeros
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.yaxis.set_major_formatter(_thousands)
        if last_year:
            axes[0].legend(loc="lower left", bbox_to_anchor=(0, 1.12), ncol=2, frameon=False, fontsize=7.5)
        return _svg(fig, title)


def flow(matrix: dict[str, dict[str, int]], title: str = "", labels: dict[str, str] | None = None) -> str:
    """A flow matrix (state at the start by row, at the end by column) as a heat map: each cell shows its count
    and its share of the row, shaded by that share.

    >>> svg = flow({"A": {"A": 80, "P": 20}, "P": {"A": 0, "P": 50}}, title="流转 flow")
    >>> "80%" in svg and "起 from" in svg
    True
    """
    states = list(matrix)
    if not states:
        return EMPTY
    names = [(labels or {}).get(s, s) for s in states]
    counts = [[matrix[s].get(t, 0) for t in states] for s in states]
    shares = [[n / (sum(row) or 1) for n in row] for row in counts]
    with _canvas(0.9 + 0.42 * len(states), width=min(WIDTH, 2.2 + 0.95 * len(states))) as (fig, ax):
        ax.imshow(shares, cmap=_REDS, vmin=0, vmax=1, aspect="auto")
        for i, row in enumerate(counts):
            for j, n in enumerate(row):
                dark = shares[i][j] > 0.55
                ax.text(j, i, f"{n:,}\n{shares[i][j]:.0%}" if n else "·", ha="center", va="center", fontsize=8,
                        color="white" if dark else "#222222")
        ax.set_xticks(range(len(states)), names)
        ax.set_yticks(range(len(states)), names)
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.set_xlabel("止 to →")
        ax.set_ylabel("起 from ↓")
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        return _svg(fig, title)


logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # a Chinese font without bold is fine
_REDS = LinearSegmentedColormap.from_list("aipl_reds", ["#ffffff", "#f7c6c7", RED, "#8c0f12"])
_thousands = FuncFormatter(lambda v, _: f"{v:,.0f}")


def _present(v: float | None) -> bool:
    return v is not None and v == v


@cache
def _font_family() -> tuple[str, ...]:
    """The fonts to draw with: the machine's Chinese font first when matplotlib knows it."""
    cjk, path = cjk_font(), cjk_font_file()
    if cjk and path and cjk not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(path)  # installed after matplotlib cached its font list
    known = {f.name for f in font_manager.fontManager.ttflist}
    return (cjk, "DejaVu Sans") if cjk in known else ("DejaVu Sans",)


def _style() -> dict:
    return {"svg.hashsalt": "aipl", "svg.fonttype": "none", "font.family": "sans-serif",
            "font.sans-serif": list(_font_family()), "font.size": 9, "axes.titlesize": 10,
            "axes.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
            "axes.edgecolor": "#999999", "axes.labelcolor": "#333333", "xtick.color": "#555555",
            "ytick.color": "#555555", "text.color": "#222222"}


@contextmanager
def _canvas(height: float, width: float = WIDTH) -> Iterator[tuple[Figure, Axes]]:
    """A figure with one axes, drawn in the reports' style (every text is created inside it)."""
    with rc_context(_style()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # Chinese without a CJK font
        fig = Figure(figsize=(width, height), layout="constrained")
        yield fig, fig.add_subplot()


def _svg(fig: Figure, title: str) -> str:
    """The figure as an inline <svg class="chart"> element (no XML prologue, no date)."""
    if title:
        fig.suptitle(title, x=0.005, ha="left", fontsize=10, fontweight="bold")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "aipl"})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    label = f' aria-label="{html.escape(title)}"' if title else ""
    return re.sub(r"^<svg ", f'<svg class="chart" role="img"{label} ', svg, count=1)
