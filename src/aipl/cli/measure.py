"""`aipl lift`, `uplift`, `pi …`: what a campaign really changed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aipl.cli.common import (
    FileArg,
    FormatOpt,
    JsonOpt,
    WorkspaceOpt,
    _fail,
    _file_or_workspace,
    _group,
    _print_json,
    _session,
    app,
    out,
)
from aipl.measure import OUTCOMES, LiftResult, campaign_pi, learn_weights, measure_lift, postmortem, target_uplift
from aipl.privacy import export_ids

# ---- measurement
MetricOpt = Annotated[list[str] | None, typer.Option("--metric", help=f"{', '.join(OUTCOMES)} "
                                                     "(repeatable; default: all).")]
LabelOpt = Annotated[list[str] | None, typer.Option("--label", help="A pre-treatment label to adjust for "
                                                    "(repeatable; labels table; default: the known pre-treatment "
                                                    "labels the data holds).")]


def _print_lift(res: LiftResult) -> None:
    kind = "randomised" if res.kind == "randomised" else "[bold yellow]OBSERVATIONAL[/]"
    out.print(f"{kind} lift, method {res.method}, brand {res.brand or 'all'}, "
              f"{res.window['start']} .. {res.window['end']}")
    if res.warning:
        out.print(f"[yellow]{escape(res.warning)}[/]")
    refused = res.verdict and not res.verdict["presented"]
    if refused:
        out.print(f"[bold yellow]no point estimate: {escape(res.verdict['reason'])}[/]")
    metrics = [k for k in res.arms[0] if k.endswith(("_rate", "_per_head"))]
    t = Table("arm", "n", *metrics, title="arms")
    for a in res.arms:
        t.add_row(escape(a["arm"]) + (" (control)" if a.get("control") else ""), f"{a['n']:,}",
                  *[f"{a[m]:.4f}" for m in metrics])
    out.print(t)
    t = Table("arm", "metric", "lift", "95% interval", "relative", "incremental", title="lift over control")
    for a in res.arms:
        for m, e in a.get("lift", {}).items():
            rel = f"{e['relative']:+.1%}" if e["relative"] is not None else "—"
            if refused:
                lo, hi = res.verdict["ranges"][m]
                t.add_row(escape(a["arm"]), m, "—", f"range [{lo:+.5f}, {hi:+.5f}]", "—", "—")
            else:
                t.add_row(escape(a["arm"]), m, f"{e['effect']:+.5f}", f"[{e['ci_low']:+.5f}, {e['ci_high']:+.5f}]",
                          rel, f"{e['incremental']:+,.1f}")
    out.print(t)
    if res.covariates:
        out.print(f"adjusted for: {', '.join(res.covariates)}")
    for a in res.arms:
        for m, e in a.get("lift", {}).items():
            if e.get("sensitivity", {}).get("reads"):
                out.print(f"sensitivity ({m}): {escape(e['sensitivity']['reads'])}")


@app.command("lift")
def lift_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    campaign: Annotated[str | None, typer.Option(help="The campaign (its dates set the window).")] = None,
    experiment: Annotated[str | None, typer.Option(help="The randomised experiment (assignments).")] = None,
    brand: Annotated[str | None, typer.Option(help="The brand whose outcomes count.")] = None,
    method: Annotated[str | None, typer.Option(help="difference_in_means or cuped (randomised); ipw or "
                                               "doubly_robust (observational).")] = None,
    metric: MetricOpt = None,
    label: LabelOpt = None,
    days: Annotated[int, typer.Option(help="Outcome window in days from assignment (no campaign).")] = 14,
    pre_days: Annotated[int, typer.Option(help="Pre-period for the covariates, in days.")] = 30,
    cuts: Annotated[bool, typer.Option(help="Also cut a campaign's randomised lift by customer, strategy crowd "
                                       "and phase, and the treated's outcomes by channel, crowd and creative.")
                    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Lift of a campaign or experiment over its control, with confidence intervals (randomised when a holdout
    exists, else an observational estimate labelled as such)."""
    if cuts and not campaign:
        _fail("--cuts needs --campaign (its phases and touches)")
    with _file_or_workspace(file, fmt, workspace, read=True) as wh:
        res = measure_lift(wh, campaign, experiment, brand, method, metrics=tuple(metric or ()),
                           labels=tuple(label) if label else None, days=days, pre_days=pre_days, cuts=cuts)
    if as_json:
        _print_json(res.to_dict())
        return
    _print_lift(res)
    if res.get("cuts"):
        _print_lift_cuts(res["cuts"])


