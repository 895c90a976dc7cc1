"""Every field a family documents is accepted and read back, and a value one past a field's
length is a logged 400, never a 500.

The cases are generated from the tables the code itself reads (SCHEMA and LeadsMetaData.Get,
Convoso's FIELD_NAMES, aNinja's FORM_FIELDS), plus the fields the vendors' documents list, so a
field added to a table is tested without touching this file.
"""

from __future__ import annotations

import itertools

import pytest

from injectionlogs.models import FailedInjection
from leads.models import Lead
from leads.services import MAX_LENGTHS
from leads.vocabulary import ReasonCode
from leads.wire.aninja import FORM_FIELDS
from leads.wire.leadsquared import SCHEMA
from lists_hopper.wire.convoso import FIELD_NAMES, LEAD_RECORD_FIELDS
from settings_global.services import global_settings_update
from tests.factories import ListFactory
from tests.helpers import attrs

pytestmark = pytest.mark.django_db

LS = "/v2/LeadManagement.svc"
TOKEN = "token-ak_vendor"
APIKEY = "aninja-ak_vendor"

# Convoso's insert documents these besides list_id and phone_number (DESIGN section 5 and the
# vendor's field list); those that are no model field are kept as custom fields by their name.
CONVOSO_DOCUMENTED = (
    "phone_code",
    "first_name",
    "last_name",
    "email",
    "address1",
    "address2",
    "city",
    "state",
    "province",
    "postal_code",
    "country",
    "gender",
    "date_of_birth",
    "alt_phone_1",
    "alt_phone_2",
    "company",
    "title",
    "notes",
    "status",
)
# aNinja's contact form documents these; any other field is a custom field.
ANINJA_DOCUMENTED = ("contact_name", "contact_email1", "contact_phone1", "company_name")

_n = itertools.count()


@pytest.fixture(autouse=True)
def _no_rate_limit(db):
    # These tests make many calls with one credential: the limit is not what they test.
    global_settings_update(changes={"rate_limit_calls": 100_000}, user=None, via="test")


def sample(model_field: str | None) -> str:
    """A value the field accepts, different on every call (so each lead is a new one)."""
    n = next(_n)
    if model_field == "email":
        return f"field.{n}@example.com"
    if model_field == "phone":
        return f"+1 201 555 {n % 10000:04d}"
    if model_field == "phone_code":
        return "1"
    return f"Wert {n} ünïcode"


def at_length(model_field: str, length: int) -> str:
    """A value of exactly `length` characters that is valid for the field (but for its length)."""
    if model_field == "email":
        local = "a" * 64
        domain_len = length - len(local) - 1
        labels, rest = [], domain_len - len(".com")
        while rest > 63:
            labels.append("b" * 62)
            rest -= 63
        labels.append("c" * rest)
        return f"{local}@{'.'.join(labels)}.com"
    if model_field == "phone":
        return "+1" + " " * (length - 12) + "2015550123"
    if model_field == "phone_code":
        return "1".rjust(length, "0")
    return "x" * length


def test_at_length_builds_values_of_the_asked_length():
    for name, length in MAX_LENGTHS.items():
        assert len(at_length(name, length)) == length
        assert len(at_length(name, length + 1)) == length + 1


# -- LeadSquared ----------------------------------------------------------------------------


def capture(client, ls_keys, body):
    return client.post(f"{LS}/Lead.Capture?{ls_keys}", body, format="json")


def get_by_id(client, ls_keys, lead_id):
    response = client.get(f"{LS}/Leads.GetById?{ls_keys}&id={lead_id}")
    assert response.status_code == 200, response.content
    (record,) = response.json()
    return record


def identity_for(schema: str) -> dict[str, str]:
    """A unique key for the lead unless the field under test is that key."""
    if SCHEMA.get(schema) == "email":
        return {}
    return {"EmailAddress": sample("email")}


@pytest.mark.parametrize("schema", SCHEMA)
def test_lead_capture_accepts_and_reads_back_every_schema_field(client, ls_keys, schema):
    value = sample(SCHEMA[schema])
    response = capture(client, ls_keys, attrs(**identity_for(schema), **{schema: value}))

    assert response.status_code == 200, response.content
    lead = Lead.objects.get(pk=response.json()["Message"]["Id"])
    assert getattr(lead, SCHEMA[schema]) == value
    assert get_by_id(client, ls_keys, lead.pk)[schema] == value
    assert not FailedInjection.objects.exists()


