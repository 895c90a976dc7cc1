"""The staff API's date and number filters: what the database cannot compare is a 400 that names the
parameter, never a 500 (PostgreSQL refuses UTC offsets of 16 hours or more)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from injectionlogs.models import FailedInjection
from leads.models import Lead
from tests.factories import FailedInjectionFactory, LeadFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/v1/leads/", "/api/v1/injection-logs/"]
DATE_PARAMS = ["created_after", "created_before"]
HOSTILE = [
    "2026-01-01T00:00:00+23:00",
    "2026-01-01T00:00:00-16:00",
    "2026-01-01T00:00:00+16:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-15:59",
    "2026-01-01T00:00:00Z\x00",
    "1e999",
    "NaN",
    "-1",
    "99999999999999999999999",
]
NUMBER_PARAMS = {
    "/api/v1/leads/": ["list", "campaign", "limit", "offset"],
    "/api/v1/injection-logs/": ["limit", "offset", "date"],
}


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("param", DATE_PARAMS)
@pytest.mark.parametrize("offset", ["+23:00", "-16:00", "+16:00", "+23:59"])
def test_an_offset_beyond_1559_is_a_400_naming_the_parameter(staff_client, endpoint, param, offset):
    response = staff_client.get(endpoint, {param: f"2026-01-01T00:00:00{offset}"})
    assert response.status_code == 400
    assert list(response.json()) == [param]
    assert "UTC offset" in response.json()[param][0]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_filter_refuses_hostile_values_without_a_server_error(staff_client, endpoint):
    LeadFactory()
    FailedInjectionFactory()
    for param in DATE_PARAMS + NUMBER_PARAMS[endpoint]:
        for value in HOSTILE:
            response = staff_client.get(endpoint, {param: value})
            assert response.status_code in (200, 400), (param, value, response.content)
            if response.status_code == 400:
                assert param in response.json(), (param, value)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(minutes=st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59))
def test_created_range_honours_any_offset_postgresql_can_hold(staff_client, endpoint, minutes):
    """Within +-15:59 the filter compares instants; beyond it, a 400 naming the parameter."""
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    if endpoint == ENDPOINTS[0]:
        model, make = Lead, LeadFactory
    else:
        model, make = FailedInjection, FailedInjectionFactory
    model.objects.all().delete()  # hypothesis reuses the test's transaction
    on_time, earlier = make(), make()
    # created_at is auto_now_add: set by update.
    model.objects.filter(pk=on_time.pk).update(created_at=at)
    model.objects.filter(pk=earlier.pk).update(created_at=at - timedelta(seconds=1))
    # The same instant as `at`, written in the offset under test.
    local = (at + timedelta(minutes=minutes)).replace(tzinfo=None).isoformat()
    query = f"{local}{_offset(minutes)}"
    after = staff_client.get(endpoint, {"created_after": query})
    before = staff_client.get(endpoint, {"created_before": query})
    if abs(minutes) >= 16 * 60:
        assert (after.status_code, before.status_code) == (400, 400)
        assert "created_after" in after.json() and "created_before" in before.json()
    else:
        assert (after.status_code, before.status_code) == (200, 200)
        assert [row["id"] for row in after.json()["results"]] == [_id(on_time)]
        assert [row["id"] for row in before.json()["results"]] == [_id(earlier)]


def _id(obj):
    return obj.pk if isinstance(obj.pk, int) else str(obj.pk)
