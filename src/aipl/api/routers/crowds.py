"""Crowds: a live count for an expression, the tenant's saved crowds, saving one. A crowd may only name the
tenant's own brands; saved names are the tenant's own (built-in crowds are shared)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from aipl.api.auth import Principal
from aipl.api.deps import ERRORS, Caller, Paging, need, warehouse

router = APIRouter(prefix="/api/crowds", tags=["crowds"], responses=ERRORS)


class CrowdIn(BaseModel):
    """A crowd expression in the crowd language (docs/crowds.md), e.g. `aipl(brand="B01") = "I" and age < 30`."""

    expr: str = Field(min_length=1, max_length=2000)


class CrowdSave(CrowdIn):
    """A crowd to save under a name."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-\u4e00-\u9fff]+$")


def _scoped(who: Principal, tree, known_brands: set[str]):
    """The tree with saved crowd and list names made the tenant's own; 403 if it names a brand not granted."""
    from aipl.audience.crowds import BUILT_IN

    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            if k in ("crowd", "list") and isinstance(v, str):
                out[k] = v if (k == "crowd" and v in BUILT_IN) else f"{who.tenant}:{v}"
            else:
                out[k] = _scoped(who, v, known_brands)
        return out
    if isinstance(tree, list):
        return [_scoped(who, v, known_brands) for v in tree]
    if isinstance(tree, str) and tree in known_brands and tree not in who.brands:
        raise HTTPException(403, f"the crowd names brand {tree!r}, which is not granted to tenant {who.tenant!r}")
    return tree


def crowd_tree(request: Request, who: Principal, expr: str) -> dict:
    """The caller's crowd expression (or saved crowd name) as a tree scoped to its tenant; 4xx when invalid."""
    from aipl.audience import CrowdSyntaxError
    from aipl.audience.crowds import tree_of

    try:
        tree = tree_of(expr) if not expr.isidentifier() else {"crowd": expr}
    except CrowdSyntaxError as exc:
        raise HTTPException(422, f"the crowd expression does not parse {exc}") from exc
    return _scoped(who, tree, request.app.state.all_brands)


@router.post("/count")
def count(request: Request, body: CrowdIn, who: Caller) -> dict:
    """How many consumers the crowd holds on the tag day (bitmap index), and how long it took."""
    import time

    from aipl.audience import TagIndex, to_text

    tree = crowd_tree(request, who, body.expr)
    index = request.app.state.tag_index(warehouse(request))
    t0 = time.perf_counter()
    try:
        n = index.count(tree)
    except (KeyError, ValueError) as exc:
        raise HTTPException(422, str(exc).replace(f"{who.tenant}:", "")) from exc
    assert isinstance(index, TagIndex)
    return {"expr": to_text(tree).replace(f"{who.tenant}:", ""), "count": n, "of": len(index.universe),
            "day": str(index.day), "ms": 1000 * (time.perf_counter() - t0)}


@router.get("")
def listing(request: Request, who: Caller, paging: Paging) -> dict:
    """The tenant's saved crowds."""
    from aipl.audience.crowds import listing as all_crowds

    df = all_crowds(warehouse(request))
    prefix = f"{who.tenant}:"
    rows = [{**r, "name": r["name"][len(prefix):]} for r in df.astype(object).to_dict("records")
            if str(r["name"]).startswith(prefix)]
    rows = [{k: (str(v) if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows]
    return paging.cut(rows)


@router.post("", status_code=201)
def create(request: Request, body: CrowdSave, who: Annotated[Principal, Depends(need("analyst"))]) -> dict:
    """Save a named crowd for the tenant (valid for 90 days)."""
    from aipl.audience.crowds import save

    tree = crowd_tree(request, who, body.expr)
    try:
        row = save(warehouse(request), f"{who.tenant}:{body.name}", tree, index=request.app.state.tag_index(
            warehouse(request)))
    except (KeyError, ValueError) as exc:
        raise HTTPException(422, str(exc).replace(f"{who.tenant}:", "")) from exc
    return {"name": body.name, "coverage": row["coverage"], "valid_until": str(row["valid_until"])}
