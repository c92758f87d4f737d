"""Readers for the reports brands export (达摩盘 AIPL / DEEPLINK / crowd insight, 生意参谋 crowd, 万相台, 直通车): the
hand-made fixtures in tests/data/exports load by layout name or by header (`auto`); bad cells are quarantined with
their line; a file of another layout is refused with what its header lacks."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aipl.cli import app
from aipl.config import init_workspace
from aipl.ingest import FORMATS, SourceError, ingest
from aipl.warehouse import open_warehouse
from tests.conftest import DATA

EXPORTS = DATA / "exports"
# file → (format, keyword arguments, target, read, accepted, {line: field} quarantined)
CASES = {
    "databank_aipl.csv": ("auto", {}, "platform_assets", 12, 10, {3: "consumers", 4: "consumers"}),
    "databank_deeplink.csv": ("databank_deeplink", {"brand": "B01"}, "platform_assets", 14, 13, {3: "consumers"}),
    "databank_crowd.csv": ("auto", {}, "crowd_profiles", 4, 3, {5: "share"}),
    "sycm_crowd.csv": ("auto", {"encoding": "gbk"}, "crowd_profiles", 3, 3, {}),
    "wanxiangtai.csv": ("wanxiangtai", {"brand": "B01"}, "delivery_reports", 4, 3, {5: "cost"}),
    "ztc.csv": ("auto", {"brand": "B01"}, "delivery_reports", 3, 3, {}),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    wh = open_warehouse(init_workspace(tmp_path_factory.mktemp("exports")))
    results = {name: ingest(wh, EXPORTS / name, fmt, **kw) for name, (fmt, kw, *_) in CASES.items()}
    yield wh, results
    wh.close()


def test_every_fixture_loads_into_its_table(loaded):
    wh, results = loaded
    q = wh.table("quarantine").execute()
    for name, (_, _, target, read, accepted, bad) in CASES.items():
        r = results[name]
        assert [x.target for x in r.loads] == [target], name
        assert (r.read, r.accepted, r.rejected) == (read, accepted, read - accepted), name
        mine = q[q.source.str.endswith(name)]
        assert dict(zip(mine.line.astype(int), mine.field, strict=True)) == bad, name


def test_figures_as_the_report_shows_them(loaded):
    wh, _ = loaded
    pa = wh.table("platform_assets").execute()
    aipl = pa[(pa.model == "aipl") & (pa.day.astype(str) == "2026-11-01")].set_index("stage").consumers.to_dict()
    assert aipl == {"A": 12000, "I": 3000, "P": 800, "L": 120}  # "12,000" read as a number
    deep = pa[pa.model == "deeplink"]
    assert set(deep.brand_id) == {"B01"} and len(deep[deep.day.astype(str) == "2026-11-01"]) == 7
    cp = wh.table("crowd_profiles").execute().set_index(["crowd", "value"])
    assert cp.loc[("双11 加购人群", "女")].share == pytest.approx(0.62) and cp.loc[("双11 加购人群", "女")].tgi == 118.5
    assert cp.loc[("店铺访客", "二线城市")].consumers == 1600 and cp.loc[("店铺访客", "二线城市")].source == "sycm"
    dr = wh.table("delivery_reports").execute()
    wxt = dr[dr["product"] == "wanxiangtai"]
    assert set(wxt.campaign_id) == {"拉新-双11预热", "会员-入会"} and set(wxt.channel) == {"display"}
    assert wxt.cost.sum() == pytest.approx(5400.5 + 3100 + 1200) and wxt.gmv.sum() == pytest.approx(29190)
    ztc = dr[dr["product"] == "ztc"]
    assert set(ztc.channel) == {"search"} and ztc.orders.isna().sum() == 1  # "-" is no figure, not zero


def test_clear_errors(tmp_path):
    with open_warehouse(init_workspace(tmp_path / "ws")) as wh:
        with pytest.raises(SourceError, match=r"databank_deeplink layout lacks column.*品牌.*--brand"):
            ingest(wh, EXPORTS / "databank_deeplink.csv", "auto")
        with pytest.raises(SourceError, match=r"ztc.csv: not a databank_aipl report: its header needs .*认知人数"):
            ingest(wh, EXPORTS / "ztc.csv", "databank_aipl")
        (tmp_path / "odd.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
        with pytest.raises(SourceError, match=r"odd.csv: the header \(foo, bar\) is no known layout.*wanxiangtai"):
            ingest(wh, tmp_path / "odd.csv", "auto")
        assert wh.count("platform_assets") == wh.count("quarantine") == 0
        (tmp_path / "c.csv").write_text("consumer_id,gender\nc1,F\n", encoding="utf-8")
        assert ingest(wh, tmp_path / "c.csv", "auto").loads[0].target == "consumers"  # a canonical header
    assert {"databank_aipl", "databank_deeplink", "databank_crowd", "sycm_crowd", "wanxiangtai", "ztc",
            "auto"} <= set(FORMATS)


def test_the_cli_takes_auto_and_brand(tmp_path):
    root = init_workspace(tmp_path / "ws")
    run = CliRunner().invoke(app, ["ingest", str(EXPORTS / "wanxiangtai.csv"), "-f", "auto", "-w", str(root),
                                   "--brand", "B07", "--json"])
    assert run.exit_code == 0 and json.loads(run.stdout)["accepted"] == 3, run.output