def _print_lift_cuts(cuts: dict) -> None:
    out.print(escape(cuts["note"]), soft_wrap=True)
    for by, rows in cuts.items():
        if by == "note" or not rows:
            continue
        metrics = [k for k in rows[0] if k not in (by, "n", "n_treated", "n_control")]
        if "n_treated" in rows[0]:
            t = Table(by, "n treated", "n control", *[f"{m} lift [95%]" for m in metrics], title=f"lift by {by}")
            for r in rows:
                t.add_row(escape(str(r[by])), f"{r['n_treated']:,}", f"{r['n_control']:,}", *[
                    "—" if r[m]["effect"] is None else f"{r[m]['effect']:+.4f} [{r[m]['ci_low']:+.4f}, "
                    f"{r[m]['ci_high']:+.4f}]" for m in metrics])
        else:
            t = Table(by, "reached", *metrics, title=f"outcomes of the treated by the {by} that reached them")
            for r in rows:
                t.add_row(escape(str(r[by])), f"{r['n']:,}", *[f"{r[m]:.4f}" for m in metrics])
        out.print(t)


@app.command("uplift")
def uplift_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    experiment: Annotated[str | None, typer.Option(help="The randomised experiment to learn from.")] = None,
    arm: Annotated[str | None, typer.Option(help="The treated arm (message) to target.")] = None,
    metric: Annotated[str, typer.Option(help="visit, conversion, purchases or spend.")] = "conversion",
    learner: Annotated[str, typer.Option(help="t or x (T- or X-learner) for the final scores.")] = "x",
    label: LabelOpt = None,
    brand: Annotated[str | None, typer.Option(help="The brand whose outcomes count.")] = None,
    budget: Annotated[float, typer.Option(help="Budget for contacts (0: evaluate only).")] = 0.0,
    cost: Annotated[float, typer.Option(help="Cost of one contact.")] = 1.0,
    value: Annotated[float, typer.Option(help="Value of one incremental response (0: any positive uplift).")] = 0.0,
    save: Annotated[str | None, typer.Option(help="Save the chosen consumers as a list under this name.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Export chosen ids, uplift (.csv/.parquet).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who to send a coupon or recall message to: T/X-learner uplift, Qini on held-out consumers, top under budget."""
    if save and file is not None:
        _fail("--save keeps a list in a workspace: load the file with `aipl ingest` first, or use --out")
    with _file_or_workspace(file, fmt, workspace, read=not (save or out_file)) as wh:
        res = target_uplift(wh, experiment, arm, metric, learner, brand, labels=tuple(label) if label else None,
                            budget=budget, cost=cost, value=value, save=save)
        if out_file is not None:
            export_ids(wh, f"uplift targets of {res.arm}", res.selected, out_file)
    if as_json:
        _print_json(res.to_dict())
        return
    chosen = res.selected
    out.print(f"uplift of {escape(res.arm)} on {metric}, experiment {res.experiment}: learned from "
              f"{', '.join(res.features)}; {res.train:,} consumers to fit, {res.test:,} held out")
    t = Table("learner", "Qini coefficient", "AUUC", "mean Qini gain over random", title="held-out evaluation")
    for e in res.evaluation:
        t.add_row(e["learner"], f"{e.get('qini_coefficient', float('nan')):.4f}",
                  f"{e.get('uplift_auc', float('nan')):.4f}", f"{e['qini_gain']:+,.1f}")
    out.print(t)
    if budget:
        out.print(f"chosen {len(chosen):,} of {res.scored:,} consumers under budget {budget:,.2f} "
                  f"(cost {cost:,.2f} each): expected +{res.expected_incremental:,.1f} {metric}, against "
                  f"+{res.expected_incremental_untargeted:,.1f} for as many consumers at random")
    if res.saved_as:
        out.print(f"saved as list {res.saved_as!r}")
    if out_file is not None:
        out.print(f"exported {len(chosen):,} consumers to {out_file}")


pi_app = _group("pi", "Purchase-intent index (PI): weights per industry, PI and its lift per campaign.")


@pi_app.command("learn")
def pi_learn(
    industry: Annotated[str, typer.Option(help="Level-1 category (products.category_l1), e.g. beauty.")],
    day: Annotated[str, typer.Option(help="Behaviours before this day predict purchases from it (YYYY-MM-DD).")],
    horizon: Annotated[int, typer.Option(help="Days of later purchases to predict.")] = 30,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Learn and save the industry's behaviour weights by regressing next-30-day purchase on the behaviours."""
    with _session(workspace) as wh:
        res = learn_weights(wh, industry, day, horizon)
    if as_json:
        _print_json(res)
        return
    out.print(f"PI weights for {industry} from {res['pairs']:,} consumer-brand pairs ({res['buyers']:,} bought "
              f"within {horizon} days of {res['as_of']}):")
    for b, w in res["weights"].items():
        out.print(f"  {b:15} {w:.3f}")


@pi_app.command("campaign")
def pi_campaign(
    campaign: Annotated[str, typer.Argument(help="The campaign.")],
    brand: Annotated[str | None, typer.Option(help="The brand (default: the campaign's).")] = None,
    experiment: Annotated[str | None, typer.Option(help="The randomised experiment holding the control.")] = None,
    method: Annotated[str | None, typer.Option(help="difference_in_means, ipw or doubly_robust.")] = None,
    cuts: Annotated[bool, typer.Option(help="Also cut PI by customer, strategy crowd, phase, channel, crowd "
                                       "and creative.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """PI of exposed and control consumers over the campaign, the lift with its interval, and channel credit."""
    with _session(workspace) as wh:
        res = campaign_pi(wh, campaign, brand, experiment, method, cuts=cuts)
    if as_json:
        _print_json(res)
        return
    lift = res["lift"]
    kind = res["kind"] if res["kind"] == "randomised" else "[bold yellow]OBSERVATIONAL[/]"
    out.print(f"PI of {res['brand']} in {campaign} ({res['window']['start']} .. {res['window']['end']}), {kind}, "
              f"weights {res['weights_source']}")
    exp, ctl = res["groups"]
    t = Table("behaviour", "weight", f"exposed (n={exp['n']:,})", f"control (n={ctl['n']:,})",
              title="share of consumers showing each behaviour")
    for b, w in res["weights"].items():
        t.add_row(b, f"{w:.3f}", f"{exp['rates'][b]:.4f}", f"{ctl['rates'][b]:.4f}")
    t.add_row("PI (0-100)", "", f"{exp['pi']:.2f}", f"{ctl['pi']:.2f}", style="bold")
    out.print(t)
    out.print(f"PI lift {lift['effect']:+.3f} points, 95% interval [{lift['ci_low']:+.3f}, {lift['ci_high']:+.3f}] "
              f"({lift['method']})")
    if res["credit"]:
        out.print("behaviours credited to channels (linear, 15-day window): " + ", ".join(
            f"{c['channel']} {c['share']:.0%}" for c in res["credit"]))
    for by, rows in res.get("cuts", {}).items():
        _print_pi_cut(by, rows)


def _print_pi_cut(by: str, rows: list[dict]) -> None:
    if rows and "n_treated" in rows[0]:
        t = Table(by, "n exposed", "n control", "PI exposed", "PI control", "lift [95%]", title=f"PI by {by}")
        for r in rows:
            e = r["pi"]
            lift = "—" if e["effect"] is None else f"{e['effect']:+.2f} [{e['ci_low']:+.2f}, {e['ci_high']:+.2f}]"
            t.add_row(escape(str(r[by])), f"{r['n_treated']:,}", f"{r['n_control']:,}",
                      *[f"{x:.2f}" if x is not None else "—" for x in (e["treated_mean"], e["control_mean"])], lift)
    else:
        t = Table(by, "reached", "PI", title=f"PI of the exposed by the {by} that reached them")
        for r in rows:
            t.add_row(escape(str(r[by])), f"{r['n']:,}", f"{r['pi']:.2f}")
    out.print(t)


@app.command("postmortem")
def postmortem_cmd(
    campaign: Annotated[str, typer.Argument(help="The campaign.")],
    brand: Annotated[str | None, typer.Option(help="The brand (default: the campaign's).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The campaign's post-mortem (结案): both scopes with their CVR definitions, the cuts, PI and the lift
    (`aipl report --campaign` writes it as HTML)."""
    with _session(workspace, assets=True) as wh:
        pm = postmortem(wh, campaign, brand)
    if as_json:
        _print_json(pm.to_dict())
        return
    out.print(escape(repr(pm)))
    t = Table("scope", "spend", "orders", "GMV", "ROI", "CVR", "numerator / denominator", title="totals")
    for scope, k in pm.totals.items():
        t.add_row(scope, f"{k['spend']:,.2f}", f"{k['orders']:,}", f"{k['gmv']:,.2f}",
                  "—" if k["roi"] is None else f"{k['roi']:,.2f}", "—" if k["cvr"] is None else f"{k['cvr']:.2%}",
                  f"{k['cvr_numerator']:,} / {k['cvr_denominator']:,}")
    out.print(t)
    for scope in pm.totals:
        out.print(f"CVR {scope} = {escape(pm.definitions[f'cvr_{scope}'])}", soft_wrap=True)
    out.print(f"new customer: {escape(pm.definitions['new_customer'])}", soft_wrap=True)
    for by, rows in pm.cuts["wide"].items():
        t = Table(by, "spend", "impressions", "clicks", "orders", "GMV", "ROI", "CVR (wide)", "new GMV share",
                  title=f"宽 wide by {by}")
        for r in rows:
            t.add_row(escape(str(r[by])), f"{r['spend']:,.2f}", f"{r['impressions']:,}", f"{r['clicks']:,}",
                      f"{r['orders']:,}", f"{r['gmv']:,.2f}", "—" if r["roi"] is None else f"{r['roi']:,.2f}",
                      "—" if r["cvr"] is None else f"{r['cvr']:.2%}",
                      "—" if r["new_gmv_share"] is None else f"{r['new_gmv_share']:.0%}")
        out.print(t)
    if pm.pi and not pm.pi.get("error"):
        g = pm.pi["groups"]
        out.print(f"PI {g[0]['group']} {g[0]['pi']:.2f} vs {g[1]['group']} {g[1]['pi']:.2f}, lift "
                  f"{pm.pi['lift']['effect']:+.2f} [{pm.pi['lift']['ci_low']:+.2f}, {pm.pi['lift']['ci_high']:+.2f}]")
        for by, rows in pm.pi.get("cuts", {}).items():
            _print_pi_cut(by, rows)
    if isinstance(pm.lift, LiftResult):
        _print_lift(pm.lift)
        if pm.lift_cuts and pm.lift_cuts.get("note"):
            _print_lift_cuts(pm.lift_cuts)
    elif pm.lift and pm.lift.get("error"):
        out.print(f"lift: {escape(pm.lift['error'])}")
