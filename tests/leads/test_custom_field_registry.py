"""The custom field registry: kept on write by the intake pipeline, read by LeadsMetaData.Get
(never a scan of the leads), shown in the admin where staff can define fields too."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.custom_fields import custom_fields_forget
from leads.models import CustomField
from tests.admin_helpers import logged_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

CAPTURE = "/v2/LeadManagement.svc/Lead.Capture"
METADATA = "/v2/LeadManagement.svc/LeadsMetaData.Get"


@pytest.fixture(autouse=True)
def _forget():
    custom_fields_forget()
    yield
    custom_fields_forget()


def capture(client, ls_keys, body):
    response = client.post(
        f"{CAPTURE}?{ls_keys}", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response


def metadata(client, ls_keys) -> dict[str, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{METADATA}?{ls_keys}")
    assert response.status_code == 200
    assert not [q["sql"] for q in queries if "leads_lead" in q["sql"]], "scanned the leads"
    return {row["SchemaName"]: row for row in response.json()}


def test_a_new_custom_field_is_listed_by_leadsmetadata_get(client, ls_keys):
    assert "mx_Shoe_Size" not in metadata(client, ls_keys)
    capture(
        client,
        ls_keys,
        [
            {"Attribute": "EmailAddress", "Value": "feet@x.com"},
            {"Attribute": "mx_Shoe_Size", "Value": 43},
            {"Attribute": "mx_Roof", "Fields": [{"Attribute": "mx_Area", "Value": "40"}]},
        ],
    )
    fields = metadata(client, ls_keys)
    assert fields["mx_Shoe_Size"]["IsCustomField"] is True
    assert fields["mx_Shoe_Size"]["DataType"] == "String"  # values arrive as text
    assert fields["mx_Shoe_Size"]["DisplayName"] == "Shoe Size"
    assert fields["mx_Roof"]["DataType"] == "CustomObject"
    assert CustomField.objects.get(name="mx_Roof").is_set is True
    assert fields["EmailAddress"]["IsCustomField"] is False


def test_a_known_field_costs_no_query_once_committed(
    client, ls_keys, django_capture_on_commit_callbacks
):
    body = [{"Attribute": "EmailAddress", "Value": "a@x.com"}, {"Attribute": "mx_A", "Value": "1"}]
    with django_capture_on_commit_callbacks(execute=True):
        capture(client, ls_keys, body)
    with CaptureQueriesContext(connection) as queries:
        capture(client, ls_keys, [*body[:1], {"Attribute": "mx_A", "Value": "2"}])
    assert not [q for q in queries if "leads_customfield" in q["sql"]]
    assert list(CustomField.objects.values_list("name", flat=True)) == ["mx_A"]


def test_a_rejected_lead_registers_nothing(client, ls_keys):
    response = client.post(
        f"{CAPTURE}?{ls_keys}",
        data=json.dumps(
            [{"Attribute": "EmailAddress", "Value": "not-an-email"}, {"Attribute": "mx_B"}]
        ),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not CustomField.objects.exists()


def test_staff_define_a_field_in_the_admin(client, ls_keys, staff):
    admin = logged_in(staff)
    response = admin.post(
        reverse("admin:leads_customfield_add"),
        {"name": "mx_Budget", "display_name": "Budget (USD)", "data_type": "Number"},
    )
    assert response.status_code == 302, response.content
    field = CustomField.objects.get(name="mx_Budget")
    assert field.defined_by_staff is True
    assert metadata(client, ls_keys)["mx_Budget"]["DisplayName"] == "Budget (USD)"
    listing = admin.get(reverse("admin:leads_customfield_changelist")).content.decode()
    assert "mx_Budget" in listing


def test_the_backfill_registers_the_fields_leads_hold():
    LeadFactory(custom_fields={"mx_City": "Pune", "mx_Size": 3})
    LeadFactory(custom_field_sets={"mx_Car": {"Fields": []}}, custom_fields={"mx_City": "Goa"})
    migration = importlib.import_module("leads.migrations.0007_backfill_custom_fields")
    migration.backfill(apps, SimpleNamespace(connection=connection))
    found = dict(CustomField.objects.values_list("name", "is_set"))
    assert found == {"mx_City": False, "mx_Size": False, "mx_Car": True}


def test_only_the_configured_tasks_backend_has_admin_screens(settings):
    from django.contrib import admin
    from django_rq.models import Dashboard
    from django_tasks_db.models import DBTaskResult

    from leads.admin import _hide_other_task_backends

    assert settings.TASKS_BACKEND == "db"
    assert admin.site.is_registered(DBTaskResult)
    assert not admin.site.is_registered(Dashboard)
    registered = admin.site._registry[DBTaskResult]
    try:
        settings.TASKS_BACKEND = "redis"
        _hide_other_task_backends()
        assert not admin.site.is_registered(DBTaskResult)
    finally:
        admin.site._registry[DBTaskResult] = registered
