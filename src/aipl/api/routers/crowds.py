"""Crowds (the 达摩盘-style builder): the tag catalogue with its values, the crowd language both ways (text ⇄
tree), a live count, the tenant's saved crowds, saving one, insight (TGI against a comparison crowd), lookalike,
the built-in crowds with their sizes, per-capita spend against the market, cross-category penetration, and the
audited export (consumer ids, or hashed phone numbers, OAIDs or IDFAs, with a manifest). A crowd may only name
the tenant's own brands; saved names are the tenant's own (built-in crowds are shared): the tenant is the
audience engine's namespace."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from aipl.api.auth import Principal
from aipl.api.deps import ERRORS, Caller, PageOf, Paging, brand_of, cached, need, warehouse, write
from aipl.audience import (
    brands_of,
    built_in_crowds,
    category_penetration,
    check_crowd,
    count_crowd,
    create_crowd,
    crowd_insight,
    crowd_lookalike,
    crowd_tree,
    export_crowd,
    list_crowds,
    sector_spend,
    sight,
    tag_catalogue,
    to_text,
)
from aipl.results import records

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


class TagValue(BaseModel):
    """A value a tag takes on the tag day (per `key` for keyed tags), how many consumers hold it, its labels."""

    key: str | None
    value: str | int
    count: int
    zh: str
    en: str


class TagOut(BaseModel):
    """A tag of the catalogue: number tags take ranges, category tags labels; `key` is what a keyed tag is per;
    the values the tenant may see, with their counts (when asked)."""

    name: str
    zh: str
    en: str
    kind: str
    key: str | None
    description: str
    zh_description: str
    values: list[TagValue] = Field(default_factory=list)


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
    the features left out for restating the seed, the name it was saved under, and whether the model or the
    cart/favourite rule chose the crowd (`method`), with the two compared on held-out consumers (`holdout`)."""

    seed: str
    seed_size: int
    k: float
    size: int
    c: float
    top_features: dict[str, float]
    left_out: list[str]
    saved: str | None
    method: str = "lookalike"
    rule: str = ""
    holdout: dict | None = None


class TreeIn(BaseModel):
    """A crowd's JSON tree (docs/crowds.md): {"and": […]}, {"or": […]}, {"minus": [a, b]}, {"not": …},
    {"crowd": name}, {"list": name}, a tag test or a behaviour count."""

    tree: dict


class CrowdText(BaseModel):
    """A crowd in both forms: the crowd language (`expr`, with only the parentheses it needs) and its tree."""

    expr: str
    tree: dict


class BuiltInRow(BaseModel):
    """A built-in crowd: names in both languages, its group (strategy, lower_tier, apparel, cross_category), its
    expression and size on the tag day (None, with why, when the tenant may not see it)."""

    name: str
    zh: str
    en: str
    group: str
    expr: str
    size: int | None
    withheld: str | None


class BuiltInOut(BaseModel):
    """The built-in crowds."""

    items: list[BuiltInRow]


class SpendRow(BaseModel):
    """A crowd's buyers in the period, their GMV and spend per head against the market's (index = 100 × ratio)."""

    crowd: str
    zh: str
    en: str
    consumers: int
    buyers: int
    gmv: float
    per_capita: float | None
    market_per_capita: float | None
    index: float | None
    gmv_share: float | None


class SpendOut(BaseModel):
    """Per-capita spend of crowds against the market."""

    items: list[SpendRow]


class PenetrationRow(BaseModel):
    """Of the buyers of category group `a`, the share who also bought `b` (penetration), against the share of
    all buyers who bought `b` (base rate; TGI = 100 × ratio), and the crowd of the buyers of both."""

    a: str
    b: str
    buyers_a: int
    buyers_b: int
    both: int
    penetration: float | None
    base_rate: float | None
    tgi: float | None
    expr: str


class PenetrationOut(BaseModel):
    """Cross-category penetration between the level-1 category groups."""

    days: int
    items: list[PenetrationRow]


class ExportIn(CrowdIn):
    """An export of the crowd: consumer ids, or the consumers' phone numbers, OAIDs or IDFAs hashed (md5 or
    sha256, required for them); `format` csv, txt (one a line, no header: what DMPs take) or parquet."""

    id_type: Literal["consumer_id", "phone", "oaid", "idfa"] = "consumer_id"
    hash: Literal["md5", "sha256"] | None = None
    format: Literal["csv", "txt", "parquet"] = "csv"


class ExportOut(BaseModel):
    """The logged export (its audit id, rows, digest, identifier and hash) and where to download the file."""

    export_id: str
    crowd: str
    expr: str | None
    actor: str
    rows: int
    consumers: int
    id_type: str
    hash: str
    sha256: str
    exported_at: datetime
    download: str


def _granted(tree: dict, who: Principal) -> dict:
    """`tree`, or 403 if it names a brand not granted to the tenant."""
    denied = sorted(brands_of(tree) - who.brands)
    if denied:
        raise HTTPException(403, f"the crowd names brand {denied[0]!r}, which is not granted to tenant "
                            f"{who.tenant!r}")
    return tree


def _checked(request: Request, who: Principal, expr: str | dict) -> dict:
    """The crowd as a tree once it resolves for the tenant as a count would (its saved crowds and lists only: 404
    for another tenant's), so that the builder never echoes what the tenant may not read."""
    tree = crowd_tree_of(request, who, expr)
    wh = warehouse(request)
    count_crowd(wh, tree, who.tenant, request.app.state.tag_index(wh))
    return tree


