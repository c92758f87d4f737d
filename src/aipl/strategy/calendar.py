"""Campaign calendars: a campaign's phases read from the campaigns table (loaded from files or declared in
aipl.toml), the days that matter to a plan (蓄水 window, presale start, selling period), and last year's
same campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import pandas as pd

from aipl import schema
from aipl.config import parse_day
from aipl.warehouse import Warehouse

SELLING = ("presale", "warmup", "burst")  # 活动期: from the presale start to the last burst day
DEFAULT_ACCUMULATE_DAYS = 60  # 蓄水期 when a calendar declares none (DOMAIN.md §6: 蓄水期60天A/I)


@dataclass(frozen=True)
class Campaign:
    """A campaign's calendar: (phase, start, end) rows in date order; two burst rows make a 双截棍 calendar."""

    campaign_id: str
    name: str
    brand: str | None
    phases: tuple[tuple[str, date, date], ...]

    @property
    def presale_start(self) -> date:
        """The first selling day (presale, else warmup, else burst): day 0 of every offset."""
        for wanted in SELLING:
            days = [a for p, a, _ in self.phases if p == wanted]
            if days:
                return min(days)
        raise ValueError(f"campaign {self.campaign_id!r} has no presale, warmup or burst phase")

    @property
    def selling_end(self) -> date:
        """The last day of the last selling phase."""
        return max(b for p, _, b in self.phases if p in SELLING)

    @property
    def d0(self) -> date:
        """The eve of the presale: the day the pools are counted."""
        return self.presale_start - timedelta(days=1)

    @property
    def accumulate(self) -> tuple[date, date]:
        """The 蓄水期 window: the declared accumulate phases, else the 60 days before the presale."""
        acc = [(a, b) for p, a, b in self.phases if p == "accumulate"]
        if acc:
            return min(a for a, _ in acc), max(b for _, b in acc)
        return self.d0 - timedelta(days=DEFAULT_ACCUMULATE_DAYS - 1), self.d0

    def phase_on(self, day: date) -> str | None:
        """The phase a day falls in (None outside the calendar)."""
        return next((p for p, a, b in self.phases if a <= day <= b), None)

    def to_dict(self) -> dict:
        return {"campaign_id": self.campaign_id, "name": self.name, "brand": self.brand,
                "phases": [{"phase": p, "start": str(a), "end": str(b)} for p, a, b in self.phases],
                "presale_start": str(self.presale_start), "selling_end": str(self.selling_end)}


def load_campaign(wh: Warehouse, campaign: str) -> Campaign:
    """The campaign's calendar from the campaigns table."""
    c = wh.table("campaigns")
    rows = c.filter(c.campaign_id == campaign).order_by(["start_date", "phase"]).execute()
    if rows.empty:
        known = sorted(c.select("campaign_id").distinct().execute().campaign_id)
        raise ValueError(f"unknown campaign {campaign!r}" + (f"; known: {', '.join(known)}" if known else
                                                             "; the campaigns table is empty"))
    brands = {b for b in rows.brand_id if isinstance(b, str) and b}
    name = next((n for n in rows.name if isinstance(n, str) and n), campaign)
    phases = tuple((r.phase, parse_day(r.start_date), parse_day(r.end_date)) for r in rows.itertuples())
    return Campaign(campaign, name, brands.pop() if len(brands) == 1 else None, phases)


def last_year(wh: Warehouse, campaign: Campaign, brand: str | None = None) -> Campaign | None:
    """Last year's same campaign: the same name, for the brand or platform-wide, with its presale start
    300 to 430 days earlier (the closest to 365)."""
    c = wh.table("campaigns")
    rows = c.filter((c.name == campaign.name) & (c.campaign_id != campaign.campaign_id)).select(
        "campaign_id", "brand_id").distinct().execute()
    best, best_dist = None, None
    for r in rows.itertuples():
        if isinstance(r.brand_id, str) and r.brand_id and r.brand_id != brand:
            continue
        other = load_campaign(wh, r.campaign_id)
        try:
            lag = (campaign.presale_start - other.presale_start).days
        except ValueError:
            continue
        if 300 <= lag <= 430 and (best_dist is None or abs(lag - 365) < best_dist):
            best, best_dist = other, abs(lag - 365)
    return best


def calendars_from_config(section: dict) -> pd.DataFrame:
    """Rows of the campaigns table from aipl.toml's [campaigns.<id>] tables:

    [campaigns.double11_2026]
    name = "双11"
    brand = "B01"                         # optional: empty = platform-wide
    accumulate = [["2026-09-15", "2026-10-19"]]
    presale = [["2026-10-20", "2026-10-31"], ["2026-11-04", "2026-11-10"]]   # 双截棍: two waves
    burst = [["2026-10-31", "2026-11-03"], ["2026-11-11", "2026-11-11"]]
    """
    rows = []
    for cid, spec in section.items():
        if not isinstance(spec, dict):
            raise ValueError(f"[campaigns.{cid}] must be a table")
        unknown = sorted(set(spec) - {"name", "brand", *schema.PHASES})
        if unknown:
            raise ValueError(f"[campaigns.{cid}]: unknown key(s) {', '.join(unknown)}; phases are "
                             f"{', '.join(schema.PHASES)}")
        for phase in schema.PHASES:
            for k, span in enumerate(spec.get(phase, [])):
                if not (isinstance(span, list) and len(span) == 2):
                    raise ValueError(f"[campaigns.{cid}] {phase}[{k}] must be [start, end]")
                a = parse_day(span[0], f"[campaigns.{cid}] {phase} start")
                b = parse_day(span[1], f"[campaigns.{cid}] {phase} end")
                if b < a:
                    raise ValueError(f"[campaigns.{cid}] {phase}[{k}] ends ({b}) before it starts ({a})")
                rows.append({"campaign_id": cid, "name": spec.get("name", cid), "brand_id": spec.get("brand"),
                             "phase": phase, "start_date": a, "end_date": b})
        if not any(r["campaign_id"] == cid for r in rows):
            raise ValueError(f"[campaigns.{cid}] declares no phase")
    return pd.DataFrame(rows, columns=["campaign_id", "name", "brand_id", "phase", "start_date", "end_date"])


def sync_calendars(wh: Warehouse, section: dict) -> int:
    """Replace the campaigns declared in aipl.toml in the campaigns table (one transaction); returns rows."""
    from aipl.warehouse import ibis_schema

    df = calendars_from_config(section)
    if df.empty:
        return 0
    rows = ibis.memtable(df).cast(ibis_schema(schema.CAMPAIGNS))
    wh.replace_rows("campaigns", rows, keys=["campaign_id"])
    return len(df)
