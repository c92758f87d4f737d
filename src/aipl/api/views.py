"""The service's computed views: each answer is computed once per key (which holds the published data version,
the caller and the view's parameters), however many requests ask for it at the same time (single flight), and the
last few hundred are kept."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

HIT, WAITED, COMPUTED, STALE = "hit", "waited", "computed", "stale"
MISSING = object()


class Views:
    """Answers by key: `get(key, compute)` returns the kept answer, or waits for the computation in flight for
    that key, or computes it (and only then), keeping the last `size` answers. A failure is handed to the requests
    that waited for it and never kept: the next request computes again. `computed` counts the computations of
    the last `16 * size` keys, so that a test or the benchmark can check there was one per key.

    >>> views, calls = Views(size=2), []
    >>> views.get(("v1", "fast"), lambda: calls.append(1) or 42)
    (42, 'computed')
    >>> views.get(("v1", "fast"), lambda: calls.append(1) or 42)
    (42, 'hit')
    >>> len(calls), views.computed[("v1", "fast")]
    (1, 1)
    >>> views.get(("v1", "bad"), lambda: 1 / 0)
    Traceback (most recent call last):
    ZeroDivisionError: division by zero
    >>> views.get(("v1", "bad"), lambda: "fixed"), views.computed[("v1", "bad")]  # a failure is not kept
    (('fixed', 'computed'), 2)
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.computed: Counter = Counter()
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self._flying: dict[Hashable, tuple[Future, int]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any], stale: Any = MISSING) -> tuple[Any, str]:
        """The answer for `key` and how it came: `hit` (kept), `waited` (for another request's computation),
        `computed` (by this call), or `stale`: the `stale` answer given, when another request is computing it."""
        me = threading.get_ident()
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key], HIT
            flight = self._flying.get(key)
            if flight is None:
                future: Future = Future()
                self._flying[key] = (future, me)
                self.computed[key] += 1
                if len(self.computed) > 16 * self.size:
                    del self.computed[next(iter(self.computed))]
        if flight is not None:
            if stale is not MISSING:
                return stale, STALE
            future, owner = flight
            if owner == me:  # a view that needs itself would wait for ever
                raise RuntimeError(f"view {key!r} asked for itself while computing")
            return future.result(), WAITED
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._flying[key]
            future.set_exception(exc)
            raise
        with self._lock:
            del self._flying[key]
            self._kept[key] = value
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        future.set_result(value)
        return value, COMPUTED

    def peek(self, key: Hashable) -> Any:
        """The kept answer for `key`, or MISSING (nothing is computed or waited for)."""
        with self._lock:
            return self._kept.get(key, MISSING)

    def clear(self) -> None:
        """Forget every kept answer (computations in flight finish and are kept)."""
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


def digest(key: Hashable) -> str:
    """A short, stable name of a view key (for the `X-AIPL-Views` header: it names the key, never shows it).

    >>> digest(("v1", "acme", "fast")) == digest(("v1", "acme", "fast")), len(digest(("v1",)))
    (True, 10)
    """
    return hashlib.blake2b(repr(key).encode(), digest_size=5).hexdigest()
