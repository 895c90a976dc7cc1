"""Property tests: whatever a vendor sends with valid credentials, the answer is never a 5xx and
the request ends as a lead (created or updated), an accepted async request, or FailedInjection
rows, one per rejected lead. Counted before and after each example.

Examples are few (the suite's time budget); the strategies lean on the names the parsers know so
that examples reach the pipeline, not only the parser's first refusal.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from injectionlogs.models import FailedInjection
from leads.models import CaptureRequest, Lead
from leads.wire.aninja import FORM_FIELDS
from leads.wire.leadsquared import SCHEMA
from lists_hopper.wire.convoso import FIELD_NAMES, OPTIONS
from settings_global.services import global_settings_update
from tests.factories import ListFactory

pytestmark = pytest.mark.django_db

LS = "/v2/LeadManagement.svc"
KEYS = "accessKey=ak_vendor&secretKey=secret-ak_vendor"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
    | st.sampled_from(["a@example.com", "A@Example.com ", "+1 201 555 0123", "7777777777"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
known_names = st.sampled_from(
    [*SCHEMA, "ProspectID", "SearchBy", "RelatedCompanyId", "mx_City", "mx_Score", "emailaddress"]
)
# Known names three times as often: a body with one unknown name stops at the parser.
ls_names = known_names | known_names | known_names | text.map(lambda s: "mx_" + s) | text
attribute = st.fixed_dictionaries(
    {"Attribute": ls_names, "Value": json_scalars | json_scalars | json_values},
    optional={"Fields": json_values | st.lists(st.fixed_dictionaries({"Attribute": text}))},
)
# Mostly attribute arrays, sometimes any JSON at all.
ls_body = st.lists(attribute, max_size=6) | json_values
# Any parameter but the credential's own keys: a second accessKey or secretKey (the last value
# counts, in any case) makes the call a 401, which writes no row, as the credential tests show.
CREDENTIAL_KEYS = {"accesskey", "secretkey"}
ls_query = st.dictionaries(
    st.sampled_from(["LeadUpdateBehavior", "leadId", "SearchBy"])
    | text.filter(lambda name: name.lower() not in CREDENTIAL_KEYS),
    st.sampled_from(["", "DoNotUpdate", "UpdateOnlyEmptyFields", "DoNotUpdateUniqueFields"]) | text,
    max_size=2,
)


@pytest.fixture
def fuzz_env(client, credential):
    # Many calls with one credential: the rate limit is not what these test (a 429 writes no row).
    global_settings_update(changes={"rate_limit_calls": 1_000_000}, user=None, via="test")
    return client


def counts() -> tuple[int, int, int]:
    return Lead.objects.count(), FailedInjection.objects.count(), CaptureRequest.objects.count()


def post_json(client, path, query, body, spell_out: bool):
    url = f"{path}?{KEYS}&{urlencode(query)}"
    payload = json.dumps(body)  # NaN and Infinity go on the wire as the tokens a client sends
    if spell_out:  # or as a number too large for a float, which Python reads as Infinity
        payload = payload.replace("Infinity", "1e999")
    return client.post(
        url, payload, content_type="application/json", HTTP_X_API_KEY="apikey-ak_vendor"
    )


def assert_lead_or_logged(response, before):
    leads, failures, _ = before
    assert response.status_code in (200, 400), (response.status_code, response.content[:500])
    if response.status_code == 200:
        lead_id = response.json()["Message"]["Id"]
        assert Lead.objects.filter(pk=lead_id).exists()
        assert FailedInjection.objects.count() == failures
    else:
        assert FailedInjection.objects.count() == failures + 1
        assert Lead.objects.count() == leads


NOTES = [
    {"Attribute": "EmailAddress", "Value": "n@example.com"},
    {"Attribute": "Notes", "Value": 1},
]


@given(body=ls_body, query=ls_query, spell_out=st.booleans())
@example(body=NOTES, query={}, spell_out=False)
@example(body=[{"Attribute": "Bogus", "Value": float("inf")}], query={}, spell_out=True)
@FUZZ
def test_lead_capture_never_fails_and_never_loses_a_lead(fuzz_env, body, query, spell_out):
    before = counts()
    response = post_json(fuzz_env, f"{LS}/Lead.Capture", query, body, spell_out)
    assert_lead_or_logged(response, before)


@given(
    rows=st.lists(ls_body, min_size=1, max_size=5) | json_values,
    query=ls_query,
    spell_out=st.booleans(),
)
@FUZZ
def test_bulk_answers_every_row_and_logs_every_failed_one(fuzz_env, rows, query, spell_out):
    leads, failures, _ = counts()
    response = post_json(fuzz_env, f"{LS}/Lead/Bulk/CreateOrUpdate", query, rows, spell_out)

    assert response.status_code in (200, 400), (response.status_code, response.content[:500])
    if response.status_code == 400:
        assert FailedInjection.objects.count() == failures + 1
        assert Lead.objects.count() == leads
        return
    results = response.json()
    assert [r["RowNumber"] for r in results] == list(range(1, len(rows) + 1))
    done = [r for r in results if r["LeadId"] is not None]
    assert Lead.objects.filter(pk__in=[r["LeadId"] for r in done]).count() == len(
        {r["LeadId"] for r in done}
    )
    assert all(r["LeadCreated"] or r["LeadUpdated"] for r in done)
    assert all(r["ExceptionMessage"] for r in results if r["LeadId"] is None)
    assert FailedInjection.objects.count() == failures + len(results) - len(done)


@given(body=ls_body, query=ls_query, spell_out=st.booleans())
@FUZZ
def test_async_accept_stores_the_request_or_logs_it(fuzz_env, body, query, spell_out):
    _, failures, requests = counts()
    response = post_json(fuzz_env, "/lead/capture", query, body, spell_out)

    assert response.status_code in (200, 400), (response.status_code, response.content[:500])
    if response.status_code == 200:
        assert CaptureRequest.objects.filter(pk=response.json()["RequestID"]).exists()
        assert FailedInjection.objects.count() == failures
    else:
        assert FailedInjection.objects.count() == failures + 1
        assert CaptureRequest.objects.count() == requests


convoso_names = st.sampled_from(sorted({*FIELD_NAMES, *OPTIONS} - {"auth_token"})) | text
form_values = text | st.sampled_from(["1", "0", "2", "99", "2015550123", "a@example.com", ""])
form_pairs = st.lists(st.tuples(convoso_names, form_values), max_size=8)


@given(
    body=form_pairs,
    query=form_pairs,
    list_choice=st.sampled_from(["ours", "missing", "none"]),
    as_json=st.booleans(),
)
@FUZZ
def test_convoso_insert_never_fails_and_never_loses_a_lead(
    fuzz_env, body, query, list_choice, as_json
):
    lst = ListFactory()
    base = {"ours": [("list_id", str(lst.id))], "missing": [("list_id", "999999")], "none": []}
    body = [*base[list_choice], ("phone_number", "2015550123"), *body]
    leads, failures, _ = counts()
    url = "/v1/leads/insert?" + urlencode([("auth_token", "token-ak_vendor"), *query])
    if as_json:
        response = fuzz_env.post(url, json.dumps(dict(body)), content_type="application/json")
    else:
        response = fuzz_env.post(
            url, urlencode(body), content_type="application/x-www-form-urlencoded"
        )

    assert response.status_code in (200, 400), (response.status_code, response.content[:500])
    if response.status_code == 200:
        assert Lead.objects.filter(pk=response.json()["data"]["lead_id"]).exists()
        assert FailedInjection.objects.count() == failures
    else:
        assert response.json()["success"] is False
        assert FailedInjection.objects.count() == failures + 1
        assert Lead.objects.count() == leads


aninja_names = st.sampled_from(sorted(FORM_FIELDS)) | text
aninja_pairs = st.lists(st.tuples(aninja_names, form_values), max_size=8)


@given(
    body=aninja_pairs,
    query=aninja_pairs,
    with_name=st.booleans(),
    kind=st.sampled_from(["form", "json", "json-any"]),
    json_body=st.dictionaries(text | aninja_names, json_values, max_size=5),
)
@FUZZ
def test_contact_form_never_fails_and_never_loses_a_lead(
    fuzz_env, body, query, with_name, kind, json_body
):
    leads, failures, _ = counts()
    name = [("contact_name", "Ann Lee")] if with_name else []
    url = "/api/v1/contactform/?" + urlencode([("apikey", "aninja-ak_vendor"), *query])
    if kind == "form":
        response = fuzz_env.post(
            url, urlencode([*name, *body]), content_type="application/x-www-form-urlencoded"
        )
    else:
        data = {**dict(name), **(json_body if kind == "json-any" else dict(body))}
        response = fuzz_env.post(url, json.dumps(data), content_type="application/json")

    assert response.status_code in (200, 400), (response.status_code, response.content[:500])
    if response.status_code == 200:
        assert Lead.objects.filter(pk=response.json()["lead_id"]).exists()
        assert FailedInjection.objects.count() == failures
    else:
        assert response.json()["success"] is False
        assert FailedInjection.objects.count() == failures + 1
        assert Lead.objects.count() == leads
