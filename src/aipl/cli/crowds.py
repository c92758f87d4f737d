"""`aipl crowd …`: tags, the crowd language, insight, lookalike, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aipl.cli.common import (
    JsonOpt,
    WorkspaceOpt,
    _fail,
    _group,
    _session,
    err,
    out,
)

# ---- crowds
crowd_app = _group("crowd", "Crowds (达摩盘): tags, the crowd language, counts, insight, lookalike, export.")
ExprArg = Annotated[str, typer.Argument(help='A crowd: an expression (e.g. \'city_tier in (3,4) and age between '
                                        '18 and 30\'), its JSON tree, or a saved or built-in crowd\'s name.')]


def _crowd_tree(wh, expr: str) -> dict:
    from aipl.audience import CrowdSyntaxError
    from aipl.audience.crowds import saved, tree_of

    if expr.isidentifier():  # a bare name is never an expression: a saved or built-in crowd ("no crowd named …")
        return saved(wh, expr)["tree"]
    try:
        return tree_of(expr)
    except CrowdSyntaxError as exc:
        _fail(f"the crowd expression does not parse {exc}")


@crowd_app.command("refresh")
def crowd_refresh(
    date: Annotated[str, typer.Option(help="The tag day (YYYY-MM-DD): windows end on it.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Compute the tags for a day and bring the bitmap index up to date (only changed bitmaps are rewritten)."""
    from aipl.audience import refresh

    with _session(workspace, assets=True) as wh:
        res = refresh(wh, date, report=lambda m: err.print(f"  {m}"))
    out.print(f"tags of {res['day']}: {res['new_ids']:,} new consumers, {res['bitmaps_rewritten']:,} bitmaps rewritten")


@crowd_app.command("tags")
def crowd_tags(as_json: JsonOpt = False) -> None:
    """The tag catalogue."""
    from aipl.audience import CATALOGUE

    if as_json:
        print(json.dumps([vars(t) for t in CATALOGUE.values()], ensure_ascii=False))
        return
    t = Table("tag", "名称", "name", "kind", "per", "description")
    for tag in CATALOGUE.values():
        t.add_row(tag.name, tag.zh, tag.en, tag.kind, tag.key or "", tag.description)
    out.print(t)


