"""`aipl clv …` and `aipl members …`: lifetime value and member operations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from aipl.cli.common import (
    BrandOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    WorkspaceOpt,
    _file_or_workspace,
    _frame_table,
    _group,
    _print_json,
    _records,
    _require_key,
    _session,
    err,
    out,
)
from aipl.clv import LIST_KINDS, MODELS, asset_value, fit_clv, member_list, member_report, predict_clv
from aipl.privacy import export_ids

clv_app = _group("clv", "Customer lifetime value: BG/NBD, Pareto/NBD, Gamma-Gamma.")
CalibrationOpt = Annotated[str, typer.Option(help="Last day of the calibration period (YYYY-MM-DD).")]
TimeUnitOpt = Annotated[str, typer.Option(help="day, week or month.")]
OnlyBrandOpt = Annotated[str | None, typer.Option(help="Only this brand's purchases.")]
CohortOpt = Annotated[str | None, typer.Option(
    help="Only customers whose first purchase falls in FIRST..LAST (days) or in a month YYYY-MM.")]
DayOpt = Annotated[str, typer.Option(help="The day (YYYY-MM-DD).")]


@clv_app.command("fit")
def clv_fit(
    calibration_end: CalibrationOpt,
    file: FileArg = None,
    fmt: FormatOpt = None,
    time_unit: TimeUnitOpt = "week",
    model: Annotated[str, typer.Option(help=f"{', '.join(MODELS)}.")] = "bgnbd",
    brand: OnlyBrandOpt = None,
    cohort: CohortOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit a CLV model by maximum likelihood: its parameters, log-likelihood, convergence check and, where
    purchases follow the calibration end, predicted against actual repeat purchases by frequency."""
    with _file_or_workspace(file, fmt, workspace, read=True) as wh:
        fit = fit_clv(wh, calibration_end, model, time_unit, brand, cohort)
    if as_json:
        _print_json(fit.to_dict())
        return
    out.print(f"{model} on {fit.customers:,} customers of {fit.scope} (time unit {time_unit}, calibration to "
              f"{calibration_end})")
    for k, v in fit.params.items():
        out.print(f"  {k:6} = {v:.4f}")
    out.print(f"  log-likelihood = {fit.loglik:,.2f}")
    _print_warnings(fit.to_dict()["warnings"])
    h = fit.holdout
    if h and "unavailable" not in h:
        out.print(_frame_table(pd.DataFrame(h["by_frequency"]),
                               f"holdout to {h['holdout_end']}: mean repeat purchases per customer by calibration "
                               "purchases"))
        out.print(f"  total: predicted {h['predicted']:,.0f}, actual {h['actual']:,.0f} ({h['error']:+.1%})")
    elif h:
        out.print(f"  {h['unavailable']}")


def _print_warnings(lines: list[str]) -> None:
    for line in lines:
        err.print(f"warning: {line}")


