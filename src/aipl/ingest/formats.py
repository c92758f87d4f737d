"""The registry of input formats: the canonical tables themselves and adapters for public datasets."""

from __future__ import annotations

import contextlib
import json
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from aipl import schema
from aipl.ingest.core import Target
from aipl.warehouse import SourceError, Staged, Warehouse

# A plan stages the files of one input and says which targets each feeds.
Plan = Callable[[Warehouse, Path], list[tuple[Staged, list[Target]]]]


@dataclass(frozen=True)
class Format:
    """An input format: its name, what it reads, and how it maps onto canonical tables (`plan`).

    >>> from aipl.ingest import FORMATS
    >>> fmt = FORMATS["consumers"]
    >>> fmt.name, fmt.doc.split(". ")[0]
    ('consumers', 'Consumer profiles (one row per consumer)')
    """

    name: str
    doc: str
    plan: Plan


FORMATS: dict[str, Format] = {}


def register(name: str, doc: str) -> Callable[[Plan], Plan]:
    """Register a plan function as the input format `name` (described by `doc`): the plan stages the files of
    one input and says which targets each feeds.

    >>> import pathlib, tempfile
    >>> from aipl import schema
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest import FORMATS, Target, ingest, register
    >>> from aipl.warehouse import open_warehouse
    >>> @register("crm_people", "A CRM export, `;`-separated: id;sex → consumers.")
    ... def crm_people(wh, path):
    ...     staged = wh.stage_csv(path, None, delim=";")
    ...     return [(staged, [Target(schema.TABLES["consumers"], lambda t: {"consumer_id": t.id, "gender": t.sex})])]
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "crm.csv").write_text("id;sex\\nc1;F\\nc2;X\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> done = ingest(wh, root / "crm.csv", "crm_people")
    >>> done.accepted, done.rejected, done.loads[0].reasons
    (1, 1, {'gender': 1})
    >>> wh.close(); del FORMATS["crm_people"]  # forget the example's format
    """

    def deco(fn: Plan) -> Plan:
        FORMATS[name] = Format(name, doc, fn)
        return fn

    return deco


_ENCODING: ContextVar[str] = ContextVar("encoding", default="utf-8")
_MAPPING: ContextVar[Mapping[str, str] | None] = ContextVar("mapping", default=None)
_BRAND: ContextVar[str | None] = ContextVar("brand", default=None)


@contextlib.contextmanager
def reading(encoding: str = "utf-8", mapping: Mapping[str, str] | None = None, brand: str | None = None
            ) -> Iterator[None]:
    """Within the block, `stage` decodes text files from `encoding` (Parquet text is UTF-8 by definition) and
    renames their columns by `mapping` (source column → the name the format expects; see `renamed`); a platform
    report without a brand column is `brand`'s (see `default_brand`).

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.csv").write_bytes("consumer_id,occupation\\nc1,白领\\n".encode("gbk"))
    >>> wh = open_warehouse(init_workspace(root))
    >>> with reading("gbk"):
    ...     stage(wh, root / "c.csv").rel.execute().occupation.tolist()
    ['白领']
    >>> wh.close()
    """
    token, mapped, branded = _ENCODING.set(encoding), _MAPPING.set(dict(mapping or {})), _BRAND.set(brand)
    try:
        yield
    finally:
        _ENCODING.reset(token)
        _MAPPING.reset(mapped)
        _BRAND.reset(branded)


def default_brand() -> str | None:
    """The brand a report without a brand column belongs to, as `reading` was given it (None outside).

    >>> with reading(brand="B01"):
    ...     default_brand()
    'B01'
    >>> default_brand() is None
    True
    """
    return _BRAND.get()


def renamed(staged: Staged, mapping: Mapping[str, str]) -> Staged:
    """`staged` with its columns renamed by `mapping` (source column → name); SourceError naming the file and
    the column when the header lacks a mapped column or already has the new name. Lines and values are unchanged.

    >>> import ibis
    >>> from pathlib import Path
    >>> s = Staged(Path("crm.csv"), ibis.table({"_line": "int64", "user_id": "string"}, name="s"), None)
    >>> renamed(s, {"user_id": "consumer_id"}).rel.columns
    ('_line', 'consumer_id')
    >>> renamed(s, {"uid": "consumer_id"})
    Traceback (most recent call last):
    aipl.warehouse.SourceError: crm.csv: --map names column 'uid', which the header lacks (it has: consumer_id)
    """
    moves = {src: dst for src, dst in mapping.items() if src != dst}
    if not moves:
        return staged
    header = [c for c in staged.rel.columns if c != "_line"]
    for src, dst in moves.items():
        if src not in header:
            raise SourceError(f"{staged.path}: --map names column {src!r}, which the header lacks (it has: "
                              f"{', '.join(header)})")
        if dst in header and dst not in moves:
            raise SourceError(f"{staged.path}: --map {src}={dst}: the header already has a column {dst!r}")
    staged.rel = staged.rel.rename({dst: src for src, dst in moves.items()})
    if staged.again is not None:
        again = staged.again
        staged.again = lambda: renamed(again(), mapping)
    return staged


