"""The asset engine is neutral to the type of its ids: a simulated market whose consumer, brand and category ids
are replaced by dense integer keys (through dictionaries, as issue 23's surrogate keys would store them) builds,
updates and counts exactly as with the string ids, key for key."""

from __future__ import annotations

from aipl.assets import AssetRules, build, update
from aipl.config import init_workspace
from aipl.simulate import MarketSpec, load_market, simulate_market
from aipl.warehouse import open_warehouse

TO_KEY = ("consumer_id", "brand_id", "category_id")
CHANGES = ("SELECT scope, {key} AS key, aipl, deeplink, day, sum(change) AS n FROM asset_count_changes "
           "GROUP BY ALL HAVING sum(change) != 0")


def encode(wh) -> None:
    """Replace the ids of events and members by dense integer keys, keeping the dictionaries in `keys_<kind>`
    (with the ids of the held-back day `_day`)."""
    for c in TO_KEY:
        kind = c.removesuffix("_id")
        ids = " UNION ".join(f"SELECT {c} AS id FROM {t}" for t in ("events", "_day", "members")
                             if not (t == "members" and c == "category_id"))
        wh.raw.execute(f"CREATE TABLE keys_{kind} AS SELECT id, row_number() OVER (ORDER BY id) AS key "
                       f"FROM (SELECT DISTINCT id FROM ({ids})) WHERE id IS NOT NULL")
    for table, cols in (("events", [*TO_KEY]), ("members", ["consumer_id", "brand_id"])):
        wh.raw.execute(f"CREATE TABLE _k AS {keyed(table, cols)}")
        wh.raw.execute(f"DROP TABLE {table}; ALTER TABLE _k RENAME TO {table}")


def keyed(table: str, cols: list[str]) -> str:
    """`table` with its id `cols` replaced by their keys."""
    joins = " ".join(f"LEFT JOIN keys_{c.removesuffix('_id')} k{i} ON k{i}.id = t.{c}" for i, c in enumerate(cols))
    keys = ", ".join(f"k{i}.key AS {c}" for i, c in enumerate(cols))
    return f"SELECT t.* REPLACE ({keys}) FROM {table} t {joins}"


def changes(wh, decoded: bool) -> set:
    key = ("CASE scope WHEN 'brand' THEN (SELECT id FROM keys_brand WHERE key = c.key) "
           "ELSE (SELECT id FROM keys_category WHERE key = c.key) END") if decoded else "key"
    return set(wh.raw.execute(CHANGES.format(key=key).replace("FROM asset_count_changes",
                                                              "FROM asset_count_changes c")).fetchall())


def test_integer_keys_build_and_update_as_strings(tmp_path):
    market = tmp_path / "market"
    simulate_market(MarketSpec(consumers=150, days=24, brands=3, seed=5), market)
    counts = {}
    for kind in ("string", "integer"):
        with open_warehouse(init_workspace(tmp_path / kind)) as wh:
            load_market(wh, market)
            last = wh.last_day()
            held = wh.raw.execute("SELECT count(*) FROM events WHERE (ts AT TIME ZONE 'Asia/Shanghai')::DATE = $1",
                                  [last]).fetchone()[0]
            wh.raw.execute("CREATE TABLE _day AS SELECT * FROM events WHERE (ts AT TIME ZONE 'Asia/Shanghai')::DATE "
                           "= $1", [last])
            wh.raw.execute("DELETE FROM events WHERE (ts AT TIME ZONE 'Asia/Shanghai')::DATE = $1", [last])
            if kind == "integer":
                encode(wh)
                assert dict(wh.raw.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                                           "table_name = 'events'").fetchall())["consumer_id"] == "BIGINT"
            rules = AssetRules.of(wh.config)
            build(wh, rules)
            built = changes(wh, kind == "integer")
            day = "FROM _day" if kind == "string" else keyed("_day", list(TO_KEY))
            wh.raw.execute(f"INSERT INTO events {day}")
            wh.raw.execute("INSERT INTO batches (batch_id, format, source, target, read, accepted, rejected) "
                           "VALUES ('day', 'events', 'test', 'events', 1, 1, 0)")
            done = update(wh, rules)
            assert "touched" in done and held > 0
            counts[kind] = built, changes(wh, kind == "integer")
    assert counts["string"][0] and counts["string"] == counts["integer"]
    assert counts["string"][0] != counts["string"][1]  # the new day changed something