@clv_app.command("value")
def clv_value(
    brand: BrandOpt,
    calibration_end: Annotated[str, typer.Option(help="The valuation day (YYYY-MM-DD).")],
    months: Annotated[int, typer.Option(help="Horizon in months (default: 3 years).")] = 36,
    monthly_discount: Annotated[float, typer.Option(help="Discount rate per month.")] = 0.01,
    time_unit: Annotated[str, typer.Option(help="Model time unit: day, week or month.")] = "week",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write per-consumer values (.csv or .parquet).")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The brand's consumer-asset value: 3-year CLV per consumer, summed by AIPL and DEEPLINK state."""
    with _session(workspace, assets=True, read=out_file is None) as wh:  # an export writes its audit row
        value = asset_value(wh, brand, calibration_end, months, monthly_discount, time_unit)
        consumers, by_state = value.consumers, value.by_state
        if out_file is not None:
            export_ids(wh, f"consumer values of {brand} on {calibration_end}", consumers, out_file)
            err.print(f"per-consumer values written to {out_file} (logged in crowd_exports)")
    meta = by_state.attrs
    body = {**{k: meta[k] for k in ("brand", "calibration_end", "months", "new_customer_value", "conversion",
                                    "reliable", "warnings", "checks", "holdout", "seasonality")},
            "total": float(by_state.value.sum()), "by_state": _records(by_state)}
    if as_json:
        _print_json(body)
        return
    _print_warnings(meta["warnings"])
    out.print(_frame_table(by_state, f"{brand}: consumer-asset value over {months} months at {calibration_end}"))
    out.print(f"total {body['total']:,.2f}; A and I are conversion estimates (30-day conversion "
              f"A {meta['conversion']['A']:.1%}, I {meta['conversion']['I']:.1%} × a new customer's "
              f"{meta['new_customer_value']:,.2f})")
    h = meta["holdout"]
    out.print(f"holdout check: {h['unavailable']}" if "unavailable" in h else
              f"holdout check: fitted to {h['calibration_end']}, predicted {h['predicted']:,.0f} repeat purchases "
              f"to {h['holdout_end']} against {h['actual']:,.0f} actual")
    out.print(f"seasonality: {meta['seasonality']['note']}")


@clv_app.command("predict")
def clv_predict(
    calibration_end: CalibrationOpt,
    out_file: Annotated[Path, typer.Option("--out", help="Predictions file (.csv or .parquet).")],
    horizon: Annotated[float, typer.Option(help="Predict purchases over this many time units.")] = 52,
    time_unit: TimeUnitOpt = "week",
    brand: OnlyBrandOpt = None,
    cohort: CohortOpt = None,
    file: FileArg = None,
    fmt: FormatOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Per customer of one brand or cohort: P(alive), expected purchases over the horizon (a campaign window in
    it scaled by last year's campaign uplift), expected spend and discounted 3-year CLV."""
    with _file_or_workspace(file, fmt, workspace) as wh:  # a writer: the export writes its audit row
        s = predict_clv(wh, calibration_end, horizon, time_unit, brand, cohort=cohort)
        export_ids(wh, f"CLV predictions of {s.attrs['scope']} at {calibration_end}", s, out_file)
    params = s.attrs["params"]
    _print_warnings(s.attrs["warnings"])
    out.print(f"{len(s):,} customers of {s.attrs['scope']} → {out_file} (BG/NBD {params['bgnbd']}, Gamma-Gamma "
              f"{params['gamma_gamma']})")
    out.print(f"seasonality: {s.attrs['seasonality']['note']}")


members_app = _group("members", "Member operations: lapsed buckets, activity, recall and reactivation lists.")


@members_app.command("summary")
def members_summary(
    brand: BrandOpt,
    day: DayOpt,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Buyers and members by days since their last purchase (30/60/180 天未购), activity and reactivation."""
    with _session(workspace, assets=True, read=True) as wh:
        rep = member_report(wh, brand, day)
        if not rep.buyers and not rep.members:  # the engine answers zeros for a brand it never saw
            _require_key(wh, "brand", brand)
    if as_json:
        _print_json(rep.to_dict())
        return
    rate = rep.member_activity_rate
    out.print(f"{brand} on {day}: {rep.buyers:,} buyers, {rep.members:,} members"
              f" (active in 30 days: {'—' if rate is None else f'{rate:.1%}'})")
    for b, n in rep.buckets.items():
        out.print(f"  {b:14} {n:,}")
    out.print(f"  老会员激活 reactivation list: {rep.reactivation:,}")


@members_app.command("list")
def members_list(
    brand: BrandOpt,
    day: DayOpt,
    kind: Annotated[str, typer.Option(help=f"{', '.join(LIST_KINDS)}.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Export the ids (.csv or .parquet).")] = None,
    save: Annotated[str | None, typer.Option(help="Also save the list in the warehouse under this name.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a recall or reactivation list; save it for crowds and the autopilot, or export it (min. size applies)."""
    with _session(workspace, read=not (save or out_file)) as wh:
        ids = member_list(wh, brand, day, kind, save)
        if out_file is not None:
            export_ids(wh, f"the {kind} list of {brand} on {day}", ids, out_file)
    if as_json:
        _print_json({"brand": brand, "day": day, "kind": kind, "consumers": len(ids), "saved_as": save,
                     "out": None if out_file is None else str(out_file)})
        return
    if save:
        out.print(f"saved {len(ids):,} consumers as list {save!r} of {brand}")
    if out_file is not None:
        out.print(f"exported {len(ids):,} consumer ids to {out_file} (logged in crowd_exports)")
    if not save and out_file is None:
        out.print(f"{len(ids):,} consumers in {kind} (use --save NAME or --out FILE)")
