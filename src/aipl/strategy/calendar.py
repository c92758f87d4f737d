"""Campaign calendars: a campaign's phases from the campaigns table (loaded from files) merged in memory with
the calendars declared in aipl.toml `[campaigns.<id>]` (reading never writes; `save_calendars` does), the days
that matter to a plan (蓄水 window, presale start, selling period), and last year's same campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import pandas as pd

from aipl import schema
from aipl.config import parse_day
from aipl.warehouse import Warehouse, ibis_schema

SELLING = ("presale", "warmup", "burst")  # 活动期: from the presale start to the last burst day
DEFAULT_ACCUMULATE_DAYS = 60  # 蓄水期 when a calendar declares none (DOMAIN.md §6: 蓄水期60天A/I)
CALENDAR_COLUMNS = ["campaign_id", "name", "brand_id", "phase", "start_date", "end_date"]


@dataclass(frozen=True)
class Campaign:
    """A campaign's calendar: (phase, start, end) rows in date order; two burst rows make a 双截棍 calendar.

    >>> from datetime import date
    >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
    ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
    ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
    >>> str(c.d0), str(c.presale_start), str(c.selling_end), c.phase_on(date(2026, 11, 1))
    ('2026-10-19', '2026-10-20', '2026-11-11', None)
    """

    campaign_id: str
    name: str
    brand: str | None
    phases: tuple[tuple[str, date, date], ...]

    @property
    def presale_start(self) -> date:
        """The first selling day (presale, else warmup, else burst): day 0 of every offset.

        >>> from datetime import date
        >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
        ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
        ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
        >>> c.presale_start
        datetime.date(2026, 10, 20)
        """
        for wanted in SELLING:
            days = [a for p, a, _ in self.phases if p == wanted]
            if days:
                return min(days)
        raise ValueError(f"campaign {self.campaign_id!r} has no presale, warmup or burst phase")

    @property
    def selling_end(self) -> date:
        """The last day of the last selling phase.

        >>> from datetime import date
        >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
        ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
        ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
        >>> c.selling_end
        datetime.date(2026, 11, 11)
        """
        return max(b for p, _, b in self.phases if p in SELLING)

    @property
    def d0(self) -> date:
        """The eve of the presale: the day the pools are counted.

        >>> from datetime import date
        >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
        ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
        ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
        >>> c.d0
        datetime.date(2026, 10, 19)
        """
        return self.presale_start - timedelta(days=1)

    @property
    def accumulate(self) -> tuple[date, date]:
        """The 蓄水期 window: the declared accumulate phases, else the 60 days before the presale.

        >>> from datetime import date
        >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
        ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
        ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
        >>> c.accumulate
        (datetime.date(2026, 9, 20), datetime.date(2026, 10, 19))
        >>> Campaign("b", "b", None, (("burst", date(2026, 11, 11), date(2026, 11, 11)),)).accumulate
        (datetime.date(2026, 9, 12), datetime.date(2026, 11, 10))
        """
        acc = [(a, b) for p, a, b in self.phases if p == "accumulate"]
        if acc:
            return min(a for a, _ in acc), max(b for _, b in acc)
        return self.d0 - timedelta(days=DEFAULT_ACCUMULATE_DAYS - 1), self.d0

    @property
    def start(self) -> date:
        """The calendar's first day.

        >>> from datetime import date
        >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
        ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
        ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
        >>> c.start
        datetime.date(2026, 9, 20)
        """
        return min(a for _, a, _ in self.phases)

    @property
    def end(self) -> date:
        """The calendar's last day.

        >>> from datetime import date
        >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
        ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
        ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
        >>> c.end
        datetime.date(2026, 11, 11)
        """
        return max(b for _, _, b in self.phases)

    def phase_on(self, day: date) -> str | None:
        """The phase a day falls in (None outside the calendar).

        >>> from datetime import date
        >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
        ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
        ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
        >>> c.phase_on(date(2026, 10, 25)), c.phase_on(date(2026, 11, 11)), c.phase_on(date(2026, 12, 1))
        ('presale', 'burst', None)
        """
        return next((p for p, a, b in self.phases if a <= day <= b), None)

    def to_dict(self) -> dict:
        """The calendar as JSON-ready values (days as 'YYYY-MM-DD').

        >>> from datetime import date
        >>> c = Campaign("d11", "双11", None, (("accumulate", date(2026, 9, 20), date(2026, 10, 19)),
        ...                                   ("presale", date(2026, 10, 20), date(2026, 10, 31)),
        ...                                   ("burst", date(2026, 11, 11), date(2026, 11, 11))))
        >>> d = c.to_dict()
        >>> d["start"], d["end"], d["presale_start"], d["phases"][-1]
        ('2026-09-20', '2026-11-11', '2026-10-20', {'phase': 'burst', 'start': '2026-11-11', 'end': '2026-11-11'})
        """
        return {"campaign_id": self.campaign_id, "name": self.name, "brand": self.brand,
                "start": str(self.start), "end": str(self.end),
                "phases": [{"phase": p, "start": str(a), "end": str(b)} for p, a, b in self.phases],
                "presale_start": str(self.presale_start), "selling_end": str(self.selling_end)}


def calendar_rows(wh: Warehouse) -> pd.DataFrame:
    """Every calendar row (campaign_id, name, brand_id, phase, start_date, end_date): the campaigns table's,
    with the calendars declared in aipl.toml `[campaigns.<id>]` in place of the table's rows of the same id.
    Read in memory: nothing is written (`save_calendars` writes the declared ones to the table).

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> root = init_workspace(tempfile.mkdtemp())
    >>> _ = (root / "aipl.toml").open("a").write('\\n[campaigns.d11]\\nburst = [["2026-11-11", "2026-11-11"]]\\n')
    >>> wh = open_warehouse(root)
    >>> calendar_rows(wh)[["campaign_id", "phase", "start_date"]].to_dict("records")
    [{'campaign_id': 'd11', 'phase': 'burst', 'start_date': datetime.date(2026, 11, 11)}]
    >>> wh.count("campaigns")
    0
    >>> wh.close()
    """
    declared = calendars_from_config(wh.config.raw.get("campaigns") or {})
    stored = wh.table("campaigns").select(*CALENDAR_COLUMNS).execute()
    stored = stored[~stored.campaign_id.isin(declared.campaign_id)]
    for col in ("start_date", "end_date"):
        stored[col] = [parse_day(d) for d in stored[col]]
    parts = [df for df in (stored, declared) if not df.empty]
    rows = pd.concat(parts, ignore_index=True) if parts else declared
    return rows.sort_values(["campaign_id", "start_date", "phase"], ignore_index=True)


def _campaign(rows: pd.DataFrame, campaign: str) -> Campaign:
    """One campaign's calendar from `calendar_rows`."""
    mine = rows[rows.campaign_id == campaign]
    if mine.empty:
        known = sorted(set(rows.campaign_id))
        raise ValueError(f"unknown campaign {campaign!r}" + (f"; known: {', '.join(known)}" if known else
                                                             "; the campaigns table is empty"))
    brands = {b for b in mine.brand_id if isinstance(b, str) and b}
    name = next((n for n in mine.name if isinstance(n, str) and n), campaign)
    phases = tuple((r.phase, r.start_date, r.end_date) for r in mine.itertuples())
    return Campaign(campaign, name, brands.pop() if len(brands) == 1 else None, phases)


