"""Every route of the API, from its OpenAPI description, with malformed inputs: wrong types, huge numbers,
empty strings, unknown enum values, NUL bytes, impossible days, crowd expressions that once crashed (issue 19,
class 10). The answer is never a 500: 4xx for anything the client sent."""

from __future__ import annotations

import errno
import json
from urllib.parse import quote

import duckdb
import pytest
from fastapi.testclient import TestClient

import aipl.api.routers.assets as api_assets
from aipl.api import create_app
from aipl.api.auth import add_tenant, issue_token
from aipl.api.deps import close_all
from aipl.assets import brands
from aipl.audience import refresh
from aipl.simulate import sample_warehouse

PARAM_VALUES = ["", "\x00", "nope", "-1", "1e400", "nan", "99999999999999999999", "2026-02-30", "x" * 3000]
FIELD_VALUES = [None, True, 10**30, "", "\x00", [], {"and": []}, "x" * 5000]
EXPRESSIONS = ["(" * 250 + "age > 1" + ")" * 250, "age > 1 or", 'count(event="purchase", days=99999999999) >= 1',
               'count(event="purchase", days=-5) >= 1', 'count(event="purchase", days=1.5) >= 1',
               "age between 30 and 18", '{"or": []}', '{"and": 5}', '{"tag": 5}', '{"not": ' * 300 + "1" + "}" * 300,
               "[" * 1500, '{"tag": "age", "op": ">", "value": NaN}', "age in (1, 99999999999)", "\x00"]
WHOLE_BODIES = [[], "x", 5, None, {}, {"expr": {"and": 5}}]


@pytest.fixture(scope="module")
def api():
    wh = sample_warehouse()
    root, day = wh.config.root, wh.last_day()
    refresh(wh, day)
    granted = sorted(brands(wh))
    wh.close()
    add_tenant(root, "acme", granted)
    app = create_app(root)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {issue_token(root, 'acme', 'admin')}"
        yield {"client": client, "spec": app.openapi(), "brand": granted[0], "day": str(day)}
    app.state.jobs.wait(60)
    close_all()


def _fillers(api) -> dict[str, object]:
    return {"brand": api["brand"], "day": api["day"], "start": "2026-09-01", "end": api["day"], "start0": "2026-08-01",
            "end0": "2026-08-31", "start1": "2026-09-01", "end1": "2026-09-30", "campaign": "nope", "budget": 1000,
            "job_id": "nope", "format": "events", "expr": "age > 30", "seed": "age > 30", "name": "adv1", "k": 2}


