"""The base of every typed result an engine returns: a plain dict (JSON as it is, read by key) whose fields also
read as attributes, with a one-line repr in each subclass.

>>> from aipl.results import Result
>>> Result(scope="brand", key="B01").key
'B01'
"""

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
        """The plain dict (JSON-ready).

        >>> Result(scope="brand", key="B01").to_dict()
        {'scope': 'brand', 'key': 'B01'}
        """
        return dict(self)


def records(df: pd.DataFrame) -> list[dict]:
    """The rows of `df` as JSON-ready dicts (NaN as None, numpy numbers as Python numbers).

    >>> records(pd.DataFrame({"brand_id": ["B01"], "A": [float("nan")]}))
    [{'brand_id': 'B01', 'A': None}]
    """
    return json.loads(df.to_json(orient="records", force_ascii=False))
