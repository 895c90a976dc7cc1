"""rows_insert writes the rows bulk_create would (leads.writes), and the candidate read by keys
finds the leads the ORM query finds (leads.candidates)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from leads.candidates import locked_leads_by_keys
from leads.models import Activity, ActivityType, CaptureRequest, Lead
from leads.writes import COPY_FROM_ROWS, model_new, rows_insert
from tests.factories import LeadFactory
from tests.helpers import postgres_only

pytestmark = pytest.mark.django_db


def lead_pair(user) -> tuple[Lead, Lead]:
    def one(tag: str) -> Lead:
        return Lead(
            first_name="Zoë",
            last_name="O'Brien",
            contact_name="Zoë O'Brien",
            email=f"{tag}@example.com",
            email_normalized=f"{tag}@example.com",
            phone="(201) 555-0123",
            phone_normalized="+12015550123",
            notes="line one\nline two; DROP TABLE x; -- %s %(name)s",
            source="Web",
            custom_fields={"mx_Plan": "gold", "mx_Count": 3, "mx_Nested": {"a": [1, None]}},
            custom_field_sets={"mx_Set": {"Fields": [{"SchemaName": "mx_A", "Value": "1"}]}},
            created_by=user,
            created_at=timezone.now() - dt.timedelta(days=3),
        )

    return one("orm"), one("fast")


def comparable(lead: Lead) -> dict:
    stored = Lead.objects.get(pk=lead.pk)
    skip = {"id", "email", "email_normalized", "created_at", "updated_at"}
    return {
        f.attname: getattr(stored, f.attname)
        for f in Lead._meta.concrete_fields
        if f.name not in skip
    }


def test_rows_insert_writes_what_bulk_create_writes():
    user = get_user_model().objects.create(username="vendor")
    orm, fast = lead_pair(user)
    Lead.objects.bulk_create([orm])
    rows_insert(Lead, [fast])
    assert fast._state.adding is False
    assert comparable(fast) == comparable(orm)
    # A few rows: one INSERT of several VALUES rows, each row its own values.
    few = [lead_pair(user)[1] for _ in range(3)]
    for i, lead in enumerate(few):
        lead.first_name = f"Few{i}"
    rows_insert(Lead, few)
    assert [Lead.objects.get(pk=lead.pk).first_name for lead in few] == ["Few0", "Few1", "Few2"]
    assert all(
        comparable(lead) == {**comparable(orm), "first_name": lead.first_name} for lead in few
    )
    # Past COPY_FROM_ROWS the rows go by COPY: the same values (tabs, newlines, backslashes,
    # quotes and JSON included).
    many = [lead_pair(user)[1] for _ in range(COPY_FROM_ROWS + 2)]
    for lead in many:
        lead.notes += "\ttab \\N backslash\r\n"
        lead.custom_fields["mx_Text"] = 'a\tb "q" \\'
    rows_insert(Lead, many)
    assert all(comparable(lead) == comparable(many[0]) for lead in many)
    stored = Lead.objects.get(pk=many[0].pk)
    assert stored.notes == many[0].notes and stored.custom_fields == many[0].custom_fields
    stored = Lead.objects.get(pk=fast.pk)
    # auto_now_add and auto_now stamp the insert time, as bulk_create does.
    assert stored.created_at > timezone.now() - dt.timedelta(minutes=1)
    assert stored.custom_fields["mx_Nested"] == {"a": [1, None]}

    activities = [
        Activity(lead=fast, type=ActivityType.LEAD_CAPTURE, note=f"n{i}", data={"i": i})
        for i in range(30)
    ]
    rows_insert(Activity, activities)
    stored = list(Activity.objects.filter(lead=fast).order_by("note"))
    assert len(stored) == 30
    assert {a.data["i"] for a in stored} == set(range(30))
    assert all(a.created_by_id is None for a in stored)


@pytest.mark.parametrize("rows", [1, 3, COPY_FROM_ROWS])
def test_a_json_none_is_sql_null_and_json_text_is_json_as_bulk_create_stores_them(rows):
    def requests(tag):
        return [
            CaptureRequest(body=[{"Attribute": "Notes", "Value": f"{tag} \\ \t \u00e9"}])
            for _ in range(rows)
        ]

    orm, fast = requests("orm"), requests("fast")
    CaptureRequest.objects.bulk_create(orm)
    rows_insert(CaptureRequest, fast)
    for made in (orm, fast):
        stored = CaptureRequest.objects.filter(pk__in=[r.pk for r in made])
        assert stored.filter(result__isnull=True).count() == rows  # SQL NULL, not JSON null
        assert [r.query for r in stored] == [{}] * rows
        assert [r.body for r in stored] == [made[0].body] * rows


def test_model_new_builds_what_the_model_class_builds():
    user = get_user_model().objects.create(username="vendor")
    values = {
        "first_name": "Zoë",
        "email": "z@example.com",
        "created_by_id": user.pk,
        "custom_fields": {"mx_Plan": "gold"},
    }
    built, expected = model_new(Lead, **values), Lead(**values)
    for field in Lead._meta.concrete_fields:
        if field.name not in {"id", "created_at", "updated_at"}:
            assert getattr(built, field.attname) == getattr(expected, field.attname), field.name
    assert built.id != expected.id and built._state.adding  # a default of its own, unsaved
    assert built.created_by == user
    with pytest.raises(TypeError, match="created_by"):
        model_new(Lead, created_by=user)  # attribute names only
    assert model_new(Lead).custom_fields is not model_new(Lead).custom_fields  # dict() each


def test_model_new_goes_through_the_model_class_when_a_post_init_receiver_listens():
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.first_name)

    post_init.connect(receiver, sender=Lead)
    try:
        model_new(Lead, first_name="Heard")
    finally:
        post_init.disconnect(receiver, sender=Lead)
    model_new(Lead, first_name="Unheard")
    assert seen == ["Heard"]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_read_by_keys_finds_what_the_orm_finds():
    by_email = LeadFactory(email="A@Example.com", email_normalized="a@example.com")
    by_phone = LeadFactory(phone="2015550123", phone_normalized="+12015550123")
    by_id = LeadFactory(custom_fields={"mx_Plan": "gold"})
    LeadFactory.create_batch(5)
    with transaction.atomic():
        found = locked_leads_by_keys(
            [1, 2],
            {str(by_id.pk), str(uuid.uuid4())},
            {"a@example.com", "nobody@example.com"},
            {"+12015550123"},
        )
    assert [lead.pk for lead in found] == [by_email.pk, by_phone.pk, by_id.pk]
    # The fields' own converters ran: JSON is a dict, times are aware, the lead is saved.
    assert found[2].custom_fields == {"mx_Plan": "gold"}
    assert timezone.is_aware(found[0].created_at)
    assert found[0]._state.adding is False
    with transaction.atomic():
        assert locked_leads_by_keys([], set(), set(), set()) == []


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_read_by_keys_brings_each_leads_list_along(django_assert_num_queries):
    from lists_hopper.models import Campaign, List, ListStatus

    campaign = Campaign.objects.create(name="Solar")
    archived = List.objects.create(name="old", campaign=campaign, status=ListStatus.ARCHIVED)
    on_list = LeadFactory(phone_normalized="+12015550123", list=archived)
    no_list = LeadFactory(email_normalized="x@example.com")
    with transaction.atomic():
        found = locked_leads_by_keys([], set(), {"x@example.com"}, {"+12015550123"}, with_list=True)
    assert [lead.pk for lead in found] == [on_list.pk, no_list.pk]
    with django_assert_num_queries(0):
        assert found[0].list == archived
        assert found[0].list.is_archived and found[0].list.campaign_id == campaign.pk
        assert found[1].list is None


@postgres_only
def test_reads_sent_with_the_candidate_read_get_their_rows():
    from leads.candidates import lock_id
    from leads.stages import StageRead

    lead = LeadFactory(email_normalized="along@x.com")
    first, second = StageRead("SELECT %s::int", [7]), StageRead("SELECT 'b' WHERE false", [])
    with transaction.atomic():
        leads = locked_leads_by_keys(
            [lock_id("e:along@x.com")], set(), {"along@x.com"}, set(), also=[first, second]
        )
    assert [x.pk for x in leads] == [lead.pk]
    assert first.rows == [(7,)] and second.rows == []


@postgres_only
def test_the_locks_the_read_and_the_reads_go_as_one_message_whatever_the_binding():
    """One statement text, so one round trip; quoted on the client even where the connection's
    own cursors bind on the server (DATABASE_SERVER_SIDE_BINDING), which cannot send several
    statements at once."""
    import psycopg
    from django.test.utils import CaptureQueriesContext

    from leads.candidates import lock_id
    from leads.stages import StageRead

    lead = LeadFactory(email_normalized="one@x.com")
    read = StageRead("SELECT %s::text", ["it's; here"])
    connection.ensure_connection()
    factory = connection.connection.cursor_factory
    connection.connection.cursor_factory = psycopg.Cursor  # server-side binding
    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            leads = locked_leads_by_keys(
                [lock_id("e:one@x.com")], set(), {"one@x.com"}, set(), also=[read]
            )
    finally:
        connection.connection.cursor_factory = factory
    assert [x.pk for x in leads] == [lead.pk]
    assert read.rows == [("it's; here",)]
    sent = [q["sql"] for q in ctx.captured_queries if "pg_advisory_xact_lock" in q["sql"]]
    assert len(sent) == 1 and 'FROM "leads_lead"' in sent[0] and "it''s; here" in sent[0]
