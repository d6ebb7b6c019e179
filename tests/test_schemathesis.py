"""Property-based requests from the app's own OpenAPI schema (schemathesis): no 500 and no hang, on any endpoint.

Valid (positive) and invalid (negative) requests for every operation, 30 examples each way. It runs against the
restricted server (tiny limits, a short queue), so the few valid jobs it generates train in a moment; every job it
leaves behind is deleted at the end. Driven through hypothesis directly: schemathesis's pytest plugin does not load
under this pytest.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

REQUEST_TIMEOUT_S = 30  # a request that takes longer counts as a hang
EXAMPLES = 40


@pytest.fixture(scope="module")
def api_schema(restricted_server: str) -> Iterator[schemathesis.BaseSchema]:
    schema = schemathesis.openapi.from_url(f"{restricted_server}/openapi.json")
    yield schema
    with httpx.Client(base_url=restricted_server, timeout=60) as http:
        for job in http.get("/api/jobs", params={"limit": 1000}).json():
            http.delete(f"/api/jobs/{job['id']}")


def runs() -> list[pytest.param]:
    """Each operation with valid input, and with invalid input where it takes any (collection time, from the app)."""
    from nndojo.api.server import create_app

    params = []
    for path, methods in create_app().openapi()["paths"].items():
        for method, operation in methods.items():
            label = f"{method.upper()} {path}"
            params.append(pytest.param(label, GenerationMode.POSITIVE, id=f"{label} valid"))
            if operation.get("parameters") or operation.get("requestBody"):
                params.append(pytest.param(label, GenerationMode.NEGATIVE, id=f"{label} invalid"))
    return params


@pytest.mark.parametrize(("label", "mode"), runs())
def test_no_server_error_and_no_hang(api_schema: schemathesis.BaseSchema, label: str, mode: GenerationMode) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error], timeout=REQUEST_TIMEOUT_S)

    run()
