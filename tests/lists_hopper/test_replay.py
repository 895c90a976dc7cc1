"""Retry injection of logged Convoso rejections: the logged parameters go through the pipeline."""

from __future__ import annotations

import pytest

from injectionlogs.models import FailedInjection
from leads.models import Lead
from leads.replay import REPLAYERS, failure_retry
from lists_hopper.models import DncEntry, HopperEntry
from tests.factories import DncEntryFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_the_convoso_family_has_a_replayer():
    assert "convoso" in REPLAYERS


def test_a_dnc_rejection_retried_after_the_number_left_the_dnc_makes_the_lead(
    convoso, lst, staff, api_user
):
    DncEntryFactory(phone="+12015550123", campaign=None)
    response = convoso(
        "/v1/leads/insert",
        {
            "list_id": lst.id,
            "phone_number": "2015550123",
            "check_dnc": "1",
            "first_name": "Ann",
            "hopper": "1",
            "hopper_priority": "7",
            "loan": "9",
        },
    )
    assert response.json()["code"] == 6010
    row = FailedInjection.objects.get()
    DncEntry.objects.all().delete()
    lead, error = failure_retry(failure=row, user=staff)
    assert error is None
    assert lead == Lead.objects.get()
    assert (lead.first_name, lead.list, lead.custom_fields) == ("Ann", lst, {"loan": "9"})
    assert lead.created_by == api_user
    assert HopperEntry.objects.get(lead=lead).priority == 7
    row.refresh_from_db()
    assert (row.resolved_lead, row.resolved_by) == (lead, staff)


def test_a_duplicate_retried_is_still_a_duplicate(convoso, lst, staff):
    LeadFactory(phone="2015550123", phone_normalized="+12015550123", list=lst)
    convoso("/v1/leads/insert", {"list_id": lst.id, "phone_number": "2015550123", "check_dup": "2"})
    row = FailedInjection.objects.get()
    lead, error = failure_retry(failure=row, user=staff)
    assert lead is None
    assert error.code == "duplicate_phone"
    row.refresh_from_db()
    assert row.resolved_at is None
    assert row.retry_count == 1
    assert FailedInjection.objects.count() == 1


def test_an_update_rejection_is_replayed_as_an_update(convoso, staff):
    lead = LeadFactory(first_name="Old")
    convoso("/v1/leads/update", {"lead_id": str(lead.id), "first_name": "New", "email": "bad"})
    row = FailedInjection.objects.get()
    assert row.reason_code == "invalid_email"
    row.data = {**row.data, "email": "good@example.com"}  # staff cannot edit; simulate a fix
    row.save()
    replayed, error = failure_retry(failure=row, user=staff)
    assert error is None
    assert replayed == lead
    lead.refresh_from_db()
    assert (lead.first_name, lead.email) == ("New", "good@example.com")
    assert Lead.objects.count() == 1


def test_an_unreadable_body_is_not_replayed(client, lst, credential, staff):
    client.post(
        f"/v1/leads/insert?auth_token=token-ak_vendor&list_id={lst.id}&phone_number=2015550123",
        "{broken",
        content_type="application/json",
    )
    row = FailedInjection.objects.get()
    assert row.reason_code == "invalid_body"
    lead, error = failure_retry(failure=row, user=staff)
    assert lead is None
    assert error.code == "invalid_body"
    assert not Lead.objects.exists()
