"""Redis away (REDIS_URL set, the server stopped): a vendor call answers 503 with Retry-After in
its family's own format, never a 500, and writes nothing; once Redis is back on the same address,
the next call goes through with no restart of the web process. Staff pages read what they would
have cached from the database."""

from __future__ import annotations

import shutil
import subprocess
import time
from urllib.parse import urlencode

import pytest
from django.conf import settings

from config.env import cache_config
from leads.models import CaptureRequest, Lead
from settings_global import ratelimit
from settings_global.services import global_settings_get, global_settings_update
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

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


def _forget_connections() -> None:
    """The rate limit's script and kept connection belong to the cache they were made for."""
    ratelimit._scripts.clear()
    ratelimit._held.__dict__.clear()


@pytest.fixture
def redis(settings):
    server = PrivateRedis()
    server.start()
    _forget_connections()
    settings.CACHES = cache_config(f"redis://127.0.0.1:{server.port}/0")
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