def load_campaign(wh: Warehouse, campaign: str) -> Campaign:
    """The campaign's calendar (from the campaigns table or aipl.toml, see `calendar_rows`); a ValueError naming
    the known campaigns when there is none by that id.

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> root = init_workspace(tempfile.mkdtemp())
    >>> _ = (root / "aipl.toml").open("a").write('\\n[campaigns.d11]\\nname = "双11"\\n'
    ...                                         'presale = [["2026-10-20", "2026-10-31"]]\\n'
    ...                                         'burst = [["2026-11-11", "2026-11-11"]]\\n')
    >>> wh = open_warehouse(root)
    >>> c = load_campaign(wh, "d11")
    >>> c.name, str(c.d0), str(c.selling_end)
    ('双11', '2026-10-19', '2026-11-11')
    >>> wh.close()
    """
    return _campaign(calendar_rows(wh), campaign)


def campaigns(wh: Warehouse) -> list[Campaign]:
    """Every campaign calendar known to the workspace (table and aipl.toml, see `calendar_rows`), the earliest
    first: the latest campaign is the last.

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> root = init_workspace(tempfile.mkdtemp())
    >>> _ = (root / "aipl.toml").open("a").write('\\n[campaigns.b]\\nburst = [["2026-11-11", "2026-11-11"]]\\n'
    ...                                         '[campaigns.a]\\nburst = [["2026-06-18", "2026-06-18"]]\\n')
    >>> wh = open_warehouse(root)
    >>> [c.campaign_id for c in campaigns(wh)]
    ['a', 'b']
    >>> wh.close()
    """
    rows = calendar_rows(wh)
    found = [_campaign(rows, c) for c in sorted(set(rows.campaign_id))]
    return sorted(found, key=lambda c: (c.start, c.campaign_id))


