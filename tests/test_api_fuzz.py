"""OpenAPI-driven fuzzing of the REST API with schemathesis: no request it generates may make
the server answer 5xx. Runs against the real app and a real workspace with data and a run,
authenticated as an admin (so requests reach the handlers, not only the auth check)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.test_api import Api

EXAMPLES = 25


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    api = Api(tmp_path_factory.mktemp("fuzz"))
    yield api
    api.state.close()


def test_no_generated_request_makes_the_server_fail(server: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", server.app)
    auth = {"Authorization": f"Bearer {server.tokens['admin']}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            if case.method.upper() == "DELETE" and "/tokens/" in case.formatted_path:
                return  # would revoke the admin token this test signs in with
            response = case.call(headers=auth)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

        check()
    assert not failures, "\n".join(failures[:10])
