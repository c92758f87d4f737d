"""`aipl crowd …`: tags, the crowd language, insight, lookalike, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aipl.audience import (
    built_in_crowds,
    category_penetration,
    count_crowd,
    create_crowd,
    crowd_insight,
    crowd_lookalike,
    export_crowd,
    list_crowds,
    refresh,
    sector_spend,
    tag_catalogue,
)
from aipl.cli.common import JsonOpt, WorkspaceOpt, _group, _print_json, _session, err, out

# ---- crowds
crowd_app = _group("crowd", "Crowds (达摩盘): tags, the crowd language, counts, insight, lookalike, export.")
ExprArg = Annotated[str, typer.Argument(help='A crowd: an expression (e.g. \'city_tier in (3,4) and age between '
                                        '18 and 30\'), its JSON tree, or a saved or built-in crowd\'s name.')]


@crowd_app.command("refresh")
def crowd_refresh(
    day: Annotated[str, typer.Option(help="The tag day (YYYY-MM-DD): windows end on it.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute the tags for a day and bring the bitmap index up to date (only changed bitmaps are rewritten)."""
    with _session(workspace, assets=True) as wh:
        res = refresh(wh, day, report=lambda m: err.print(f"  {m}"))
    if as_json:
        _print_json(res)
        return
    out.print(f"tags of {res['day']}: {res['new_ids']:,} new consumers, tags of {res['recomputed']:,} recomputed "
              f"({res['changed']:,} changed), {res['bitmaps_rewritten']:,} bitmaps rewritten")


@crowd_app.command("tags")
def crowd_tags(as_json: JsonOpt = False) -> None:
    """The tag catalogue."""
    tags = tag_catalogue()
    if as_json:
        print(tags.to_json(orient="records", force_ascii=False))
        return
    t = Table("tag", "名称", "name", "kind", "per", "description")
    for tag in tags.itertuples():
        t.add_row(tag.name, tag.zh, tag.en, tag.kind, tag.key or "", tag.description)
    out.print(t)


