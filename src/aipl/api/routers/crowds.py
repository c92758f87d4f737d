"""Crowds: a live count for an expression, the tenant's saved crowds, saving one, insight, lookalike and the
tag catalogue. A crowd may only name the tenant's own brands; saved names are the tenant's own (built-in crowds
are shared): the tenant is the audience engine's namespace."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from aipl.api.auth import Principal
from aipl.api.deps import ERRORS, Caller, PageOf, Paging, brand_of, cached, need, warehouse, write
from aipl.audience import (
    brands_of,
    check_crowd,
    count_crowd,
    create_crowd,
    crowd_insight,
    crowd_lookalike,
    crowd_tree,
    list_crowds,
    sight,
    tag_catalogue,
)

router = APIRouter(prefix="/api/crowds", tags=["crowds"], responses=ERRORS)
Expr = Annotated[str, Field(min_length=1, max_length=2000)]


class CrowdIn(BaseModel):
    """A crowd expression in the crowd language (docs/crowds.md), e.g. `aipl(brand="B01") = "I" and age < 30`,
    or a saved or built-in crowd's name."""

    expr: Expr


Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-\u4e00-\u9fff]+$")]


class CrowdSave(CrowdIn):
    """A crowd to save under a name."""

    name: Name


class LookalikeIn(BaseModel):
    """A lookalike of the `seed` crowd, k times its size (放大倍数), saved as a crowd named `save` if given."""

    seed: Expr
    k: float = Field(default=3.0, gt=0, le=20)
    save: Name | None = None


class InsightIn(CrowdIn):
    """A crowd's insight: against a base crowd (default: everyone), only some tags, overlap with other crowds,
    and the AIPL flow with one of the tenant's brands from `start` to `end`."""

    base: Expr | None = None
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=50)
    compare: list[Expr] = Field(default_factory=list, max_length=10)
    brand: str | None = Field(default=None, max_length=64)
    start: date | None = None
    end: date | None = None


class CrowdCountOut(BaseModel):
    """How many of the consumers with tags (`of`) the crowd holds on the tag day, and how long it took."""

    expr: str
    count: int
    of: int
    day: date | None
    ms: float


class SavedCrowdOut(BaseModel):
    """A saved crowd: coverage on the tag day and the last day it is valid."""

    name: str
    expr: str
    coverage: int
    valid_until: date
    source: str


class CrowdRow(BaseModel):
    """One of the tenant's saved crowds, or a built-in crowd (no coverage, no dates)."""

    name: str
    expr: str
    coverage: int | None = None
    source: str
    created: datetime | None = None
    valid_until: date | None = None


class CrowdPage(PageOf[CrowdRow]):
    """A page of crowds."""


class TagOut(BaseModel):
    """A tag of the catalogue: number tags take ranges, category tags labels; `key` is what a keyed tag is per."""

    name: str
    zh: str
    en: str
    kind: str
    key: str | None
    description: str


class TagsOut(BaseModel):
    """The tag catalogue."""

    items: list[TagOut]


class ProfileRow(BaseModel):
    """A tag value's share in the crowd and in the base, and TGI = 100 × crowd share ÷ base share."""

    tag: str
    name: str
    key: str | None
    value: str | int | float
    crowd_share: float
    base_share: float
    tgi: float | None


class OverlapRow(BaseModel):
    """Two crowds' sizes, their intersection and the Jaccard index."""

    a: str
    b: str
    size_a: int
    size_b: int
    both: int
    jaccard: float


class FlowOut(BaseModel):
    """The crowd's moves between AIPL states with the brand (`matrix[from state][to state]`)."""

    model_config = {"populate_by_name": True}

    brand: str
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    consumers: int
    matrix: dict[str, dict[str, int]]


class InsightOut(BaseModel):
    """A crowd's size, profile against the base, overlap with the crowds compared and AIPL flow."""

    expr: str
    size: int
    profile: list[ProfileRow]
    overlap: list[OverlapRow]
    flow: FlowOut | None


