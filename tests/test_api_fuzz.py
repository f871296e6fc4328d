"""OpenAPI-driven fuzzing of the REST API with schemathesis, every check on: no 5xx, every
status and body as the OpenAPI description documents it (status code, content type, headers,
response schema), schema-valid requests accepted and invalid ones rejected, auth not ignored,
unsupported methods refused. Runs over real HTTP (uvicorn) against a real workspace with data
and a run, authenticated as an admin (so requests reach the handlers, not only the auth
check), with positive and negative examples for every operation."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.test_api import Api
from tests.test_hostile_http import serving

#: examples per operation and mode: about a minute on two cores
EXAMPLES = 12
#: a schema-valid request may still name a run, segment or rule the workspace does not have
#: (404) or carry a rule that does not parse or a spec the method cannot use (400): the
#: schema cannot express these, the 400 paragraph says what is wrong
ACCEPTED = ["2xx", "400", "401", "403", "404"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    api = Api(tmp_path_factory.mktemp("fuzz"))
    # jobs the fuzzer queues (runs with random settings, imports) are answered and recorded
    # but not worked: their work is tested in test_api.py, and it would take minutes here
    runner = api.state.jobs
    submit = runner.submit
    runner.submit = lambda kind, user, work: submit(kind, user, lambda progress: {})  # type: ignore[method-assign]
    with serving(api.app) as url:
        yield api, url
    api.state.close()


def _schema(url: str) -> Any:
    config = schemathesis.Config.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}
    )
    return schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)


def _excluded(case: Any) -> list[Any]:
    """POST /runs: a schema-valid segmentation can still break a rule between its fields
    (``rules`` only with method ``rules``, ``tiers`` only with ``value``, ``k_range`` low ≤
    high), which JSON Schema does not express; the 422 lists the problem."""
    if case.method.upper() == "POST" and case.formatted_path == "/api/v1/runs":
        return [positive_data_acceptance]
    return []


def _fuzz(operation: Any, mode: GenerationMode, auth: dict[str, str], failures: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
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
        try:
            case.call_and_validate(headers=auth, timeout=60, excluded_checks=_excluded(case))
        except FailureGroup as exc:  # schemathesis' report: which checks failed, and curl
            failures.append(f"{case.method} {case.formatted_path} ({mode.value}): {exc.message}")

    check()


@pytest.mark.slow
def test_generated_requests_get_documented_answers(server: Any) -> None:
    api, url = server
    schema = _schema(url)
    auth = {"Authorization": f"Bearer {api.tokens['admin']}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, auth, failures)
    assert not failures, "\n\n".join(failures[:8])


def test_every_operation_documents_its_error_answers(server: Any) -> None:
    """401 (answered before the body), 400, 413 and 422 everywhere, with a JSON schema."""
    api, _ = server
    for path, operations in api.app.openapi()["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in operations.items():
            for code in ("400", "401", "413", "422"):
                content = op["responses"][code]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (
                    method,
                    path,
                    code,
                )
