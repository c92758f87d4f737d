"""Property-based tests generated from the OpenAPI schema (schemathesis): for every operation, inputs drawn
from the schema never make the service fail (no 5xx) and every answer conforms to the schema; with no token
every operation is refused."""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import auth


def _each_operation(service, examples: int, check: Callable) -> list[str]:
    """Run `check(case)` on `examples` generated cases of every operation; the operations' labels."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", service["app"])
    labels = []
    for result in schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            check(case)

        run()
        labels.append(op.label)
    return labels


def test_no_server_error_and_conforming_answers(service):
    headers = auth(service, "analyst")

    def check(case):
        # random but valid input is often a day with no data or an unknown campaign: a 4xx, not a failure
        r = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
        assert r.status_code < 500

    assert len(_each_operation(service, 15, check)) >= 15


def test_every_operation_needs_a_token(service):
    def check(case):
        r = case.call()
        assert r.status_code in (401, 413, 422), (case.operation.label, r.status_code, r.text[:200])

    _each_operation(service, 3, check)


def test_every_answer_has_a_response_model(service):
    """Each operation's success answer is described by a schema with named properties (a pydantic model), except
    the post-mortem page, which is HTML, and a crowd export's file."""
    spec = service["app"].openapi()
    models = spec["components"]["schemas"]
    checked = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            code = next(c for c in op["responses"] if c.startswith("2"))
            content = op["responses"][code]["content"]
            if "text/html" in content or "application/octet-stream" in content:
                continue
            schema = content["application/json"]["schema"]
            name = schema.get("$ref", "").rsplit("/", 1)[-1]
            assert name in models and models[name].get("properties"), (method, path, schema)
            assert "__" not in name, f"two models share the name behind {name}"
            checked.append((method, path))
    assert len(checked) == 39, checked  # every JSON route (new: 6 crowd builder, 3 autopilot, 4 key/scope assets,
    # the post-mortem's figures)
