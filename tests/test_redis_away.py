"""Redis away (REDIS_URL set, the server stopped): a vendor call answers 503 with Retry-After in
its family's own format, never a 500, and writes nothing; once Redis is back on the same address,
the next call goes through with no restart of the web process. Staff pages read what they would
have cached from the database."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from redis import connection as redis_connection

from config import redis_pause
from config.env import cache_config
from config.outages import REDIS_AWAY_CHANGE
from leads.models import CaptureRequest, Lead
from settings_global import ratelimit
from settings_global.models import ApiCredential, GlobalSettings, GlobalSettingsChange
from settings_global.services import global_settings_get, global_settings_update
from tests.admin_helpers import settings_form_post, settings_url
from tests.factories import LeadFactory, ListFactory
from tests.helpers import attrs
from tests.servers import free_port, wait_for_port

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.REDIS_URL, reason="runs where Redis is configured"),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server binary"),
]


class PrivateRedis:
    """A redis-server of this test's own (no file written), stopped and started on one port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, timeout=10)

    def pause(self) -> None:
        """A Redis that hangs: its connections stay open and nothing answers."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.resume()
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


def _forget_connections() -> None:
    """The rate limit's script and kept connection belong to the cache they were made for (a
    pause after a Redis that did not answer is reset around every test: tests/conftest.py)."""
    ratelimit._scripts.clear()
    ratelimit._held.__dict__.clear()


@pytest.fixture
def redis(settings):
    server = PrivateRedis()
    server.start()
    _forget_connections()
    settings.CACHES = cache_config(f"redis://127.0.0.1:{server.port}/0", timeout=0.5)
    yield server
    server.stop()
    _forget_connections()


CAPTURE = "/v2/LeadManagement.svc/Lead.Capture"


def test_lead_capture_answers_503_while_redis_is_away_and_goes_on_after(client, ls_keys, redis):
    url = f"{CAPTURE}?{ls_keys}"
    for name in ("a", "b"):  # the second call counts on the rate limit's kept connection
        assert client.post(url, attrs(FirstName=name), format="json").status_code == 200
    redis.stop()
    response = client.post(url, attrs(FirstName="away"), format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["Status"] == "Error"
    assert "retry later" in response.json()["ExceptionMessage"]
    assert not Lead.objects.filter(first_name="away").exists()
    redis.start()  # a restart: the same address, no scripts loaded
    time.sleep(0.1)
    assert client.post(url, attrs(FirstName="back"), format="json").status_code == 200
    assert Lead.objects.filter(first_name="back").exists()


def redis_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name != "django.request"]


def test_a_hung_redis_costs_a_vendor_call_one_wait_then_a_503(
    client, ls_keys, redis, caplog, monkeypatch
):
    monkeypatch.setattr(redis_pause, "REDIS_HUNG_PAUSE_SECONDS", 1.5)
    url = f"{CAPTURE}?{ls_keys}"
    assert client.post(url, attrs(FirstName="a"), format="json").status_code == 200
    redis.pause()
    with caplog.at_level(logging.WARNING):
        response = client.post(url, attrs(FirstName="hung"), format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    # One wait of REDIS_TIMEOUT_SECONDS, not one for the credentials, one for the rules and one
    # for the rate limit in turn.
    assert redis_warnings(caplog) == ["Redis unavailable: Timeout reading from socket"]
    assert not Lead.objects.filter(first_name="hung").exists()
    # The calls right after it are not held for another wait: answered at once, nothing written.
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = client.post(url, attrs(FirstName="again"), format="json")
    assert again.status_code == 503
    assert again["Retry-After"] == "5"
    assert again.json()["Status"] == "Error"
    [warning] = redis_warnings(caplog)
    assert warning.startswith("Redis unavailable: it did not answer; not waited for again")
    assert not Lead.objects.filter(first_name="again").exists()
    redis.resume()
    # Once the pause is over, the next call tries Redis again, and goes through.
    time.sleep(1.6)
    assert client.post(url, attrs(FirstName="back"), format="json").status_code == 200
    assert Lead.objects.filter(first_name="back").exists()


def test_a_hung_redis_is_left_alone_by_every_vendor_family(
    client, ls_keys, credential, redis, caplog
):
    url = f"{CAPTURE}?{ls_keys}"
    assert client.post(url, attrs(FirstName="a"), format="json").status_code == 200
    redis.pause()
    try:
        assert client.post(url, attrs(FirstName="hung"), format="json").status_code == 503
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            accept = client.post(
                f"/lead/capture?{ls_keys}",
                attrs(FirstName="b"),
                format="json",
                HTTP_X_API_KEY=f"apikey-{credential.access_key}",
            )
            convoso = client.post(
                "/v1/leads/insert",
                {"auth_token": f"token-{credential.access_key}", "phone_number": "2025550143"},
            )
    finally:
        redis.resume()
    assert (accept.status_code, convoso.status_code) == (503, 503)
    assert convoso["Retry-After"] == "5"
    assert all("not waited for again" in w for w in redis_warnings(caplog))
    assert len(redis_warnings(caplog)) == 2
    assert CaptureRequest.objects.count() == 0
    assert not Lead.objects.filter(phone="2025550143").exists()


def test_after_a_timeout_nothing_in_the_process_waits_on_the_hung_redis(
    client, admin_client, ls_keys, redis, caplog, monkeypatch
):
    """The pause is the connection's: the rate limit's own connection and the cache's pool alike.
    While it lasts, a staff page reads from the database and an admin change fails whole without
    sending the hung Redis a thing."""
    LeadFactory(source="Web form")
    global_settings_get()
    url = f"{CAPTURE}?{ls_keys}"
    assert client.post(url, attrs(FirstName="a"), format="json").status_code == 200
    pages = ("/admin/leads/lead/", settings_url())  # each reads what it caches in Redis
    for path in pages:
        assert admin_client.get(path).status_code == 200
    redis.pause()
    try:
        assert client.post(url, attrs(FirstName="hung"), format="json").status_code == 503
        # From here, what reaches a socket to Redis (the real send, only watched).
        sent: list[bytes] = []
        send = redis_connection.AbstractConnection.send_packed_command

        def watched(connection, command, *args, **kwargs):
            sent.append(command)
            return send(connection, command, *args, **kwargs)

        monkeypatch.setattr(redis_connection.AbstractConnection, "send_packed_command", watched)
        for path in pages:
            assert admin_client.get(path).status_code == 200
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            response = settings_form_post(admin_client, bulk_row_limit=17)
        assert response.status_code == 302
        assert "a change in the admin failed: Redis unavailable: it did not answer; " in (
            caplog.text
        )
        assert sent == []
    finally:
        redis.resume()
    assert GlobalSettings.objects.get().bulk_row_limit == 25
    assert not Lead.objects.filter(first_name="hung").exists()


def test_a_connection_of_the_matching_kind_for_each_url_scheme():
    for url, kind in (
        ("redis://127.0.0.1:6379/0", redis_connection.Connection),
        ("rediss://cache.example.com:6380/0", redis_connection.SSLConnection),
        ("unix:///run/redis.sock?db=0", redis_connection.UnixDomainSocketConnection),
    ):
        chosen = redis_pause.pausing_connection_class(url)
        assert issubclass(chosen, kind)
        assert issubclass(chosen, redis_pause.PausingConnectionMixin)
        options = cache_config(url)["default"]["OPTIONS"]
        assert options["CONNECTION_POOL_KWARGS"] == {"connection_class": chosen}


def test_a_refused_connection_is_not_a_pause(client, ls_keys, redis):
    """Redis stopped answers at once (connection refused): nothing to spare, the call after it
    is back goes through."""
    url = f"{CAPTURE}?{ls_keys}"
    assert client.post(url, attrs(FirstName="a"), format="json").status_code == 200
    redis.stop()
    assert client.post(url, attrs(FirstName="away"), format="json").status_code == 503
    redis.start()
    time.sleep(0.1)
    assert client.post(url, attrs(FirstName="back"), format="json").status_code == 200


def test_the_async_accept_answers_503_while_redis_is_away(client, ls_keys, credential, redis):
    url = f"/lead/capture?{ls_keys}"
    headers = {"HTTP_X_API_KEY": f"apikey-{credential.access_key}"}
    assert client.post(url, attrs(FirstName="a"), format="json", **headers).status_code == 200
    redis.stop()
    response = client.post(url, attrs(FirstName="away"), format="json", **headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert CaptureRequest.objects.count() == 1


def test_the_convoso_insert_answers_503_while_redis_is_away(client, credential, redis):
    lead_list = ListFactory()
    redis.stop()
    query = urlencode(
        {
            "auth_token": f"token-{credential.access_key}",
            "list_id": lead_list.id,
            "phone_number": "2015550123",
        }
    )
    response = client.post(f"/v1/leads/insert?{query}")
    assert response.status_code == 503
    assert response.json()["success"] is False
    assert not Lead.objects.exists()


def test_the_rules_are_read_from_the_database_while_redis_is_away(redis):
    global_settings_update(changes={"bulk_row_limit": 17}, user=None, via="test")
    redis.stop()
    assert global_settings_get().bulk_row_limit == 17


@pytest.mark.parametrize(
    "path",
    [
        "/admin/leads/lead/",  # its filters' sampled choices are cached
        "/admin/settings_global/globalsettings/1/change/",  # the rules are cached
    ],
)
def test_staff_pages_open_while_redis_is_away(admin_client, redis, path):
    LeadFactory(source="Web form")
    global_settings_get()  # the rules' row, as every running deployment has it
    redis.stop()
    response = admin_client.get(path)
    assert response.status_code == 200


# A change every worker must hear of fails whole while Redis is away, and says so.


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_global_settings_save_in_the_admin_fails_whole_and_says_why(admin_client, redis):
    global_settings_get()
    redis.stop()
    response = settings_form_post(admin_client, bulk_row_limit=17)
    assert response.status_code == 302
    assert response["Location"] == settings_url()
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert _messages(page) == [REDIS_AWAY_CHANGE]
    assert GlobalSettings.objects.get().bulk_row_limit == 25
    assert not GlobalSettingsChange.objects.exists()


def test_a_global_settings_patch_answers_503_while_redis_is_away(staff_client, redis):
    global_settings_get()
    redis.stop()
    response = staff_client.patch("/api/v1/settings/global/", {"bulk_row_limit": 17}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"detail": REDIS_AWAY_CHANGE}
    assert GlobalSettings.objects.get().bulk_row_limit == 25


def test_revoking_in_the_admin_while_redis_is_away_keeps_the_credential(
    admin_client, credential, redis
):
    redis.stop()
    response = admin_client.post(
        reverse("admin:settings_global_apicredential_changelist"),
        {"action": "revoke", "_selected_action": [credential.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert _messages(response) == [REDIS_AWAY_CHANGE]
    credential.refresh_from_db()
    assert credential.is_active
    assert credential.revoked_at is None


def test_creating_keys_in_the_admin_while_redis_is_away_creates_none(admin_client, api_user, redis):
    redis.stop()
    response = admin_client.post(
        reverse("admin:settings_global_apicredential_add"),
        {"user": api_user.pk, "name": "acme"},
        follow=True,
    )
    assert response.status_code == 200
    assert _messages(response) == [REDIS_AWAY_CHANGE]
    assert not ApiCredential.objects.exists()


def test_the_credential_commands_fail_clearly_while_redis_is_away(credential, redis):
    redis.stop()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("create_api_user", "acme", stdout=StringIO())
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("revoke_api_user", credential.user.username, stdout=StringIO())
    assert list(ApiCredential.objects.values_list("access_key", "is_active")) == [
        (credential.access_key, True)
    ]
    assert not get_user_model().objects.filter(username="acme").exists()
