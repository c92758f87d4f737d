"""A bad aipl.toml is refused when the workspace is opened, in one line naming `[section] key` and the reason
(issue 19, class 10): every key of the default file gets every kind of wrong value."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from typer.testing import CliRunner

import aipl.assets  # registers [assets]
import aipl.autopilot  # noqa: F401  (registers [sequence])
from aipl.cli import app
from aipl.config import DEFAULT_TOML, SECTIONS, ConfigError, init_workspace, load_config, register_section

BAD = {"a TOML date": "2026-01-01", "letters": '"abc"', "nan": "nan", "inf": "inf", "-inf": "-inf",
       "10**18": str(10**18), "empty": '""', "-1": "-1", "a fraction": "1.5", "a boolean": "true", "a list": "[1]",
       "a table": "{a = 1}"}
# values that are right for some keys: a key of that type is not tested with it
FITS = {"earliest": {"a TOML date"}, "master": {"letters", "empty"}, "database": {"letters"},
        "late_hours": {"a fraction"}, "report": {"letters", "empty"},  # 1.5 hours; a file "abc"; "" writes none
        "memory_limit": {"empty"}, "temp_directory": {"letters", "empty"}}  # "" is DuckDB's default; a folder "abc"
KEYS = [(section, key) for section, table in tomllib.loads(DEFAULT_TOML).items() for key in table
        if not isinstance(table[key], dict)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return init_workspace(tmp_path_factory.mktemp("cfg"))


def _with(root, section: str, key: str, value: str) -> None:
    text, n = re.subn(rf"(?m)^(\[{section}\](?:\n(?!\[).*)*?\n){key} = [^\n#]*", rf"\g<1>{key} = {value} ",
                      DEFAULT_TOML)
    assert n == 1, (section, key)
    (root / "aipl.toml").write_text(text, encoding="utf-8")


CASES = [(s, k, what) for s, k in KEYS for what in BAD if what not in FITS.get(k, set())]


@pytest.mark.parametrize("section, key, what", CASES, ids=[f"{s}.{k}={w}" for s, k, w in CASES])
def test_every_key_refuses_every_wrong_value_naming_it(workspace, section, key, what):
    _with(workspace, section, key, BAD[what])
    with pytest.raises(ConfigError) as e:
        load_config(workspace)
    msg = str(e.value)
    assert f"[{section}]" in msg and key in msg and "\n" not in msg, msg


@pytest.mark.parametrize("value, reason", [
    ('"../outside.duckdb"', "inside the workspace"), ('"/tmp/elsewhere.duckdb"', "inside the workspace"),
    ('"link/wh.duckdb"', "leads outside the workspace"),
    ('""', "at least 1 character"), ('"   "', "inside the workspace"), ('"sub/"', "inside the workspace")])
def test_the_database_stays_inside_the_workspace(workspace, value, reason):
    if not (workspace / "link").exists():
        (workspace / "link").symlink_to(workspace.parent, target_is_directory=True)
    _with(workspace, "workspace", "database", value)
    with pytest.raises(ConfigError, match=re.escape(reason)):
        load_config(workspace)


def test_the_defaults_and_right_values_load(workspace):
    (workspace / "aipl.toml").write_text(DEFAULT_TOML, encoding="utf-8")
    conf = load_config(workspace)
    assert (conf.min_crowd_size, conf.min_peer_brands, conf.max_upload_mb, conf.earliest) == (100, 5, 200, "2000-01-01")
    _with(workspace, "ingest", "earliest", "2010-01-01")  # a TOML date is a day too
    assert load_config(workspace).earliest == "2010-01-01"
    _with(workspace, "workspace", "database", '"data/wh.duckdb"')
    assert load_config(workspace).database_path == workspace / "data" / "wh.duckdb"


def test_duckdb_gets_the_memory_limit_and_spill_folder(workspace):
    from aipl.warehouse import open_warehouse

    text = DEFAULT_TOML.replace('memory_limit = "6GB"', 'memory_limit = "1 GiB"').replace(
        'temp_directory = ""', 'temp_directory = "spill"')
    (workspace / "aipl.toml").write_text(text, encoding="utf-8")
    with open_warehouse(workspace) as wh:
        limit, spill = wh.raw.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')"
                                      ).fetchone()
    assert limit == "1.0 GiB" and spill == (workspace / "spill").as_posix()
    for value, reason in [('"6 apples"', "not a memory size"), ('"../spill"', "must be a folder inside the workspace")]:
        key = "memory_limit" if "apples" in value else "temp_directory"
        _with(workspace, "workspace", key, value)
        with pytest.raises(ConfigError, match=re.escape(reason)):
            load_config(workspace)


def test_an_unknown_key_or_a_section_that_is_not_a_table_is_named(workspace):
    (workspace / "aipl.toml").write_text(DEFAULT_TOML.replace("[privacy]\n", "[privacy]\nmin_crowd_sise = 5\n"),
                                         encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[privacy\] min_crowd_sise: unknown key"):
        load_config(workspace)
    (workspace / "aipl.toml").write_text('assets = 5\n[workspace]\nbackend = "duckdb"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[assets\]"):
        load_config(workspace)


def test_an_engine_section_that_raises_anything_is_one_line_naming_it(workspace):
    (workspace / "aipl.toml").write_text(DEFAULT_TOML + "\n[example]\nx = 1\n", encoding="utf-8")
    register_section("example", lambda section: section["y"])  # a KeyError, not a ValueError
    try:
        with pytest.raises(ConfigError, match=r"\[example\] 'y'"):
            load_config(workspace)
    finally:
        SECTIONS.pop("example")


def test_every_command_says_so_in_one_line(workspace):
    _with(workspace, "privacy", "min_crowd_size", "-1")
    runner = CliRunner()
    for args in (["status"], ["fast", "--json"], ["crowd", "count", "age > 3"], ["quarantine"]):
        r = runner.invoke(app, [*args, "-w", str(workspace)])
        assert r.exit_code == 2 and "[privacy] min_crowd_size" in r.stderr, (args, r.output)
        assert len(r.stderr.strip().splitlines()) == 1 and isinstance(r.exception, SystemExit), (args, r.output)
        if "--json" in args:
            assert "[privacy] min_crowd_size" in json.loads(r.stdout)["error"]
