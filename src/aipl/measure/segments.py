"""What PI, lift and the 结案 are cut by. Known before the campaign, for every consumer (exposed or control):
new or returning customer (新老客) and strategy crowd (策略人群). Named by the campaign's touches: channel, crowd
(the saved or targeted crowd the ad was bought for), creative, and the phase of the day."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from aipl.attribution import Window, campaign_touches
from aipl.audience import strategy_crowd
from aipl.measure.lift import difference_in_means
from aipl.warehouse import Warehouse

SEGMENTS = ("customer", "strategy_crowd")  # consumer-level, fixed before the campaign starts
TOUCH_CUTS = ("channel", "crowd_id", "creative_id")  # named by a touch
NONE = "(none)"


def consumer_segments(wh: Warehouse, people: ir.Table, brand: str, start: date, new_days: int) -> pd.DataFrame:
    """One row per consumer of `people` (and its columns): `customer` is returning (老客) with a purchase of the
    brand in the `new_days` before `start`, else new (新客); `strategy_crowd` is the §9.4 crowd of the profile in
    the campaign's year ("(unknown)" without a profile).

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> seg = consumer_segments(wh, wh.table("consumers").select("consumer_id"), "B01", date(2026, 10, 15), 365)
    >>> seg.customer.value_counts().to_dict(), seg.strategy_crowd.nunique()
    ({'new': 392, 'returning': 8}, 9)
    """
    ev = wh.table("events")
    day = wh.local_day(ev.ts)
    old = ev.filter((ev.brand_id == brand) & (ev.event_type == "purchase") & (day < ibis.literal(start))
                    & (day >= ibis.literal(start - timedelta(days=new_days))))
    old = old.select("consumer_id").distinct().mutate(returning=ibis.literal(1))
    c = wh.table("consumers")
    prof = c.select("consumer_id", crowd=strategy_crowd(c, start.year))
    t = people.left_join(old, "consumer_id").left_join(prof, "consumer_id")
    df = t.select(*people.columns, customer=ibis.ifelse(t.returning.isnull(), "new", "returning"),
                  strategy_crowd=t.crowd.fill_null("(unknown)")).execute()
    return df.sort_values("consumer_id", ignore_index=True)


def phase_of(days: pd.Series, phases: pd.DataFrame) -> pd.Series:
    """The campaign phase of each day ("outside" when none holds it).

    >>> import pandas as pd
    >>> phases = pd.DataFrame({"phase": ["warmup", "burst"], "start_date": ["2026-11-01", "2026-11-04"],
    ...                        "end_date": ["2026-11-03", "2026-11-05"]})
    >>> phase_of(pd.Series(["2026-11-02", "2026-11-05", "2026-11-09"]), phases).tolist()
    ['warmup', 'burst', 'outside']
    """
    out = pd.Series("outside", index=days.index, dtype=object)
    d = pd.to_datetime(days)
    for r in phases.itertuples():
        out[(d >= pd.Timestamp(r.start_date)) & (d <= pd.Timestamp(r.end_date))] = r.phase
    return out


def touch_frame(wh: Warehouse, campaign: str, brand: str, window: Window, phases: pd.DataFrame) -> pd.DataFrame:
    """The campaign's touches of the brand in the window: consumer, day, phase, touch type, channel, crowd and
    creative ("(none)" when the touch names none).

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> phases = wh.table("campaigns").execute()
    >>> t = touch_frame(wh, "sim_double11", "B01", Window(date(2026, 9, 15), date(2026, 10, 24)), phases)
    >>> len(t), sorted(t.crowd_id.unique())[:2], t.creative_id.iloc[0].startswith("B01-")
    (454, ['sim_broad', 'sim_high_spenders'], True)
    """
    t = campaign_touches(wh, campaign, brand, window.start, window.end)
    df = t.mutate(day=wh.local_day(t.touch_ts)).drop("touch_ts", "touch_item").execute()
    df["phase"] = phase_of(df.day, phases)
    return df


def segment_lifts(df: pd.DataFrame, by: str, metrics: tuple[str, ...], randomised: bool,
                  confidence: float = 0.95) -> list[dict]:
    """Per value of `by`: the treated and control consumers, each metric's means and, when the groups were
    randomised and hold two or more consumers each, the difference in means with its interval (None otherwise:
    an observational comparison is not re-adjusted within a cut). `df` has `treated` (bool), `by` and metrics.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"treated": [True, True, False, False, True, False], "customer": ["new"] * 4 + ["old"] * 2,
    ...                    "pi": [50.0, 30.0, 20.0, 0.0, 10.0, 10.0]})
    >>> rows = segment_lifts(df, "customer", ("pi",), randomised=True)
    >>> [(r["customer"], r["n_treated"], r["n_control"], r["pi"]["effect"]) for r in rows]
    [('new', 2, 2, 30.0), ('old', 1, 1, None)]
    """
    rows = []
    for key, g in df.groupby(by, sort=True):
        t = g.treated.to_numpy(dtype=bool)
        row = {by: key, "n_treated": int(t.sum()), "n_control": int((~t).sum())}
        for m in metrics:
            y = g[m].to_numpy(dtype=float)
            cell = {"treated_mean": float(y[t].mean()) if t.any() else None,
                    "control_mean": float(y[~t].mean()) if (~t).any() else None,
                    "effect": None, "ci_low": None, "ci_high": None}
            if randomised and t.sum() >= 2 and (~t).sum() >= 2:
                est = difference_in_means(y, t, m, confidence)
                cell.update(effect=est.effect, ci_low=est.ci_low, ci_high=est.ci_high)
            row[m] = cell
        rows.append(row)
    return rows


def reached_means(values: pd.DataFrame, touches: pd.DataFrame, by: str, column: str | list[str]) -> list[dict]:
    """Per value of the touch attribute `by`: the consumers it reached (of those in `values`) and their mean
    `column` (or each of several columns); a consumer reached through several values counts in each.

    >>> import pandas as pd
    >>> values = pd.DataFrame({"consumer_id": ["a", "b", "c"], "pi": [50.0, 0.0, 25.0]})
    >>> touches = pd.DataFrame({"consumer_id": ["a", "a", "b", "c"], "channel": ["live", "search", "live", "x"]})
    >>> reached_means(values, touches, "channel", "pi")  # doctest: +NORMALIZE_WHITESPACE
    [{'channel': 'live', 'n': 2, 'pi': 25.0}, {'channel': 'search', 'n': 1, 'pi': 50.0},
     {'channel': 'x', 'n': 1, 'pi': 25.0}]
    """
    columns = [column] if isinstance(column, str) else column
    pairs = touches[["consumer_id", by]].drop_duplicates().merge(values[["consumer_id", *columns]], on="consumer_id")
    g = pairs.groupby(by)
    n, means = g.size(), g[columns].mean()
    return [{by: k, "n": int(n[k]), **{c: float(means.at[k, c]) for c in columns}} for k in n.index]


def spread(delivery: pd.DataFrame, touches: pd.DataFrame, by: str) -> pd.DataFrame:
    """Delivery (cost, impressions, clicks) by the value of `by`. Rows that name the value keep it; the others are
    shared among the values of the touches on their day and channel, in proportion to the touches (clicks to the
    clicks), and stay "(none)" when there is no touch to share by.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"day": ["d1", "d1"], "channel": ["live", "search"], "crowd_id": ["(none)", "K"],
    ...                   "cost": [90.0, 10.0], "impressions": [3, 1], "clicks": [1, 0]})
    >>> t = pd.DataFrame({"day": ["d1"] * 3, "channel": ["live"] * 3, "crowd_id": ["A", "A", "B"],
    ...                   "touch_type": ["exposure", "ad_click", "exposure"]})
    >>> spread(d, t, "crowd_id").round(2).to_dict(orient="index")  # doctest: +NORMALIZE_WHITESPACE
    {'A': {'cost': 60.0, 'impressions': 2.0, 'clicks': 1.0}, 'B': {'cost': 30.0, 'impressions': 1.0, 'clicks': 0.0},
     'K': {'cost': 10.0, 'impressions': 1.0, 'clicks': 0.0}}
    """
    measures = ["cost", "impressions", "clicks"]
    named = delivery[by] != NONE if by in delivery else pd.Series(False, index=delivery.index)
    direct = delivery[named].groupby(by)[measures].sum() if named.any() else pd.DataFrame(columns=measures)
    rest = delivery[~named].groupby(["day", "channel"])[measures].sum().reset_index()
    if rest.empty:
        return direct
    cells = ["day", "channel"]
    n = touches.groupby([*cells, by]).size().rename("touches").reset_index()
    k = touches[touches.touch_type == "ad_click"].groupby([*cells, by]).size().rename("click_touches").reset_index()
    n = n.merge(k, on=[*cells, by], how="left").fillna({"click_touches": 0})
    tot = n.groupby(cells)[["touches", "click_touches"]].transform("sum")
    n["share"] = n.touches / tot.touches
    n["click_share"] = np.where(tot.click_touches > 0, n.click_touches / tot.click_touches.where(
        tot.click_touches > 0, 1), n.share)
    s = rest.merge(n[[*cells, by, "share", "click_share"]], on=cells, how="left")
    s[by] = s[by].fillna(NONE)
    s[["share", "click_share"]] = s[["share", "click_share"]].fillna(1.0)
    s["cost"] *= s.share
    s["impressions"] *= s.share
    s["clicks"] *= s.click_share
    return pd.concat([direct, s.groupby(by)[measures].sum()]).groupby(level=0).sum()
