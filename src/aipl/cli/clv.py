"""`aipl clv …` and `aipl members …`: lifetime value and member operations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aipl.cli.common import (
    JsonOpt,
    WorkspaceOpt,
    _fail,
    _file_or_workspace,
    _frame_table,
    _group,
    _records,
    _session,
    err,
    out,
)

clv_app = _group("clv", "Customer lifetime value: BG/NBD, Pareto/NBD, Gamma-Gamma.")




def _clv_summary(file: Path | None, fmt: str | None, workspace: Path | None, brand: str | None,
                 calibration_end: str, time_unit: str):
    """The calibration summary from a file (validated into a temporary workspace) or from a workspace."""
    from aipl.clv import rfm_summary

    with _file_or_workspace(file, fmt, workspace) as wh:
        summary = rfm_summary(wh, calibration_end, time_unit, brand=brand)
    if summary.empty:
        _fail("no purchases before the calibration end" + (f" for brand {brand}" if brand else ""))
    return summary


@clv_app.command("fit")
def clv_fit(
    file: Annotated[Path | None, typer.Argument(help="A transaction file to read directly (with --format).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="Format of FILE, e.g. cdnow.")] = None,
    calibration_end: Annotated[str, typer.Option(help="Last day of the calibration period (YYYY-MM-DD).")] = "",
    time_unit: Annotated[str, typer.Option(help="day, week or month.")] = "week",
    model: Annotated[str, typer.Option(help="bgnbd, pareto_nbd or gamma_gamma.")] = "bgnbd",
    brand: Annotated[str | None, typer.Option(help="Only this brand's purchases.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit a CLV model by maximum likelihood and print its parameters and log-likelihood."""
    from aipl.clv import MODELS

    if model not in MODELS:
        _fail(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if not calibration_end:
        _fail("give --calibration-end YYYY-MM-DD")
    s = _clv_summary(file, fmt, workspace, brand, calibration_end, time_unit)
    m = MODELS[model]()
    if model == "gamma_gamma":
        m.fit(s.frequency, s.monetary)
    else:
        m.fit(s.frequency, s.recency, s["T"])
    body = {"model": model, "params": m.params_, "loglik": m.loglik_, "customers": m.n_customers_,
            "time_unit": time_unit, "calibration_end": calibration_end}
    if as_json:
        print(json.dumps(body))
        return
    out.print(f"{model} on {m.n_customers_:,} customers (time unit {time_unit}, calibration to {calibration_end})")
    for k, v in m.params_.items():
        out.print(f"  {k:6} = {v:.4f}")
    out.print(f"  log-likelihood = {m.loglik_:,.2f}")


@clv_app.command("value")
def clv_value(
    brand: Annotated[str, typer.Option(help="The brand.")],
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
    from aipl.clv import asset_value

    with _session(workspace, assets=True) as wh:
        consumers, by_state = asset_value(wh, brand, calibration_end, months, monthly_discount, time_unit)
    if out_file is not None:
        (consumers.to_parquet if out_file.suffix == ".parquet" else consumers.to_csv)(out_file, index=False)
        err.print(f"per-consumer values written to {out_file}")
    meta = by_state.attrs
    body = {**{k: meta[k] for k in ("brand", "calibration_end", "months", "new_customer_value", "conversion")},
            "total": float(by_state.value.sum()), "by_state": _records(by_state)}
    if as_json:
        print(json.dumps(body, ensure_ascii=False))
        return
    out.print(_frame_table(by_state, f"{brand}: consumer-asset value over {months} months at {calibration_end}"))
    out.print(f"total {body['total']:,.2f}; A and I are conversion estimates (30-day conversion "
              f"A {meta['conversion']['A']:.1%}, I {meta['conversion']['I']:.1%} × a new customer's "
              f"{meta['new_customer_value']:,.2f})")


@clv_app.command("predict")
def clv_predict(
    calibration_end: Annotated[str, typer.Option(help="Last day of the calibration period.")],
    out_file: Annotated[Path, typer.Option("--out", help="Predictions file (.csv or .parquet).")],
    horizon: Annotated[float, typer.Option(help="Predict purchases over this many time units.")] = 52,
    time_unit: Annotated[str, typer.Option(help="day, week or month.")] = "week",
    brand: Annotated[str | None, typer.Option(help="Only this brand's purchases.")] = None,
    file: Annotated[Path | None, typer.Argument(help="A transaction file to read directly (with --format).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="Format of FILE, e.g. cdnow.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Per customer: P(alive), expected purchases over the horizon, expected spend and discounted 3-year CLV."""
    from aipl.clv import BetaGeo, GammaGamma

    s = _clv_summary(file, fmt, workspace, brand, calibration_end, time_unit)
    bg = BetaGeo().fit(s.frequency, s.recency, s["T"])
    gg = GammaGamma().fit(s.frequency, s.monetary)
    x, tx, T, m = s.frequency, s.recency, s["T"], s.monetary
    s["p_alive"] = bg.p_alive(x, tx, T)
    s["expected_purchases"] = bg.predict(horizon, x, tx, T)
    s["expected_spend"] = gg.expected_spend(x, m)
    s["clv_36m"] = gg.clv(bg, x, tx, T, m, units_per_month=365.25 / 12 / {"day": 1, "week": 7, "month": 30}[time_unit])
    (s.to_parquet if out_file.suffix == ".parquet" else s.to_csv)(out_file, index=False)
    out.print(f"{len(s):,} customers → {out_file} (BG/NBD {bg.params_}, Gamma-Gamma {gg.params_})")


members_app = _group("members", "Member operations: lapsed buckets, activity, recall and reactivation lists.")


@members_app.command("summary")
def members_summary(
    brand: Annotated[str, typer.Option(help="The brand.")],
    date: Annotated[str, typer.Option(help="The day (YYYY-MM-DD).")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Buyers and members by days since their last purchase (30/60/180 天未购), activity and reactivation."""
    from aipl.clv import member_status, member_summary

    with _session(workspace) as wh:
        summary = member_summary(member_status(wh, brand, date))
    if as_json:
        print(json.dumps({"brand": brand, "date": date, **summary}))
        return
    rate = summary["member_activity_rate"]
    out.print(f"{brand} on {date}: {summary['buyers']:,} buyers, {summary['members']:,} members"
              f" (active in 30 days: {'—' if rate is None else f'{rate:.1%}'})")
    for b, n in summary["buckets"].items():
        out.print(f"  {b:14} {n:,}")
    out.print(f"  老会员激活 reactivation list: {summary['reactivation']:,}")


@members_app.command("list")
def members_list(
    brand: Annotated[str, typer.Option(help="The brand.")],
    date: Annotated[str, typer.Option(help="The day (YYYY-MM-DD).")],
    kind: Annotated[str, typer.Option(help="active, lapsed_30, lapsed_60, lapsed_180, never_bought, reactivation.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Export the ids (.csv or .parquet).")] = None,
    save: Annotated[str | None, typer.Option(help="Also save the list in the warehouse under this name.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Build a recall or reactivation list; save it for crowds and the autopilot, or export it (min. size applies)."""
    from aipl.audience.crowds import export_ids
    from aipl.clv import member_status, save_list, select_list

    with _session(workspace) as wh:
        ids = select_list(member_status(wh, brand, date), kind)
        if save:
            save_list(wh, save, brand, date, ids)
            out.print(f"saved {len(ids):,} consumers as list {save!r} of {brand}")
        if out_file is not None:
            export_ids(wh, f"the {kind} list of {brand} on {date}", ids, out_file)
            out.print(f"exported {len(ids):,} consumer ids to {out_file} (logged in crowd_exports)")
    if not save and out_file is None:
        out.print(f"{len(ids):,} consumers in {kind} (use --save NAME or --out FILE)")


