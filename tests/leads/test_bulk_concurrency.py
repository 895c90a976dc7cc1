"""Simultaneous bulk calls whose rows overlap in emails and phones make one lead per person
(PostgreSQL)."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
from django.db import connection
from django.db.models import Q
from django.test import Client

from injectionlogs.models import FailedInjection
from leads.models import Lead
from tests.helpers import attrs, postgres_only

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]

BULK = "/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate"
PEOPLE = 12
THREADS = 8
CALLS = 3
ROWS = 20


def spellings(i: int) -> list[str]:
    digits = f"20155501{i:02}"
    return [f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}", digits, f"+1{digits}"]


def row_for(i: int, rnd: random.Random, thread: int) -> list[dict[str, str]]:
    """A row for person i. Every row of a person carries the key that names it (the email for
    even i, the phone for odd i), so that in any order all the rows must end on one lead."""
    email = rnd.choice([f"person{i}@x.com", f" Person{i}@X.com"])
    phone = rnd.choice(spellings(i))
    optional = rnd.random() < 0.5
    fields = {"FirstName": f"T{thread}"}
    if i % 2 == 0:
        fields["EmailAddress"] = email
        if optional:
            fields["Phone"] = phone
    else:
        fields["Phone"] = phone
        if optional:
            fields["EmailAddress"] = email
    return attrs(**fields)


def test_overlapping_simultaneous_bulk_calls_make_one_lead_per_person(ls_keys):
    from settings_global.services import global_settings_update

    global_settings_update(changes={"rate_limit_calls": 1000}, user=None, via="test")
    url = f"{BULK}?{ls_keys}"
    barrier = threading.Barrier(THREADS)
    outcomes: list = [None] * THREADS

    def worker(thread: int) -> None:
        rnd = random.Random(thread)
        calls = []
        try:
            barrier.wait()
            for _ in range(CALLS):
                people = [rnd.randrange(PEOPLE) for _ in range(ROWS)]
                rows = [row_for(i, rnd, thread) for i in people]
                response = Client().post(url, json.dumps(rows), content_type="application/json")
                calls.append((people, response.status_code, response.json()))
            outcomes[thread] = calls
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    lead_of: dict[int, set[str]] = {i: set() for i in range(PEOPLE)}
    created = 0
    for calls in outcomes:
        assert calls is not None and len(calls) == CALLS
        for people, status, results in calls:
            assert status == 200, results
            assert [r["RowNumber"] for r in results] == list(range(1, ROWS + 1))
            for person, result in zip(people, results, strict=True):
                assert "ExceptionType" not in result, result
                lead_of[person].add(result["LeadId"])
                created += result["LeadCreated"]

    assert Lead.objects.count() == PEOPLE
    assert created == PEOPLE
    for i in range(PEOPLE):
        digits = f"+120155501{i:02}"
        same = Lead.objects.filter(
            Q(email_normalized=f"person{i}@x.com") | Q(phone_normalized=digits)
        )
        assert same.count() == 1, i
        assert lead_of[i] == {str(same.get().id)}
    assert not FailedInjection.objects.exists()


def test_a_call_updating_a_lead_another_call_just_updated_keeps_its_changes(ls_keys, monkeypatch):
    """Call A finds a lead by email, call B by phone: no key in common, so nothing but the lead's
    row serializes them. B reads and writes it while A is between its read and its write; A's
    batch update writes company (for its other lead), and must not put back the company B set."""
    import leads.services as services
    from settings_global.services import global_settings_update
    from tests.factories import LeadFactory

    global_settings_update(changes={"rate_limit_calls": 1000}, user=None, via="test")
    held = LeadFactory(
        email="ann@x.com", phone="2015550123", phone_normalized="+12015550123", first_name="Ann"
    )
    LeadFactory(email="bob@x.com", first_name="Bob")
    b_is_reading = threading.Event()
    original = services._load_candidates

    def load_candidates(rows, reads):
        if rows[0].keys.email == "ann@x.com":  # call A: B runs between A's read and its write
            index = original(rows, reads)
            b_is_reading.wait(10)
            time.sleep(0.5)
            return index
        b_is_reading.set()
        return original(rows, reads)

    monkeypatch.setattr(services, "_load_candidates", load_candidates)
    url = f"{BULK}?{ls_keys}"
    calls = {
        "a": [
            attrs(EmailAddress="ann@x.com", FirstName="Anna"),
            attrs(EmailAddress="bob@x.com", Company="Bob Co"),
        ],
        "b": [attrs(Phone="2015550123", Company="Acme")],
    }
    statuses = {}

    def post(name: str) -> None:
        try:
            if name == "b":
                time.sleep(0.2)  # A reads first
            body = json.dumps(calls[name])
            statuses[name] = Client().post(url, body, content_type="application/json").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(name,)) for name in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == {"a": 200, "b": 200}
    held.refresh_from_db()
    assert (held.first_name, held.company) == ("Anna", "Acme")
    assert Lead.objects.get(email_normalized="bob@x.com").company == "Bob Co"
