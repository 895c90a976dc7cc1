"""The /v1/ prefix: Convoso's 404 body for unknown calls, without shadowing anyone else's."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/v1/", "/v1/leads/delete", "/v1/nothing/here/at/all"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_call_under_v1_is_convosos_404(client, path, method):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "code": 404,
        "text": "The API could not be found",
    }


def test_the_native_api_under_api_v1_keeps_working(staff_client):
    response = staff_client.get("/api/v1/leads/")
    assert response.status_code == 200
    assert "results" in response.json()


def test_the_leadsquared_family_keeps_working(client, ls_keys):
    response = client.get(f"/v2/LeadManagement.svc/LeadsMetaData.Get?{ls_keys}")
    assert response.status_code == 200


@pytest.mark.urls("tests.lists_hopper.urls_later")
def test_a_v1_route_listed_after_convoso_is_not_shadowed(client):
    response = client.get("/v1/other-app/hello")
    assert response.status_code == 200
    assert response.json() == {"app": "later", "name": "hello"}
    assert client.get("/v1/not-a-route").json()["code"] == 404
