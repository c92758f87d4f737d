"""Typed results of the asset use cases (`aipl.results.Result` subclasses): dicts whose fields also read as
attributes, with a one-line repr."""

from __future__ import annotations

import pandas as pd

from aipl.results import Result, records


class Snapshot(Result):
    """Consumers per AIPL (`counts`) and DEEPLINK (`deeplink`) state of one brand or category on one day
    (what `snapshot` returns).

    >>> s = Snapshot(scope="brand", key="B01", date="2026-10-24", counts={"A": 102, "I": 34, "P": 6, "L": 3},
    ...              deeplink={"discover": 102})
    >>> s
    Snapshot(brand B01 on 2026-10-24: A 102, I 34, P 6, L 3)
    >>> s.counts["I"], s["date"]
    (34, '2026-10-24')
    """

    scope: str
    key: str
    date: str
    counts: dict[str, int]
    deeplink: dict[str, int]

    def __repr__(self) -> str:
        counts = ", ".join(f"{s} {n:,}" for s, n in self["counts"].items())
        return f"Snapshot({self['scope']} {self['key']} on {self['date']}: {counts})"


class _Between(Result):
    """A result between two days, kept under the JSON keys `from` and `to`."""

    @property
    def start(self) -> str:
        """The earlier day (the JSON key `from`).

        >>> Flow({"from": "2026-10-01", "to": "2026-10-24"}).start
        '2026-10-01'
        """
        return self["from"]

    @property
    def end(self) -> str:
        """The later day (the JSON key `to`).

        >>> Flow({"from": "2026-10-01", "to": "2026-10-24"}).end
        '2026-10-24'
        """
        return self["to"]


class Flow(_Between):
    """The flow matrix over {none, A, I, P, L} between two days (`from`, `to`), with 流转率 and the flow kinds
    (what `flow` returns).

    >>> f = Flow({"scope": "brand", "key": "B01", "from": "2026-10-01", "to": "2026-10-24",
    ...           "matrix": {"A": {"I": 16}}, "rates": {}, "kinds": {"new": 63, "churned": 17}})
    >>> f
    Flow(brand B01 2026-10-01 → 2026-10-24: new 63, churned 17)
    >>> f.matrix["A"]["I"], f.start, f.end
    (16, '2026-10-01', '2026-10-24')
    """

    scope: str
    key: str
    matrix: dict[str, dict[str, int]]
    rates: dict[str, dict[str, float | None]]
    kinds: dict[str, int]

    def __repr__(self) -> str:
        kinds = ", ".join(f"{k} {n:,}" for k, n in self["kinds"].items())
        return f"Flow({self['scope']} {self['key']} {self['from']} → {self['to']}: {kinds})"


class FlowCell(Result):
    """The consumers of one cell of a flow (FROM state on `from`, TO state on `to`), and the list name they get
    (what `flow_cell` returns).

    >>> ids = pd.DataFrame({"consumer_id": ["c1", "c2"]})
    >>> c = FlowCell(name="flow_B01_A_to_I_2026-10-01_2026-10-24", consumers=ids)
    >>> c
    FlowCell(flow_B01_A_to_I_2026-10-01_2026-10-24: 2 consumers)
    >>> c.consumers.consumer_id.tolist()
    ['c1', 'c2']
    """

    name: str
    consumers: pd.DataFrame

    def __repr__(self) -> str:
        return f"FlowCell({self['name']}: {len(self['consumers']):,} consumers)"


