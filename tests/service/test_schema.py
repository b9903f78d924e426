"""Property-based requests from the OpenAPI schema (schemathesis): no input makes the server fail."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.service.conftest import Server


@pytest.fixture(scope="module")
def live(checkpoint_dir):
    # Tiny limits so that every valid request generates little audio.
    server = Server(str(checkpoint_dir), env={"WAVENET_MAX_SECONDS": "0.02", "WAVENET_QUEUE_SIZE": "256"})
    yield server
    server.stop()


def test_no_input_causes_a_server_error(live):
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /synthesize",
        "GET /synthesize",
        "GET /models",
    }
    for operation in operations:

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(base_url=live.url, timeout=30)
            sent = case.body if case.body is not schemathesis.core.NOT_SET else case.query
            assert response.status_code < 500, f"{case.method} {case.path} {sent!r}: {response.status_code}"

        check()
