"""The asset trend: daily AIPL and DEEPLINK counts of a brand or category over a period, the same days a year
earlier, the category's peer band, the categories a viewer may read, and DEEPLINK flows with 环比 rates and
each channel's contribution."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from aipl.assets.build import CHANGES, CONDITIONS, SCOPES, intervals
from aipl.assets.health import brand_categories, category_brands
from aipl.assets.query import _require_key, ordered_days
from aipl.assets.results import AssetGrowth, DeeplinkFlow, GmvClub, TrendBenchmark
from aipl.assets.rules import held
from aipl.privacy import foreign, peer_shortfall
from aipl.vocab import AIPL_STATES, DEEPLINK_STATES
from aipl.warehouse import Warehouse

SERIES_COLUMNS = ("day", *AIPL_STATES, *DEEPLINK_STATES)
DEEPLINK_FLOW_STATES = ("none", *DEEPLINK_STATES)
YEAR = timedelta(days=365)  # "a year earlier": the same number of days, so that the two lines align day by day
BAND = "trend benchmark"


def _before(d: date, delta: timedelta) -> date:
    """`d - delta`; a ValueError when that falls before the calendar's first day."""
    try:
        return d - delta
    except OverflowError:
        raise ValueError(f"{d} leaves no {delta.days} days before it") from None


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")


def _daily(wh: Warehouse, scope: str, keys: list[str], d0: date, d1: date) -> pd.DataFrame:
    """key, day, A … L, discover … keen: each key's counts on every day of [d0, d1] (zeros for a key with none)."""
    c = wh.table(CHANGES)
    c = c.filter((c.scope == scope) & c.key.isin(keys) & (c.day <= ibis.literal(d1)))
    day = ibis.greatest(c.day, ibis.literal(d0))  # the changes before the period fold into its first day
    g = c.group_by(["key", day.name("day"), "aipl", "deeplink"]).aggregate(n=c.change.sum()).execute()
    days = pd.date_range(d0, d1, name="day")
    frames = []
    for key in keys:
        k = g[g.key == key].assign(day=lambda t: pd.to_datetime(t.day))
        cols = {}
        for level, names in (("aipl", AIPL_STATES), ("deeplink", DEEPLINK_STATES)):
            wide = k.pivot_table(index="day", columns=level, values="n", aggfunc="sum")
            wide = wide.reindex(index=days, columns=list(names)).fillna(0).cumsum()
            cols.update({s: wide[s] for s in names})
        frames.append(pd.DataFrame(cols, index=days).astype("int64").reset_index().assign(key=key))
    return pd.concat(frames, ignore_index=True)


def series(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date) -> pd.DataFrame:
    """One row per day of [start, end]: day and the consumers in each AIPL state (A, I, P, L) and DEEPLINK stage
    (discover … keen) of the brand or category, as `snapshot` counts them on that day; a ValueError for a key no
    consumer was ever in a state of.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> s = series(wh, "brand", "B01", "2026-10-22", "2026-10-24")
    >>> s[["day", "A", "I", "P", "L", "perform"]].tail(1).to_dict("records")
    [{'day': Timestamp('2026-10-24 00:00:00'), 'A': 102, 'I': 34, 'P': 6, 'L': 3, 'perform': 9}]
    >>> list(s.columns) == list(SERIES_COLUMNS), len(s)
    (True, 3)
    """
    _check_scope(scope)
    d0, d1 = ordered_days(start, end, "series")
    _require_key(wh, scope, key)
    return _daily(wh, scope, [key], d0, d1)[list(SERIES_COLUMNS)]


def year_earlier(start: str | date, end: str | date) -> tuple[date, date]:
    """The same period a year (365 days) earlier, day for day.

    >>> year_earlier("2026-11-01", "2026-11-11")
    (datetime.date(2025, 11, 1), datetime.date(2025, 11, 11))
    """
    d0, d1 = ordered_days(start, end, "series")
    return _before(d0, YEAR), _before(d1, YEAR)


