"""No write API answers 500 to a hostile body: each gets its family's 4xx (and logs the lead)."""

from __future__ import annotations

import pytest

from tests.factories import ListFactory

pytestmark = pytest.mark.django_db

LS_KEYS = "accessKey=ak_vendor&secretKey=secret-ak_vendor"
URLS = [
    f"/v2/LeadManagement.svc/Lead.Capture?{LS_KEYS}",
    f"/v2/LeadManagement.svc/Lead.Create?{LS_KEYS}",
    f"/v2/LeadManagement.svc/Lead.CreateOrUpdate?{LS_KEYS}",
    f"/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate?{LS_KEYS}",
    f"/v2/LeadManagement.svc/Visitor.Track?{LS_KEYS}",
    f"/lead/capture?{LS_KEYS}",
    "/v1/leads/insert?auth_token=token-ak_vendor",
    "/v1/leads/update?auth_token=token-ak_vendor",
    "/v1/hopper/next?auth_token=token-ak_vendor",
    "/v1/dnc/insert?auth_token=token-ak_vendor",
    "/v1/lists/insert?auth_token=token-ak_vendor",
    "/api/v1/contactform/?apikey=aninja-ak_vendor",
]
BODIES = {
    "nan": b'{"a": NaN}',
    "huge-int": b'{"a": ' + b"9" * 5000 + b"}",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "lone-surrogate": b'{"a": "\\ud800"}',
    "nul": b'[{"Attribute": "FirstName", "Value": "a\\u0000b"}]',
    "not-utf8": b"\xff\xfe[]",
    "empty": b"",
    "null": b"null",
    "scalar": b'"text"',
    "nested-rows": b"[[[[1]]]]",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize("url", URLS)
def test_no_500_for_a_hostile_json_body(client, credential, url, body):
    ListFactory()
    response = client.post(
        url, body, content_type="application/json", HTTP_X_API_KEY="apikey-ak_vendor"
    )
    assert response.status_code < 500, response.content[:300]
