"""Property-based fuzzing of the served OpenAPI document with schemathesis: no 5xx, no response off-schema."""

from __future__ import annotations

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
            @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case) -> None:
                case.call_and_validate(base_url=server.url)

            check()
