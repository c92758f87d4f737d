"""`aipl autopilot …`: response curves, budget plans, sequenced delivery, subsidies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aipl.autopilot import (
    AIMS,
    fit_channels,
    plan_budget,
    plan_crowds,
    plan_sequence,
    plan_subsidy,
    simulate_flight,
    what_if,
)
from aipl.cli.common import BrandOpt, JsonOpt, WorkspaceOpt, _fail, _group, _print_json, _records, _session, out
from aipl.pipeline import gap_budget
from aipl.privacy import export_ids

# ---- autopilot
autopilot_app = _group("autopilot", "Autopilot (万相台): response curves per channel and budget allocation.")


@autopilot_app.command("fit")
def autopilot_fit(
    brand: BrandOpt,
    holdout_days: Annotated[int, typer.Option(help="Last days kept out of the fit to measure its error.")] = 14,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit each channel's response curve (Hill saturation × adstock) from ad-delivery history."""
    with _session(workspace, read=True) as wh:
        res = fit_channels(wh, brand, holdout_days)
    if as_json:
        _print_json({r.pop("channel"): r for r in _records(res)})
        return
    t = Table("channel", "reach/day", "k (half-saturation spend)", "alpha", "adstock θ", "held-out error",
              title=f"{brand}: daily impressions = reach · hill(adstock(spend))")
    for r in res.itertuples():
        iv = r.intervals
        t.add_row(r.channel, f"{r.reach:,.0f} [{iv['reach'][0]:,.0f}–{iv['reach'][1]:,.0f}]",
                  f"{r.k:,.2f} [{iv['k'][0]:,.2f}–{iv['k'][1]:,.2f}]", f"{r.alpha:.2f}", f"{r.theta:.2f}",
                  f"{r.holdout_mape:.1%}" if r.holdout_mape == r.holdout_mape and r.holdout_mape is not None else "—")
    out.print(t)


