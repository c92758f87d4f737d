"""Tenants, roles and API tokens. A tenant is a brand or an agency granted several brands; each token belongs
to one tenant with one role (viewer < analyst < admin). Tokens are random and kept only as SHA-256 hashes in
the workspace's `tenants.json`; the plain token is shown once, when it is issued."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROLES = ("viewer", "analyst", "admin")
TENANTS_FILE = "tenants.json"
_lock = threading.Lock()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the token's role and the brands the tenant is granted."""

    tenant: str
    role: str
    brands: frozenset[str]

    def can(self, role: str) -> bool:
        """Whether this role is at least `role`.

        >>> Principal("acme", "analyst", frozenset({"B01"})).can("viewer")
        True
        """
        return ROLES.index(self.role) >= ROLES.index(role)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _path(root: str | Path) -> Path:
    return Path(root) / TENANTS_FILE


def _read(root: str | Path) -> dict:
    p = _path(root)
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {"tenants": {}, "tokens": {}}


_seen: dict[Path, tuple[tuple, dict]] = {}  # tenants.json by path: (its stat, its contents) when last read


def _current(root: str | Path) -> dict:
    """The tenants file as it is now, read again only when it has changed (it is replaced whole on each write, so
    a new inode, size or time says so): every request authenticates against it."""
    p = _path(root)
    try:
        st = p.stat()
    except FileNotFoundError:
        return {"tenants": {}, "tokens": {}}
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    seen = _seen.get(p)
    if seen is None or seen[0] != stamp:
        seen = _seen[p] = (stamp, _read(root))
    return seen[1]


def _write(root: str | Path, data: dict) -> None:
    """Atomically: a crash leaves the old file or the new one, never half of one."""
    p = _path(root)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tenants.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
    os.replace(tmp, p)


def _check_name(what: str, name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"{what} {name!r}: use 1–64 letters, digits, '-', '_' or '.'")


def add_tenant(root: str | Path, tenant: str, brands: list[str]) -> dict:
    """Create a tenant, or replace its granted brands.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> add_tenant(root, "acme", ["B02", "B01"])
    {'tenant': 'acme', 'brands': ['B01', 'B02']}
    """
    _check_name("tenant", tenant)
    if not brands:
        raise ValueError(f"tenant {tenant!r}: grant at least one brand")
    with _lock:
        data = _read(root)
        data["tenants"][tenant] = {"brands": sorted(set(brands))}
        _write(root, data)
    return {"tenant": tenant, "brands": sorted(set(brands))}


def issue_token(root: str | Path, tenant: str, role: str, label: str = "") -> str:
    """A new token for `tenant` with `role`; only its hash is stored.

    >>> import tempfile
    >>> root = tempfile.mkdtemp(); _ = add_tenant(root, "acme", ["B01"])
    >>> issue_token(root, "acme", "viewer").startswith("aipl_")
    True
    """
    if role not in ROLES:
        raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")
    with _lock:
        data = _read(root)
        if tenant not in data["tenants"]:
            raise ValueError(f"no tenant {tenant!r}; create it with `aipl tenant add`")
        token = "aipl_" + secrets.token_urlsafe(32)
        data["tokens"][_hash(token)] = {"tenant": tenant, "role": role, "label": label[:100],
                                        "issued": datetime.now(UTC).isoformat(timespec="seconds")}
        _write(root, data)
    return token


def revoke_tenant_tokens(root: str | Path, tenant: str) -> int:
    """Remove every token of `tenant`; how many there were.

    >>> import tempfile
    >>> root = tempfile.mkdtemp(); _ = add_tenant(root, "acme", ["B01"]); _ = issue_token(root, "acme", "admin")
    >>> revoke_tenant_tokens(root, "acme")
    1
    """
    with _lock:
        data = _read(root)
        gone = [h for h, t in data["tokens"].items() if t["tenant"] == tenant]
        for h in gone:
            del data["tokens"][h]
        _write(root, data)
    return len(gone)


def tenants(root: str | Path) -> dict:
    """Each tenant's brands and token count (never the hashes).

    >>> import tempfile
    >>> root = tempfile.mkdtemp(); _ = add_tenant(root, "acme", ["B01"]); _ = issue_token(root, "acme", "admin")
    >>> tenants(root)
    {'acme': {'brands': ['B01'], 'tokens': 1}}
    """
    data = _read(root)
    counts: dict[str, int] = {}
    for t in data["tokens"].values():
        counts[t["tenant"]] = counts.get(t["tenant"], 0) + 1
    return {name: {**t, "tokens": counts.get(name, 0)} for name, t in data["tenants"].items()}


def authenticate(root: str | Path, token: str) -> Principal | None:
    """The principal a token stands for, or None for an unknown token (compared by hash).

    >>> import tempfile
    >>> root = tempfile.mkdtemp(); _ = add_tenant(root, "acme", ["B01"])
    >>> authenticate(root, issue_token(root, "acme", "viewer"))
    Principal(tenant='acme', role='viewer', brands=frozenset({'B01'}))
    >>> authenticate(root, "aipl_guessed") is None
    True
    """
    data = _current(root)
    t = data["tokens"].get(_hash(token))
    if t is None or t["tenant"] not in data["tenants"]:
        return None
    return Principal(t["tenant"], t["role"], frozenset(data["tenants"][t["tenant"]]["brands"]))