@crowd_app.command("count")
def crowd_count(expr: ExprArg, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """How many consumers a crowd holds (and how long the bitmap evaluation took)."""
    with _session(workspace, read=True) as wh:
        res = count_crowd(wh, expr)
    if as_json:
        _print_json(res.to_dict())
        return
    out.print(f"{res.count:,} of {res.of:,} consumers ({res.ms:.2f} ms) on {res.day}: {escape(res.expr)}")


@crowd_app.command("create")
def crowd_create(name: Annotated[str, typer.Argument(help="The crowd's name.")], expr: ExprArg,
                 workspace: WorkspaceOpt = None) -> None:
    """Save a named crowd (valid for 90 days); other crowds can use it as crowd("name")."""
    with _session(workspace) as wh:
        res = create_crowd(wh, name, expr)
    out.print(f"crowd {name!r}: {res.coverage:,} consumers, valid until {res.valid_until}")


@crowd_app.command("list")
def crowd_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Saved and built-in crowds."""
    with _session(workspace, read=True) as wh:
        df = list_crowds(wh)
    if as_json:
        print(df.to_json(orient="records", force_ascii=False, date_format="iso"))
        return
    t = Table("name", "source", "coverage", "expression")
    for r in df.itertuples():
        cov = r.coverage
        t.add_row(r.name, escape(str(r.source)), f"{int(cov):,}" if cov == cov and cov is not None else "",
                  escape(r.expr))
    out.print(t)


@crowd_app.command("insight")
def crowd_insight_cmd(
    expr: ExprArg,
    base: Annotated[str | None, typer.Option(help="The base crowd (default: everyone).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only these tags (repeatable).")] = None,
    brand: Annotated[str | None, typer.Option(help="Also the crowd's AIPL flow with this brand …")] = None,
    start: Annotated[str | None, typer.Option(help="… from this day …")] = None,
    end: Annotated[str | None, typer.Option(help="… to this day.")] = None,
    compare: Annotated[list[str] | None, typer.Option(help="Other crowds to overlap with (repeatable).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A crowd's profile against a base (TGI per tag value), its overlap with other crowds, its AIPL flow."""
    with _session(workspace, read=True) as wh:
        res = crowd_insight(wh, expr, base, tag or (), compare or (), brand, start, end)
    if as_json:
        _print_json(res.to_dict())
        return
    out.print(f"{res.size:,} consumers")
    t = Table("tag", "key", "value", "crowd", "base", "TGI")
    for r in res.profile.itertuples():
        t.add_row(r.tag, r.key if isinstance(r.key, str) else "", str(r.value), f"{r.crowd_share:.1%}",
                  f"{r.base_share:.1%}", f"{r.tgi:.0f}" if r.tgi == r.tgi and r.tgi is not None else "—")
    out.print(t)
    for r in res.overlap.itertuples():
        out.print(f"overlap {escape(r.a)} ∩ {escape(r.b)}: {r.both:,} (Jaccard {r.jaccard:.3f})")
    if res.flow:
        out.print(f"AIPL flow with {brand} {start} → {end}: " + "; ".join(
            f"{a}→{b} {n:,}" for a, row in res.flow["matrix"].items() for b, n in row.items() if n))


@crowd_app.command("lookalike")
def crowd_lookalike_cmd(
    seed: ExprArg,
    k: Annotated[float, typer.Option(help="Multiple of the seed's size (放大倍数).")] = 3.0,
    save: Annotated[str | None, typer.Option(help="Save the lookalike crowd under this name.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Consumers who look like the seed: a PU-learning LightGBM over the tags and behaviour, top k·|seed| outside
    the seed; the rule (carted or favourited in 15 days) instead when the model does not beat it on held-out
    consumers."""
    with _session(workspace, read=not save) as wh:
        res = crowd_lookalike(wh, seed, k, save)
    if as_json:
        _print_json(res.to_dict())
        return
    out.print(f"lookalike of {res.seed_size:,} seed consumers × {k}: {res.size:,} consumers "
              f"(PU c = {res.c:.2f}); top features: " + ", ".join(list(res.top_features)[:5]))
    if h := res.holdout:
        verdict = "fell back to the rule" if res.method == "rule" else "beats the rule"
        out.print(f"held-out check: precision {h['precision']:.1%} (lift {h['lift']:.2f}x, 95% "
                  f"{h['lift_ci'][0]:.2f}–{h['lift_ci'][1]:.2f}) vs {h['rule_precision']:.1%} for {res.rule}: "
                  f"{verdict}")
    if save:
        out.print(f"saved as crowd {save!r}")


@crowd_app.command("export")
def crowd_export(
    expr: ExprArg,
    out_file: Annotated[Path, typer.Option("--out", help="CSV, Parquet or TXT (one id a line, no header) file.")],
    actor: Annotated[str | None, typer.Option(help="Who exports (for the audit log; default: the OS user).")] = None,
    id_type: Annotated[str, typer.Option(help="consumer_id, or the consumers' phone, oaid or idfa (the identities "
                                         "table; hashed).")] = "consumer_id",
    hash_with: Annotated[str | None, typer.Option("--hash", help="md5 or sha256 of each id, as DMPs take them; "
                                                  "required for phone, oaid and idfa.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a crowd's consumer ids, or its hashed phone numbers, OAIDs or IDFAs (never below [privacy]
    min_crowd_size), logged in crowd_exports, with a manifest beside the file (<file>.manifest.json)."""
    with _session(workspace) as wh:
        res = export_crowd(wh, expr, out_file, actor, id_type=id_type, hashing=hash_with)
    if as_json:
        _print_json({"out": str(out_file), "rows": res.rows, "sha256": res.sha256, "export_id": res.export_id,
                     "id_type": res.id_type, "hash": res.hash, "consumers": res.consumers, "manifest": res.manifest})
        return
    what = f"{res.id_type} {res.hash} digests" if res.hash else "consumer ids"
    out.print(f"exported {res.rows:,} {what} to {out_file} (sha256 {res.sha256[:12]}…), logged as {res.export_id}; "
              f"manifest {res.manifest}")


@crowd_app.command("builtin")
def crowd_builtin(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The built-in crowds (strategy, 下沉 lower-tier, apparel, cross-category) with their sizes on the tag day."""
    with _session(workspace, read=True) as wh:
        df = built_in_crowds(wh)
    if as_json:
        print(df.to_json(orient="records", force_ascii=False))
        return
    t = Table("name", "名称", "crowd", "group", "size", "expression")
    for r in df.itertuples():
        t.add_row(r.name, r.zh, r.en, r.group, "" if r.size is None else f"{int(r.size):,}", escape(r.expr))
    out.print(t)


@crowd_app.command("spend")
def crowd_spend_cmd(
    start: Annotated[str, typer.Option(help="First day of the period (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day of the period (YYYY-MM-DD).")],
    crowd: Annotated[list[str] | None, typer.Option(help="Crowds (default: the apparel GenZ, 潮流人群, 奢品人群).")]
    = None,
    brand: Annotated[str | None, typer.Option(help="Only this brand's purchases.")] = None,
    category: Annotated[list[str] | None, typer.Option(help="Only these categories' purchases.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-capita spend of crowds against the market's (人均消费 vs 大盘人均) over a period."""
    with _session(workspace, read=True) as wh:
        kw = {"crowds": crowd} if crowd else {}
        df = sector_spend(wh, start, end, brand=brand, categories=category or (), **kw)
    if as_json:
        print(df.to_json(orient="records", force_ascii=False))
        return
    t = Table("crowd", "名称", "buyers", "GMV", "per capita", "market", "index", "GMV share")
    for r in df.itertuples():
        t.add_row(escape(r.crowd), r.zh, f"{r.buyers:,}", f"{r.gmv:,.0f}", _num(r.per_capita, "{:,.1f}"),
                  _num(r.market_per_capita, "{:,.1f}"), _num(r.index, "{:.0f}"), _num(r.gmv_share, "{:.1%}"))
    out.print(t)


@crowd_app.command("penetration")
def crowd_penetration(
    days: Annotated[int, typer.Option(help="Purchases in this many days up to the tag day.")] = 365,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cross-category penetration (Fashion × Beauty): of the buyers of one category group, who also bought another."""
    with _session(workspace, read=True) as wh:
        df = category_penetration(wh, days)
    if as_json:
        print(df.to_json(orient="records", force_ascii=False))
        return
    t = Table("bought", "also bought", "buyers", "both", "penetration", "base rate", "TGI")
    for r in df.itertuples():
        t.add_row(r.a, r.b, f"{r.buyers_a:,}", f"{r.both:,}", _num(r.penetration, "{:.1%}"),
                  _num(r.base_rate, "{:.1%}"), _num(r.tgi, "{:.0f}"))
    out.print(t)


def _num(v, pattern: str) -> str:
    return "—" if v is None or v != v else pattern.format(v)
