"""Brand health: FAST with industry percentiles, the ranking (other tenants' brands anonymised), GROW."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request

from aipl.api.deps import ERRORS, Caller, Paging, brand_of, cached, warehouse
from aipl.api.routers.assets import data_day

router = APIRouter(prefix="/api/health", tags=["health"], responses=ERRORS)
Day = Annotated[date | None, Query(description="default: the 30 days to the last day")]


def _period(request: Request, start: date | None, end: date | None) -> tuple[date, date]:
    end = end or data_day(request)
    if start is None and end < date.min + timedelta(days=29):
        raise HTTPException(422, f"end {end} leaves no 30-day period before it; give start")
    return start or end - timedelta(days=29), end  # a reversed period: assets.health says so (422)


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in df.to_dict("records")]


@router.get("/fast")
def fast(request: Request, who: Caller, start: Day = None, end: Day = None) -> dict:
    """FAST per granted brand (F 可运营人群, A 加深率, S 会员, T 会员活跃率), each metric's percentile within
    its category, and the category's P25/P50/P75/P90 (aggregates only)."""
    from aipl.assets.health import benchmarks
    from aipl.assets.health import fast as fast_of

    start, end = _period(request, start, end)
    table = cached(request, ("fast", start, end), lambda: fast_of(warehouse(request), start, end))

    def answer() -> dict:
        pct = table.copy()
        for m in ("F", "A", "S", "T"):
            pct[f"{m}_pct"] = table.groupby("category_id")[m].rank(pct=True)
        mine = pct[pct.brand_id.isin(who.brands)]
        bench = benchmarks(table)
        bench = bench[bench.category_id.isin(mine.category_id)]
        return {"from": str(start), "to": str(end), "brands": _records(mine), "benchmarks": _records(bench)}

    return cached(request, ("fast_answer", who.brands, start, end), answer)


@router.get("/ranking")
def ranking(request: Request, who: Caller, paging: Paging, start: Day = None, end: Day = None,
            category: str | None = None) -> dict:
    """The FAST 健康度榜单 of the categories the tenant sells in; other tenants' brands appear as 同行 peers with
    their rank and score only."""
    from aipl.assets.health import fast as fast_of
    from aipl.assets.health import ranking as rank_of

    start, end = _period(request, start, end)
    table = rank_of(cached(request, ("fast", start, end), lambda: fast_of(warehouse(request), start, end)), category)
    mine = set(table.category_id[table.brand_id.isin(who.brands)])
    table = table[table.category_id.isin(mine)].copy()
    table["own"] = table.brand_id.isin(who.brands)
    table.loc[~table.own, "brand_id"] = "同行 peer"
    table.loc[~table.own, ["F", "A", "S", "T"]] = None  # a peer's rank and score are the 榜单; its figures are its own
    cols = ["category_id", "rank", "brand_id", "own", "score", "F", "A", "S", "T"]
    return {"from": str(start), "to": str(end), **paging.cut(_records(table[cols]))}


@router.get("/grow/{brand}")
def grow(request: Request, who: Caller, brand: str, start0: date, end0: date, start1: date, end1: date) -> dict:
    """GROW: the GMV change between two periods split into G 渗透, R 复购, O 价格 and W."""
    from aipl.assets.health import grow as grow_of

    brand_of(who, brand)
    return grow_of(warehouse(request), brand, (str(start0), str(end0)), (str(start1), str(end1)))