def test_every_field_leads_metadata_lists_is_accepted_and_read_back(client, ls_keys):
    # Custom fields are listed once some lead holds them: one custom field and one set.
    seed = [
        *attrs(EmailAddress=sample("email"), mx_City="Pune"),
        {"Attribute": "mx_KYC", "Value": "", "Fields": [{"Attribute": "Status", "Value": "ok"}]},
    ]
    assert capture(client, ls_keys, seed).status_code == 200
    existing = Lead.objects.get()
    metadata = client.get(f"{LS}/LeadsMetaData.Get?{ls_keys}").json()
    names = [field["SchemaName"] for field in metadata]
    assert set(names) == {"ProspectID", *SCHEMA, "mx_City", "mx_KYC"}

    for field in metadata:
        name = field["SchemaName"]
        if name == "ProspectID":
            # The lead identifier: a capture naming it updates that lead.
            body = attrs(ProspectID=str(existing.pk), FirstName="Renamed")
            expected: object = str(existing.pk)
        elif name == "mx_KYC":
            fields = [{"Attribute": "Status", "Value": "done"}]
            body = [
                *attrs(EmailAddress=sample("email")),
                {"Attribute": name, "Value": "v", "Fields": fields},
            ]
            expected = {"Value": "v", "Fields": fields}
        else:
            value = sample(SCHEMA.get(name))
            body = attrs(**identity_for(name), **{name: value})
            expected = value
        response = capture(client, ls_keys, body)
        assert response.status_code == 200, (name, response.content)
        record = get_by_id(client, ls_keys, response.json()["Message"]["Id"])
        assert record[name] == expected, name
        if name in SCHEMA:
            assert field["MaxLength"] == MAX_LENGTHS[SCHEMA[name]], name
    assert not FailedInjection.objects.exists()


def test_lead_capture_with_notes_makes_the_lead(client, ls_keys):
    # The regression: Notes (a TextField, no max_length) was a 500 and a lost lead.
    response = capture(client, ls_keys, attrs(EmailAddress="n@example.com", Notes="Call at 5"))

    assert response.status_code == 200, response.content
    assert Lead.objects.get(email="n@example.com").notes == "Call at 5"


@pytest.mark.parametrize("schema", SCHEMA)
def test_lead_capture_takes_a_value_at_the_max_length_and_logs_one_over(client, ls_keys, schema):
    model_field = SCHEMA[schema]
    limit = MAX_LENGTHS[model_field]
    exact = at_length(model_field, limit)

    response = capture(client, ls_keys, attrs(**identity_for(schema), **{schema: exact}))
    assert response.status_code == 200, response.content
    assert get_by_id(client, ls_keys, response.json()["Message"]["Id"])[schema] == exact

    over = at_length(model_field, limit + 1)
    response = capture(client, ls_keys, attrs(**identity_for(schema), **{schema: over}))
    assert response.status_code == 400, response.content
    assert (
        schema in response.json()["ExceptionMessage"]
        or model_field in (response.json()["ExceptionMessage"])
    )
    failure = FailedInjection.objects.get()
    assert failure.reason_code == ReasonCode.INVALID_VALUE
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("schema", SCHEMA)
def test_bulk_row_over_the_max_length_fails_alone(client, ls_keys, schema):
    model_field = SCHEMA[schema]
    over = at_length(model_field, MAX_LENGTHS[model_field] + 1)
    good = attrs(EmailAddress=sample("email"), FirstName="Good")
    bad = attrs(**{"Phone": sample("phone"), **identity_for(schema), schema: over})
    response = client.post(
        f"{LS}/Lead/Bulk/CreateOrUpdate?{ls_keys}", [good, bad, good], format="json"
    )

    assert response.status_code == 200, response.content
    rows = response.json()
    assert [row["LeadId"] is not None for row in rows] == [True, False, True]
    assert rows[1]["ExceptionMessage"].startswith("Invalid value for")
    assert Lead.objects.count() == 1  # the third row updates the first row's lead
    assert FailedInjection.objects.get().reason_code == ReasonCode.INVALID_VALUE


# -- Convoso --------------------------------------------------------------------------------

_RECORD_NAME = {model: name for name, model in LEAD_RECORD_FIELDS.items()}
CONVOSO_FIELDS = sorted(set(FIELD_NAMES) | set(CONVOSO_DOCUMENTED))


def insert(client, data):
    return client.post("/v1/leads/insert", {"auth_token": TOKEN, **data})


def convoso_search(client, lead_id):
    response = client.get("/v1/leads/search", {"auth_token": TOKEN, "lead_id": lead_id})
    assert response.status_code == 200, response.content
    (record,) = response.json()["data"]["entries"]
    return record


