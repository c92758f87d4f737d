"""Every command of `aipl`, run as a user runs it (`aipl.cli.main`), with bad options: a wrong type, an empty
string, NUL bytes, nan and inf, huge and negative numbers, impossible days, an unknown option (issue 19, class
10). Each either answers (exit 0) or fails in one line with exit 2 (with --json, a JSON error object on
stdout): never a traceback."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.main import get_command
from typer.testing import CliRunner

import aipl.cli.workspace as cli_workspace
from aipl.cli import app, main
from aipl.config import init_workspace
from tests.conftest import BUNDLED

RUN_HEAVY = {"serve", "demo", "simulate", "assets build"}  # they serve, generate or rebuild: only their parsing
DAYS = {"day", "start", "end", "start0", "end0", "start1", "end1", "calibration_end"}
# refused while the options are parsed (cheap): one run each
WRONG_TYPE = {int: ["abc", "1.5", ""], float: ["abc", ""]}
# reach the command (a run opens the workspace): each number alone, the rest together
EXTREME = {int: "99999999999999999999", float: "inf"}
TOGETHER = [{int: "-1", float: "nan", "day": "2026-02-30", str: "\x00", Path: "\x00x", list[str]: "\x00"},
            {int: "0", float: "-1e400", "day": "99999-01-01", str: "", Path: "", list[str]: ""}]
def _commands():
    def walk(cmd, path):
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name]) if getattr(sub, "commands", None) else [([*path, name], sub)]
    return list(walk(get_command(app), []))


COMMANDS = _commands()


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = init_workspace(tmp_path_factory.mktemp("cli-inputs") / "ws")
    for args in (["ingest", str(BUNDLED / "events_dirty.csv"), "-f", "events"], ["assets", "build"]):
        status, _, err = _run([*args, "-w", str(root)])
        assert status == 0, err
    return root


def _run(args: list[str]) -> tuple[int, str, str]:
    """`aipl ARGS` through the command's entry point: exit status, stdout, stderr."""
    with CliRunner().isolation() as (out, err, _):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        return code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace")


def _filler(param, ws: Path, tmp: Path) -> str:
    """A plausible value for a required parameter."""
    kind, name = param.type_descriptor.annotation, param.name
    if name in DAYS:
        return "2026-10-01"
    if name == "directory":
        return str(tmp / "new-ws")
    if name in ("path", "file", "history"):
        return str(BUNDLED / "events_dirty.csv")
    if kind is Path or name in ("out", "out_file"):
        return str(tmp / f"{name}.csv")
    return {"format": "events", "expr": "age > 3", "seed": "age > 3", "budget": "1000", "brands": "B01",
            "kind": "lapsed", "name": "n1"}.get(name, "B01")


def _cases(path: list[str], cmd) -> list[tuple[dict[str, str], bool]]:
    """The bad inputs for one command, each with whether it must be refused: an unknown option; every number of
    a wrong type; every number at an extreme, one at a time; every option bad at once (days, NUL bytes, empty
    strings, nan, negative numbers)."""
    cases: list[tuple[dict[str, str], bool]] = [({"--nope": ""}, True)]
    params = [(p.name, p.type_descriptor.annotation) for p in cmd.params
              if p.name not in ("workspace", "as_json") and p.type_descriptor.annotation is not bool]
    cases += [({name: v}, True) for name, kind in params for v in WRONG_TYPE.get(kind, [])]
    if " ".join(path) in RUN_HEAVY:
        return cases
    cases += [({name: EXTREME[kind]}, False) for name, kind in params if kind in EXTREME]
    for bad in TOGETHER:
        cases.append(({name: bad["day" if name in DAYS else kind if kind in bad else str] for name, kind in params},
                      False))
    return cases


def _argv(path: list[str], cmd, given: dict[str, str], ws: Path, tmp: Path) -> list[str]:
    args = list(path)
    for p in cmd.params:
        if p.name in ("workspace", "as_json"):
            continue
        value = given[p.name] if p.name in given else _filler(p, ws, tmp) if p.required else None
        if value is None:
            continue
        args += [value] if not p.opts or not p.opts[0].startswith("-") else [p.opts[0], value]
    if "--nope" in given:
        args.append("--nope")
    if any(p.name == "workspace" for p in cmd.params):
        args += ["-w", str(ws)]
    if any(p.name == "as_json" for p in cmd.params):
        args.append("--json")
    return args


# exit codes a command documents besides 0 and 2: `aipl run daily` 99 (nothing new), `aipl status` 1 (the last
# run failed or is late)
DOCUMENTED_EXITS = {("run", "daily"): (99,), ("status",): (1,)}


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_bad_options_are_one_line_and_exit_2(ws, tmp_path, monkeypatch, path, cmd):
    monkeypatch.chdir(tmp_path)  # `aipl init ""` and the like write into the current folder
    problems = []
    for given, refused in _cases(path, cmd):
        args = _argv(path, cmd, given, ws, tmp_path)
        code, out, err = _run(args)
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("building consumer", "consumer"))]
        if code not in (0, 2, *DOCUMENTED_EXITS.get(tuple(path), ())) or "Traceback" in err + out:
            problems.append(f"{args}: exit {code}: {err[-300:]}")
        elif code == 2 and (len(lines) != 1 or not lines[0].startswith("error:")):
            problems.append(f"{args}: not one line: {err[:300]!r}")
        elif code == 2 and "--json" in args and "error" not in json.loads(out.strip().splitlines()[-1]):
            problems.append(f"{args}: no JSON error: {out[:200]!r}")
        elif code == 0 and refused:
            problems.append(f"{args}: accepted")
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert not problems, "\n".join(problems)


def _one_line_error(code: int, out: str, err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), (code, err)
    assert "error" in json.loads(out)
    return lines[0]


def test_a_warehouse_held_by_another_process_is_one_line_naming_it(ws):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(ws / "warehouse.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        writer = ["ingest", str(BUNDLED / "events_dirty.csv"), "-f", "events", "-w", str(ws), "--json"]
        line = _one_line_error(*_run(writer))
        assert "in use by another process" in line and f"PID {holder.pid}" in line, line
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("exc, says", [
    (OSError(errno.ENOSPC, "No space left on device", "warehouse.duckdb.wal"), "the disk is full"),
    (duckdb.IOException('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held in x (PID 7)'),
     "PID 7"),
    (duckdb.ConversionException("Conversion Error: timestamp out of range\n\nLINE 1: SELECT …"),
     "aipl status: ConversionException: Conversion Error: timestamp out of range"),
    (KeyError("x"), "aipl status: KeyError"),
])
def test_any_failure_inside_a_command_is_one_line(ws, monkeypatch, exc, says):
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(cli_workspace, "warehouse_status", fail)
    line = _one_line_error(*_run(["status", "-w", str(ws), "--json"]))
    assert says in line, line
