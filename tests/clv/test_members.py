"""Member operations on a hand-made brand: buckets, activity, reactivation, saved and exported lists."""

from __future__ import annotations

import json

import ibis
from typer.testing import CliRunner

from aipl import schema
from aipl.cli import app
from aipl.clv import member_list, member_report, member_status, member_summary, save_list, select_list
from aipl.config import init_workspace
from aipl.warehouse import ibis_schema, open_warehouse
from tests.assets.test_states import at, ev, load

DAY = "2026-07-20"  # day 200 after 2026-01-01


def test_buckets_activity_and_lists(tmp_path):
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    load(wh, [
        ev("b1", "purchase", 195, brand_id="M", amount=1.0),   # 5 days ago → active
        ev("b2", "purchase", 160, brand_id="M", amount=1.0),   # 40 → lapsed_30
        ev("b3", "purchase", 100, brand_id="M", amount=1.0),   # 100 → lapsed_60
        ev("b4", "purchase", 10, brand_id="M", amount=1.0),    # 190 → lapsed_180
        ev("b5", "purchase", 170, brand_id="M", amount=1.0),   # exactly 30 → lapsed_30
        ev("b6", "purchase", 171, brand_id="M", amount=1.0),   # 29 → active
        ev("m2", "favorite", 190, brand_id="M"),               # a member active recently, never bought
        ev("x", "purchase", 199, brand_id="OTHER", amount=1.0),
        ev("b1", "purchase", 205, brand_id="M", amount=1.0),   # after the day: ignored
    ])
    wh.con.insert("members", ibis.memtable({
        "consumer_id": ["b3", "b4", "m1", "m2", "b1"], "brand_id": ["M"] * 5, "shop_id": ["s"] * 5,
        "joined_at": [at(50), at(5), at(20), at(30), at(210)], "status": ["active"] * 5, "tier": ["V1"] * 5,
    }).cast(ibis_schema(schema.MEMBERS)))
    s = member_status(wh, "M", DAY).set_index("consumer_id")
    assert s.bucket.to_dict() == {"b1": "active", "b2": "lapsed_30", "b3": "lapsed_60", "b4": "lapsed_180",
                                  "b5": "lapsed_30", "b6": "active", "m1": "never_bought", "m2": "never_bought"}
    assert s.loc["b1", "member"] == False  # noqa: E712 - joins after the day
    # reactivation: members idle for 30 days and without a purchase for 60 days
    assert set(s.index[s.reactivation]) == {"b3", "b4", "m1"}
    summary = member_summary(s.reset_index())
    assert summary["members"] == 4 and summary["member_activity_rate"] == 0.25  # only m2 was active
    assert summary["buckets"] == {"active": 2, "lapsed_30": 2, "lapsed_60": 1, "lapsed_180": 1, "never_bought": 2}
    assert repr(summary) == ("MemberSummary(6 buyers, 4 members (25.0% active), active 2, lapsed_30 2, lapsed_60 1, "
                             "lapsed_180 1, never_bought 2; reactivation 3)")
    assert json.loads(json.dumps(summary.to_dict())) == summary
    ids = select_list(s.reset_index(), "lapsed_30")
    assert save_list(wh, "recall_30", "M", DAY, ids) == 2
    assert save_list(wh, "recall_30", "M", DAY, ids) == 2  # saving again replaces
    saved = wh.table("consumer_lists").execute()
    assert sorted(saved.consumer_id) == ["b2", "b5"]
    report = member_report(wh, "M", DAY)
    assert (report.members, report.reactivation, report.buckets) == (4, 3, summary["buckets"])
    assert member_list(wh, "M", DAY, "lapsed_60", save="recall_60").consumer_id.tolist() == ["b3"]
    root = str(wh.config.root)
    wh.close()
    r = CliRunner().invoke(app, ["members", "summary", "--brand", "M", "--day", DAY, "-w", root, "--json"])
    assert json.loads(r.stdout) == report.to_dict()  # the CLI calls the same use case
    assert json.loads(r.stdout)["reactivation"] == 3
    r = CliRunner().invoke(app, ["members", "list", "--brand", "M", "--day", DAY, "--kind", "reactivation",
                                 "--out", str(tmp_path / "l.csv"), "-w", root])
    assert r.exit_code == 2 and "below the minimum export size 100" in r.output
    assert not (tmp_path / "l.csv").exists()
    r = CliRunner().invoke(app, ["members", "list", "--brand", "M", "--day", DAY, "--kind", "nope", "-w", root])
    assert r.exit_code == 2 and "unknown list 'nope'" in r.output


def test_member_list_saves_under_its_name_as_the_cli_does(tmp_path):
    wh = open_warehouse(init_workspace(tmp_path / "ws"))
    load(wh, [ev("b2", "purchase", 160, brand_id="M", amount=1.0), ev("b5", "purchase", 170, brand_id="M",
                                                                         amount=1.0)])
    lib = member_list(wh, "M", DAY, "lapsed_30", save="by_library")
    root = str(wh.config.root)
    wh.close()
    r = CliRunner().invoke(app, ["members", "list", "--brand", "M", "--day", DAY, "--kind", "lapsed_30",
                                 "--save", "by_cli", "-w", root])
    assert r.exit_code == 0 and "saved 2 consumers as list 'by_cli' of M" in r.stdout, r.output
    wh = open_warehouse(root)
    saved = wh.table("consumer_lists").execute()
    wh.close()
    by = {name: sorted(g.consumer_id) for name, g in saved.groupby("list_name")}
    assert by == {"by_cli": sorted(lib.consumer_id), "by_library": sorted(lib.consumer_id)}