@crowd_app.command("count")
def crowd_count(expr: ExprArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """How many consumers a crowd holds (and how long the bitmap evaluation took)."""
    import time

    from aipl.audience import TagIndex, to_text

    with _session(workspace) as wh:
        tree = _crowd_tree(wh, expr)
        index = TagIndex.load(wh)
        t0 = time.perf_counter()
        n = index.count(tree)
        ms = 1000 * (time.perf_counter() - t0)
    if as_json:
        print(json.dumps({"expr": to_text(tree), "tree": tree, "count": n, "of": len(index.universe),
                          "day": str(index.day), "ms": ms}, ensure_ascii=False))
        return
    out.print(f"{n:,} of {len(index.universe):,} consumers ({ms:.2f} ms) on {index.day}: {escape(to_text(tree))}")


@crowd_app.command("create")
def crowd_create(name: Annotated[str, typer.Argument(help="The crowd's name.")], expr: ExprArg,
                 workspace: WorkspaceOpt = None) -> None:
    """Save a named crowd (valid for 90 days); other crowds can use it as crowd("name")."""
    from aipl.audience.crowds import save

    with _session(workspace) as wh:
        row = save(wh, name, _crowd_tree(wh, expr))
    out.print(f"crowd {name!r}: {row['coverage']:,} consumers, valid until {row['valid_until']}")


@crowd_app.command("list")
def crowd_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Saved and built-in crowds."""
    from aipl.audience.crowds import listing

    with _session(workspace) as wh:
        df = listing(wh)
    if as_json:
        print(df.to_json(orient="records", force_ascii=False, date_format="iso"))
        return
    t = Table("name", "source", "coverage", "expression")
    for r in df.itertuples():
        cov = getattr(r, "coverage", None)
        t.add_row(r.name, escape(str(r.source)), f"{int(cov):,}" if cov == cov and cov is not None else "",
                  escape(r.expr))
    out.print(t)


@crowd_app.command("insight")
def crowd_insight(
    expr: ExprArg,
    base: Annotated[str | None, typer.Option(help="The base crowd (default: everyone).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only these tags (repeatable).")] = None,
    brand: Annotated[str | None, typer.Option(help="Also the crowd's AIPL flow with this brand …")] = None,
    start: Annotated[str | None, typer.Option("--from", help="… from this day …")] = None,
    end: Annotated[str | None, typer.Option("--to", help="… to this day.")] = None,
    compare: Annotated[list[str] | None, typer.Option(help="Other crowds to overlap with (repeatable).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A crowd's profile against a base (TGI per tag value), its overlap with other crowds, its AIPL flow."""
    from aipl.audience import TagIndex
    from aipl.audience.crowds import crowd_flow, insight, overlap

    with _session(workspace) as wh:
        index = TagIndex.load(wh)
        ids = index.evaluate(_crowd_tree(wh, expr))
        base_ids = index.evaluate(_crowd_tree(wh, base)) if base else None
        prof = insight(index, ids, base_ids)
        if tag:
            prof = prof[prof.tag.isin(tag)]
        over = overlap({expr: ids, **{c: index.evaluate(_crowd_tree(wh, c)) for c in compare or []}})
        flow = crowd_flow(wh, ids, brand, start, end) if brand and start and end else None
    body = {"size": len(ids), "profile": prof.to_dict(orient="records"), "overlap": over.to_dict(orient="records"),
            "flow": flow}
    if as_json:
        print(json.dumps(body, default=str, ensure_ascii=False))
        return
    out.print(f"{len(ids):,} consumers")
    t = Table("tag", "key", "value", "crowd", "base", "TGI")
    for r in prof.itertuples():
        t.add_row(r.tag, r.key if isinstance(r.key, str) else "", str(r.value), f"{r.crowd_share:.1%}",
                  f"{r.base_share:.1%}", f"{r.tgi:.0f}" if r.tgi == r.tgi and r.tgi is not None else "—")
    out.print(t)
    for r in over.itertuples():
        out.print(f"overlap {escape(r.a)} ∩ {escape(r.b)}: {r.both:,} (Jaccard {r.jaccard:.3f})")
    if flow:
        out.print(f"AIPL flow with {brand} {start} → {end}: " + "; ".join(
            f"{a}→{b} {n:,}" for a, row in flow["matrix"].items() for b, n in row.items() if n))


@crowd_app.command("lookalike")
def crowd_lookalike(
    seed: ExprArg,
    k: Annotated[float, typer.Option(help="Multiple of the seed's size (放大倍数).")] = 3.0,
    save: Annotated[str | None, typer.Option(help="Save the lookalike crowd under this name.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Consumers who look like the seed: a PU-learning LightGBM over the tags, top k·|seed| outside the seed."""
    from pyroaring import BitMap

    from aipl.audience import TagIndex
    from aipl.audience.crowds import save as save_crowd
    from aipl.audience.lookalike import features, lookalike

    with _session(workspace) as wh:
        index = TagIndex.load(wh)
        ids = index.evaluate(_crowd_tree(wh, seed))
        scores, summary = lookalike(features(wh), ids, k)
        top = scores.head(summary["size"])
        if save:
            from aipl.audience.crowds import consumer_ids
            from aipl.clv import save_list

            save_list(wh, save, "", index.day, consumer_ids(wh, BitMap(top.index.tolist())))
            save_crowd(wh, save, {"list": save}, source=f"lookalike of {seed} × {k}", index=index)
    summary["saved"] = save
    if as_json:
        print(json.dumps(summary, default=str, ensure_ascii=False))
        return
    out.print(f"lookalike of {len(ids):,} seed consumers × {k}: {summary['size']:,} consumers "
              f"(PU c = {summary['c']:.2f}); top features: " + ", ".join(list(summary["top_features"])[:5]))
    if save:
        out.print(f"saved as crowd {save!r}")


@crowd_app.command("export")
def crowd_export(
    expr: ExprArg,
    out_file: Annotated[Path, typer.Option("--out", help="CSV or Parquet file of consumer ids.")],
    actor: Annotated[str | None, typer.Option(help="Who exports (for the audit log; default: the OS user).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Export a crowd's consumer ids (never below [privacy] min_crowd_size), logged in crowd_exports."""
    from aipl.audience import TagIndex
    from aipl.audience.crowds import export

    with _session(workspace) as wh:
        ids = TagIndex.load(wh).evaluate(_crowd_tree(wh, expr))
        row = export(wh, expr, ids, out_file, actor)
    out.print(f"exported {row['rows']:,} consumer ids to {out_file} (sha256 {row['sha256'][:12]}…), logged")


