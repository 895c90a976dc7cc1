"""Idempotency-Key: a retry gets the first answer and writes nothing; another body gets 409."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from injectionlogs.models import FailedInjection
from leads.models import Activity, IdempotencyKey, Lead
from tests.factories import ApiCredentialFactory, ListFactory
from tests.helpers import attrs

pytestmark = pytest.mark.django_db

CAPTURE = "/v2/LeadManagement.svc/Lead.Capture"


def post_json(client, url, body, key):
    return client.post(
        url, json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_capture_retry_returns_the_first_answer_without_writing(client, ls_keys):
    url = f"{CAPTURE}?{ls_keys}"
    first = post_json(client, url, attrs(EmailAddress="ann@x.com"), "k-1")
    again = post_json(client, url, attrs(EmailAddress="ann@x.com"), "k-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1
    assert Activity.objects.filter(type="lead_capture").count() == 1


def test_same_key_with_another_body_is_409_in_the_family_format(client, ls_keys):
    url = f"{CAPTURE}?{ls_keys}"
    post_json(client, url, attrs(EmailAddress="ann@x.com"), "k-1")
    other = post_json(client, url, attrs(EmailAddress="bob@x.com"), "k-1")
    assert other.status_code == 409
    assert other.json()["Status"] == "Error"
    assert "another request" in other.json()["ExceptionMessage"]
    assert Lead.objects.count() == 1


def test_a_rejection_is_replayed_without_a_second_log_row(client, ls_keys):
    url = f"{CAPTURE}?{ls_keys}"
    first = post_json(client, url, attrs(EmailAddress="nope"), "k-bad")
    again = post_json(client, url, attrs(EmailAddress="nope"), "k-bad")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert FailedInjection.objects.count() == 1


def test_without_the_header_every_call_runs(client, ls_keys):
    url = f"{CAPTURE}?{ls_keys}"
    client.post(url, json.dumps(attrs(FirstName="A")), content_type="application/json")
    client.post(url, json.dumps(attrs(FirstName="A")), content_type="application/json")
    assert Lead.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_keys_belong_to_one_credential(client, ls_keys):
    ApiCredentialFactory(access_key="ak_other")
    post_json(client, f"{CAPTURE}?{ls_keys}", attrs(FirstName="A"), "shared")
    other = post_json(
        client,
        f"{CAPTURE}?accessKey=ak_other&secretKey=secret-ak_other",
        attrs(FirstName="A"),
        "shared",
    )
    assert other.status_code == 200
    assert "Idempotent-Replayed" not in other
    assert Lead.objects.count() == 2


def test_a_401_does_not_use_up_the_key(client, ls_keys):
    bad = post_json(client, f"{CAPTURE}?accessKey=ak_vendor&secretKey=x", attrs(FirstName="A"), "k")
    assert bad.status_code == 401
    good = post_json(client, f"{CAPTURE}?{ls_keys}", attrs(FirstName="A"), "k")
    assert good.status_code == 200
    assert Lead.objects.count() == 1


def test_a_key_left_in_progress_by_a_dead_call_is_taken_over(client, ls_keys, credential):
    record = IdempotencyKey.objects.create(credential=credential, key="k", request_hash="x" * 64)
    busy = post_json(client, f"{CAPTURE}?{ls_keys}", attrs(FirstName="A"), "k")
    assert busy.status_code == 409
    IdempotencyKey.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    retried = post_json(client, f"{CAPTURE}?{ls_keys}", attrs(FirstName="A"), "k")
    assert retried.status_code == 200
    assert Lead.objects.count() == 1


def test_bulk_retry_is_replayed(client, ls_keys):
    url = f"/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate?{ls_keys}"
    body = [attrs(EmailAddress="a@x.com"), attrs(EmailAddress="b@x.com")]
    first = post_json(client, url, body, "bulk-1")
    again = post_json(client, url, body, "bulk-1")
    assert again.json() == first.json()
    assert Lead.objects.count() == 2


def test_convoso_insert_retry_is_replayed(client, credential):
    dial_list = ListFactory()
    data = {"list_id": dial_list.id, "phone_number": "2015550123", "auth_token": "token-ak_vendor"}
    first = client.post("/v1/leads/insert", data, HTTP_IDEMPOTENCY_KEY="ins-1")
    again = client.post("/v1/leads/insert", data, HTTP_IDEMPOTENCY_KEY="ins-1")
    assert first.status_code == 200
    assert again.json() == first.json()
    assert Lead.objects.count() == 1
    other = client.post(
        "/v1/leads/insert", {**data, "phone_number": "2015550124"}, HTTP_IDEMPOTENCY_KEY="ins-1"
    )
    assert other.status_code == 409
    assert other.json()["success"] is False


def test_contact_form_retry_is_replayed(client, credential):
    url = "/api/v1/contactform/?apikey=aninja-ak_vendor"
    form = {"contact_name": "Ann", "contact_email1": "ann@x.com"}
    first = client.post(url, form, HTTP_IDEMPOTENCY_KEY="form-1")
    again = client.post(url, form, HTTP_IDEMPOTENCY_KEY="form-1")
    assert again.json() == first.json()
    assert Lead.objects.count() == 1


def test_housekeeping_forgets_day_old_keys(credential):
    from leads.tasks import prune_housekeeping

    old = IdempotencyKey.objects.create(credential=credential, key="old", request_hash="h")
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    IdempotencyKey.objects.create(credential=credential, key="new", request_hash="h")
    assert prune_housekeeping.call()["idempotency_keys"] == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