def last_year(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date) -> pd.DataFrame:
    """`series` of the same days a year earlier (see `year_earlier`), or an empty frame when the key had no
    consumer in any state by then (the data does not reach back a year).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> last_year(wh, "brand", "B01", "2026-10-22", "2026-10-24").empty
    True
    """
    try:
        d0, d1 = year_earlier(start, end)
    except ValueError:  # no year before the calendar's first days
        return pd.DataFrame(columns=list(SERIES_COLUMNS))
    c = wh.table(CHANGES)
    c = c.filter((c.scope == scope) & (c.key == key) & (c.day <= ibis.literal(d1)))
    if not int(c.count().execute()):
        return pd.DataFrame(columns=list(SERIES_COLUMNS))
    return series(wh, scope, key, d0, d1)


def trend_benchmark(wh: Warehouse, brand: str, start: str | date, end: str | date,
                    viewer: Iterable[str] | None = None) -> TrendBenchmark:
    """P25 / P50 / P75 of each AIPL state and DEEPLINK stage over the peer brands of the brand's category: each
    peer's average daily count over [start, end]. Peers are the category's other brands (for a `viewer`, those
    it is not granted); below [privacy] min_peer_brands the percentiles are withheld, with the reason.

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)  # each brand alone in its category
    >>> trend_benchmark(wh, "B01", "2026-10-22", "2026-10-24")
    TrendBenchmark(0 peers: withheld: trend benchmark needs other brands of the category; skincare has none)
    """
    d0, d1 = ordered_days(start, end, "series")
    bc = brand_categories(wh)
    cat = bc.category_id[bc.brand_id == brand]
    category = None if cat.empty else str(cat.iloc[0])
    others = sorted(set(bc.brand_id[bc.category_id == category]) - {brand})
    peers = foreign(others, viewer) if viewer is not None else others
    minimum = wh.config.min_peer_brands
    reason = None
    if not peers:
        reason = f"{BAND} needs other brands of the category; {category or 'the brand'} has none"
    elif viewer is not None:  # the owner sees every figure
        reason = peer_shortfall(minimum, BAND, f"category {category}", len(peers))
    out = {"category": category, "peers": len(peers), "withheld": reason, "P25": None, "P50": None, "P75": None}
    if reason is None:
        daily = _daily(wh, "brand", peers, d0, d1)
        mean = daily.drop(columns="day").groupby("key").mean()
        for q in (25, 50, 75):
            out[f"P{q}"] = {s: round(float(v), 2) for s, v in mean.quantile(q / 100).items()}
    return TrendBenchmark(out)


def categories(wh: Warehouse, viewer: Iterable[str] | None = None) -> list[str]:
    """The categories whose assets the viewer may read, sorted: for the owner (`viewer` None), and in a workspace
    whose data has no brands (category-only data such as UserBehavior), every category with consumer assets; for
    a tenant, the categories of its brands that hold no other brand or at least [privacy] min_peer_brands
    (docs/guarantees.md: a category count minus the tenant's own must not reveal one competitor).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> categories(wh), categories(wh, {"B01"}), categories(wh, {"B09"})
    (['makeup', 'menswear', 'skincare', 'womenswear'], ['skincare'], [])
    """
    bc = category_brands(wh)  # every brand with events in a category counts as its peer, not only its main one
    if viewer is None or bc.empty:
        if not wh.has_table(CHANGES):  # assets never built: no category yet
            return []
        c = wh.table(CHANGES)
        keys = c.filter(c.scope == "category").select("key").distinct().execute().key
        return sorted(str(k) for k in keys)
    viewer = set(viewer)
    minimum = wh.config.min_peer_brands
    out = []
    for cat, g in bc.groupby("category_id"):
        if viewer & set(g.brand_id) and peer_shortfall(minimum, BAND, str(cat), len(foreign(g.brand_id, viewer))) \
                is None:
            out.append(str(cat))
    return sorted(out)


