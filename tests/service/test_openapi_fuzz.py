"""Property-based fuzzing of the served OpenAPI document with schemathesis: no 5xx, no response off-schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from deploy.bento_server import BentoServer

REJECTION_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429",
                      "5xx"]  # fmt: skip
"""What counts as rejecting invalid data: schemathesis' default list plus 413, which the service answers, as
documented, to a batch above its limit (a body breaking the schema's ``maxItems``) or an oversized body."""


def test_api_never_errors_and_matches_its_schema(server: BentoServer) -> None:
    """Valid and invalid bodies for every operation, all of schemathesis' default checks."""
    assert _fuzz(server, examples_per_mode=25) >= 100


@pytest.mark.slow
def test_thousands_of_cases_find_no_schema_violation_accepted_and_no_5xx(server: BentoServer) -> None:
    """The same checks on 500 cases per operation and mode (2,500 in all): no body the OpenAPI document
    forbids is accepted, no answer is off-schema, none is a 5xx."""
    assert _fuzz(server, examples_per_mode=500) >= 2000


def _fuzz(server: BentoServer, examples_per_mode: int) -> int:
    """Run schemathesis' default checks on every operation of the served document; the number of cases."""
    cases = 0
    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTION_STATUSES}}}
    )
    schema = schemathesis.openapi.from_url(server.url + "/docs.json", config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/score", "/explain", "/spec"}
    for operation in operations:
        # an operation without parameters or body has no invalid variant to generate
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if operation.method == "post" else [])
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples_per_mode,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def check(case) -> None:
                nonlocal cases
                cases += 1
                case.call_and_validate(base_url=server.url)

            check()
    return cases
