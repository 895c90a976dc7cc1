import pytest

from injectionlogs.models import FailedInjection
from injectionlogs.services import failure_record, strip_credentials
from leads.errors import IntakeError
from leads.vocabulary import ReasonCode
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_record_failure_keeps_reason_data_and_origin():
    user = UserFactory(username="vendor")
    error = IntakeError(ReasonCode.INVALID_PHONE, "Invalid phone number: abc")
    row = failure_record(
        error=error,
        data={"phone_number": "abc", "list_id": "7"},
        family="convoso",
        endpoint="/v1/leads/insert",
        query={"check_dup": "1"},
        api_user=user,
        remote_addr="10.1.2.3",
    )
    row = FailedInjection.objects.get(pk=row.pk)
    assert row.reason_code == "invalid_phone"
    assert row.reason == "Invalid phone number: abc"
    assert row.data == {"phone_number": "abc", "list_id": "7"}
    assert row.query == {"check_dup": "1"}
    assert (row.family, row.endpoint, row.api_user, row.remote_addr) == (
        "convoso",
        "/v1/leads/insert",
        user,
        "10.1.2.3",
    )


def test_record_failure_strips_credentials_at_any_depth():
    error = IntakeError(ReasonCode.MISSING_FIELD, "Missing required field: list_id")
    row = failure_record(
        error=error,
        data={"auth_token": "t0ken", "first_name": "A", "nested": [{"secretKey": "s", "x": 1}]},
        family="convoso",
        endpoint="/v1/leads/insert",
        query={"accessKey": "ak", "SECRETKEY": "sk", "apikey": "k", "LeadUpdateBehavior": "x"},
    )
    row.refresh_from_db()
    assert row.data == {"first_name": "A", "nested": [{"x": 1}]}
    assert row.query == {"LeadUpdateBehavior": "x"}
    assert "t0ken" not in str(row.data)


def test_ids_are_sequential():
    error = IntakeError(ReasonCode.INVALID_BODY, "Body not to specification: x")
    a = failure_record(error=error, data={}, family="leadsquared", endpoint="/x")
    b = failure_record(error=error, data={}, family="leadsquared", endpoint="/x")
    assert b.id == a.id + 1


def test_strip_credentials_leaves_other_data_alone():
    data = [{"Attribute": "EmailAddress", "Value": "a@b.com"}]
    assert strip_credentials(data) == data