def parse_mapping(items: list[str] = (), saved: Mapping[str, Mapping[str, str]] | None = None,
                  file: str | Path | None = None) -> dict[str, str]:
    """A column mapping (source column → canonical column) from `src=canonical` items, the names of mappings
    saved in aipl.toml (`[ingest.maps.NAME]`, passed as `saved`) and a mapping file (`.toml`, `.json`, or lines
    of `src=canonical`); later entries win. SourceError for a malformed item or an unknown saved name.

    >>> parse_mapping(["user_id=consumer_id", "crm"], saved={"crm": {"sku": "item_id"}})
    {'user_id': 'consumer_id', 'sku': 'item_id'}
    >>> parse_mapping(["user_id"])
    Traceback (most recent call last):
    aipl.warehouse.SourceError: --map user_id: give src=canonical, or the name of a saved mapping (none saved)
    """
    saved = saved or {}
    out: dict[str, str] = {}
    if file is not None:
        out.update(_mapping_file(Path(file)))
    for item in items:
        src, eq, dst = (part.strip() for part in item.partition("="))
        if eq and src and dst:
            out[src] = dst
        elif not eq and src in saved:
            out.update(saved[src])
        else:
            names = ", ".join(sorted(saved)) or "none saved"
            raise SourceError(f"--map {item}: give src=canonical, or the name of a saved mapping ({names})")
    return out


def _mapping_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".toml", ".json"):
            data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise ValueError("expected a table of src = \"canonical\" strings")
            return {str(k): v for k, v in data.items()}
        lines = [ln.split("#")[0].strip() for ln in text.splitlines()]
        return parse_mapping([ln for ln in lines if ln])
    except (OSError, ValueError) as exc:  # TOML, JSON and Unicode decoding errors are ValueErrors
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"--map-file {path}: {why}") from None


def stage(
    wh: Warehouse, path: Path, names: list[str] | None = None, name: str = "_staged", delim: str = ",",
    stream: bool | None = None,
) -> Staged:
    """Stage a CSV (plain, gzip, bzip2, xz or a zip of one; text decoded as `reading` says) or a Parquet file;
    `stream=False` when the rows are read more than once.

    By default a CSV is copied into a session table first (read on every core; a row's line is told from its
    place in the copy) and Parquet, numbered in parallel, is streamed. A plan whose file feeds one target that
    keeps its rows one for one (no `prepare`) streams a CSV too: it is validated as it is read.

    >>> import pathlib, tempfile
    >>> from aipl.config import init_workspace
    >>> from aipl.ingest.formats import stage
    >>> from aipl.warehouse import open_warehouse
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "c.csv").write_text("consumer_id,gender,birth_year\\nc1,F,1990\\nc2,M,199x\\nc1,F,1990\\n")
    >>> wh = open_warehouse(init_workspace(root))
    >>> staged = stage(wh, root / "c.csv")
    >>> staged.rel.execute()[["_line", "birth_year"]].to_dict("list")  # strings, with their line in the file
    {'_line': [2, 3, 4], 'birth_year': ['1990', '199x', '1990']}
    >>> wh.close()
    """
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith(".parquet") or _starts_with(path, b"PAR1"):
        staged = wh.stage_parquet(path, name=name, stream=True if stream is None else stream)
    else:
        staged = wh.stage_csv(path, names, delim=delim, name=name, stream=False if stream is None else stream,
                              encoding=_ENCODING.get())
    return renamed(staged, _MAPPING.get() or {})


def _starts_with(path: Path, magic: bytes) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(len(magic)) == magic


def _canonical(table: schema.Table) -> Plan:
    def plan(wh: Warehouse, path: Path) -> list[tuple[Staged, list[Target]]]:
        staged = stage(wh, path, stream=True)  # one target, rows one for one
        header = [c for c in staged.rel.columns if c != "_line"]
        unknown = [c for c in header if c not in table.names]
        if unknown:
            raise SourceError(
                f"{path}: unknown column(s) {', '.join(unknown)} in the header; the {table.name} format has: "
                f"{', '.join(table.names)} (rename a column with --map {unknown[0]}=<column>)"
            )
        missing = [c.name for c in table.columns if c.required and c.name not in header]
        if table.one_of and not any(c in header for c in table.one_of):
            missing.append(" or ".join(table.one_of))
        if missing:
            raise SourceError(f"{path}: the header lacks required column(s): {', '.join(missing)}")
        return [(staged, [Target(table, lambda t: {c: t[c] for c in header})])]

    return plan


for _table in schema.TABLES.values():
    register(
        _table.name,
        f"{_table.doc} CSV/Parquet with a header of canonical columns: "
        + ", ".join(c.name + ("*" if c.required else "") for c in _table.columns)
        + " (* required).",
    )(_canonical(_table))