@autopilot_app.command("plan")
def autopilot_plan(
    brand: BrandOpt,
    budget: Annotated[float, typer.Option(help="The budget (a day, or the whole package: see --budget-mode).")],
    scene: Annotated[str | None, typer.Option(help="拉新快, 会员快, 上新快, 货品加速, 预热蓄水 or 爆发收割 "
                                              "(default: impressions).")] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign whose attributed outcomes value each channel "
                                                 "(default: the latest with delivery).")] = None,
    budget_mode: Annotated[str, typer.Option(help="daily, or package (spread over the campaign's days).")] = "daily",
    min_share: Annotated[float, typer.Option(help="Least share of the budget per channel.")] = 0.0,
    max_share: Annotated[float, typer.Option(help="Most share of the budget per channel.")] = 1.0,
    roi_floor: Annotated[float | None, typer.Option(help="Least outcome per unit spend (a scene's ROI).")] = None,
    item: Annotated[list[str] | None, typer.Option(help="An item to promote (up to 10; repeatable): only "
                                                   "outcomes on these items count.")] = None,
    crowd: Annotated[list[str] | None, typer.Option(help="A target crowd (saved or built-in; repeatable): only "
                                                    "its consumers' outcomes count.")] = None,
    strategy: Annotated[str, typer.Option(help="cost_first (消耗优先: spend the budget) or effect_first (效率优先: "
                                          "stop where a yuan stops paying).")] = "cost_first",
    min_marginal: Annotated[float | None, typer.Option(help="effect_first: the outcome one more yuan must still "
                                                       "bring (default 1 for GMV aims).")] = None,
    start: Annotated[str | None, typer.Option(help="First day of a package budget (default: the campaign's).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day of a package budget (default: the campaign's).")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Split a budget across channels for a scene's aim (or impressions), within share limits and a ROI floor."""
    with _session(workspace, read=True) as wh:
        res = plan_budget(wh, brand, budget, scene, campaign, budget_mode, start, end, min_share, max_share,
                          roi_floor, tuple(item or ()), tuple(crowd or ()), strategy, min_marginal)
    if as_json:
        _print_json(res.to_dict())
        return
    aim = AIMS.get(res.aim, res.aim)
    out.print(f"{brand}{' · ' + scene if scene else ''}: a day {res.spend:,.2f} of {res.budget:,.2f}, for {aim}")
    for ch, w in sorted(res.shares.items(), key=lambda kv: -kv[1]):
        out.print(f"  {ch:10} {w:6.1%}  {w * res.spend:>12,.2f} a day")
    if res.equal_split:
        out.print(f"expected {aim} a day {res.objective:,.1f}, against {res.equal_split:,.1f} for an equal "
                  f"split ({res.objective / res.equal_split - 1:+.1%})")
    if res.objective_interval:
        lo, hi = res.objective_interval
        out.print(f"  90% interval from the curves' bootstrap: {lo:,.1f} – {hi:,.1f}")
    for k, v in res.expected.items():
        out.print(f"  {k}: {v:,.2f}" if v is not None else f"  {k}: —")


HistoryOpt = Annotated[Path | None, typer.Option(help="Cell history, CSV or Parquet: day, channel, crowd, [stage], "
                                               "cost, impressions, lift_<aim> (holdout-measured), [attributed_<aim>] "
                                               "(default: the simulator's cell market).")]
SimCrowdsOpt = Annotated[int | None, typer.Option("--crowds", help="Simulated market: this many crowds in random "
                                                  "DEEPLINK stages (default: the 7 stages).")]
ChannelsOpt = Annotated[int, typer.Option(help="Simulated market: channels (1–6).")]
SceneOpt = Annotated[str, typer.Option(help="拉新快, 会员快/入会快, 上新快/新品快, 货品加速/爆款快, 预热蓄水 or "
                                            "爆发收割.")]


@autopilot_app.command("cells")
def autopilot_cells(
    scene: SceneOpt,
    budget: Annotated[float, typer.Option(help="The budget a day.")],
    history: HistoryOpt = None,
    crowd: Annotated[list[str] | None, typer.Option(help="A target crowd of the history (repeatable; default: "
                                                    "the scene's DEEPLINK stages).")] = None,
    min_share: Annotated[float, typer.Option(help="Least share of the budget per cell.")] = 0.0,
    max_share: Annotated[float, typer.Option(help="Most share of the budget per cell.")] = 1.0,
    crowds: SimCrowdsOpt = None,
    channels: ChannelsOpt = 5,
    seed: int = 0,
    as_json: JsonOpt = False,
) -> None:
    """A scene's daily budget over crowd × channel cells, valued by incremental (holdout-measured) outcome, with
    attributed (宽) figures beside; on the simulator also against the channel-only plan, an equal split and
    the oracle."""
    try:
        p = plan_crowds(scene, budget, history, tuple(crowd or ()), min_share, max_share, crowds, channels, 60, seed)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(p.to_dict())
        return
    t = Table("channel", "crowd", "stage", "share", "spend", "incremental", "90% interval", "attributed (宽)",
              title=f"{p.scene} ({p.aim_label}): {p.budget:,.2f} a day over {len(p.shares)} cells — {p.source}")
    for r in p.cells.sort_values("spend", ascending=False).itertuples():
        if r.share < 0.001:
            continue
        t.add_row(r.channel, r.crowd, r.stage, f"{r.share:.1%}", f"{r.spend:,.2f}", f"{r.incremental:,.2f}",
                  f"{r.incremental_low:,.2f} – {r.incremental_high:,.2f}", f"{r.attributed:,.2f}")
    out.print(t)
    iv = p.interval
    out.print(f"incremental {p.aim_label} a day {p.incremental:,.2f} (90% {iv[0]:,.2f} – {iv[1]:,.2f}); attributed "
              f"{p.attributed:,.2f}; equal split {p.equal_split:,.2f}" + (f"; ROI {p.roi:.2f}" if p.roi else ""))
    if p.comparison:
        c = p.comparison
        out.print("on the hidden truth: " + ", ".join(f"{k} {v:+.1%}" for k, v in c["margin"].items())
                  + f" (margins of the cell plan); regret against the oracle {c['regret']['cells']:.1%}")


@autopilot_app.command("whatif")
def autopilot_whatif(
    scene: SceneOpt,
    budget: Annotated[float | None, typer.Option(help="What this budget a day buys.")] = None,
    target: Annotated[float | None, typer.Option(help="What budget a day buys this much of the scene's outcome.")]
    = None,
    days: Annotated[int, typer.Option(help="Days the budget runs (e.g. to the 爆发期).")] = 1,
    history: HistoryOpt = None,
    crowds: SimCrowdsOpt = None,
    channels: ChannelsOpt = 5,
    seed: int = 0,
    as_json: JsonOpt = False,
) -> None:
    """What a budget buys, or what budget a target needs, on a scene's crowd × channel plan, with 90 % intervals."""
    try:
        w = what_if(scene, budget, target, days, history, (), crowds, channels, 60, seed)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(w.to_dict())
        return
    if w.target is None:
        out.print(f"{w.scene}: {w.budget:,.2f} a day for {days} days buys {w.outcome:,.2f} {w.aim} "
                  f"(90% {w.interval[0]:,.2f} – {w.interval[1]:,.2f}) — {w.source}")
    elif w.budget is None:
        out.print(f"{w.scene}: {w.target:,.2f} {w.aim} in {days} days is out of reach — {w.source}")
    else:
        lo, hi = ("—" if x is None else f"{x:,.2f}" for x in w.budget_interval)
        out.print(f"{w.scene}: {w.target:,.2f} {w.aim} in {days} days needs {w.budget:,.2f} a day (90%: {lo} if "
                  f"the curves are at their upper bound, {hi} at their lower) — {w.source}")


@autopilot_app.command("gaps")
def autopilot_gaps(
    brand: BrandOpt,
    gmv_target: Annotated[float, typer.Option(help="The campaign's GMV target.")],
    campaign: Annotated[str, typer.Option(help="The campaign (with last year's counterpart).")],
    gmv_days: Annotated[int, typer.Option(help="Days of the burst (爆发期) that must bring the GMV gap.")] = 3,
    history: HistoryOpt = None,
    seed: int = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What budget fills the GTA pool gaps by the presale eve (预热蓄水) and the GMV gap in the burst (爆发收割),
    with 90 % intervals."""
    try:
        with _session(workspace, assets=True, read=True) as wh:
            res = gap_budget(wh, brand, campaign, gmv_target, gmv_days, history, seed)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(res.to_dict())
        return
    out.print(f"{brand} for {campaign} at a GMV target of {gmv_target:,.0f} — cells: {res.source}")
    for label, gap, days, w in (("pools (A/I/P)", res.pool_gap, res.pool_days, res.pools),
                                ("GMV", res.gmv_gap, res.gmv_days, res.gmv)):
        if not w:
            out.print(f"  {label}: no gap")
        elif w["budget"] is None:
            out.print(f"  {label}: gap {gap:,.0f} in {days} days is out of reach")
        else:
            lo, hi = ("—" if x is None else f"{x:,.2f}" for x in w["budget_interval"])
            out.print(f"  {label}: gap {gap:,.0f} in {days} days needs {w['budget']:,.2f} a day (90%: {lo} – {hi}) "
                      f"with {w['scene']}")
    out.print(f"  total {res.total:,.2f}" if res.total is not None else "  total: out of reach")


@autopilot_app.command("simulate")
def autopilot_simulate(
    brand: Annotated[str, typer.Option(help="A brand of the simulated market.")],
    budget: Annotated[float | None, typer.Option(help="Daily budget (default: half the summed half-saturation "
                                                 "spend, where the split matters).")] = None,
    days: Annotated[int, typer.Option(help="Days of the flight.")] = 30,
    seed: int = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a flight against the simulated market's hidden curves: Thompson sampling against the oracle, an
    equal split and proportional-to-last-ROI (regret = share of the oracle's impressions lost)."""
    with _session(workspace, read=True) as wh:
        res = simulate_flight(wh, brand, budget, days, seed)
    if as_json:
        _print_json(res.to_dict())
        return
    out.print(f"{brand}: {days}-day flight at {res.budget:,.2f} a day")
    for name, r in sorted(res.regret.items(), key=lambda kv: kv[1]):
        out.print(f"  {name:26} impressions {res.totals[name]:>12,.0f}   regret {r:6.1%}")


@autopilot_app.command("sequence")
def autopilot_sequence(
    brand: BrandOpt,
    day: Annotated[str | None, typer.Option(help="The day whose stages decide (default: the last day with "
                                            "events).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write consumer_id, deeplink, contacts, action "
                                                  "to this CSV.")] = None,
    flight: Annotated[int, typer.Option(help="Also run a flight of this many days against the simulator's "
                                        "hidden journeys (0: none).")] = 0,
    reach: Annotated[float, typer.Option(help="Share of consumers reachable a day in the flight.")] = 0.3,
    seed: int = 0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sequenced delivery (序列化投放): each consumer's next action from their DEEPLINK stage, frequency-capped;
    with --flight, the stage-advancing rate of the rule, of learned actions and of untargeted delivery."""
    with _session(workspace, assets=True, read=not out_file) as wh:  # an export writes its audit row
        res = plan_sequence(wh, brand, day, flight, reach, seed)
        if out_file:
            export_ids(wh, f"next actions of {brand} on {res.day}", res.actions, out_file)
    if as_json:
        _print_json(res.to_dict())
        return
    t = Table("stage", "action", "consumers", title=f"{brand} on {res.day}: next actions (cap {res.cap.contacts} "
              f"in {res.cap.days} days)")
    for r in res.counts.itertuples(index=False):
        t.add_row(r.deeplink, r.action, f"{r.consumers:,}")
    out.print(t)
    if out_file:
        out.print(f"wrote {len(res.actions):,} rows to {out_file}")
    if res.flight:
        out.print(f"{flight}-day flight, {res.flight['consumers']:,} consumers, {reach:.0%} reachable a day "
                  "(moved up ≥ 1 stage; advances per 1,000 contacts; against untargeted):")
        for name, r in res.flight["policies"].items():
            out.print(f"  {name:11} moved up {r['advanced_share']:6.1%}  {r['advances_per_1000_contacts']:5.1f} "
                      f"per 1,000 contacts  {r['lift_vs_untargeted']:+.0%}")
    if res.get("delivery"):
        d = res["delivery"]
        out.print(f"channel × creative per stage ({d['actions']} actions), learned on journeys whose best actions are "
                  "drawn at random (moved up ≥ 1 stage, against untargeted):")
        for name, r in d["policies"].items():
            out.print(f"  {name:11} moved up {r['advanced_share']:6.1%}  {r['lift_vs_untargeted']:+.0%}")
        t = Table("stage", "channel", "creative", "advance rate", "rule", "hidden best")
        for stage, r in d["plan"].items():
            t.add_row(stage, r["channel"], r["creative"], f"{r['advance_rate']:.1%}", r["rule"], r["hidden_best"])
        out.print(t)


@autopilot_app.command("subsidy")
def autopilot_subsidy(
    pool: Annotated[float, typer.Option(help="The subsidy pool a day.")],
    history: Annotated[Path | None, typer.Argument(help="CSV or Parquet: merchant_id, tier, day, subsidy, gmv "
                                                   "(one row per merchant and day).")] = None,
    floor: Annotated[list[str] | None, typer.Option(help="A tier's least share of the pool, e.g. new=0.3 "
                                                    "(repeatable).")] = None,
    cold_start_min: Annotated[float, typer.Option(help="Least subsidy a day per merchant in its cold start.")] = 0.0,
    cold_start_days: Annotated[int, typer.Option(help="Days of history before a merchant's own curve is "
                                                 "trusted.")] = 30,
    simulate: Annotated[int, typer.Option(help="Instead of a file: simulate this many merchants and compare "
                                          "the plan with the oracle and rules of thumb.")] = 0,
    seed: int = 0,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the per-merchant plan to this CSV.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Platform-side 红包: split a daily subsidy pool across head, waist and new merchants for the most
    incremental GMV, with per-tier floors and a cold start for new merchants."""
    floors = {}
    for f in floor or []:
        tier, _, share = f.partition("=")
        try:
            floors[tier.strip()] = float(share)
        except ValueError:
            _fail(f"--floor {f!r}: write tier=share, e.g. new=0.3")
    if not simulate and history is None:
        _fail("give a history file, or --simulate N")
    if not simulate and not history.exists():
        _fail(f"{history}: no such file")
    try:
        plan = plan_subsidy(pool, None if simulate else history, floors, cold_start_min, cold_start_days, simulate,
                            seed)
    except ValueError as exc:
        _fail(f"{'simulated history' if simulate else history}: {exc}")
    alloc, cmp = plan.allocation, plan.comparison
    if out_file:
        alloc.to_csv(out_file, index=False)
    if as_json:
        _print_json(plan.to_dict())
        return
    out.print(f"pool {pool:,.0f} a day across {len(alloc):,} merchants ({int(alloc.cold_start.sum())} in cold "
              f"start): expected incremental GMV {plan.incremental_gmv:,.0f} a day (ROI {plan.roi or 0:.2f})")
    for tier, v in plan.tiers.items():
        out.print(f"  {tier:6} {v['subsidy']:>12,.0f} ({v['share']:5.1%})   "
                  f"incremental GMV {v['incremental_gmv']:>14,.0f}")
    if plan.unspent > 0.01:
        out.print(f"  unspent {plan.unspent:,.0f}: every curve is saturated")
    if cmp:
        out.print("on the hidden curves, share of the oracle's incremental GMV: " + ", ".join(
            f"{k} {v:.1%}" for k, v in cmp["share_of_oracle"].items() if k != "oracle"))
    if out_file:
        out.print(f"wrote {len(alloc):,} merchants to {out_file}")

