"""Fifty simultaneous captures of one new identity end in one lead (PostgreSQL)."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from leads.models import Activity, ActivityType, Lead
from tests.helpers import attrs, postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def run_in_threads(count: int, fn) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_fifty_simultaneous_captures_of_one_email_make_one_lead(ls_keys):
    from settings_global.services import global_settings_update

    global_settings_update(changes={"rate_limit_calls": 1000}, user=None, via="test")
    url = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"

    def capture(i: int) -> tuple[int, dict]:
        body = attrs(EmailAddress="  Same.Person@Example.com", FirstName=f"F{i}")
        response = Client().post(url, json.dumps(body), content_type="application/json")
        return response.status_code, response.json()

    results = run_in_threads(50, capture)
    assert [status for status, _ in results] == [200] * 50
    assert Lead.objects.count() == 1
    lead = Lead.objects.get()
    assert sum(1 for _, body in results if body["Message"]["IsCreated"]) == 1
    assert {body["Message"]["Id"] for _, body in results} == {str(lead.id)}
    assert Activity.objects.filter(lead=lead, type=ActivityType.LEAD_CAPTURE).count() == 50


def test_simultaneous_captures_of_one_phone_in_two_spellings_make_one_lead(ls_keys):
    from settings_global.services import global_settings_update

    global_settings_update(changes={"rate_limit_calls": 1000}, user=None, via="test")
    url = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"
    spellings = ["+1 (201) 555-0123", "2015550123", "201.555.0123", "+12015550123"]

    def capture(i: int) -> int:
        body = attrs(Phone=spellings[i % 4])
        return Client().post(url, json.dumps(body), content_type="application/json").status_code

    assert run_in_threads(20, capture) == [200] * 20
    assert Lead.objects.count() == 1
