"""Hillstrom's MineThatData e-mail experiment (2008): 64,000 customers randomised to Mens E-Mail, Womens
E-Mail or No E-Mail, with two weeks of outcomes. The file has no customer ids or dates: a customer's id is
`hillstrom-<data row>` and events carry the nominal send date below."""

from __future__ import annotations

from pathlib import Path

import ibis

from aipl import schema
from aipl.ingest.adapters.common import enum_check
from aipl.ingest.core import Target
from aipl.ingest.formats import register, stage
from aipl.warehouse import SourceError, Warehouse

EXPERIMENT = "hillstrom_2008"
BRAND = "hillstrom"
CONTROL = "No E-Mail"
ARMS = ["Mens E-Mail", "Womens E-Mail", CONTROL]
SEND_DATE = "2008-03-01 09:00:00"  # nominal: the public file has no dates
COLUMNS = ["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel",
           "segment", "visit", "conversion", "spend"]
COVARIATES = ["recency", "history", "mens", "womens", "newbie", "visit", "conversion", "spend"]
PRE_TREATMENT = ("history", "recency", "mens", "womens", "newbie")  # labels known before the e-mails went out


def _consumer(t):
    return ibis.literal("hillstrom-") + (t._line - 1).cast("string")


def _event(kind: str, keep, amount: bool = False) -> Target:
    def columns(t):
        cols = {
            "consumer_id": _consumer(t), "brand_id": ibis.literal(BRAND), "event_type": ibis.literal(kind),
            "channel": ibis.literal("crm"), "campaign_id": ibis.literal(EXPERIMENT), "ts": ibis.literal(SEND_DATE),
        }
        if amount:
            cols["amount"] = t.spend
            cols["order_id"] = _consumer(t)
        return cols

    return Target(
        schema.EVENTS, columns, prepare=lambda t: t.filter(keep(t)), label=f"events:{kind}",
        ts_window=None,
    )


@register(
    "hillstrom",
    "Hillstrom e-mail experiment CSV (header recency,…,segment,visit,conversion,spend): assignments, an "
    "exposure per e-mail, a store visit per visit, a purchase per conversion, and the covariates as labels.",
)
def plan(wh: Warehouse, path: Path):
    """The `hillstrom` format: the experiment's CSV staged once for assignments, events and labels.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import ingest
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> wh = open_warehouse(init_workspace(root))
    >>> _ = (root / "hillstrom.csv").write_text(
    ...     "recency,history_segment,history,mens,womens,zip_code,newbie,channel,segment,visit,conversion,spend\\n"
    ...     "10,2) $100 - $200,142.44,1,0,Surburban,0,Phone,Womens E-Mail,0,0,0\\n"
    ...     "6,3) $200 - $350,329.08,1,1,Rural,1,Web,No E-Mail,1,1,35.5\\n")
    >>> [(r.target, r.accepted) for r in ingest(wh, root / "hillstrom.csv", "hillstrom").loads]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('assignments', 2), ('events:exposure', 1), ('events:store_home_view', 1), ('events:purchase', 1),
     ('labels', 16)]
    >>> wh.close()
    """
    staged = stage(wh, path, stream=False)  # read by five targets
    missing = [c for c in COLUMNS if c not in staged.rel.columns]
    if missing:
        raise SourceError(f"{path}: not a Hillstrom file: the header lacks {', '.join(missing)}")

    assignments = Target(
        schema.ASSIGNMENTS,
        lambda t: {
            "experiment_id": ibis.literal(EXPERIMENT), "consumer_id": _consumer(t), "arm": t.segment,
            "is_control": ibis.cases((t.segment == CONTROL, "true"), else_="false"),
            "assigned_at": ibis.literal(SEND_DATE),
        },
        checks=lambda t, typed: [enum_check(t.segment, "segment", ARMS)],
    )

    def flag(col):
        return lambda t: t[col] == "1"

    def unpivot(t):
        parts = [t.select("_line", name=ibis.literal(c), value=t[c]) for c in COVARIATES]
        return ibis.union(*parts, distinct=False)

    labels = Target(
        schema.LABELS,
        lambda t: {"consumer_id": _consumer(t), "brand_id": ibis.literal(BRAND), "name": t.name, "value": t.value},
        prepare=unpivot,
    )
    return [(staged, [
        assignments,
        _event("exposure", lambda t: t.segment != CONTROL),
        _event("store_home_view", flag("visit")),
        _event("purchase", flag("conversion"), amount=True),
        labels,
    ])]
