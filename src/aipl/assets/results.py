"""Typed results of the asset use cases: plain dicts (JSON as they are, read by key as before) whose fields also
read as attributes, with a one-line repr."""

from __future__ import annotations

import json

import pandas as pd


class Result(dict):
    """A dict whose keys also read as attributes; `to_dict()` gives the plain dict for JSON.

    >>> r = Result(scope="brand", key="B01")
    >>> r.key, r["scope"], r.to_dict()
    ('B01', 'brand', {'scope': 'brand', 'key': 'B01'})
    """

    __slots__ = ()

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict:
        """The plain dict (JSON-ready)."""
        return dict(self)


def records(df: pd.DataFrame) -> list[dict]:
    """The rows of `df` as JSON-ready dicts (NaN as None, numpy numbers as Python numbers).

    >>> records(pd.DataFrame({"brand_id": ["B01"], "A": [float("nan")]}))
    [{'brand_id': 'B01', 'A': None}]
    """
    return json.loads(df.to_json(orient="records", force_ascii=False))


class Snapshot(Result):
    """Consumers per AIPL (`counts`) and DEEPLINK (`deeplink`) state of one brand or category on one day."""

    scope: str
    key: str
    date: str
    counts: dict[str, int]
    deeplink: dict[str, int]

    def __repr__(self) -> str:
        counts = ", ".join(f"{s} {n:,}" for s, n in self["counts"].items())
        return f"Snapshot({self['scope']} {self['key']} on {self['date']}: {counts})"


class Flow(Result):
    """The flow matrix over {none, A, I, P, L} between two days (`from`, `to`), with 流转率 and the flow kinds."""

    scope: str
    key: str
    matrix: dict[str, dict[str, int]]
    rates: dict[str, dict[str, float | None]]
    kinds: dict[str, int]

    @property
    def start(self) -> str:
        """The earlier day (the JSON key `from`)."""
        return self["from"]

    @property
    def end(self) -> str:
        """The later day (the JSON key `to`)."""
        return self["to"]

    def __repr__(self) -> str:
        kinds = ", ".join(f"{k} {n:,}" for k, n in self["kinds"].items())
        return f"Flow({self['scope']} {self['key']} {self['from']} → {self['to']}: {kinds})"


class FlowCell(Result):
    """The consumers of one cell of a flow (FROM state on `from`, TO state on `to`), and the list name they get."""

    name: str
    consumers: pd.DataFrame

    def __repr__(self) -> str:
        return f"FlowCell({self['name']}: {len(self['consumers']):,} consumers)"


class FastSummary(Result):
    """FAST of some brands over a period (`brands`, with each metric's percentile in its category) and their
    categories' P25/P50/P75/P90 (`benchmarks`)."""

    brands: pd.DataFrame
    benchmarks: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready: the tables as lists of rows."""
        return {"from": self["from"], "to": self["to"], "brands": records(self["brands"]),
                "benchmarks": records(self["benchmarks"])}

    def __repr__(self) -> str:
        return (f"FastSummary({self['from']} … {self['to']}: {len(self['brands'])} brands, "
                f"{self['benchmarks'].category_id.nunique()} categories)")


class Grow(Result):
    """GROW of a brand: ΔGMV between `period0` and `period1` split into G, R, O (by new / returning `segments`,
    and by strategy crowd in `crowds` once crowd tags exist), with W (BCG) and `W_fmcg` (快消 新品力)."""

    brand: str
    period0: list[str]
    period1: list[str]
    gmv0: float
    gmv1: float
    delta: float
    G: float
    R: float
    O: float  # noqa: E741 (GROW's letter)
    W: float
    segments: dict[str, dict]
    W_fmcg: dict

    def __repr__(self) -> str:
        p0, p1 = " … ".join(self["period0"]), " … ".join(self["period1"])
        return (f"Grow({self['brand']} {p0} → {p1}: Δ {self['delta']:,.2f} = G {self['G']:,.2f} "
                f"+ R {self['R']:,.2f} + O {self['O']:,.2f})")