def _operations(spec) -> list[tuple[str, str, dict]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def _body_schema(spec, op) -> dict | None:
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    return spec["components"]["schemas"][ref]


def _call(client, method: str, path: str, params: dict, body):
    url = path.format(**{k: quote(v, safe="") for k, v in params.items() if "{" + k + "}" in path})
    query = {k: v for k, v in params.items() if "{" + k + "}" not in path}
    if body is _NO_BODY:
        return client.request(method, url, params=query)
    return client.request(method, url, params=query, content=json.dumps(body, allow_nan=True),
                          headers={"Content-Type": "application/json"})


_NO_BODY = object()


def _cases(api, method: str, path: str, op: dict):
    """(params, body) pairs: each parameter and each body field malformed in turn, the others plausible."""
    fill = _fillers(api)
    params = {p["name"]: str(fill.get(p["name"], "x")) for p in op.get("parameters", []) if p.get("required")}
    schema = _body_schema(api["spec"], op)
    body = _NO_BODY if schema is None else {k: fill.get(k, "x") for k in schema.get("required", [])}
    for p in op.get("parameters", []):
        for v in PARAM_VALUES:
            yield {**params, p["name"]: v}, body
    if schema is None:
        return
    for field in schema.get("properties", {}):
        for v in FIELD_VALUES + (EXPRESSIONS if field in ("expr", "seed", "base") else []):
            yield params, {**body, field: v}
        if field == "compare":
            yield params, {**body, field: EXPRESSIONS[:10]}
    for whole in WHOLE_BODIES:
        yield params, whole


ROUTES = [("get", "/api/me"), ("get", "/api/brands"), ("get", "/api/assets/{brand}/snapshot"),
          ("get", "/api/assets/{brand}/flow"), ("get", "/api/health/fast"), ("get", "/api/health/ranking"),
          ("get", "/api/health/grow/{brand}"), ("get", "/api/strategy/campaigns"),
          ("get", "/api/strategy/{brand}/plan"),
          ("get", "/api/strategy/{brand}/backtest"), ("post", "/api/crowds/count"), ("get", "/api/crowds"),
          ("post", "/api/crowds"), ("post", "/api/crowds/insight"), ("post", "/api/crowds/lookalike"),
          ("get", "/api/crowds/tags"), ("post", "/api/crowds/parse"), ("post", "/api/crowds/text"),
          ("get", "/api/crowds/builtin"), ("get", "/api/crowds/spend"), ("get", "/api/crowds/penetration"),
          ("post", "/api/crowds/export"), ("get", "/api/crowds/exports/{export_id}"), ("get", "/api/autopilot/scenes"),
          ("get", "/api/autopilot/{brand}/plan"), ("get", "/api/autopilot/cells"), ("get", "/api/autopilot/whatif"),
          ("get", "/api/autopilot/{brand}/gaps"),
          ("get", "/api/autopilot/{brand}/sequence"), ("get", "/api/jobs"), ("get", "/api/jobs/{job_id}"),
          ("post", "/api/jobs/ingest"), ("post", "/api/jobs/postmortem"), ("get", "/api/jobs/{job_id}/html"),
          ("get", "/api/jobs/{job_id}/json"),
          ("get", "/api/freshness"), ("get", "/api/alerts"), ("get", "/api/assets/series"),
          ("get", "/api/assets/snapshot"), ("get", "/api/assets/flow"), ("get", "/api/assets/deeplink-flow")]


def test_every_route_is_swept(api):
    assert {(m, p) for m, p, _ in _operations(api["spec"])} == set(ROUTES)


@pytest.mark.parametrize("method, path", ROUTES, ids=[f"{m.upper()} {p}" for m, p in ROUTES])
def test_malformed_inputs_are_never_a_500(api, method, path):
    op = api["spec"]["paths"][path][method]
    failures = []
    for params, body in _cases(api, method, path, op):
        r = _call(api["client"], method, path, params, body)
        if r.status_code >= 500:
            failures.append(f"{method.upper()} {path} {params!r:.200} {body!r:.200} → {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("name, format_, status", [
    ("events.tsv", "events", 415), ("events.csv", "nope", 422), ("events.csv", "\x00", 422),
    ("\x00.csv", "", 422), ("events.xlsx", "events", 415)])
def test_uploads_in_a_format_that_cannot_be_read_are_refused_at_once(api, name, format_, status):
    r = api["client"].post("/api/jobs/ingest", params={"format": format_},
                           files={"file": (name, b"consumer_id\tbrand_id\nc1\tB01\n", "text/plain")})
    assert r.status_code == status, r.text
    if name.endswith(".tsv"):
        assert ".csv" in r.json()["detail"] and ".parquet" in r.json()["detail"]


@pytest.mark.parametrize("exc, status, says", [
    (duckdb.ConversionException("Conversion Error: timestamp out of range\n\nLINE 1: SELECT …"), 422,
     "ConversionException: Conversion Error: timestamp out of range"),
    (duckdb.IOException('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held in x (PID 7)'),
     503, "PID 7"),
    (OSError(errno.ENOSPC, "No space left on device"), 507, "the disk is full"),
])
def test_a_library_failure_is_its_status_and_one_line(api, monkeypatch, exc, status, says):
    def fail(*args, **kwargs):
        raise exc

    api["client"].app.state.cache.clear()
    monkeypatch.setattr(api_assets, "brand_categories", fail)
    r = api["client"].get("/api/brands")
    assert r.status_code == status and says in r.json()["detail"] and "\n" not in r.json()["detail"], r.text
