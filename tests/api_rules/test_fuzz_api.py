"""Arbitrary JSON to the alert paths: a 200 or a 400 with an error, never a 5xx."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_rules.conftest import Service

EXAMPLES = 300 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 40
KEYS = ["entity", "entities", "startDate", "endDate", "interval", "limit", "rules", "rule",
        "metrics", "metric", "severities", "minSeverity", "acknowledged", "id", "count", "unit"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from([
                        "*", "now", "2026-01-02T00:00:00Z", "MINUTE", "DAY", "CRITICAL",
                        "flip", "rocket.chat"]))
bodies = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=15)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies)
def test_no_5xx(service: Service, body: object) -> None:
    for path in ("/api/v1/alerts/query", "/api/v1/alerts/history/query",
                 "/api/v1/alerts/update"):
        response = service.post(path, body)
        assert response.status_code in (200, 400), (path, body, response.get_json())
        if response.status_code == 400:
            assert response.get_json()["error"]
