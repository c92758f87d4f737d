"""The reports brands export from the platforms (达摩盘 Databank, 生意参谋, 万相台, 直通车), each a layout of known
Chinese headers, read into `platform_assets`, `crowd_profiles` and `delivery_reports` (docs/imports.md). The format
`auto` picks a layout, or a canonical table, by the file's header."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir

from aipl import schema
from aipl.ingest.core import Target, clean
from aipl.ingest.formats import FORMATS, default_brand, register, stage
from aipl.vocab import AIPL_STATES, DEEPLINK_STAGES
from aipl.warehouse import SourceError, Staged, Warehouse

NUMERIC = (schema.INT, schema.FLOAT)


@dataclass(frozen=True)
class Layout:
    """One export layout: `columns` maps its headers to canonical columns (alternatives separated by `|`), `wide`
    maps the headers of a one-column-per-stage report to its stages (unpivoted into `stage` and `consumers`),
    `constants` fills columns the report implies. Headers in `needs` identify the layout.

    >>> DATABANK_AIPL.table.name, DATABANK_AIPL.needs
    ('platform_assets', ('日期|统计日期', '认知人数'))
    """

    name: str
    doc: str
    table: schema.Table
    columns: dict[str, str]
    needs: tuple[str, ...]
    constants: dict[str, str] = field(default_factory=dict)
    wide: dict[str, str] = field(default_factory=dict)

    def found(self, header: list[str]) -> bool:
        """Whether `header` is this layout's (its identifying headers are there).

        >>> DATABANK_AIPL.found(["日期", "品牌", "认知人数", "兴趣人数"]), ZTC.found(["日期", "认知人数"])
        (True, False)
        """
        return all(any(h in header for h in need.split("|")) for need in self.needs)

    def target(self, header: list[str]) -> Target:
        """The target reading a staged file of this layout (the brand from `default_brand` when it has none)."""
        given = {}
        for heads, col in self.columns.items():  # the first of the alternatives the header has
            given.update({h: col for h in [h for h in heads.split("|") if h in header][:1]})
        brand = default_brand()  # read now: the columns are built after the reading block
        missing = [heads.split("|")[0] for heads, col in self.columns.items()
                   if self.table.column(col).required and col not in given.values()
                   and not (col == "brand_id" and brand)]
        if missing:
            raise SourceError(f"the {self.name} layout lacks column(s) {', '.join(missing)}"
                              + (" (or give the brand with --brand)" if "品牌" in missing else ""))
        prepare = _unpivot(self.wide, [h for h in self.wide if h in header]) if self.wide else None
        return Target(self.table, lambda t: _columns(self, given, t, brand), prepare=prepare)


def _columns(layout: Layout, given: dict[str, str], t: ir.Table, brand: str | None) -> dict[str, ir.Value]:
    out: dict[str, ir.Value] = {}
    for head, col in given.items():
        kind = layout.table.column(col).type
        out[col] = _number(t[head], percent=col == "share") if kind in NUMERIC else t[head]
    if layout.wide:
        out["stage"], out["consumers"] = t.stage, _number(t.consumers)
    if "brand_id" not in out and brand:
        out["brand_id"] = ibis.literal(brand)
    out.update({col: ibis.literal(value) for col, value in layout.constants.items()})
    return out


def _number(raw: ir.StringValue, percent: bool = False) -> ir.StringValue:
    """A report's number as plain text: thousands separators dropped, `-` and `--` empty, `12.5%` → 0.125 (a
    percentage that is no number stays as written, to be quarantined).

    >>> t = ibis.memtable({"s": ["1,234", "--", "12.5%", "x%"]})
    >>> t.select(v=_number(t.s, percent=True)).to_pyarrow()["v"].to_pylist()
    ['1234', None, '0.125', 'x%']
    """
    s = clean(raw).re_replace(r"[,\s]", "")
    s = ibis.cases((s.isin(["-", "--"]), ibis.null("string")), else_=s)
    if not percent:
        return s
    value = s.re_replace("%$", "").try_cast("float64") / 100
    return ibis.cases((s.endswith("%") & value.notnull(), value.cast("string")), else_=s)


def _unpivot(wide: dict[str, str], present: list[str]) -> Callable[[ir.Table], ir.Table]:
    """Reshape one row per day (a column per stage) into one row per day × stage; `_raw` keeps the whole record."""

    def prepare(t: ir.Table) -> ir.Table:
        cols = [c for c in t.columns if not c.startswith("_")]
        t = t.mutate(_raw=ibis.literal(",").join([t[c].cast("string").fill_null("") for c in cols]))
        long = t.pivot_longer(present, names_to="_head", values_to="consumers")
        stage_of = ibis.cases(*[(long._head == h, ibis.literal(wide[h])) for h in present], else_=ibis.null("string"))
        return long.mutate(stage=stage_of).drop("_head")

    return prepare


_DAY, _BRAND = "日期|统计日期|date", "品牌|品牌名称|brand"
DATABANK_AIPL = Layout(
    "databank_aipl", "达摩盘 Databank 品牌消费者资产 (AIPL) export: 日期, 品牌, 认知人数, 兴趣人数, 购买人数, 忠诚人数 "
    "(one row per day) → platform_assets, model aipl.",
    schema.PLATFORM_ASSETS, {_DAY: "day", _BRAND: "brand_id"}, ("日期|统计日期", "认知人数"),
    {"model": "aipl", "source": "databank"},
    dict(zip(("认知人数", "兴趣人数", "购买人数", "忠诚人数"), AIPL_STATES, strict=True)),
)
DATABANK_DEEPLINK = Layout(
    "databank_deeplink", "达摩盘 DEEPLINK资产分布 export: 日期, 品牌, 发现人数, 种草人数, 热爱人数, 行动人数, "
    "首购人数, 复购人数, 忠诚人数 → platform_assets, model deeplink.",
    schema.PLATFORM_ASSETS, {_DAY: "day", _BRAND: "brand_id"}, ("日期|统计日期", "发现人数", "种草人数"),
    {"model": "deeplink", "source": "databank"},
    dict(zip(("发现人数", "种草人数", "热爱人数", "行动人数", "首购人数", "复购人数", "忠诚人数"), DEEPLINK_STAGES,
             strict=True)),
)
_CROWD = {"日期|统计日期": "day", _BRAND: "brand_id", "人数|访客数|人群规模": "consumers",
          "占比|人数占比|访客占比": "share", "TGI|tgi": "tgi"}
DATABANK_CROWD = Layout(
    "databank_crowd", "达摩盘 Databank 人群洞察 (crowd insight) export: 人群名称, 日期, 标签, 标签值, 人数, 占比, TGI "
    "→ crowd_profiles.",
    schema.CROWD_PROFILES, {"人群名称": "crowd", "标签": "dimension", "标签值": "value", **_CROWD},
    ("人群名称", "标签值"), {"source": "databank"},
)
SYCM_CROWD = Layout(
    "sycm_crowd", "生意参谋 人群 (crowd portrait) export: 统计日期, 人群, 维度, 分类, 访客数, 访客占比 (and TGI) → "
    "crowd_profiles.",
    schema.CROWD_PROFILES, {"人群": "crowd", "维度": "dimension", "分类": "value", **_CROWD}, ("人群", "维度", "分类"),
    {"source": "sycm"},
)
_DELIVERY = {_DAY: "day", _BRAND: "brand_id", "展现量": "impressions", "点击量": "clicks", "花费|消耗": "cost",
             "总成交笔数|成交笔数": "orders", "总成交金额|成交金额": "gmv", "总购物车数|加购数": "carts",
             "总收藏数|收藏数": "favorites", "归因周期(天)|归因天数": "attribution_days"}
WANXIANGTAI = Layout(
    "wanxiangtai", "万相台 scene report: 日期, 场景名称, 计划名称, 人群名称, 创意名称, 展现量, 点击量, 花费, "
    "总成交笔数, 总成交金额, 总购物车数, 总收藏数 → delivery_reports (channel display; campaign = 计划名称, "
    "else 场景名称).",
    schema.DELIVERY_REPORTS, {"计划名称|场景名称": "campaign_id", "人群名称": "crowd_id", "创意名称": "creative_id",
                              **_DELIVERY}, ("日期|统计日期", "场景名称", "花费|消耗"),
    {"product": "wanxiangtai", "channel": "display"},
)
ZTC = Layout(
    "ztc", "直通车 report: 日期, 推广计划名称, 推广单元名称, 展现量, 点击量, 花费, 总成交笔数, 总成交金额, 总购物车数, "
    "总收藏数 → delivery_reports (channel search; creative = 推广单元名称).",
    schema.DELIVERY_REPORTS, {"推广计划名称": "campaign_id", "推广单元名称|宝贝名称": "creative_id", **_DELIVERY},
    ("日期|统计日期", "推广计划名称", "花费|消耗"), {"product": "ztc", "channel": "search"},
)
LAYOUTS: dict[str, Layout] = {x.name: x for x in (DATABANK_AIPL, DATABANK_DEEPLINK, DATABANK_CROWD, SYCM_CROWD,
                                                   WANXIANGTAI, ZTC)}


def header_of(staged: Staged) -> list[str]:
    """The staged file's header, a UTF-8 byte-order mark dropped (spreadsheets write one).

    >>> from pathlib import Path
    >>> header_of(Staged(Path("x.csv"), ibis.table({"_line": "int64", "\\ufeff日期": "string"}, name="x"), None))
    ['日期']
    """
    bom = {c.lstrip("\ufeff"): c for c in staged.rel.columns if c.startswith("\ufeff")}
    if bom:
        staged.rel = staged.rel.rename(bom)
    return [c for c in staged.rel.columns if c != "_line"]


def detect(header: list[str]) -> str | None:
    """The name of the export layout, else of the canonical table, whose header this is (None: neither).

    >>> detect(["日期", "推广计划名称", "花费"]), detect(["consumer_id", "gender"]), detect(["x"])
    ('ztc', 'consumers', None)
    """
    for layout in LAYOUTS.values():
        if layout.found(header):
            return layout.name
    for table in schema.TABLES.values():
        required = [c.name for c in table.columns if c.required]
        if set(header) <= set(table.names) and set(required) <= set(header):
            return table.name
    return None


def _plan(name: str) -> Callable[[Warehouse, Path], list]:
    def plan(wh: Warehouse, path: Path) -> list[tuple[Staged, list[Target]]]:
        staged = stage(wh, path)
        header = header_of(staged)
        if not LAYOUTS[name].found(header):
            raise SourceError(f"{path}: not a {name} report: its header needs {', '.join(LAYOUTS[name].needs)} "
                              f"(it has: {', '.join(header)}); see docs/imports.md")
        try:
            return [(staged, [LAYOUTS[name].target(header)])]
        except SourceError as exc:
            raise SourceError(f"{path}: {exc}") from None

    return plan


for _layout in LAYOUTS.values():
    register(_layout.name, _layout.doc)(_plan(_layout.name))


@register("auto", "Any file above, its format chosen by its header: an export layout (databank_aipl, "
                  "databank_deeplink, databank_crowd, sycm_crowd, wanxiangtai, ztc) or a canonical table.")
def auto(wh: Warehouse, path: Path) -> list[tuple[Staged, list[Target]]]:
    """The format `auto`: the layout or canonical table whose header the file has; SourceError listing the
    layouts when none fits.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import ingest
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "aipl.csv").write_text("日期,品牌,认知人数,兴趣人数,购买人数,忠诚人数\\n2026-11-01,B01,"
    ...                                   "\\"12,000\\",3000,800,120\\n", encoding="utf-8")
    >>> wh = open_warehouse(init_workspace(root))
    >>> ingest(wh, root / "aipl.csv", "auto").accepted
    4
    >>> wh.table("platform_assets").execute().set_index("stage").consumers.to_dict()
    {'A': 12000, 'I': 3000, 'P': 800, 'L': 120}
    >>> wh.close()
    """
    staged = stage(wh, path)
    header = header_of(staged)
    name = detect(header)
    if name is None:
        raise SourceError(f"{path}: the header ({', '.join(header)}) is no known layout; give --format (see `aipl "
                          f"formats` and docs/imports.md: {', '.join(LAYOUTS)}, or a canonical table)")
    if name in LAYOUTS:
        try:
            return [(staged, [LAYOUTS[name].target(header)])]
        except SourceError as exc:
            raise SourceError(f"{path}: {exc}") from None
    wh.drop_temp(*staged.temps)  # the canonical format stages the file itself
    return FORMATS[name].plan(wh, path)