def last_year(wh: Warehouse, campaign: Campaign, brand: str | None = None) -> Campaign | None:
    """Last year's same campaign: the same name, for the brand or platform-wide, with its presale start
    300 to 430 days earlier (the closest to 365).

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> root = init_workspace(tempfile.mkdtemp())
    >>> _ = (root / "aipl.toml").open("a").write(
    ...     '\\n[campaigns.d11_2025]\\nname = "双11"\\nburst = [["2025-11-11", "2025-11-11"]]\\n'
    ...     '[campaigns.d11]\\nname = "双11"\\nburst = [["2026-11-11", "2026-11-11"]]\\n')
    >>> wh = open_warehouse(root)
    >>> last_year(wh, load_campaign(wh, "d11")).campaign_id
    'd11_2025'
    >>> last_year(wh, load_campaign(wh, "d11_2025")) is None
    True
    >>> wh.close()
    """
    rows = calendar_rows(wh)
    others = rows[(rows.name == campaign.name) & (rows.campaign_id != campaign.campaign_id)]
    best, best_dist = None, None
    for cid, brand_id in others[["campaign_id", "brand_id"]].drop_duplicates().itertuples(index=False):
        if isinstance(brand_id, str) and brand_id and brand_id != brand:
            continue
        other = _campaign(rows, cid)
        try:
            lag = (campaign.presale_start - other.presale_start).days
        except ValueError:
            continue
        if 300 <= lag <= 430 and (best_dist is None or abs(lag - 365) < best_dist):
            best, best_dist = other, abs(lag - 365)
    return best


def calendars_from_config(section: dict) -> pd.DataFrame:
    """Rows of the campaigns table from aipl.toml's [campaigns.<id>] tables:

    [campaigns.double11_2026]
    name = "双11"
    brand = "B01"                         # optional: empty = platform-wide
    accumulate = [["2026-09-15", "2026-10-19"]]
    presale = [["2026-10-20", "2026-10-31"], ["2026-11-04", "2026-11-10"]]   # 双截棍: two waves
    burst = [["2026-10-31", "2026-11-03"], ["2026-11-11", "2026-11-11"]]

    >>> rows = calendars_from_config({"d11": {"name": "双11", "presale": [["2026-10-20", "2026-10-31"]],
    ...                                       "burst": [["2026-11-11", "2026-11-11"]]}})
    >>> rows[["campaign_id", "name", "phase"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'campaign_id': 'd11', 'name': '双11', 'phase': 'presale'},
     {'campaign_id': 'd11', 'name': '双11', 'phase': 'burst'}]
    >>> calendars_from_config({"d11": {"name": "双11"}})
    Traceback (most recent call last):
    ...
    ValueError: [campaigns.d11] declares no phase
    """
    rows = []
    for cid, spec in section.items():
        if not isinstance(spec, dict):
            raise ValueError(f"[campaigns.{cid}] must be a table")
        unknown = sorted(set(spec) - {"name", "brand", *schema.PHASES})
        if unknown:
            raise ValueError(f"[campaigns.{cid}]: unknown key(s) {', '.join(unknown)}; phases are "
                             f"{', '.join(schema.PHASES)}")
        for phase in schema.PHASES:
            for k, span in enumerate(spec.get(phase, [])):
                if not (isinstance(span, list) and len(span) == 2):
                    raise ValueError(f"[campaigns.{cid}] {phase}[{k}] must be [start, end]")
                a = parse_day(span[0], f"[campaigns.{cid}] {phase} start")
                b = parse_day(span[1], f"[campaigns.{cid}] {phase} end")
                if b < a:
                    raise ValueError(f"[campaigns.{cid}] {phase}[{k}] ends ({b}) before it starts ({a})")
                rows.append({"campaign_id": cid, "name": spec.get("name", cid), "brand_id": spec.get("brand"),
                             "phase": phase, "start_date": a, "end_date": b})
        if not any(r["campaign_id"] == cid for r in rows):
            raise ValueError(f"[campaigns.{cid}] declares no phase")
    return pd.DataFrame(rows, columns=CALENDAR_COLUMNS)


def sync_calendars(wh: Warehouse, section: dict) -> int:
    """Replace the campaigns declared in aipl.toml in the campaigns table (one transaction); returns rows.

    `section` is aipl.toml's `[campaigns]` table (see `calendars_from_config`); syncing twice replaces, not adds:

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> wh = open_warehouse(init_workspace(tempfile.mkdtemp()))
    >>> section = {"d11": {"presale": [["2026-10-20", "2026-10-31"]], "burst": [["2026-11-11", "2026-11-11"]]}}
    >>> sync_calendars(wh, section), sync_calendars(wh, section), wh.count("campaigns")
    (2, 2, 2)
    >>> wh.close()
    """
    df = calendars_from_config(section)
    if df.empty:
        return 0
    rows = ibis.memtable(df).cast(ibis_schema(schema.CAMPAIGNS))
    wh.replace_rows("campaigns", rows, keys=["campaign_id"])
    return len(df)


def save_calendars(wh: Warehouse) -> int:
    """Write the calendars declared in aipl.toml `[campaigns.<id>]` to the campaigns table (replacing the table's
    rows of the same ids), so that every engine reading the table sees them; the rows written.

    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> import tempfile
    >>> root = init_workspace(tempfile.mkdtemp())
    >>> _ = (root / "aipl.toml").open("a").write('\\n[campaigns.d11]\\nburst = [["2026-11-11", "2026-11-11"]]\\n')
    >>> wh = open_warehouse(root)
    >>> save_calendars(wh), wh.count("campaigns")
    (1, 1)
    >>> wh.close()
    """
    return sync_calendars(wh, wh.config.raw.get("campaigns") or {})
