"""The registry of input formats: the canonical tables themselves and adapters for public datasets."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def reading(encoding: str = "utf-8") -> Iterator[None]:
    """Within the block, `stage` decodes text files from `encoding` (Parquet text is UTF-8 by definition).

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
    token = _ENCODING.set(encoding)
    try:
        yield
    finally:
        _ENCODING.reset(token)


def stage(
    wh: Warehouse, path: Path, names: list[str] | None = None, name: str = "_staged", delim: str = ",",
    stream: bool | None = None,
) -> Staged:
    """Stage a CSV (plain, gzip, bzip2, xz or a zip of one; text decoded as `reading` says) or a Parquet file;
    `stream=False` when the rows are read more than once.

    By default a CSV is copied into a session table first (numbering its lines runs on one core; the copy
    lets the validation use every core) and Parquet, numbered in parallel, is streamed.

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
        return wh.stage_parquet(path, name=name, stream=True if stream is None else stream)
    return wh.stage_csv(path, names, delim=delim, name=name, stream=False if stream is None else stream,
                        encoding=_ENCODING.get())


def _starts_with(path: Path, magic: bytes) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(len(magic)) == magic


def _canonical(table: schema.Table) -> Plan:
    def plan(wh: Warehouse, path: Path) -> list[tuple[Staged, list[Target]]]:
        staged = stage(wh, path)
        header = [c for c in staged.rel.columns if c != "_line"]
        unknown = [c for c in header if c not in table.names]
        if unknown:
            raise SourceError(
                f"{path}: unknown column(s) {', '.join(unknown)} in the header; the {table.name} format has: "
                f"{', '.join(table.names)}"
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