def _stages_on(wh: Warehouse, scope: str, key: str, days: list[date]) -> ir.Table:
    """consumer_id, s0, s1, …: each consumer's DEEPLINK stage ("none" when in none) on each of `days`, read in one
    pass over the key's intervals."""
    iv = intervals(wh)
    lo, hi = ibis.literal(min(days)), ibis.literal(max(days))
    iv = iv.filter((iv.scope == scope) & (iv.key == key) & (iv.start <= hi) & (iv.end > lo))
    on = {(i, c): ((iv.cond == c) & (iv.start <= ibis.literal(d)) & (iv.end > ibis.literal(d))).any()
          for i, d in enumerate(days) for c in CONDITIONS}
    f = iv.group_by("consumer_id").aggregate(**{f"h{i}_{c}": v for (i, c), v in on.items()})
    stages = {f"s{i}": held({c: f[f"h{i}_{c}"] for c in CONDITIONS})[1].fill_null("none") for i in range(len(days))}
    return f.select("consumer_id", **stages)


def _matrix(cells: pd.DataFrame, a: str, b: str) -> tuple[dict, dict]:
    """The DEEPLINK flow matrix between the stages in columns `a` and `b` of `cells` (counts `n`), and its rates
    (the share of the start stage that moved to each)."""
    matrix = {s: {t: 0 for t in DEEPLINK_FLOW_STATES} for s in DEEPLINK_FLOW_STATES}
    for (s, t), n in cells.groupby([a, b]).n.sum().items():
        matrix[s][t] += int(n)
    matrix["none"]["none"] = 0  # in none on both days: not in the flow
    at_start = {s: sum(row.values()) for s, row in matrix.items()}
    rates = {s: {t: (n / at_start[s] if at_start[s] else None) for t, n in matrix[s].items()}
             for s in DEEPLINK_STATES}
    return matrix, rates


def deeplink_flow(wh: Warehouse, scope: str, key: str, start: str | date, end: str | date) -> DeeplinkFlow:
    """DEEPLINK-to-DEEPLINK flows between two days (达摩盘 DEEPLINK人群流转): the 8×8 matrix over none and the
    seven stages, 流转率 (share of the start stage that moved to each), 环比 rates (the same rates over the
    previous period of the same length), and for each flow between two different stages (churn aside) the
    touches by channel among its movers in (start, end] (渠道对人群流转的贡献度).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> f = deeplink_flow(wh, "brand", "B01", "2026-10-10", "2026-10-24"); f  # doctest: +ELLIPSIS
    DeeplinkFlow(brand B01 2026-10-10 → 2026-10-24: ... flows, previous 2026-09-26 → 2026-10-10)
    >>> top = f.flows[0]; sorted(top)
    ['channels', 'from', 'n', 'previous_rate', 'rate', 'to']
    >>> top["n"] == f.matrix[top["from"]][top["to"]]
    True
    """
    _check_scope(scope)
    d0, d1 = ordered_days(start, end, "flow", distinct=True)
    p0 = _before(d0, d1 - d0)
    st = _stages_on(wh, scope, key, [p0, d0, d1])
    cells = st.group_by(["s0", "s1", "s2"]).aggregate(n=lambda x: x.count()).execute()
    matrix, rates = _matrix(cells, "s1", "s2")
    if not any(n for row in matrix.values() for n in row.values()):
        _require_key(wh, scope, key)
    _, previous = _matrix(cells, "s0", "s1")
    moved = st.filter((st.s1 != st.s2) & (st.s2 != "none")).select("consumer_id", s0="s1", s1="s2")
    ev = wh.table("events")
    col = ev.brand_id if scope == "brand" else ev.category_id
    day = wh.local_day(ev.ts)
    ev = ev.filter((col == key) & (day > ibis.literal(d0)) & (day <= ibis.literal(d1)))
    j = ev.inner_join(moved, "consumer_id")
    touches = j.group_by(["s0", "s1", j.channel.fill_null("(none)").name("channel")]).aggregate(
        n=lambda t: t.count()).execute()
    flows = []
    for s in DEEPLINK_FLOW_STATES:
        for t in DEEPLINK_FLOW_STATES:
            if s == t or t == "none" or not matrix[s][t]:
                continue
            ch = touches[(touches.s0 == s) & (touches.s1 == t)].sort_values(["n", "channel"], ascending=[False, True])
            flows.append({"from": s, "to": t, "n": matrix[s][t], "rate": rates.get(s, {}).get(t),
                          "previous_rate": previous.get(s, {}).get(t),
                          "channels": {str(c): int(n) for c, n in zip(ch.channel, ch.n, strict=True)}})
    flows.sort(key=lambda f: -f["n"])
    return DeeplinkFlow({"scope": scope, "key": key, "from": str(d0), "to": str(d1),
                         "previous": {"from": str(p0), "to": str(d0)}, "stages": list(DEEPLINK_FLOW_STATES),
                         "matrix": matrix, "rates": rates, "previous_rates": previous, "flows": flows})


