"""Settings > Logs > Failed leads API injection in the admin: the table, its filters, the detail
page, "Retry injection", and who may see and retry."""

from __future__ import annotations

import json
import threading

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from injectionlogs.models import FailedInjection
from leads.models import Lead
from leads.replay import failure_retry
from settings_global.services import global_settings_update
from tests.admin_helpers import logged_in, staff_with
from tests.factories import FailedInjectionFactory, LeadFactory, UserFactory
from tests.helpers import attrs, postgres_only

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:injectionlogs_failedinjection_changelist")
FORM = "/api/v1/contactform/?apikey=aninja-ak_vendor"


def detail(row):
    return reverse("admin:injectionlogs_failedinjection_change", args=[row.pk])


def rules(**changes):
    global_settings_update(changes=changes, user=None, via="test")


def retry(client, *rows):
    return client.post(
        CHANGELIST,
        {"action": "retry_injection", ACTION_CHECKBOX_NAME: [r.pk for r in rows], "index": 0},
        follow=True,
    )


@pytest.fixture
def duplicate_row(client, credential):
    """A contact form rejected under the similar-email rule, as it is logged."""
    LeadFactory(email="ann@x.com")
    rules(reject_duplicate_email_via_api=True)
    response = client.post(FORM, {"contact_name": "Ann Two", "contact_email1": " ANN@X.com"})
    assert response.status_code == 400
    return FailedInjection.objects.get()


def test_the_table_shows_id_reason_data_created_family_and_api_user(staff, duplicate_row):
    page = logged_in(staff).get(CHANGELIST)
    assert page.status_code == 200
    text = page.content.decode()
    for heading in ("ID", "Reason", "Data", "Created", "Family", "Api user"):
        assert f">{heading}<" in text or f">{heading}</a>" in text, heading
    assert "Duplicate email: a lead with a similar email already exists" in text
    assert "ANN@X.com" in text  # the data as received
    assert ">vendor<" in text
    assert "Retry injection" in text


def test_rows_are_numbered_in_sequence_newest_first(staff):
    rows = [FailedInjectionFactory() for _ in range(3)]
    assert [r.pk for r in rows] == list(range(rows[0].pk, rows[0].pk + 3))
    page = logged_in(staff).get(CHANGELIST)
    assert [r.pk for r in page.context["cl"].result_list] == [r.pk for r in reversed(rows)]


def test_filters_by_reason_family_and_date_and_search_in_the_data(staff):
    form = FailedInjectionFactory(data={"contact_email1": "gil@example.com"})
    insert = FailedInjectionFactory(
        reason_code="invalid_phone",
        reason="Invalid phone number: abc",
        family="convoso",
        endpoint="/v1/leads/insert",
        data={"phone_number": "abc", "email": "ivy@example.com"},
    )
    client = logged_in(staff)

    def shown(query):
        page = client.get(f"{CHANGELIST}?{query}")
        assert page.status_code == 200
        return [r.pk for r in page.context["cl"].result_list]

    assert shown("reason_code__exact=invalid_phone") == [insert.pk]
    assert shown("family__exact=aninja") == [form.pk]
    day = form.created_at
    assert shown(f"created_at__day={day.day}&created_at__month={day.month}") == [
        insert.pk,
        form.pk,
    ]
    assert shown("q=ivy@example") == [insert.pk]
    assert shown("q=GIL@EXAMPLE.COM") == [form.pk]
    assert shown("resolved_at__isempty=1") == [insert.pk, form.pk]


