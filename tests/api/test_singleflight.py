"""Single-flight views: one computation per view key however many threads ask at once, failures not kept, a
bounded cache, and the caller in every key (two tenants never share an entry). No workspace: fast."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from aipl.api.auth import Principal
from aipl.api.deps import cached
from aipl.api.guard import PRINCIPAL
from aipl.api.views import COMPUTED, HIT, MISSING, WAITED, Views, digest

THREADS = 32


def test_concurrent_requests_compute_once():
    views, calls, gate = Views(), [], threading.Barrier(THREADS)

    def slow():
        calls.append(1)
        time.sleep(0.2)  # every other thread arrives while this one computes
        return {"fast": 1}

    def ask(_):
        gate.wait()
        return views.get(("v1", "acme", "fast"), slow)

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(ask, range(THREADS)))
    assert len(calls) == 1 and views.computed[("v1", "acme", "fast")] == 1
    assert all(value is answers[0][0] for value, _ in answers)
    hows = [how for _, how in answers]
    assert hows.count(COMPUTED) == 1 and set(hows) <= {COMPUTED, WAITED, HIT}


def test_a_failure_reaches_the_waiters_and_is_not_kept():
    views, gate = Views(), threading.Barrier(8)

    def broken():
        time.sleep(0.1)
        raise ValueError("no events")

    def ask(_):
        gate.wait()
        try:
            return views.get("k", broken)
        except ValueError as exc:
            return str(exc)

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(ask, range(8))) == {"no events"}
    assert views.computed["k"] == 1 and len(views) == 0
    assert views.get("k", lambda: 7) == (7, COMPUTED)  # the next request computes again


def test_the_cache_is_bounded_and_a_view_cannot_wait_for_itself():
    views = Views(size=3)
    for i in range(10):
        views.get(i, lambda i=i: i)
    assert len(views) == 3 and views.get(9, lambda: None) == (9, HIT)
    with pytest.raises(RuntimeError, match="itself"):
        views.get("loop", lambda: views.get("loop", lambda: 0))


def _request(cache: Views, who: Principal, version: str = "v1.duckdb"):
    """The little of a request that `cached` reads: the app's cache, the pinned snapshot, the caller."""
    app = SimpleNamespace(state=SimpleNamespace(cache=cache))
    return SimpleNamespace(app=app, state=SimpleNamespace(snapshot=version), scope={PRINCIPAL: who})


def test_tenants_never_share_an_entry():
    cache, calls = Views(), []
    acme = Principal("acme", "viewer", frozenset({"B01", "B02"}))
    peer = Principal("peer", "viewer", frozenset({"B01", "B02"}))  # the same grant, another tenant

    def fast_of(who):
        calls.append(who.tenant)
        return {"brands": sorted(who.brands), "tenant": who.tenant}

    assert cached(_request(cache, acme), ("fast",), lambda: fast_of(acme))["tenant"] == "acme"
    assert cached(_request(cache, peer), ("fast",), lambda: fast_of(peer))["tenant"] == "peer"
    assert cached(_request(cache, acme), ("fast",), lambda: fast_of(acme))["tenant"] == "acme"
    assert calls == ["acme", "peer"]
    narrower = Principal("acme", "viewer", frozenset({"B01"}))  # a grant changed: not the old entry
    assert cached(_request(cache, narrower), ("fast",), lambda: fast_of(narrower))["brands"] == ["B01"]
    assert cached(_request(cache, acme, "v2.duckdb"), ("fast",), lambda: fast_of(acme)) is not None
    assert calls == ["acme", "peer", "acme", "acme"]  # a new data version computes again
    keys = list(cache.computed)
    assert len(keys) == len(set(keys)) == 4


def test_concurrent_tenants_each_compute_once():
    cache, calls, lock = Views(), [], threading.Lock()
    tenants = [Principal(f"t{i}", "viewer", frozenset({"B01"})) for i in range(4)]
    gate = threading.Barrier(THREADS)

    def ask(i):
        who = tenants[i % len(tenants)]

        def compute():
            with lock:
                calls.append(who.tenant)
            time.sleep(0.1)
            return who.tenant

        gate.wait()
        request = _request(cache, who)
        value = cached(request, ("ranking", None), compute)
        return who.tenant, value, request.state.views[0]

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(ask, range(THREADS)))
    assert sorted(calls) == [t.tenant for t in tenants]  # one computation per tenant
    assert all(tenant == value for tenant, value, _ in answers)  # each got its own
    assert all(header.startswith("ranking:") for _, _, header in answers)


def test_an_answer_of_a_newer_snapshot_is_not_kept_under_the_old_key():
    """The request's snapshot was deleted before its warehouse was opened: `warehouse` read the newest instead
    (and pinned it). The answer is kept under the version it was computed from, and the header names that."""
    cache, acme = Views(), Principal("acme", "viewer", frozenset({"B01"}))
    request = _request(cache, acme, "v1.duckdb")

    def compute():  # what `warehouse(request)` does when v1 has gone: it opens v2 and pins it
        request.state.snapshot = "v2.duckdb"
        return "answer of v2"

    assert cached(request, ("fast",), compute) == "answer of v2"
    old, new = ("v1.duckdb", ("acme", "viewer", ("B01",)), "fast"), ("v2.duckdb", ("acme", "viewer", ("B01",)), "fast")
    assert cache.peek(old) is MISSING and cache.peek(new) == "answer of v2"
    assert request.state.snapshot == "v2.duckdb" and request.state.views == [f"fast:{digest(new)}=computed"]
