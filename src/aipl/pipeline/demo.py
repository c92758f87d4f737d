"""The demo workspace, and a file validated into a throw-away workspace so that an engine can read it."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from aipl.config import CONFIG_FILE, init_workspace, load_config
from aipl.ingest import IngestReport, ingest
from aipl.pipeline.daily import RunSummary, run_daily
from aipl.simulate import MARKET_FILES, MarketSpec, find_truth, load_market, simulate_market
from aipl.warehouse import Warehouse, open_warehouse

Progress = Callable[[str, float | None], None]
"""`progress(message, fraction)`: a step's message (fraction None), or how far a long step is (0–1)."""

DEMO_MARKET = {"days": 60, "brands": 12, "start": "2025-09-15", "seed": 7, "holdout": 0.1, "lead_days": 30,
               "seasons": 2}
BUNDLED = (("CDNOW_sample.txt", "cdnow"), ("events_dirty.csv", "events"))  # a public sample and a dirty file
DEMO_STEPS = 4


@dataclass
class DemoResult:
    """A demo workspace ready to report on: its folder, every load, the market's ground truth, and the campaign
    and brand whose post-mortem (结案) the demo shows; what `demo` returns.

    >>> res = DemoResult(Path("/tmp/aipl-demo"), loads=[], truth=None)
    >>> res
    DemoResult(root=PosixPath('/tmp/aipl-demo'), campaign='sim_double11', brand='B01')
    """

    root: Path
    loads: list[IngestReport] = field(repr=False)
    truth: dict | None = field(repr=False)
    campaign: str = "sim_double11"
    brand: str = "B01"
    run: RunSummary | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """Plain JSON-ready values.

        >>> DemoResult(Path("/tmp/aipl-demo"), loads=[], truth=None).to_dict()
        {'root': '/tmp/aipl-demo', 'loads': [], 'campaign': 'sim_double11', 'brand': 'B01'}
        """
        return {"root": str(self.root), "loads": [r.as_dict() for r in self.loads], "campaign": self.campaign,
                "brand": self.brand, **({"run": self.run.to_dict()} if self.run is not None else {})}


def demo(root: str | Path, consumers: int = 20_000, progress: Progress | None = None) -> DemoResult:
    """Build the demo workspace at `root`: a two-season synthetic market, the bundled CDNOW sample and a
    deliberately dirty file, all validated like any file, then the daily pipeline (`run_daily`: consumer assets,
    crowd tags, CLV and member buckets, plan progress, alerts and the report). The workspace declares the
    market's files and `landing/events/*.csv` as its landing folder, so that `aipl run daily` picks up new days.

    Skipped in the doctests only because it takes about 30 s (a 12-brand, 60-day market whatever `consumers`):

    >>> import tempfile
    >>> res = demo(tempfile.mkdtemp(), consumers=300)  # doctest: +SKIP
    >>> res.campaign, res.brand, [r.format for r in res.loads][-2:]  # doctest: +SKIP
    ('sim_double11', 'B01', ['cdnow', 'events'])
    """
    say = progress or (lambda message, fraction=None: None)
    root = init_workspace(root)
    _declare_landing(root)
    say(f"[1/{DEMO_STEPS}] workspace {root}", None)
    market = root / "market"
    spec = MarketSpec(consumers=consumers, **DEMO_MARKET)
    simulate_market(spec, market, progress=lambda d, n: say(f"simulating day {d}/{n}", d / n if n else None))
    say(f"[2/{DEMO_STEPS}] loading the synthetic market (validated like any file)", None)
    wh = open_warehouse(root)
    try:
        loads = []
        for r in load_market(wh, market):
            loads.append(r)
            say(f"  loaded {Path(r.path).name}: {_counts(r)}", None)
        say(f"[3/{DEMO_STEPS}] loading the bundled CDNOW sample and a deliberately dirty file", None)
        data = Path(str(files("aipl") / "data"))
        for name, fmt in BUNDLED:
            loads.append(r := ingest(wh, data / name, fmt))
            say(f"  {name}: {_counts(r)}", None)
        say(f"[4/{DEMO_STEPS}] the daily pipeline: consumer assets (AIPL, DEEPLINK, flows, FAST, GROW), crowd tags, "
            "CLV and member buckets, plan progress, alerts, the report", None)
        run = run_daily(wh, say=lambda message: say(f"  {message}", None))
        if run.outcome == "failed":
            raise ValueError(run.message)
    finally:
        wh.close()
    return DemoResult(root, loads, find_truth(root), run=run)


DEMO_RULES = """
[[alerts]]
kind = "flow_drop"
threshold = 30
[[alerts]]
kind = "fast_below_p25"
metric = "A"
[[alerts]]
kind = "plan_gap_growing"
days = 3
"""


def _declare_landing(root: Path) -> None:
    """The demo's `[pipeline]` landing globs (the market's files, then new days of events) and alert rules."""
    (root / "landing" / "events").mkdir(parents=True, exist_ok=True)
    if load_config(root).raw.get("pipeline", {}).get("landing"):
        return
    cfg = root / CONFIG_FILE
    text = cfg.read_text(encoding="utf-8")
    globs = [(f"market/{name}", fmt) for name, fmt in MARKET_FILES] + [("landing/events/*.csv", "events")]
    landing = "".join(f'[[pipeline.landing]]\nglob = "{g}"\nformat = "{fmt}"\n' for g, fmt in globs)
    cfg.write_text(f"{text}\n{landing}{DEMO_RULES}", encoding="utf-8")


def _counts(r: IngestReport) -> str:
    return f"read {r.read:,} accepted {r.accepted:,} rejected {r.rejected:,}"


@contextlib.contextmanager
def file_warehouse(path: str | Path, format: str) -> Iterator[tuple[Warehouse, IngestReport]]:
    """A throw-away workspace holding one file, validated and loaded like any other (rejected rows are in its
    quarantine), and the load's report; the workspace is deleted on exit.

    >>> from importlib.resources import files
    >>> with file_warehouse(files("aipl") / "data" / "events_dirty.csv", "events") as (wh, r):
    ...     (r.read, r.accepted, r.rejected)
    (12, 3, 9)
    """
    with tempfile.TemporaryDirectory(prefix="aipl-file-") as tmp:
        wh = open_warehouse(init_workspace(tmp))
        try:
            yield wh, ingest(wh, Path(path), format)
        finally:
            wh.close(publish=False)  # thrown away: no reader will open it


__all__ = ["BUNDLED", "DemoResult", "Progress", "demo", "file_warehouse"]
