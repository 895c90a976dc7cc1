"""New rows get version 7 UUIDs (leads.ids): time-ordered keys, on every path that makes rows."""

from __future__ import annotations

import json
import uuid

import pytest

from leads.capture_requests import capture_requests_drain
from leads.ids import new_id
from leads.models import Activity, CaptureRequest, Lead
from tests.factories import VisitorFactory
from tests.helpers import attrs

pytestmark = pytest.mark.django_db

CAPTURE = "/v2/LeadManagement.svc/Lead.Capture"
BULK = "/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate"


def assert_ordered_v7(ids) -> None:
    ids = [uuid.UUID(str(i)) for i in ids]
    assert {i.version for i in ids} == {7}
    assert {i.variant for i in ids} == {uuid.RFC_4122}
    assert ids == sorted(ids), "made one after another, they sort one after another"


def test_new_ids_are_version_7_and_sort_in_the_order_they_were_made():
    made = [new_id() for _ in range(20_000)]  # many within one millisecond
    assert_ordered_v7(made)
    assert len(set(made)) == len(made)
    assert all(type(i) is uuid.UUID for i in made[:10])  # Python's own type, as psycopg dumps it


def test_every_intake_path_gives_its_new_rows_version_7_ids(client, ls_keys, credential):
    """One lead by Lead.Capture (one INSERT), 25 by bulk (COPY), two through the async queue:
    leads, activities and requests all get ordered version 7 ids, and the API answers with
    them."""
    one = client.post(
        f"{CAPTURE}?{ls_keys}",
        json.dumps(attrs(EmailAddress="one@x.com")),
        content_type="application/json",
    )
    assert one.status_code == 200
    rows = [attrs(EmailAddress=f"bulk{i}@x.com", FirstName=f"B{i}") for i in range(25)]
    bulk = client.post(f"{BULK}?{ls_keys}", json.dumps(rows), content_type="application/json")
    assert bulk.status_code == 200
    accepted = [
        client.post(
            f"/lead/capture?{ls_keys}",
            json.dumps(attrs(EmailAddress=f"async{i}@x.com")),
            content_type="application/json",
            HTTP_X_API_KEY=f"apikey-{credential.access_key}",
        )
        for i in range(2)
    ]
    assert [r.status_code for r in accepted] == [200, 200]
    assert capture_requests_drain(worker_id="w1") == 2

    leads = list(Lead.objects.order_by("created_at"))
    assert len(leads) == 28
    assert_ordered_v7(lead.id for lead in leads)
    assert_ordered_v7(a.id for a in Activity.objects.order_by("created_at"))
    assert_ordered_v7(r.id for r in CaptureRequest.objects.order_by("created_at"))
    assert one.json()["Message"]["Id"] == str(leads[0].id)
    assert [row["LeadId"] for row in bulk.json()] == [str(x.id) for x in leads[1:26]]
    assert [r.json()["RequestID"] for r in accepted] == [
        str(r.id) for r in CaptureRequest.objects.order_by("created_at")
    ]


def test_an_id_the_caller_sends_is_kept_as_it_is(client, ls_keys):
    """A tracked visitor's ProspectID (a version 4 UUID from the website's tracker) becomes the
    lead's id unchanged."""
    visitor = VisitorFactory(id=uuid.UUID("45b5fded-e696-45a6-9fbb-c6af6178229e"))
    response = client.post(
        f"{CAPTURE}?{ls_keys}",
        json.dumps(attrs(EmailAddress="v@x.com", ProspectID=str(visitor.id))),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert Lead.objects.get().id == visitor.id