class LookalikeOut(BaseModel):
    """The lookalike crowd's size, the seed's, the PU-learning constant c, the features that decided most and
    the features left out for restating the seed, and the name it was saved under."""

    seed: str
    seed_size: int
    k: float
    size: int
    c: float
    top_features: dict[str, float]
    left_out: list[str]
    saved: str | None


def crowd_tree_of(request: Request, who: Principal, expr: str) -> dict:
    """The caller's crowd (expression or name) as a tree; 403 if it names a brand not granted to the tenant, or
    reads category-level or platform-wide data over too few other brands ([privacy] min_peer_brands)."""
    tree = crowd_tree(expr)
    denied = sorted(brands_of(tree) - who.brands)
    if denied:
        raise HTTPException(403, f"the crowd names brand {denied[0]!r}, which is not granted to tenant "
                            f"{who.tenant!r}")
    seen = cached(request, ("sight", who.brands), lambda: sight(warehouse(request), who.brands))
    check_crowd(warehouse(request), tree, who.brands, seen)
    return tree


@router.post("/count")
def count(request: Request, body: CrowdIn, who: Caller) -> CrowdCountOut:
    """How many consumers the crowd holds on the tag day (bitmap index), and how long it took."""
    wh = warehouse(request)
    res = count_crowd(wh, crowd_tree_of(request, who, body.expr), who.tenant, request.app.state.tag_index(wh))
    return CrowdCountOut(**res.to_dict())


@router.get("")
def listing(request: Request, who: Caller, paging: Paging) -> CrowdPage:
    """The tenant's saved crowds, then the built-in ones."""
    rows = list_crowds(warehouse(request), who.tenant).astype(object)
    return CrowdPage(**paging.cut([{k: (None if v != v else v) for k, v in r.items()}
                                   for r in rows.to_dict("records")]))


@router.post("", status_code=201)
def create(request: Request, body: CrowdSave, who: Annotated[Principal, Depends(need("analyst"))]) -> SavedCrowdOut:
    """Save a named crowd for the tenant (valid for 90 days)."""
    tree = crowd_tree_of(request, who, body.expr)
    res = write(request, lambda wh: create_crowd(wh, body.name, tree, who.tenant, request.app.state.tag_index(wh)))
    return SavedCrowdOut(**res.to_dict())


@router.post("/insight")
def insight(request: Request, body: InsightIn, who: Caller) -> InsightOut:
    """A crowd's profile against a base (TGI per tag value), its overlap with other crowds and its AIPL flow
    with one of the tenant's brands."""
    if body.brand is not None:
        brand_of(who, body.brand)
    wh = warehouse(request)
    base = crowd_tree_of(request, who, body.base) if body.base is not None else None
    compare = [crowd_tree_of(request, who, c) for c in body.compare]
    tree = crowd_tree_of(request, who, body.expr)
    res = crowd_insight(wh, tree, base, body.tags, compare, body.brand, body.start, body.end, who.tenant,
                        request.app.state.tag_index(wh), viewer=who.brands)
    return InsightOut(**res.to_dict())


@router.post("/lookalike")
def lookalike(request: Request, body: LookalikeIn,
              who: Annotated[Principal, Depends(need("analyst"))]) -> LookalikeOut:
    """Consumers who look like the seed crowd (PU learning over the tags), saved for the tenant when named."""
    seed = crowd_tree_of(request, who, body.seed)

    def run(wh):
        return crowd_lookalike(wh, seed, body.k, body.save, who.tenant, request.app.state.tag_index(wh),
                               viewer=who.brands)

    res = write(request, run) if body.save else run(warehouse(request))
    return LookalikeOut(**res.to_dict())


@router.get("/tags")
def tags(who: Caller) -> TagsOut:
    """The tags a crowd expression can use."""
    return TagsOut(items=tag_catalogue().astype(object).where(lambda d: d.notna(), None).to_dict("records"))
