"""A synthetic market with hidden ground truth: consumers, brands, channels, a campaign calendar, ad spend
that reaches consumers through saturating, carried-over response curves, a behaviour funnel shaped like
Taobao's, and a random holdout that is never exposed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aipl.simulate.results import MarketTruth
from aipl.vocab import adstock, hill

CATEGORIES = {  # level-2 category -> level-1 category
    "skincare": "beauty", "makeup": "beauty", "womenswear": "apparel",
    "menswear": "apparel", "snacks": "food", "drinks": "food",
}
CAMPAIGN = "sim_double11"  # the platform-wide campaign every brand's ads run under
SIM_CHANNELS = ("search", "display", "affiliate", "live", "content")
# Taobao UserBehavior full-data mix per product-page view: fav 2.888/89.716, cart 5.530/89.716, buy 2.016/89.716.
FUNNEL = {"favorite": 0.0322, "add_to_cart": 0.0616, "purchase": 0.0225}
PHASE_BOOST = {"daily": 1.0, "accumulate": 1.4, "presale": 1.8, "warmup": 2.2, "burst": 3.5, "encore": 1.3}
OCCUPATIONS = ("white_collar", "blue_collar", "service", "student", "civil_servant", "other")
LIFE_STAGES = ("single", "married", "pregnant", "parent", "retired")
# the crowds a brand's ads target (crowd_id of a touch), by profile, first match wins; else the broad crowd
SIM_CROWDS = ("sim_high_spenders", "sim_young_urban", "sim_lower_tier", "sim_broad")
CREATIVES_PER_CHANNEL = 3  # creative_id of a touch: <brand>-<channel>-c<k>, k drawn with CREATIVE_MIX
CREATIVE_MIX = (0.5, 0.3, 0.2)


@dataclass
class MarketSpec:
    """The size and seed of a synthetic market (and the knobs of its history, spend and prices).

    >>> spec = MarketSpec(consumers=200, days=20, brands=2)
    >>> spec.consumers, spec.days, spec.brands, spec.start, spec.seed, spec.holdout
    (200, 20, 2, '2026-09-15', 7, 0.1)
    """

    consumers: int = 20_000
    days: int = 60
    brands: int = 12
    start: str = "2026-09-15"
    seed: int = 7
    holdout: float = 0.10
    items_per_brand: int = 20
    timezone: str = "Asia/Shanghai"
    organic_views_per_consumer_day: float = 0.25
    cpm: float = 40.0  # spend is scaled so that the market's average cost per 1000 impressions is this
    seasons: int = 1  # campaigns a year apart (the last is CAMPAIGN; earlier ones CAMPAIGN_<year>)
    lead_days: int = 0  # days of organic behaviour before the calendar, the holdout and any ad start
    lead_ads: bool = False  # ads run in the lead-in too, at the everyday level (a brand with a history)
    spend_change: float = 0.0  # > 0: each brand's spend from 90 days before the last season × U(1 − x, 1 + x)


def calendar(start: date, days: int) -> list[tuple[str, date, date]]:
    """A 双11-shaped calendar over the simulated days: 日销, 蓄水, 预售, 预热, two burst waves, 返场, as
    (phase, first day, last day).

    >>> from datetime import date
    >>> [(phase, f"{a:%m-%d}", f"{b:%m-%d}") for phase, a, b in calendar(date(2026, 9, 15), 40)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('daily', '09-15', '09-30'), ('accumulate', '10-01', '10-07'), ('presale', '10-08', '10-14'),
     ('burst', '10-15', '10-16'), ('warmup', '10-17', '10-20'), ('burst', '10-21', '10-22'),
     ('encore', '10-23', '10-24')]
    """
    end = start + timedelta(days=days - 1)
    shares = [("daily", 0.40), ("accumulate", 0.17), ("presale", 0.17), ("burst", 0.05), ("warmup", 0.10),
              ("burst", 0.06), ("encore", 0.05)]
    out, d = [], start
    for i, (phase, share) in enumerate(shares):
        n = max(1, round(days * share)) if i < len(shares) - 1 else (end - d).days + 1
        e = min(end, d + timedelta(days=n - 1))
        if d <= end:
            out.append((phase, d, e))
        d = e + timedelta(days=1)
    return out


def _phase_by_day(cal: list[tuple[str, date, date]], start: date, days: int) -> list[str]:
    out = []
    for i in range(days):
        d = start + timedelta(days=i)
        out.append(next((p for p, a, b in cal if a <= d <= b), "daily"))
    return out


def simulate_market(
    spec: MarketSpec, out: str | Path, progress: Callable[[int, int], None] | None = None
) -> MarketTruth:
    """Write the market's files to `out` (Parquet + CSV + truth.json) and return the ground truth;
    `progress(done, total)` is told after each simulated day.

    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "market"
    >>> truth = simulate_market(MarketSpec(consumers=200, days=20, brands=2), out)
    >>> sorted(p.name for p in out.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['ad_delivery.parquet', 'assignments.parquet', 'campaigns.csv', 'consumers.parquet', 'events.parquet',
     'members.parquet', 'products.parquet', 'segments.parquet', 'truth.json']
    >>> truth
    MarketTruth(200 consumers over 20 days, seed 7: 2 brands, 5 channels, 25 held out)
    >>> list(truth["brands"]), truth["brands"]["B01"]["category"], truth["holdout_consumers"]
    (['B01', 'B02'], 'skincare', 25)
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    tz = ZoneInfo(spec.timezone)
    start = date.fromisoformat(spec.start)
    if spec.seasons < 1:
        raise ValueError("a market has at least one season")
    starts = [start.replace(year=start.year + k) for k in range(spec.seasons)]
    n, nb = spec.consumers, spec.brands
    nd = (starts[-1] - start).days + spec.days  # every day from the first season's start to the last's end

    # ---- consumers
    ids = np.array([f"c{i:08d}" for i in range(n)])
    birth = rng.choice(np.arange(1955, 2008), size=n, p=_age_weights())
    tier = rng.choice(np.arange(1, 7), size=n, p=[0.08, 0.17, 0.20, 0.20, 0.20, 0.15])
    power = np.clip(np.round(rng.normal(3.4 - 0.3 * (tier - 1), 1.0)), 1, 5).astype(int)
    gender = rng.choice(["F", "M", "U"], size=n, p=[0.55, 0.43, 0.02])
    occupation = rng.choice(OCCUPATIONS, size=n, p=[0.30, 0.20, 0.20, 0.12, 0.08, 0.10])
    life = rng.choice(LIFE_STAGES, size=n, p=[0.35, 0.30, 0.05, 0.22, 0.08])
    activity = rng.lognormal(0.0, 1.0, size=n)  # Zipf-like: a few very active consumers
    cats = list(CATEGORIES)
    pref = rng.dirichlet(np.full(len(cats), 0.5), size=n)
    female = gender == "F"
    pref[:, :3] *= np.where(female, 1.6, 0.7)[:, None]  # beauty and womenswear skew female
    pref /= pref.sum(axis=1, keepdims=True)
    holdout = rng.random(n) < spec.holdout
    crowd = _targeting_crowd(power, birth, tier, start.year)
    targeting_rng = np.random.default_rng([spec.seed, 1])  # its own stream: the market's draws stay as they were
    pq.write_table(pa.table({
        "consumer_id": ids, "gender": gender, "birth_year": birth, "city_tier": tier,
        "purchasing_power": power, "occupation": occupation, "life_stage": life,
    }), out / "consumers.parquet")
    # hidden segments (never loaded: the truth a lookalike is judged against)
    pq.write_table(pa.table({
        "consumer_id": ids, "top_category": np.asarray(list(CATEGORIES))[pref.argmax(axis=1)],
        "activity_decile": np.ceil(10 * activity.argsort().argsort() / n + 1e-9).astype(int),
    }), out / "segments.parquet")
    pq.write_table(pa.table({
        "experiment_id": np.full(n, "sim_holdout"), "consumer_id": ids,
        "arm": np.where(holdout, "holdout", "eligible"), "is_control": holdout,
        "assigned_at": np.full(n, datetime.combine(start, datetime.min.time(), tz).isoformat()),
    }), out / "assignments.parquet")

    # ---- brands and items
    brand_ids = [f"B{b + 1:02d}" for b in range(nb)]
    brand_cat = np.array([b % len(cats) for b in range(nb)])
    brand_price = rng.lognormal(np.log(120), 0.6, size=nb)
    brand_strength = rng.lognormal(0.0, 0.4, size=nb)
    n_items = spec.items_per_brand
    item_price = np.round(brand_price[:, None] * rng.lognormal(0, 0.35, size=(nb, n_items)), 2)
    item_ids = np.array([[f"{brand_ids[b]}-i{j:03d}" for j in range(n_items)] for b in range(nb)])
    launch = [starts[-1] - timedelta(days=int(x)) for x in rng.integers(-20, 400, size=nb * n_items)]
    pq.write_table(pa.table({
        "item_id": item_ids.ravel(), "brand_id": np.repeat(brand_ids, n_items),
        "shop_id": np.repeat([f"{b}-flagship" for b in brand_ids], n_items),
        "category_l1": np.repeat([CATEGORIES[cats[c]] for c in brand_cat], n_items),
        "category_id": np.repeat([cats[c] for c in brand_cat], n_items),
        "price": item_price.ravel(), "launch_date": launch,
    }), out / "products.parquet")

    # ---- calendar and hidden response curves
    cids = [f"{CAMPAIGN}_{d.year}" for d in starts[:-1]] + [CAMPAIGN]
    seasons = [(cid, calendar(d, spec.days)) for cid, d in zip(cids, starts, strict=True)]
    cal = [row for _, c in seasons for row in c]
    with open(out / "campaigns.csv", "w", encoding="utf-8") as f:
        f.write("campaign_id,name,brand_id,phase,start_date,end_date\n")
        for cid, c in seasons:
            for phase, a, b in c:
                f.write(f"{cid},双11,,{phase},{a},{b}\n")
    phases = _phase_by_day(cal, start, nd)
    # the campaign an ad belongs to: the season it runs in, else the latest season begun
    lead_ads = spec.lead_days if spec.lead_ads else 0  # ad days before the first season (always-on delivery)
    ad_campaign = [cids[max([0] + [k for k, d in enumerate(starts) if d <= start + timedelta(days=t)])]
                   for t in range(-lead_ads, nd)]
    boost = np.array([PHASE_BOOST[p] for p in phases])
    ad_boost = np.r_[np.ones(lead_ads), boost]
    nc = len(SIM_CHANNELS)
    theta = rng.uniform(0.2, 0.7, size=nc)
    alpha = rng.uniform(1.2, 2.5, size=(nb, nc))
    base_spend = rng.lognormal(np.log(3000), 0.5, size=(nb, nc))
    k_half = base_spend * rng.uniform(1.5, 4.0, size=(nb, nc))  # spend (adstocked) at half saturation
    reach = rng.uniform(0.01, 0.05, size=(nb, nc))  # max share of the brand's category audience reached a day
    view_p = np.array([0.10, 0.05, 0.08, 0.12, 0.06])  # P(product-page view | exposure), per channel
    ctr = np.array([0.030, 0.008, 0.015, 0.020, 0.010])
    spend = base_spend[:, :, None] * ad_boost[None, None, :] ** 0.8 * rng.lognormal(0, 0.35,
                                                                                   size=(nb, nc, lead_ads + nd))
    change = np.ones(nb)
    if spec.spend_change > 0:  # this year's budgets differ from last year's (drawn only when asked for)
        change = rng.uniform(1 - spec.spend_change, 1 + spec.spend_change, size=nb)
        spend[:, :, lead_ads + max(0, (starts[-1] - start).days - 90):] *= change[:, None, None]
    spend = np.round(spend, 2)
    ad = np.stack([adstock(spend[:, c, :], theta[c]) for c in range(nc)], axis=1)
    audience = np.array([(pref[:, brand_cat[b]] > 1 / len(cats)).sum() for b in range(nb)])
    exposed_n = np.round(reach[:, :, None] * audience[:, None, None] * hill(ad, k_half[:, :, None],
                                                                          alpha[:, :, None])).astype(int)
    # price the impressions: scaling spend and half-saturation points together leaves every response unchanged
    price = spec.cpm * max(1, int(exposed_n.sum())) / 1000 / spend.sum()
    spend, base_spend, k_half = np.round(spend * price, 2), base_spend * price, k_half * price

    # sampling weights per category; the holdout is never exposed
    w = activity[:, None] * pref
    cdf_all = np.cumsum(w, axis=0)
    w_elig = w * (~holdout)[:, None]
    cdf_elig = np.cumsum(w_elig, axis=0)

    def draw(cdf_col: np.ndarray, k: int) -> np.ndarray:
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        return np.searchsorted(cdf_col, rng.random(k) * cdf_col[-1], side="right")

    buy_p = FUNNEL["purchase"] * brand_strength / brand_strength.mean()
    organic_rate = spec.organic_views_per_consumer_day * n / nb
    writer = None
    events_path = out / "events.parquet"
    ad_rows: dict[str, list] = {k: [] for k in ("day", "brand_id", "channel", "campaign_id", "impressions",
                                                 "clicks", "cost")}
    truth_incr = np.zeros((nb, nc))
    last_season = np.zeros(nb)  # incremental purchases inside the last season's calendar
    last_from = (starts[-1] - start).days
    exposures = np.zeros((nb, nc), dtype=np.int64)
    purchases_by_brand = np.zeros(nb, dtype=np.int64)
    members: dict[tuple[int, int], datetime] = {}
    for t in range(-spec.lead_days, nd):  # t < 0: the lead-in, before assignment (no ads unless lead_ads)
        day = start + timedelta(days=t)
        ti = t + lead_ads  # index into the ad arrays
        lift_t = boost[t] if t >= 0 else 1.0
        day0 = datetime.combine(day, datetime.min.time(), tz).timestamp()
        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("u", "b", "etype", "chan", "item", "amount",
                                                             "crowd", "creative")}

        def emit(u, b, etype, chan=None, item=None, amount=None, cols=cols):
            k = len(u)
            touch = chan is not None
            cols["crowd"].append(crowd[u] if touch else np.full(k, ""))
            cols["creative"].append(np.char.add(f"{brand_ids[b]}-{chan}-c", targeting_rng.choice(
                CREATIVES_PER_CHANNEL, size=k, p=CREATIVE_MIX).astype(str)) if touch else np.full(k, ""))
            cols["u"].append(u)
            cols["b"].append(np.full(k, b) if np.isscalar(b) else b)
            cols["etype"].append(np.full(k, etype))
            cols["chan"].append(np.full(k, chan if chan else ""))
            cols["item"].append(item if item is not None else np.full(k, ""))
            cols["amount"].append(amount if amount is not None else np.full(k, np.nan))

        for b in range(nb):
            c_idx = brand_cat[b]
            views = [draw(cdf_all[:, c_idx], rng.poisson(organic_rate * brand_strength[b] * lift_t ** 0.5 / 3))]
            q = buy_p[b] * (1 + 0.35 * (lift_t - 1))  # promotions lift conversion in the burst
            for c, chan in enumerate(SIM_CHANNELS if t >= 0 or spec.lead_ads else ()):
                u = np.unique(draw(cdf_elig[:, c_idx], exposed_n[b, c, ti]))
                exposures[b, c] += len(u)
                clicked = rng.random(len(u)) < ctr[c]
                viewed = clicked | (rng.random(len(u)) < view_p[c])
                incr = len(u) * (ctr[c] + (1 - ctr[c]) * view_p[c]) * q
                truth_incr[b, c] += incr
                last_season[b] += incr if t >= last_from else 0.0
                emit(u[~clicked], b, "exposure", chan)
                emit(u[clicked], b, "ad_click", chan)
                views.append(u[viewed])
                ad_rows["day"].append(day)
                ad_rows["brand_id"].append(brand_ids[b])
                ad_rows["channel"].append(chan)
                ad_rows["campaign_id"].append(ad_campaign[ti])
                ad_rows["impressions"].append(len(u))
                ad_rows["clicks"].append(int(clicked.sum()))
                ad_rows["cost"].append(float(spend[b, c, ti]))
            v = np.concatenate(views)
            items = rng.integers(0, n_items, size=len(v))
            emit(v, b, "pdp_view", item=item_ids[b, items])
            for etype in ("favorite", "add_to_cart"):
                m = rng.random(len(v)) < FUNNEL[etype]
                emit(v[m], b, etype, item=item_ids[b, items[m]])
            m = rng.random(len(v)) < q
            buyers, bitems = v[m], items[m]
            qty = rng.choice([1, 1, 1, 2, 3], size=len(buyers))
            emit(buyers, b, "purchase", item=item_ids[b, bitems], amount=np.round(item_price[b, bitems] * qty, 2))
            purchases_by_brand[b] += len(buyers)
            r = rng.random(len(buyers))
            emit(buyers[r < 0.25], b, "review_positive", item=item_ids[b, bitems[r < 0.25]])
            emit(buyers[r > 0.98], b, "share", item=item_ids[b, bitems[r > 0.98]])
            joiners = [u for u in np.unique(buyers[rng.random(len(buyers)) < 0.3]).tolist() if (u, b) not in members]
            for u in joiners:
                members[(u, b)] = datetime.fromtimestamp(day0 + 43200, tz)
            emit(np.asarray(joiners, dtype=np.int64), b, "member_join")
        table = _events_table(cols, day0, rng, ids, brand_ids, cats, brand_cat, ad_campaign[max(t, 0)])
        if writer is None:
            writer = pq.ParquetWriter(events_path, table.schema)
        writer.write_table(table)
        if progress:
            progress(t + 1 + spec.lead_days, nd + spec.lead_days)
    if writer is not None:
        writer.close()
    pq.write_table(pa.table(ad_rows), out / "ad_delivery.parquet")
    mk = sorted(members)
    pq.write_table(pa.table({
        "consumer_id": [ids[u] for u, _ in mk], "brand_id": [brand_ids[b] for _, b in mk],
        "shop_id": [f"{brand_ids[b]}-flagship" for _, b in mk], "joined_at": [members[k] for k in mk],
        "status": ["active"] * len(mk), "tier": ["V1"] * len(mk),
    }), out / "members.parquet")

    truth = {
        "spec": asdict(spec),
        "channels": list(SIM_CHANNELS),
        "calendar": [{"campaign_id": cid, "phase": p, "start": str(a), "end": str(b)} for cid, c in seasons
                     for p, a, b in c],
        "funnel_per_view": FUNNEL,
        "view_given_exposure": dict(zip(SIM_CHANNELS, view_p.tolist(), strict=True)),
        "ctr": dict(zip(SIM_CHANNELS, ctr.tolist(), strict=True)),
        "adstock_theta": dict(zip(SIM_CHANNELS, theta.tolist(), strict=True)),
        "brands": {
            brand_ids[b]: {
                "category": cats[brand_cat[b]],
                "purchase_per_view": float(buy_p[b]),
                "curves": {
                    ch: {"hill_k": float(k_half[b, c]), "hill_alpha": float(alpha[b, c]),
                         "max_daily_reach": round(reach[b, c] * audience[b]), "adstock_theta": float(theta[c])}
                    for c, ch in enumerate(SIM_CHANNELS)
                },
                "exposures": {ch: int(exposures[b, c]) for c, ch in enumerate(SIM_CHANNELS)},
                "true_incremental_purchases": {ch: float(truth_incr[b, c]) for c, ch in enumerate(SIM_CHANNELS)},
                "purchases": int(purchases_by_brand[b]),
                "spend_change": float(change[b]),
                # randomised holdout: incremental purchases per eligible consumer (intention to treat) over the
                # last season's calendar (the whole market when there is one season and no ads before it)
                "true_itt_purchases_per_consumer": float(last_season[b] / max(1, (~holdout).sum())),
            }
            for b in range(nb)
        },
        "holdout_consumers": int(holdout.sum()),
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
    return MarketTruth(truth)


def _targeting_crowd(power: np.ndarray, birth: np.ndarray, tier: np.ndarray, year: int) -> np.ndarray:
    """The crowd (SIM_CROWDS) a consumer's ad touches name: high purchasing power, young in a top-3 tier city,
    a lower-tier city, else broad.

    >>> import numpy as np
    >>> _targeting_crowd(np.array([5, 2, 2, 2]), np.array([1980, 2000, 1980, 1980]), np.array([1, 2, 5, 2]),
    ...                  2026).tolist()
    ['sim_high_spenders', 'sim_young_urban', 'sim_lower_tier', 'sim_broad']
    """
    return np.select([power >= 4, (year - birth <= 30) & (tier <= 3), tier >= 4], list(SIM_CROWDS[:3]),
                     SIM_CROWDS[3])


def _age_weights() -> np.ndarray:
    years = np.arange(1955, 2008)
    w = np.exp(-((years - 1992) ** 2) / (2 * 11.0**2))
    return w / w.sum()


def _events_table(cols, day0, rng, ids, brand_ids, cats, brand_cat, campaign: str) -> pa.Table:
    u = np.concatenate(cols["u"]).astype(np.int64)
    b = np.concatenate(cols["b"]).astype(np.int64)
    k = len(u)
    ts = (day0 + rng.integers(0, 86400, size=k)).astype("datetime64[s]")
    chan = np.concatenate(cols["chan"])
    amount = np.concatenate(cols["amount"])
    item = np.concatenate(cols["item"])
    etype = np.concatenate(cols["etype"])
    crowd, creative = np.concatenate(cols["crowd"]), np.concatenate(cols["creative"])
    order = np.where(etype == "purchase", np.char.add("o", np.arange(k).astype(str)), "")
    return pa.table({
        "consumer_id": pa.array(ids[u]),
        "brand_id": pa.array(np.asarray(brand_ids)[b]),
        "item_id": pa.array(item, mask=item == ""),
        "category_id": pa.array(np.asarray(cats)[brand_cat[b]]),
        "event_type": pa.array(etype),
        "channel": pa.array(chan, mask=chan == ""),
        "campaign_id": pa.array(np.full(k, campaign), mask=chan == ""),
        "crowd_id": pa.array(crowd, mask=crowd == ""),
        "creative_id": pa.array(creative, mask=creative == ""),
        "ts": pa.array(ts, type=pa.timestamp("s", tz="UTC")),
        "amount": pa.array(amount, mask=np.isnan(amount)),
        "order_id": pa.array(np.char.add(np.char.add(str(int(day0)), "-"), order), mask=order == ""),
    })