@pytest.mark.parametrize("name", CONVOSO_FIELDS)
def test_convoso_insert_accepts_and_reads_back_every_field(client, credential, name):
    lst = ListFactory()
    model_field = FIELD_NAMES.get(name)
    value = sample(model_field)
    data = {"list_id": lst.id, "phone_number": sample("phone"), name: value}

    response = insert(client, data)

    assert response.status_code == 200, response.content
    lead = Lead.objects.get(pk=response.json()["data"]["lead_id"])
    if model_field is not None:
        assert getattr(lead, model_field) == value
    else:
        assert lead.custom_fields[name] == value
    record = convoso_search(client, lead.pk)
    assert record[_RECORD_NAME.get(model_field, name)] == value
    assert not FailedInjection.objects.exists()


@pytest.mark.parametrize("name", sorted(FIELD_NAMES))
def test_convoso_insert_takes_the_max_length_and_logs_one_over(client, credential, name):
    lst = ListFactory()
    model_field = FIELD_NAMES[name]
    limit = MAX_LENGTHS[model_field]
    base = {"list_id": lst.id, "phone_number": sample("phone")}

    exact = at_length(model_field, limit)
    response = insert(client, {**base, name: exact})
    assert response.status_code == 200, response.content
    record = convoso_search(client, response.json()["data"]["lead_id"])
    assert record[_RECORD_NAME[model_field]] == exact

    over = at_length(model_field, limit + 1)
    response = insert(client, {**base, "phone_number": sample("phone"), name: over})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == 6062
    assert FailedInjection.objects.get().reason_code == ReasonCode.INVALID_VALUE
    assert Lead.objects.count() == 1


def test_convoso_insert_with_notes_makes_the_lead(client, credential):
    lst = ListFactory()
    response = insert(client, {"list_id": lst.id, "phone_number": "2015550123", "notes": "hi"})

    assert response.status_code == 200, response.content
    assert Lead.objects.get().notes == "hi"


# -- aNinja ---------------------------------------------------------------------------------

ANINJA_FIELDS = sorted(set(FORM_FIELDS) | set(ANINJA_DOCUMENTED))


def contact_form(client, data):
    return client.post(f"/api/v1/contactform/?apikey={APIKEY}", data)


def native_lead(staff_client, lead_id):
    response = staff_client.get(f"/api/v1/leads/{lead_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def aninja_base(name: str) -> dict[str, str]:
    if FORM_FIELDS.get(name) == "contact_name":
        return {}
    return {"contact_name": "Ann Lee"}


@pytest.mark.parametrize("name", ANINJA_FIELDS)
def test_contact_form_accepts_and_reads_back_every_field(client, staff_client, credential, name):
    model_field = FORM_FIELDS.get(name)
    value = sample(model_field)

    response = contact_form(client, {**aninja_base(name), name: value})

    assert response.status_code == 200, response.content
    record = native_lead(staff_client, response.json()["lead_id"])
    if model_field is None:
        assert record["custom_fields"][name] == value
    else:
        assert record[model_field] == value
    assert not FailedInjection.objects.exists()


@pytest.mark.parametrize("name", ["message", "notes"])
def test_contact_form_with_a_message_makes_the_lead(client, credential, name):
    response = contact_form(client, {"contact_name": "Ann Lee", name: "Call me"})

    assert response.status_code == 200, response.content
    assert Lead.objects.get().notes == "Call me"


@pytest.mark.parametrize("name", sorted(FORM_FIELDS))
def test_contact_form_takes_the_max_length_and_logs_one_over(
    client, staff_client, credential, name
):
    model_field = FORM_FIELDS[name]
    limit = MAX_LENGTHS[model_field]

    exact = at_length(model_field, limit)
    response = contact_form(client, {**aninja_base(name), name: exact})
    assert response.status_code == 200, response.content
    assert native_lead(staff_client, response.json()["lead_id"])[model_field] == exact

    over = at_length(model_field, limit + 1)
    response = contact_form(client, {**aninja_base(name), name: over})
    assert response.status_code == 400, response.content
    assert response.json()["reason_code"] == ReasonCode.INVALID_VALUE
    assert FailedInjection.objects.get().reason_code == ReasonCode.INVALID_VALUE
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("schema", ["Source", "SourceReferrerURL"])
def test_visitor_track_logs_a_source_over_the_max_length(client, ls_keys, schema):
    limit = MAX_LENGTHS[SCHEMA[schema]]
    url = f"{LS}/Visitor.Track?{ls_keys}"

    assert client.post(url, attrs(**{schema: "x" * limit}), format="json").status_code == 200
    response = client.post(url, attrs(**{schema: "x" * (limit + 1)}), format="json")

    assert response.status_code == 400, response.content
    assert FailedInjection.objects.get().reason_code == ReasonCode.INVALID_VALUE
