"""No credential in a log line or a stored request: redaction of query strings, raw bodies and log
records (the access log itself is tested against gunicorn in test_gunicorn_web)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.redact import RedactingFormatter, redact_text
from injectionlogs.models import FailedInjection

NAMES = [
    "secretKey",
    "secretkey",
    "SECRET_KEY",
    "secret-key",
    "accessKey",
    "auth_token",
    "authToken",
    "apikey",
    "api_key",
    "x-api-key",
    "X_API_KEY",
    "token",
    "password",
]
SECRET = "Zq9SeCrEt"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "template",
    [
        "POST /v2/LeadManagement.svc/Lead.Capture?{name}={secret}&x=1 HTTP/1.1",
        "GET /v1/leads/search?list_id=1&{name}={secret}",
        "contact_name=Ann&{name}={secret}&notes=hi",
        '{{"{name}":"{secret}","list_id":3}}',
        '{{"{name}": "{secret}", "broken": ',
        "{{'{name}': '{secret}'}}",
        '[{{"Attribute":"{name}","Value":"x"}}, {{"{name}": {secret}}}',
        "{name}: {secret}\nHost: example",
    ],
)
def test_redact_text_removes_every_credential_spelling(name, template):
    text = template.format(name=name, secret=SECRET)
    assert SECRET not in redact_text(text)


@pytest.mark.parametrize(
    "text", ["secret%4Bey=Zq9SeCrEt", "auth%5Ftoken=Zq9SeCrEt", '{"secret\\u004bey":"Zq9SeCrEt"}']
)
def test_redact_text_decodes_the_name_before_judging_it(text):
    assert SECRET not in redact_text(text)


def test_redact_text_keeps_everything_else():
    text = "POST /v1/leads/insert?list_id=7&phone_number=2015550123&first_name=Ann HTTP/1.1"
    assert redact_text(text) == text


@given(
    name=st.sampled_from(NAMES),
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=6, max_size=40),
    before=st.text(alphabet="abcdef=&?", max_size=10),
)
def test_any_secret_value_in_a_query_is_redacted(name, secret, before):
    line = f"GET /lead/capture?{before}&{name}={secret}&Phone=1 HTTP/1.1"
    assert f"{name}={secret}&" not in redact_text(line)


def test_django_log_lines_are_redacted():
    # Django's request logging names the URL; a traceback may quote a query.
    root = logging.getLogger()
    formatters = [h.formatter for h in root.handlers if h.formatter is not None]
    assert any(isinstance(f, RedactingFormatter) for f in formatters)
    formatter = next(f for f in formatters if isinstance(f, RedactingFormatter))
    try:
        raise ValueError(f"bad /v1/leads/insert?auth_token={SECRET}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            (f"/lead/capture?x-api-key={SECRET}",),
            sys.exc_info(),
        )
    line = formatter.format(record)
    assert "Internal Server Error" in line and "ValueError" in line
    assert SECRET not in line


# -- raw bodies kept in the log -------------------------------------------------------------


def _only_failure():
    rows = list(FailedInjection.objects.all())
    assert len(rows) == 1
    return rows[0]


@pytest.mark.django_db
def test_leadsquared_malformed_json_keeps_no_secret(client, ls_keys):
    body = f'[{{"Attribute":"EmailAddress","Value":"a@b.com"}}, {{"secretKey":"{SECRET}"'
    response = client.post(
        f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    failure = _only_failure()
    assert "a@b.com" in failure.data["raw"]  # the data is kept...
    assert SECRET not in str(failure.data) and SECRET not in str(failure.query)  # ...not the key
    assert "secret-" not in str(failure.query)


@pytest.mark.django_db
def test_convoso_malformed_json_keeps_no_secret(client, credential):
    from tests.factories import ListFactory

    lst = ListFactory()
    body = f'{{"list_id": {lst.id}, "phone_number": "2015550123", "auth_token": "{SECRET}", '
    response = client.post(
        f"/v1/leads/insert?auth_token=token-{credential.access_key}",
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 400
    failure = _only_failure()
    assert "2015550123" in failure.data["raw_body"]
    assert SECRET not in str(failure.data)
    assert f"token-{credential.access_key}" not in str(failure.data) + str(failure.query)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", f"contact_name=Ann&apikey={SECRET}&contact_email1=ann@example.com"),
        ("application/json", f'{{"contact_name": "Ann", "apikey": "{SECRET}", '),
        ("application/json", f'["contact_name", {{"api_key": "{SECRET}"}}]'),
    ],
)
def test_aninja_unreadable_body_keeps_no_secret(client, credential, content_type, body):
    response = client.post(
        f"/api/v1/contactform/?apikey=aninja-{credential.access_key}",
        data=body,
        content_type=content_type,
    )
    assert response.status_code == 400
    failure = _only_failure()
    assert "contact_name" in failure.data["raw"]
    assert SECRET not in str(failure.data)
    assert f"aninja-{credential.access_key}" not in str(failure.data) + str(failure.query)
