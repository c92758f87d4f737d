"""The check every typed result passes (tests/*/test_*_results.py): a one-line repr naming its class and headline
numbers, fields that read as attributes, and `to_dict()` that JSON takes with every key."""

from __future__ import annotations

import json

from aipl.results import Result


def reads_at_a_glance(res: Result, cls: type, shown: tuple[str, ...], same_keys: bool = True) -> None:
    """`same_keys`: the JSON has exactly the result's keys (some results leave fitted objects out of it)."""
    assert type(res) is cls and isinstance(res, Result)
    text = repr(res)
    assert text.startswith(f"{cls.__name__}(") and "\n" not in text and len(text) < 250, text
    for part in shown:
        assert part in text, text
    body = res.to_dict()
    assert type(body) is dict and body and (set(body) == set(res) or not same_keys)
    assert json.loads(json.dumps(body)).keys() == body.keys()
    first = next(iter(res))
    assert getattr(res, first) is res[first]  # fields read as attributes too