class FastSummary(Result):
    """FAST of some brands over a period (`brands`, with each metric's percentile in its category) and their
    categories' P25/P50/P75/P90 (`benchmarks`); what `fast_summary` returns.

    >>> s = FastSummary({"from": "2026-09-25", "to": "2026-10-24",
    ...                  "brands": pd.DataFrame({"brand_id": ["B01"], "F": [182]}),
    ...                  "benchmarks": pd.DataFrame({"category_id": ["skincare"], "metric": ["F"], "P50": [182.0]})})
    >>> s
    FastSummary(2026-09-25 … 2026-10-24: 1 brands, 1 categories)
    >>> s.brands.F.tolist()
    [182]
    """

    brands: pd.DataFrame
    benchmarks: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready: the tables as lists of rows.

        >>> FastSummary({"from": "2026-09-25", "to": "2026-10-24", "brands": pd.DataFrame({"brand_id": ["B01"]}),
        ...              "benchmarks": pd.DataFrame({"category_id": ["skincare"], "P50": [182.0]})}).to_dict()
        ... # doctest: +NORMALIZE_WHITESPACE
        {'from': '2026-09-25', 'to': '2026-10-24', 'brands': [{'brand_id': 'B01'}],
         'benchmarks': [{'category_id': 'skincare', 'P50': 182.0}]}
        """
        return {"from": self["from"], "to": self["to"], "brands": records(self["brands"]),
                "benchmarks": records(self["benchmarks"])}

    def __repr__(self) -> str:
        return (f"FastSummary({self['from']} … {self['to']}: {len(self['brands'])} brands, "
                f"{self['benchmarks'].category_id.nunique()} categories)")


class Grow(Result):
    """GROW of a brand: ΔGMV between `period0` and `period1` split into G, R, O (by new / returning `segments`,
    and by strategy crowd in `crowds` once crowd tags exist), with W (BCG) and `W_fmcg` (快消 新品力); what
    `grow` returns.

    >>> g = Grow(brand="B01", period0=["2026-09-15", "2026-09-30"], period1=["2026-10-01", "2026-10-16"],
    ...          delta=100.0, G=60.0, R=30.0, O=10.0)
    >>> g
    Grow(B01 2026-09-15 … 2026-09-30 → 2026-10-01 … 2026-10-16: Δ 100.00 = G 60.00 + R 30.00 + O 10.00)
    >>> g.G + g.R + g.O == g.delta
    True
    """

    brand: str
    period0: list[str]
    period1: list[str]
    gmv0: float
    gmv1: float
    delta: float
    G: float
    R: float
    O: float  # noqa: E741 (GROW's letter)
    W: float
    segments: dict[str, dict]
    W_fmcg: dict

    def __repr__(self) -> str:
        p0, p1 = " … ".join(self["period0"]), " … ".join(self["period1"])
        return (f"Grow({self['brand']} {p0} → {p1}: Δ {self['delta']:,.2f} = G {self['G']:,.2f} "
                f"+ R {self['R']:,.2f} + O {self['O']:,.2f})")


class AssetBuild(Result):
    """The condition intervals per scope after a full build (what `build` and `rebuild` return, and `update`
    when it falls back to a full build).

    >>> b = AssetBuild(brand=47, category=38)
    >>> b
    AssetBuild(full build: brand 47, category 38 intervals)
    >>> b.brand, b["category"]
    (47, 38)
    """

    brand: int
    category: int

    def __repr__(self) -> str:
        return f"AssetBuild(full build: {', '.join(f'{s} {n:,}' for s, n in self.items())} intervals)"


class AssetUpdate(Result):
    """The consumer×brand and consumer×category pairs an incremental update touched, and the new events it read
    (what `update` returns when it needs no full build).

    >>> u = AssetUpdate(touched=2, new_events=1)
    >>> u
    AssetUpdate(incremental: 1 new events, 2 pairs touched)
    >>> u.touched
    2
    """

    touched: int
    new_events: int

    def __repr__(self) -> str:
        return f"AssetUpdate(incremental: {self['new_events']:,} new events, {self['touched']:,} pairs touched)"


class NewProductStrength(Result):
    """W in the 快消 version (新品力) of a brand (what `new_product_strength` returns): its `components`, each
    one's `index` against the median of the brand's category (100 = median) over `peers` brands, and `score`,
    the mean of the indices.

    >>> w = NewProductStrength(components={"launch_gmv": 1200.0}, index={"launch_gmv": 120.0}, peers=4, score=120.0)
    >>> w
    NewProductStrength(score 120.0 against the median of 4 brands: launch_gmv 120.0)
    >>> w.index["launch_gmv"]
    120.0
    """

    components: dict[str, float]
    index: dict[str, float | None]
    peers: int
    score: float | None
    withheld: str | None  # why the index is withheld (fewer peers than [privacy] min_peer_brands), else None

    def __repr__(self) -> str:
        idx = ", ".join(f"{k} {v:.1f}" if v is not None else f"{k} —" for k, v in self["index"].items())
        score = f"{self['score']:.1f}" if self["score"] is not None else "—"
        return f"NewProductStrength(score {score} against the median of {self['peers']} brands: {idx})"


class TrendBenchmark(Result):
    """The peer band of a brand's trend (what `trend_benchmark` returns): P25 / P50 / P75 of each state over the
    `peers` brands of its `category` (each peer's average daily count), or None with the reason in `withheld`.

    >>> b = TrendBenchmark(category="skincare", peers=6, withheld=None, P25={"A": 80.0}, P50={"A": 100.0},
    ...                    P75={"A": 120.5})
    >>> b
    TrendBenchmark(6 peers: A P50 100.0)
    >>> b.P75["A"]
    120.5
    """

    category: str | None
    peers: int
    withheld: str | None
    P25: dict[str, float] | None
    P50: dict[str, float] | None
    P75: dict[str, float] | None

    def __repr__(self) -> str:
        if self["withheld"]:
            return f"TrendBenchmark({self['peers']} peers: withheld: {self['withheld']})"
        mid = ", ".join(f"{s} P50 {v:,.1f}" for s, v in list(self["P50"].items())[:4])
        return f"TrendBenchmark({self['peers']} peers: {mid})"


class DeeplinkFlow(_Between):
    """DEEPLINK-to-DEEPLINK flows between two days (`from`, `to`; what `deeplink_flow` returns): the `matrix` over
    none and the seven stages, `rates` (流转率) and `previous_rates` (环比, over the `previous` period), and
    `flows`, one per moving cell with its count, both rates and its touches by channel.

    >>> f = DeeplinkFlow({"scope": "brand", "key": "B01", "from": "2026-10-10", "to": "2026-10-24",
    ...                   "previous": {"from": "2026-09-26", "to": "2026-10-10"},
    ...                   "flows": [{"from": "discover", "to": "perform", "n": 5, "rate": 0.1, "previous_rate": None,
    ...                              "channels": {"search": 7}}]})
    >>> f
    DeeplinkFlow(brand B01 2026-10-10 → 2026-10-24: 1 flows, previous 2026-09-26 → 2026-10-10)
    >>> f.flows[0]["channels"]
    {'search': 7}
    """

    scope: str
    key: str
    previous: dict[str, str]
    stages: list[str]
    matrix: dict[str, dict[str, int]]
    rates: dict[str, dict[str, float | None]]
    previous_rates: dict[str, dict[str, float | None]]
    flows: list[dict]

    def __repr__(self) -> str:
        p = self["previous"]
        return (f"DeeplinkFlow({self['scope']} {self['key']} {self['from']} → {self['to']}: {len(self['flows'])} "
                f"flows, previous {p['from']} → {p['to']})")


class AssetGrowth(Result):
    """消费者资产同比 (what `asset_growth` returns): the `counts` per state on `day`, those a year earlier
    (`before`, on `year_before`) and each state's `growth` rate (None where the earlier count is zero).

    >>> g = AssetGrowth(scope="brand", key="B01", day="2026-11-11", year_before="2025-11-11",
    ...                 counts={"A": 120, "P": 10}, before={"A": 100, "P": 0}, growth={"A": 0.2, "P": None})
    >>> g
    AssetGrowth(brand B01 2026-11-11 against 2025-11-11: A 120 (+20.0%), P 10 (—))
    """

    scope: str
    key: str
    day: str
    year_before: str
    counts: dict[str, int]
    before: dict[str, int]
    growth: dict[str, float | None]

    def __repr__(self) -> str:
        parts = [f"{s} {self['counts'][s]:,} ({'—' if r is None else format(r, '+.1%')})"
                 for s, r in list(self["growth"].items())[:4]]
        return f"AssetGrowth({self['scope']} {self['key']} {self['day']} against {self['year_before']}: " \
               f"{', '.join(parts)})"


class GmvClub(Result):
    """亿元俱乐部 (what `gmv_club` returns): each brand's GMV over a `campaign` (`start` … `end`), largest first
    (`brands`), and the brands at or past the `line` (`members`).

    >>> c = GmvClub(campaign="double11", start="2026-10-20", end="2026-11-11", line=1e8, members=["B01"],
    ...             brands=pd.DataFrame({"brand_id": ["B01", "B02"], "gmv": [1.2e8, 3e7]}))
    >>> c
    GmvClub(double11 2026-10-20 … 2026-11-11: 1 of 2 brands at or past 100,000,000)
    """

    campaign: str | None
    start: str | None
    end: str | None
    line: float
    brands: pd.DataFrame
    members: list[str]

    def to_dict(self) -> dict:
        """JSON-ready: the brands as a list of rows.

        >>> GmvClub(campaign=None, start=None, end=None, line=1.0, brands=pd.DataFrame(), members=[]).to_dict()
        {'campaign': None, 'start': None, 'end': None, 'line': 1.0, 'brands': [], 'members': []}
        """
        return {**self, "brands": records(self["brands"])}

    def __repr__(self) -> str:
        return (f"GmvClub({self['campaign']} {self['start']} … {self['end']}: {len(self['members'])} of "
                f"{len(self['brands'])} brands at or past {self['line']:,.0f})")