def test_the_detail_page_pretty_prints_the_data_and_is_read_only(staff, duplicate_row):
    client = logged_in(staff)
    page = client.get(detail(duplicate_row))
    assert page.status_code == 200
    text = page.content.decode()
    pretty = json.dumps(duplicate_row.data, indent=2).replace('"', "&quot;")
    assert f"<pre>{pretty}</pre>" in text
    assert 'name="_save"' not in text
    before = FailedInjection.objects.values().get()
    assert client.post(detail(duplicate_row), {"reason": "edited"}).status_code == 403
    add = reverse("admin:injectionlogs_failedinjection_add")
    assert client.get(add).status_code == 403
    delete = reverse("admin:injectionlogs_failedinjection_delete", args=[duplicate_row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert FailedInjection.objects.values().get() == before


def test_retry_after_relaxing_the_rule_makes_the_lead_and_resolves_the_row(staff, duplicate_row):
    rules(reject_duplicate_email_via_api=False)
    page = retry(logged_in(staff), duplicate_row)
    assert page.status_code == 200
    lead = Lead.objects.get(contact_name="Ann Two")
    assert lead.email_normalized == "ann@x.com"
    assert lead.created_by.username == "vendor"  # the API user that sent it
    row = FailedInjection.objects.get()
    assert row.resolved_at is not None
    assert row.resolved_lead == lead
    assert row.resolved_by == staff
    assert row.retry_count == 1
    messages = [str(m) for m in page.context["messages"]]
    assert any(f"-> lead {lead.pk}" in m for m in messages), messages
    # The resolved row links its lead.
    assert str(lead.pk) in logged_in(staff).get(detail(row)).content.decode()


def test_a_row_that_fails_again_stays_with_the_new_reason(staff, duplicate_row):
    client = logged_in(staff)
    page = retry(client, duplicate_row)  # the rule is still on
    assert any("failed again" in str(m) for m in page.context["messages"])
    row = FailedInjection.objects.get()
    assert (row.reason_code, row.resolved_at, row.retry_count) == ("duplicate_email", None, 1)
    # A row whose data now fails for another reason keeps that reason.
    other = FailedInjectionFactory(
        reason_code="duplicate_email",
        reason="Duplicate email: a lead with a similar email already exists",
        data={"contact_email1": "zed@example.com"},
    )
    retry(client, other)
    other.refresh_from_db()
    assert other.reason_code == "missing_contact_name"
    assert other.reason == "Missing required fields (contact_name)"
    assert other.resolved_at is None and other.retry_count == 1
    assert FailedInjection.objects.count() == 2  # no new rows: the rows themselves changed
    assert Lead.objects.count() == 1


def test_retry_replays_a_leadsquared_rejection_too(client, credential, staff):
    other = LeadFactory(email="other@x.com")
    LeadFactory(email="ann@x.com")
    rules(reject_duplicate_email_via_api=True)
    url = "/v2/LeadManagement.svc/Lead.Capture?accessKey=ak_vendor&secretKey=secret-ak_vendor"
    body = attrs(ProspectID=str(other.id), EmailAddress="ANN@x.com", FirstName="Ann")
    assert client.post(url, json.dumps(body), content_type="application/json").status_code == 400
    row = FailedInjection.objects.get()
    assert "secret" not in json.dumps(row.query)
    rules(reject_duplicate_email_via_api=False)
    retry(logged_in(staff), row)
    row.refresh_from_db()
    assert row.resolved_lead is not None
    assert row.resolved_lead.email_normalized == "ann@x.com"
    assert Lead.objects.count() == 3


def test_resolved_rows_are_not_retried_again(staff, duplicate_row):
    rules(reject_duplicate_email_via_api=False)
    client = logged_in(staff)
    retry(client, duplicate_row)
    page = retry(client, duplicate_row)
    assert any("already resolved" in str(m) for m in page.context["messages"])
    assert Lead.objects.filter(email_normalized="ann@x.com").count() == 2
    lead, error = failure_retry(failure=duplicate_row, user=staff)
    assert lead is None and "already resolved" in error.message
    assert Lead.objects.filter(email_normalized="ann@x.com").count() == 2


def test_staff_without_the_view_permission_see_no_log_data(db):
    row = FailedInjectionFactory(data={"contact_email1": "secret-person@example.com"})
    client = logged_in(staff_with(username="nosy"))
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(detail(row)).status_code == 403
    index = client.get(reverse("admin:index"))
    assert "Failed leads API injection" not in index.content.decode()


def test_the_change_permission_alone_does_not_show_the_data(db):
    row = FailedInjectionFactory()
    client = logged_in(staff_with("injectionlogs.change_failedinjection", username="changer"))
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(detail(row)).status_code == 403


def test_viewers_without_the_retry_permission_cannot_retry(credential, client, db):
    LeadFactory(email="ann@x.com")
    rules(reject_duplicate_email_via_api=True)
    client.post(FORM, {"contact_name": "Ann Two", "contact_email1": "ann@x.com"})
    row = FailedInjection.objects.get()
    rules(reject_duplicate_email_via_api=False)
    viewer = logged_in(staff_with("injectionlogs.view_failedinjection", username="viewer"))
    page = viewer.get(CHANGELIST)
    assert page.status_code == 200
    assert "Retry injection" not in page.content.decode()
    retry(viewer, row)
    row.refresh_from_db()
    assert row.resolved_at is None and row.retry_count == 0
    assert Lead.objects.count() == 1

    retrier = logged_in(
        staff_with(
            "injectionlogs.view_failedinjection",
            "injectionlogs.retry_failedinjection",
            username="retrier",
        )
    )
    assert "Retry injection" in retrier.get(CHANGELIST).content.decode()
    retry(retrier, row)
    row.refresh_from_db()
    assert row.resolved_lead is not None
    assert row.resolved_by.username == "retrier"


@pytest.mark.parametrize(
    ("user_perms", "status"),
    [
        (None, 401),
        ((), 403),
        (("injectionlogs.change_failedinjection",), 403),
        (("injectionlogs.view_failedinjection",), 200),
    ],
)
def test_the_injection_logs_api_needs_the_view_permission(client, user_perms, status):
    FailedInjectionFactory(data={"contact_email1": "pii@example.com"})
    if user_perms is not None:
        client.force_authenticate(staff_with(*user_perms, username="someone"))
    response = client.get("/api/v1/injection-logs/")
    assert response.status_code == status
    assert ("pii@example.com" in response.content.decode()) is (status == 200)


def test_a_non_staff_user_with_the_permission_is_refused_by_the_api(client):
    user = UserFactory(username="outsider")
    user.user_permissions.add(Permission.objects.get(codename="view_failedinjection"))
    client.force_authenticate(user)
    assert client.get("/api/v1/injection-logs/").status_code == 403


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_staff_retrying_one_row_at_once_make_one_lead(credential, client):
    LeadFactory(email="ann@x.com")
    rules(reject_duplicate_email_via_api=True)
    client.post(FORM, {"contact_name": "Ann Two", "contact_email1": "ann@x.com"})
    row = FailedInjection.objects.get()
    rules(reject_duplicate_email_via_api=False)
    users = [UserFactory(username=f"staff{i}", is_staff=True) for i in range(4)]
    barrier = threading.Barrier(len(users))
    results = []

    def run(user):
        try:
            barrier.wait()
            results.append(failure_retry(failure=FailedInjection.objects.get(pk=row.pk), user=user))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Lead.objects.filter(email_normalized="ann@x.com").count() == 2
    assert sum(1 for lead, _ in results if lead is not None) == 1
    row.refresh_from_db()
    assert row.resolved_lead is not None and row.retry_count == 1
