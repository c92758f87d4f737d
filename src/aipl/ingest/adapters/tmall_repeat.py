"""Tianchi Tmall Repeat Buyers (dataset 42, Double 11 2014): a folder (or one file) of `user_log_format1.csv`,
`user_info_format1.csv` and `train_format1.csv`."""

from __future__ import annotations

from pathlib import Path

import ibis

from aipl import schema
from aipl.ingest.adapters.common import enum_check, local_window, recode
from aipl.ingest.core import Target
from aipl.ingest.formats import register, stage
from aipl.warehouse import SourceError, Warehouse

ACTIONS = {"0": "pdp_view", "1": "add_to_cart", "2": "purchase", "3": "favorite"}
GENDER = {"0": "F", "1": "M", "2": "U"}
# age_range code -> a representative birth year (ages in 2014: 1 <18, 2 18-24, 3 25-29, 4 30-34, 5 35-39,
# 6 40-49, 7 and 8 >= 50); 0 means unknown. An approximation: the data has bands, not years.
BIRTH_YEAR = {"1": "1998", "2": "1993", "3": "1987", "4": "1982", "5": "1977", "6": "1970", "7": "1960", "8": "1960"}
WINDOW = local_window("2014-05-01", "2014-11-13")
LABEL = "repeat_buyer_6m"
FILES = {"user_log_format1": "log", "user_info_format1": "info", "train_format1": "train"}


def _log(t) -> dict:
    mmdd = t.time_stamp.lpad(4, "0")
    return {
        "consumer_id": t.user_id, "item_id": t.item_id, "category_id": t.cat_id, "shop_id": t.seller_id,
        "brand_id": t.brand_id, "event_type": recode(t.action_type, ACTIONS),
        "ts": ibis.literal("2014-") + mmdd.substr(0, 2) + "-" + mmdd.substr(2, 2),
    }


def _info(t) -> dict:
    return {
        "consumer_id": t.user_id, "gender": recode(t.gender, GENDER),
        "birth_year": recode(t.age_range, BIRTH_YEAR),
    }


def _train(t) -> dict:
    return {"consumer_id": t.user_id, "brand_id": ibis.literal("seller:") + t.merchant_id,
            "name": ibis.literal(LABEL), "value": t.label}


TARGETS = {
    "log": Target(schema.EVENTS, _log, ts_window=WINDOW,
                  checks=lambda t, typed: [enum_check(t.action_type, "action_type", ACTIONS)]),
    "info": Target(schema.CONSUMERS, _info, checks=lambda t, typed: [
        enum_check(t.gender, "gender", GENDER), enum_check(t.age_range, "age_range", ["0", *BIRTH_YEAR])]),
    "train": Target(schema.LABELS, _train),
}


def kind_of(path: Path) -> str | None:
    """Which Tmall file `path` is, by its name (None for another file).

    >>> kind_of(Path("tmall/user_log_format1.csv.gz")), kind_of(Path("tmall/notes.csv"))
    ('log', None)
    """
    stem = path.name.split(".")[0]
    return FILES.get(stem)


@register(
    "tmall_repeat",
    "Tmall Repeat Buyers folder or file: user_log_format1 → events (0 pdp_view, 1 add_to_cart, 2 purchase, "
    "3 favorite; MMDD in 2014), user_info_format1 → consumers, train_format1 → labels repeat_buyer_6m.",
)
def plan(wh: Warehouse, path: Path):
    """The `tmall_repeat` format: each Tmall file of a folder (or the one file) staged for its canonical table.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import ingest
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> wh = open_warehouse(init_workspace(root))
    >>> _ = (root / "train_format1.csv").write_text("user_id,merchant_id,label\\n1,10,1\\n2,10,0\\n")
    >>> [(r.target, r.accepted) for r in ingest(wh, root / "train_format1.csv", "tmall_repeat").loads]
    [('labels', 2)]
    >>> wh.table("labels").execute()[["consumer_id", "brand_id", "name", "value"]].to_dict("records")[0]
    {'consumer_id': '1', 'brand_id': 'seller:10', 'name': 'repeat_buyer_6m', 'value': 1.0}
    >>> wh.close()
    """
    files = sorted(p for p in path.iterdir() if kind_of(p)) if path.is_dir() else [path]
    if not files or any(kind_of(p) is None for p in files):
        raise SourceError(f"{path}: expected files named {', '.join(FILES)} (.csv, .csv.gz or .parquet)")
    # train before info before log: small files first
    order = {"train": 0, "info": 1, "log": 2}
    jobs = []
    for i, p in enumerate(sorted(files, key=lambda p: order[kind_of(p)])):
        jobs.append((stage(wh, p, name=f"_staged{i}"), [TARGETS[kind_of(p)]]))
    return jobs
