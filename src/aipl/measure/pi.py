"""The purchase-intent index (PI, DOMAIN.md §8 [P]): PI = Σ_b w_b · r_b over eight intent behaviours, r_b the
share of a group's consumers who showed behaviour b towards the brand in the window. Weights default to
equal and can be learned per industry by regressing next-30-day purchase on the behaviours (non-negative
least squares, normalised to sum to 1). PI of exposed against control consumers gives the campaign's lift
on intent, with a confidence interval; touches get linear credit for the behaviours that follow them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy.optimize import nnls

from aipl import schema
from aipl.attribution import ATTRIBUTION_DAYS, TOUCH_TYPES, Window, campaign_window
from aipl.config import parse_day
from aipl.measure.experiment import PRE_COVARIATES, consumer_outcomes, group_moments, in_days
from aipl.measure.lift import OBSERVATIONAL, RANDOMISED, Moments, adjusted_lift, estimate
from aipl.measure.results import CampaignPI, PiWeights
from aipl.measure.segments import SEGMENTS, TOUCH_CUTS, consumer_segments, reached_means, segment_lifts, touch_frame
from aipl.measure.settings import MeasureSettings
from aipl.warehouse import Warehouse

# behaviour -> the canonical event types that show it (DOMAIN.md §8's eight; 浏览时长 read as live/video watching)
PI_BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "pdp_view": ("pdp_view",),
    "view_time": ("live_view", "video_view"),
    "favorite": ("favorite",),
    "add_to_cart": ("add_to_cart",),
    "brand_search": ("search_brand_word",),
    "store_follow": ("follow", "store_home_view"),
    "content_engage": ("interaction", "share"),
    "coupon_claim": ("coupon_claim", "trial_claim"),
}
WEIGHTS_TABLE = schema.PI_WEIGHTS.name


def equal_weights() -> dict[str, float]:
    """The default: every behaviour weighs the same.

    >>> w = equal_weights()
    >>> len(w), w["favorite"]
    (8, 0.125)
    """
    return {b: 1 / len(PI_BEHAVIOURS) for b in PI_BEHAVIOURS}


def behaviour_flags(wh: Warehouse, people: ir.Table, brand: str, start: date, end: date) -> pd.DataFrame:
    """One row per consumer of `people` (and its columns): 0/1 per PI behaviour towards the brand in the days.

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> flags = behaviour_flags(wh, wh.table("consumers").select("consumer_id"), "B01", date(2026, 10, 8),
    ...                         date(2026, 10, 24))
    >>> len(flags), int(flags.pdp_view.sum()), int(flags.favorite.sum()), int(flags.add_to_cart.sum())
    (400, 106, 6, 8)
    """
    return _flags(wh, people, brand, [(start, end)])


def flag_table(wh: Warehouse, people: ir.Table, brand: str, spans: list[tuple[date, date]],
               weights: dict[str, float] | None = None) -> ir.Table:
    """The expression of the consumers of `people` (and its columns) with a 0/1 column per PI behaviour towards
    the brand on the days of the spans (each from–to, both included) and, given weights, their `pi` score.

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> wh = sample_warehouse()
    >>> t = flag_table(wh, wh.table("consumers").select("consumer_id"), "B01", [(date(2026, 10, 8),
    ...                date(2026, 10, 24))], equal_weights())
    >>> int(t.favorite.sum().execute()), float(t.pi.sum().execute())
    (6, 1500.0)
    """
    ev = wh.table("events")
    ev = ev.filter((ev.brand_id == brand) & ibis.or_(*[in_days(wh, ev.ts, a, b) for a, b in spans]))
    flags = ev.group_by("consumer_id").aggregate(**{
        b: ev.event_type.isin(list(types)).any().cast("int64") for b, types in PI_BEHAVIOURS.items()
    })
    t = people.left_join(flags, "consumer_id")
    t = t.select(*people.columns, **{b: t[b].fill_null(0) for b in PI_BEHAVIOURS})
    if weights is not None:
        t = t.mutate(pi=sum(t[b].cast("float64") * (weights[b] * 100) for b in PI_BEHAVIOURS))
    return t


def _flags(wh: Warehouse, people: ir.Table, brand: str, spans: list[tuple[date, date]]) -> pd.DataFrame:
    df = flag_table(wh, people, brand, spans).execute()
    df[list(PI_BEHAVIOURS)] = df[list(PI_BEHAVIOURS)].astype(int)
    return df.sort_values("consumer_id", ignore_index=True)


def fit_weights(flags: np.ndarray, bought: np.ndarray) -> np.ndarray:
    """Non-negative least squares of a 0/1 purchase on the 0/1 behaviours (with an intercept), normalised so
    the weights sum to 1; equal weights when no behaviour predicts purchase.

    Purchases that follow the third behaviour (favorite) only:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> flags = rng.integers(0, 2, (500, 8))
    >>> bought = (rng.random(500) < 0.05 + 0.5 * flags[:, 2]).astype(int)
    >>> w = fit_weights(flags, bought)
    >>> int(w.argmax()), round(float(w.sum()), 6)
    (2, 1.0)
    """
    x = np.column_stack([np.asarray(flags, dtype=float), np.ones(len(flags))])
    coef, _ = nnls(x, np.asarray(bought, dtype=float))
    w = coef[:-1]
    return w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))


def learn_weights(wh: Warehouse, industry: str, day: str | date, horizon: int = 30, lookback: int = 30,
                  save: bool = True) -> PiWeights:
    """Learn the industry's PI weights: behaviours of each consumer towards each brand of the industry
    (level-1 category) in the `lookback` days before `day`, against a purchase of that brand in the
    `horizon` days from `day`. Saved to the pi_weights table unless save=False.

    >>> from aipl.simulate import sample_warehouse
    >>> res = learn_weights(sample_warehouse(), "beauty", "2026-10-01", save=False)
    >>> res["pairs"], res["buyers"], res["as_of"], round(sum(res["weights"].values()), 3)
    (216, 15, '2026-10-01', 1.0)
    >>> max(res["weights"], key=res["weights"].get)
    'favorite'
    """
    d = parse_day(day)
    products = wh.table("products")
    brands = sorted(products.filter(products.category_l1 == industry).select("brand_id").distinct()
                    .execute().brand_id)
    if not brands:
        raise ValueError(f"no brand of industry {industry!r} in the products table")
    ev = wh.table("events")
    local = wh.local_day(ev.ts)
    past = ev.filter(ev.brand_id.isin(brands) & (local >= ibis.literal(d - timedelta(days=lookback)))
                     & (local < ibis.literal(d)))
    rows = past.group_by(["consumer_id", "brand_id"]).aggregate(**{
        b: past.event_type.isin(list(types)).any().cast("int64") for b, types in PI_BEHAVIOURS.items()
    })
    fut = ev.filter(ev.brand_id.isin(brands) & (ev.event_type == "purchase") & (local >= ibis.literal(d))
                    & (local < ibis.literal(d + timedelta(days=horizon))))
    fut = fut.select("consumer_id", "brand_id").distinct().mutate(bought=ibis.literal(1))
    df = rows.left_join(fut, ["consumer_id", "brand_id"]).select(*rows.columns, "bought").execute()
    if len(df) < 100 or df.bought.fillna(0).sum() < 10:
        raise ValueError(f"too little data to learn {industry!r} weights: {len(df)} consumer-brand pairs, "
                         f"{int(df.bought.fillna(0).sum())} later purchases (need ≥ 100 and ≥ 10)")
    w = fit_weights(df[list(PI_BEHAVIOURS)].to_numpy(), df.bought.fillna(0).to_numpy())
    weights = dict(zip(PI_BEHAVIOURS, w.round(6).tolist(), strict=True))
    if save:
        _save_weights(wh, industry, weights, len(df), d)
    return PiWeights(industry=industry, weights=weights, pairs=len(df), buyers=int(df.bought.fillna(0).sum()),
                     as_of=str(d), horizon_days=horizon, lookback_days=lookback)


def _save_weights(wh: Warehouse, industry: str, weights: dict[str, float], n: int, d: date) -> None:
    wh.ensure_table(WEIGHTS_TABLE, {
        "industry": "string", "behaviour": "string", "weight": "float64", "pairs": "int64", "as_of": "date",
        "fitted_at": "timestamp('UTC')"})
    rows = ibis.memtable({
        "industry": [industry] * len(weights), "behaviour": list(weights), "weight": list(weights.values()),
        "pairs": [n] * len(weights), "as_of": [d] * len(weights), "fitted_at": [datetime.now(UTC)] * len(weights),
    }).cast(wh.table(WEIGHTS_TABLE).schema())
    wh.replace_rows(WEIGHTS_TABLE, rows, keys=["industry"], match=ibis.memtable({"industry": [industry]}))


def brand_weights(wh: Warehouse, brand: str) -> tuple[dict[str, float], str]:
    """The weights for the brand's industry if learned, else equal weights; and where they came from.

    >>> from aipl.simulate import sample_warehouse
    >>> weights, source = brand_weights(sample_warehouse(), "B01")  # no weights learned there
    >>> source, weights == equal_weights()
    ('equal (default)', True)
    """
    if WEIGHTS_TABLE in wh.con.list_tables():
        p = wh.table("products")
        ind = p.filter(p.brand_id == brand).select("category_l1").distinct().execute().category_l1.dropna()
        if len(ind) == 1:
            w = wh.table(WEIGHTS_TABLE)
            got = w.filter(w.industry == ind.iloc[0]).execute()
            if len(got):
                return dict(zip(got.behaviour, got.weight, strict=True)), f"learned for {ind.iloc[0]}"
    return equal_weights(), "equal (default)"


def pi_scores(flags: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """Each consumer's intent score Σ_b w_b·1_b × 100; a group's PI is the mean of its scores.

    >>> import pandas as pd
    >>> flags = pd.DataFrame([[1, 0, 1, 0, 0, 0, 0, 0], [1] * 8], columns=list(PI_BEHAVIOURS))
    >>> pi_scores(flags, equal_weights()).tolist()
    [25.0, 100.0]
    """
    return flags[list(PI_BEHAVIOURS)].to_numpy(dtype=float) @ np.array([weights[b] for b in PI_BEHAVIOURS]) * 100


def campaign_pi(wh: Warehouse, campaign: str, brand: str | None = None, experiment: str | None = None,
                method: str | None = None, pre_days: int = 30, confidence: float = 0.95,
                cuts: bool = False) -> CampaignPI:
    """PI of exposed and control consumers over the campaign, their r_b, and the lift with its interval.

    With a randomised holdout the groups are the treated arms and the control arm (difference in means);
    without one, exposed and unexposed active consumers, adjusted for pre-period behaviour (observational).
    With `cuts`, PI by new/returning customer, strategy crowd and phase (both groups, and the lift within
    each when randomised) and by the channel, crowd and creative that reached the exposed (`cuts`).

    >>> from aipl.simulate import sample_warehouse
    >>> res = campaign_pi(sample_warehouse(), "sim_double11", "B01")
    >>> res["kind"], res["experiment"], res["lift"]["method"], res["window"]
    ('randomised', 'sim_holdout', 'difference_in_means', {'start': '2026-09-15', 'end': '2026-10-24'})
    >>> [(g["group"], g["n"]) for g in res["groups"]]
    [('exposed', 345), ('control', 55)]
    >>> list(res["groups"][0]["rates"])  # doctest: +NORMALIZE_WHITESPACE
    ['pdp_view', 'view_time', 'favorite', 'add_to_cart', 'brand_search', 'store_follow', 'content_engage',
     'coupon_claim']
    >>> [c["channel"] for c in res["credit"]]
    ['live', 'affiliate', 'display', 'search', 'content']
    """
    window, own = campaign_window(wh, campaign, pre_days)
    brand = brand or own
    if not brand:
        raise ValueError(f"campaign {campaign!r} is platform-wide: name the brand")
    weights, source = brand_weights(wh, brand)
    a = wh.table("assignments")
    if experiment is None:
        known = sorted(a.filter(a.is_control).select("experiment_id").distinct().execute().experiment_id)
        experiment = known[0] if len(known) == 1 else None
    if experiment is not None:
        a = a.filter(a.experiment_id == experiment)
        people = a.group_by("consumer_id").aggregate(exposed=(~a.is_control.max()).cast("int64"))
        kind, method = "randomised", method or "difference_in_means"
        allowed = RANDOMISED
    else:
        people = _exposure_groups(wh, campaign, brand, window)
        kind, method = "observational", method or "doubly_robust"
        allowed = OBSERVATIONAL
    if method not in allowed:
        raise ValueError(f"a {kind} comparison uses {' or '.join(allowed)}, not {method!r}")
    table = flag_table(wh, people, brand, [(window.start, window.end)], weights)
    moments = group_moments(table, "exposed", ["pi", *PI_BEHAVIOURS])  # each group's n, sums and squares
    none = Moments.of({c: [] for c in ["pi", *PI_BEHAVIOURS]})
    exposed, control = (moments.get(k, none) for k in (1, 0))
    flags = None
    if method == "difference_in_means":
        est = adjusted_lift(exposed, control, "pi", confidence=confidence)
    else:
        flags = behaviour_flags(wh, people, brand, window.start, window.end)
        pre = consumer_outcomes(wh, people, brand, window)
        est = estimate(method, pi_scores(flags, weights), flags.exposed.to_numpy() == 1,
                       pre[list(PRE_COVARIATES)].to_numpy(), metric="pi", confidence=confidence)
    groups = [{"group": name, "n": m.n, "pi": float(m.mean(["pi"])[0]) if m.n else float("nan"),
               "rates": {b: float(m.mean([b])[0]) if m.n else float("nan") for b in PI_BEHAVIOURS}}
              for name, m in (("exposed", exposed), ("control", control))]
    res = CampaignPI(campaign=campaign, brand=brand, kind=kind, experiment=experiment,
                     window={"start": str(window.start), "end": str(window.end)}, weights=weights,
                     weights_source=source, groups=groups, lift=est.to_dict(),
                     credit=channel_credit(wh, campaign, brand, window))
    if cuts:
        if flags is None:
            flags = behaviour_flags(wh, people, brand, window.start, window.end)
        frame = flags[["consumer_id"]].assign(pi=pi_scores(flags, weights), treated=flags.exposed.to_numpy() == 1)
        res["cuts"] = pi_cuts(wh, campaign, brand, window, people, frame, weights, kind == "randomised", confidence)
    return res


def pi_cuts(wh: Warehouse, campaign: str, brand: str, window: Window, people: ir.Table, frame: pd.DataFrame,
            weights: dict[str, float], randomised: bool, confidence: float = 0.95) -> dict[str, list[dict]]:
    """PI cut by customer (new/returning), strategy crowd and phase for both groups (the lift within each cut
    when randomised), and by the channel, crowd and creative that reached the exposed. `frame`: consumer_id,
    pi (the score over the window) and treated, for the consumers of `people` (consumer_id, exposed).

    >>> from aipl.simulate import sample_warehouse
    >>> cuts = campaign_pi(sample_warehouse(), "sim_double11", "B01", cuts=True)["cuts"]
    >>> list(cuts)
    ['customer', 'strategy_crowd', 'channel', 'crowd_id', 'creative_id', 'phase']
    >>> [(r["customer"], r["n_treated"], r["n_control"]) for r in cuts["customer"]]  # no history before it
    [('new', 345, 55)]
    >>> [r["phase"] for r in cuts["phase"]][:3], sorted(cuts["crowd_id"][0])
    (['daily', 'accumulate', 'presale'], ['crowd_id', 'n', 'pi'])
    """
    seg = consumer_segments(wh, people, brand, window.start, MeasureSettings.of(wh).new_customer_days)
    df = frame.merge(seg[["consumer_id", *SEGMENTS]], on="consumer_id")
    out = {by: segment_lifts(df, by, ("pi",), randomised, confidence) for by in SEGMENTS}
    c = wh.table("campaigns")
    phases = c.filter(c.campaign_id == campaign).order_by("start_date").execute()
    touches = touch_frame(wh, campaign, brand, window, phases)
    out.update({by: reached_means(df[df.treated], touches, by, "pi") for by in TOUCH_CUTS})
    out["phase"] = []
    for phase, spans in phases.groupby("phase", sort=False):
        f = _flags(wh, people, brand, [(parse_day(a), parse_day(b)) for a, b in zip(spans.start_date, spans.end_date,
                                                                                       strict=True)])
        d = pd.DataFrame({"phase": phase, "pi": pi_scores(f, weights), "treated": f.exposed.to_numpy() == 1})
        out["phase"] += segment_lifts(d, "phase", ("pi",), randomised, confidence)
    return out


def _exposure_groups(wh: Warehouse, campaign: str, brand: str, window: Window) -> ir.Table:
    ev = wh.table("events")
    span = ev.filter(in_days(wh, ev.ts, window.pre_start, window.end))
    touched = ev.filter((ev.campaign_id == campaign) & (ev.brand_id == brand) & ev.event_type.isin(TOUCH_TYPES)
                        & in_days(wh, ev.ts, window.start, window.end))
    touched = touched.select("consumer_id").distinct().mutate(hit=ibis.literal(1))
    people = span.select("consumer_id").distinct().left_join(touched, "consumer_id")
    return people.select("consumer_id", exposed=people.hit.fill_null(0))


def channel_credit(wh: Warehouse, campaign: str, brand: str, window: Window,
                   days: int = ATTRIBUTION_DAYS) -> list[dict]:
    """Multi-touch linear attribution of intent behaviours to the campaign's channels: each of the n touches
    in the `days` before a behaviour gets 1/n of it.

    >>> from datetime import date
    >>> from aipl.simulate import sample_warehouse
    >>> window = Window(date(2026, 9, 15), date(2026, 10, 24), 0)
    >>> credit = channel_credit(sample_warehouse(), "sim_double11", "B01", window)
    >>> [(c["channel"], c["touches"], round(c["share"], 2)) for c in credit]  # doctest: +NORMALIZE_WHITESPACE
    [('live', 204, 0.26), ('affiliate', 221, 0.25), ('display', 214, 0.23), ('search', 163, 0.17),
     ('content', 92, 0.1)]
    """
    ev = wh.table("events")
    inside = (ev.brand_id == brand) & in_days(wh, ev.ts, window.start, window.end)
    types = [t for ts in PI_BEHAVIOURS.values() for t in ts]
    touches = ev.filter(inside & (ev.campaign_id == campaign) & ev.event_type.isin(TOUCH_TYPES))
    touches = touches.select("consumer_id", touch_ts="ts", channel=touches.channel.fill_null("(none)"))
    acts = ev.filter(inside & ev.event_type.isin(types) & ev.consumer_id.isin(touches.consumer_id))
    acts = acts.select("consumer_id", act_ts="ts", act="event_type").mutate(act_id=ibis.row_number())
    j = acts.inner_join(touches, [acts.consumer_id == touches.consumer_id, touches.touch_ts <= acts.act_ts,
                                  touches.touch_ts > acts.act_ts - ibis.interval(days=days)])
    w = ibis.window(group_by="act_id")
    j = j.mutate(share=1.0 / j.count().over(w))
    credit = j.group_by("channel").aggregate(behaviours=j.share.sum(), touches=j.count()).execute()
    total = credit.behaviours.sum()
    credit["share"] = credit.behaviours / total if total else 0.0
    return credit.sort_values("behaviours", ascending=False).to_dict(orient="records")
