"""Tianchi Ali_Display_Ad_Click (dataset 56): raw_sample, ad_feature, user_profile and behavior_log, or the
joined sample (raw_sample ⋈ ad_feature ⋈ user_profile in one file, header starting `clk,time_stamp,userid`)."""

from __future__ import annotations

from pathlib import Path

import ibis

from aipl import schema
from aipl.ingest.adapters.common import enum_check, local_window, prefixed, recode
from aipl.ingest.core import Target
from aipl.ingest.formats import register, stage
from aipl.warehouse import SourceError, Warehouse

# raw_sample spans 2017-05-06..05-13 and behavior_log the 22 days before and including it.
WINDOW = local_window("2017-04-22", "2017-05-14")
BTAGS = {"pv": "pdp_view", "cart": "add_to_cart", "fav": "favorite", "buy": "purchase"}
GENDER = {"1": "M", "2": "F"}
FILES = ("raw_sample", "ad_feature", "user_profile", "behavior_log")
PROFILE = ["userid", "cms_segid", "cms_group_id", "final_gender_code", "age_level", "pvalue_level",
           "shopping_level", "occupation", "new_user_class_level"]


def _impressions(t) -> dict:
    """One event per impression: ad_click when clicked, else exposure (a click implies its impression)."""
    user = t.userid if "userid" in t.columns else t.user
    return {
        "consumer_id": user, "brand_id": prefixed(t.brand, "ali:"), "category_id": t.cate_id,
        "event_type": ibis.cases((t.clk == "1", "ad_click"), else_="exposure"),
        "channel": ibis.literal("display"), "touchpoint": t.pid, "campaign_id": t.campaign_id,
        "creative_id": t.adgroup_id, "ts": t.time_stamp,
    }


def _clk_check(t, typed):
    checks = [enum_check(t.clk, "clk", ["0", "1"])]
    if "_feature_found" in t.columns:
        checks.append((t._feature_found.isnull(), "adgroup_id", ibis.literal("ad group '") + t.adgroup_id
                       + "' is not in ad_feature"))
    return checks


def _profile(t) -> dict:
    return {
        "consumer_id": t.userid, "gender": recode(t.final_gender_code, GENDER),
        "city_tier": t.new_user_class_level, "purchasing_power": t.pvalue_level,
        "occupation": ibis.cases((t.occupation == "1", "student"), else_=ibis.null("string")),
    }


def _distinct_profiles(t):
    cols = [c for c in PROFILE if c in t.columns]
    return t.group_by(cols).aggregate(_line=t._line.min())


def _behaviour(t) -> dict:
    return {
        "consumer_id": t.user, "brand_id": prefixed(t.brand, "ali:"), "category_id": t.cate,
        "event_type": recode(t.btag, BTAGS), "ts": t.time_stamp,
    }


def _kind(path: Path) -> str | None:
    stem = path.name.split(".")[0]
    return stem if stem in FILES else None


@register(
    "ali_display_ad",
    "Ali display-ad click set: a folder with raw_sample, ad_feature, user_profile, behavior_log (any subset; "
    "raw_sample needs ad_feature for brands), or the joined sample file. Impressions → exposure/ad_click "
    "(channel display, touchpoint = pid, creative = adgroup), profiles → consumers, btag pv/cart/fav/buy → events.",
)
def plan(wh: Warehouse, path: Path):
    """The `ali_display_ad` format: the files of a folder (or the joined sample file) staged for events and
    consumers; impressions take their brand from ad_feature.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import ingest
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> ali = root / "ali"
    >>> ali.mkdir()
    >>> _ = (ali / "ad_feature.csv").write_text("adgroup_id,cate_id,campaign_id,customer,brand,price\\n"
    ...                                         "1,6406,83237,1,95471,170.0\\n")
    >>> _ = (ali / "raw_sample.csv").write_text("user,time_stamp,adgroup_id,pid,nonclk,clk\\n"
    ...                                         "581738,1494137644,1,430548_1007,1,0\\n"
    ...                                         "581738,1494137645,1,430548_1007,0,1\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> [(r.target, r.accepted) for r in ingest(wh, ali, "ali_display_ad").loads]
    [('events', 2)]
    >>> wh.table("events").order_by("ts").event_type.execute().tolist()
    ['exposure', 'ad_click']
    >>> wh.close()
    """
    if path.is_file() and _kind(path) is None:
        staged = stage(wh, path, stream=False)  # read by two targets
        if not {"clk", "time_stamp", "userid", "adgroup_id", "brand"} <= set(staged.rel.columns):
            raise SourceError(f"{path}: not a joined Ali display-ad sample (header needs clk,time_stamp,userid,…)")
        return [(staged, [
            Target(schema.EVENTS, _impressions, checks=_clk_check, ts_window=WINDOW),
            Target(schema.CONSUMERS, _profile, prepare=_distinct_profiles),
        ])]
    files = {(_kind(p)): p for p in (sorted(path.iterdir()) if path.is_dir() else [path]) if _kind(p)}
    if not files:
        raise SourceError(f"{path}: expected files named {', '.join(FILES)} (.csv, .csv.gz or .parquet)")
    jobs = []
    if "user_profile" in files:
        s = stage(wh, files["user_profile"], name="_staged_up")
        jobs.append((s, [Target(schema.CONSUMERS, _profile)]))
    if "raw_sample" in files:
        if "ad_feature" not in files:
            raise SourceError(f"{path}: raw_sample needs ad_feature beside it (the brand of each ad group)")
        feat = stage(wh, files["ad_feature"], name="_staged_af", stream=False).rel
        raw = stage(wh, files["raw_sample"], name="_staged_rs")
        dupe = feat.group_by("adgroup_id").aggregate(n=feat.count()).filter(lambda t: t.n > 1).count().execute()
        if int(dupe):
            raise SourceError(f"{files['ad_feature']}: {int(dupe)} adgroup_id values appear more than once")

        def joined(t):
            f = feat.drop("_line").mutate(_feature_found=ibis.literal(1))
            return t.left_join(f, t.adgroup_id == f.adgroup_id).drop("adgroup_id_right")

        jobs.append((raw, [Target(schema.EVENTS, _impressions, checks=_clk_check, ts_window=WINDOW, prepare=joined)]))
    if "behavior_log" in files:
        s = stage(wh, files["behavior_log"], name="_staged_bl")
        jobs.append((s, [Target(schema.EVENTS, _behaviour, ts_window=WINDOW,
                                checks=lambda t, typed: [enum_check(t.btag, "btag", BTAGS)])]))
    return jobs