def asset_growth(wh: Warehouse, scope: str, key: str, day: str | date) -> AssetGrowth:
    """消费者资产同比: each AIPL state's and DEEPLINK stage's count on `day` against the same day a year (365 days)
    earlier, and the growth rate (None where the earlier count is zero).

    >>> from aipl.assets import ensure_built
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse(); _ = ensure_built(wh)
    >>> g = asset_growth(wh, "brand", "B01", "2026-10-24"); g
    AssetGrowth(brand B01 2026-10-24 against 2025-10-24: A 102 (—), I 34 (—), P 6 (—), L 3 (—))
    """
    _check_scope(scope)
    d1 = ordered_days(day, day)[0]
    d0 = _before(d1, YEAR)
    _require_key(wh, scope, key)
    both = _daily(wh, scope, [key], d0, d1).set_index("day")
    now, before = both.loc[pd.Timestamp(d1)], both.loc[pd.Timestamp(d0)]
    names = (*AIPL_STATES, *DEEPLINK_STATES)
    return AssetGrowth(scope=scope, key=key, day=str(d1), year_before=str(d0),
                       counts={s: int(now[s]) for s in names}, before={s: int(before[s]) for s in names},
                       growth={s: (now[s] / before[s] - 1 if before[s] else None) for s in names})


def gmv_club(wh: Warehouse, line: float, campaign: str | None = None) -> GmvClub:
    """亿元俱乐部: every brand's GMV over a campaign (from its first phase's start to its last phase's end; by
    default the latest campaign that has started by the data's last day), largest first, and those at or past
    `line` ([assets] gmv_club_line).

    >>> from aipl.simulate import sample_warehouse
    >>> c = gmv_club(sample_warehouse(), line=1_000)
    >>> c.campaign is None or list(c.brands.columns) == ["brand_id", "gmv", "buyers", "member"]
    True
    """
    cal = wh.table("campaigns")
    windows = cal.group_by("campaign_id").aggregate(start=cal.start_date.min(), end=cal.end_date.max()).execute()
    last = wh.last_day(with_brand=True)
    if campaign is None and last is not None:
        started = windows[pd.to_datetime(windows.start) <= pd.Timestamp(last)]
        if not started.empty:
            campaign = str(started.sort_values("start").campaign_id.iloc[-1])
    if campaign is None or campaign not in set(windows.campaign_id):
        if campaign is not None:
            raise ValueError(f"no campaign {campaign!r} in the calendar")
        return GmvClub(campaign=None, start=None, end=None, line=line, brands=pd.DataFrame(), members=[])
    w = windows[windows.campaign_id == campaign].iloc[0]
    d0, d1 = pd.Timestamp(w.start).date(), pd.Timestamp(w.end).date()
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    buys = ev.filter((ev.event_type == "purchase") & ev.brand_id.notnull() & (day >= ibis.literal(d0))
                     & (day <= ibis.literal(d1)))
    g = buys.group_by("brand_id").aggregate(gmv=buys.amount.sum(), buyers=buys.consumer_id.nunique()).execute()
    g = g.fillna({"gmv": 0.0}).sort_values(["gmv", "brand_id"], ascending=[False, True], ignore_index=True)
    g["member"] = g.gmv >= line
    return GmvClub(campaign=campaign, start=str(d0), end=str(d1), line=line, brands=g,
                   members=g.brand_id[g.member].tolist())