def crowd_tree_of(request: Request, who: Principal, expr: str | dict) -> dict:
    """The caller's crowd (expression or name) as a tree; 403 if it names a brand not granted to the tenant, or
    reads category-level or platform-wide data over too few other brands ([privacy] min_peer_brands)."""
    tree = _granted(crowd_tree(expr), who)
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


@router.get("/tags", response_model_exclude_unset=True)
def tags(request: Request, who: Caller, values: bool = False) -> TagsOut:
    """The tags a crowd expression can use; with `values`, the values each takes on the tag day and how many
    consumers hold them (those the tenant may see)."""
    if not values:
        return TagsOut(items=tag_catalogue().astype(object).where(lambda d: d.notna(), None).to_dict("records"))
    wh = warehouse(request)
    seen = cached(request, ("sight", who.brands), lambda: sight(wh, who.brands))
    return TagsOut(items=tag_catalogue(request.app.state.tag_index(wh), seen).astype(object)
                   .where(lambda d: d.notna(), None).to_dict("records"))


@router.post("/parse")
def parse_crowd(request: Request, body: CrowdIn, who: Caller) -> CrowdText:
    """The tree of a crowd expression (422 saying where it does not parse; 403 when it reads data the tenant may
    not see, as for a count), and the expression written back."""
    tree = _checked(request, who, body.expr)
    return CrowdText(expr=to_text(tree), tree=tree)


@router.post("/text")
def tree_text(request: Request, body: TreeIn, who: Caller) -> CrowdText:
    """The crowd language of a tree (422 naming the node at fault; 403 when it reads data the tenant may not see)."""
    tree = _checked(request, who, body.tree)
    return CrowdText(expr=to_text(tree), tree=tree)


@router.get("/builtin")
def built_in(request: Request, who: Caller) -> BuiltInOut:
    """The built-in crowds (strategy, 下沉 lower-tier, apparel, cross-category) with their sizes on the tag day."""
    wh = warehouse(request)
    rows = cached(request, ("builtin", who.brands), lambda: records(
        built_in_crowds(wh, request.app.state.tag_index(wh), who.brands)))
    return BuiltInOut(items=rows)


@router.get("/spend")
def spend(request: Request, who: Caller, start: date, end: date, brand: str | None = None,
          category: Annotated[list[str] | None, Query(max_length=20)] = None,
          crowd: Annotated[list[str] | None, Query(max_length=10)] = None) -> SpendOut:
    """Per-capita spend of crowds (default: the apparel strategy crowds GenZ, 潮流人群, 奢品人群) against the
    market's from `start` to `end`, over the purchases of one of the tenant's brands or of categories."""
    if brand is not None:
        brand_of(who, brand)
    if start > end:
        raise HTTPException(422, f"start {start} is after end {end}")
    wh = warehouse(request)
    for c in crowd or ():
        crowd_tree_of(request, who, c)
    kw = {"crowds": crowd} if crowd else {}
    df = sector_spend(wh, start, end, brand=brand, categories=category or (), namespace=who.tenant,
                      index=request.app.state.tag_index(wh), viewer=who.brands, **kw)
    return SpendOut(items=records(df))


@router.get("/penetration")
def penetration(request: Request, who: Caller, days: Annotated[int, Query(ge=1, le=3650)] = 365) -> PenetrationOut:
    """Cross-category penetration (Fashion × Beauty) between the level-1 category groups, over `days` up to the
    tag day; pairs over categories with too few other brands are left out for a tenant."""
    wh = warehouse(request)
    df = cached(request, ("penetration", days, who.brands), lambda: category_penetration(
        wh, days, who.brands, request.app.state.tag_index(wh)))
    return PenetrationOut(days=days, items=records(df))


@router.post("/export", status_code=201)
def export(request: Request, body: ExportIn, who: Annotated[Principal, Depends(need("analyst"))]) -> ExportOut:
    """Export the crowd through the audited, privacy-guarded path (never below [privacy] min_crowd_size: 403):
    consumer ids, or hashed phone numbers, OAIDs or IDFAs with a manifest; download the file from `download`."""
    tree = crowd_tree_of(request, who, body.expr)
    folder = _exports(request, who)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{uuid.uuid4().hex}.{body.format}"
    res = write(request, lambda wh: export_crowd(wh, tree, out, f"{who.tenant}/{who.role}", who.tenant,
                                                 request.app.state.tag_index(wh), body.id_type, body.hash,
                                                 viewer=who.brands))
    return ExportOut(**{**res.to_dict(), "download": f"/api/crowds/exports/{res.export_id}"})


@router.get("/exports/{export_id}", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the exported file"}})
def download(request: Request, export_id: Annotated[str, PathParam(pattern="^[0-9a-f]{32}$")],
             who: Annotated[Principal, Depends(need("analyst"))]) -> FileResponse:
    """The file of one of the tenant's exports (404 for another tenant's)."""
    wh = warehouse(request)
    folder = _exports(request, who).resolve()
    rows = wh.table("crowd_exports") if wh.has_table("crowd_exports") else None
    found = None if rows is None else rows.filter(rows.export_id == export_id).execute()
    if found is None or not len(found) or Path(found.path.iloc[0]).parent != folder \
            or not Path(found.path.iloc[0]).exists():
        raise HTTPException(404, f"no export {export_id!r} for this tenant")
    path = Path(found.path.iloc[0])
    return FileResponse(path, filename=f"crowd-{export_id}{path.suffix}")


def _exports(request: Request, who: Principal) -> Path:
    """The folder of the tenant's exported files in the workspace."""
    return Path(request.app.state.root) / "exports" / who.tenant
