"""The OpenAPI schema and Swagger UI as a user meets them: served by gunicorn (threads, WhiteNoise
after collectstatic, as `make run` does), valid, identical under concurrent requests, and usable on
a machine with no way out to the internet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from django.core.management import call_command

from config import schema as cached_schema
from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "var" / "screenshots" / "api-docs-offline.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FAMILY_PATHS = [
    "/v2/LeadManagement.svc/Lead.Capture",
    "/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate",
    "/lead/capture",
    "/v1/leads/insert",
    "/api/v1/contactform/",
    "/api/v1/leads/",
    "/api/v1/settings/global/",
]


@pytest.fixture
def gunicorn(tmp_path):
    """A gunicorn like the Procfile's web line (one worker, 8 threads) on a free port, started
    after collectstatic, against a scratch SQLite file: these pages read no rows."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEBUG": "false",
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def get(url: str, accept: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_schema_has_no_errors_or_warnings(tmp_path):
    # --fail-on-warn turns any generator warning or error into a failure; --validate checks the
    # result against the OpenAPI 3 specification.
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    for path in FAMILY_PATHS:
        assert path in schema["paths"], path


@pytest.mark.django_db
def test_schema_is_built_once_and_served_in_every_format(client):
    cached_schema._schemas.clear()
    first = client.get("/api/schema/?format=json")
    assert first.status_code == 200, first.content
    built = dict(cached_schema._schemas)
    assert list(built) == ["en"]

    as_json = json.loads(first.content)
    assert set(FAMILY_PATHS) <= set(as_json["paths"])
    answers = {
        "default (YAML)": yaml.safe_load(client.get("/api/schema/").content),
        "?format=yaml": yaml.safe_load(client.get("/api/schema/?format=yaml").content),
        "Accept json": json.loads(
            client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
        ),
        "Accept yaml": yaml.safe_load(
            client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi").content
        ),
        "?lang=en": json.loads(client.get("/api/schema/?format=json&lang=en").content),
        "?lang=nonsense": json.loads(client.get("/api/schema/?format=json&lang=xx-yy").content),
    }
    for name, answer in answers.items():
        assert answer == as_json, name
    # The same object served again, not rebuilt; an unknown language adds no build of its own.
    assert cached_schema._schemas["en"] is built["en"]
    assert list(cached_schema._schemas) == ["en"]


def test_concurrent_schema_requests_all_answer_the_same_schema(gunicorn):
    # A fresh process: the first requests arrive together while nothing is built yet.
    urls = [f"{gunicorn}/api/schema/?format=json"] * 32 + [f"{gunicorn}/api/schema/"] * 16
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(get, urls))
    assert [status for status, _ in answers] == [200] * len(urls)
    json_bodies = {body for body in (b for _, b in answers[:32])}
    yaml_bodies = {body for body in (b for _, b in answers[32:])}
    assert len(json_bodies) == 1 and len(yaml_bodies) == 1
    assert json.loads(json_bodies.pop()) == yaml.safe_load(yaml_bodies.pop())


@pytest.mark.browser
def test_swagger_ui_renders_with_every_outside_host_blocked(gunicorn):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    blocked: list[str] = []
    failed: list[str] = []

    def only_this_host(route):
        if urlparse(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2000})
            page.set_default_timeout(30_000)
            page.route("**/*", only_this_host)
            page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
            page.goto(f"{gunicorn}/api/docs/")
            page.locator(".opblock").first.wait_for()
            summaries = page.locator(".opblock-summary-path").all_inner_texts()
            title = page.locator(".information-container .title").inner_text()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=False)
        finally:
            browser.close()

    assert "Lead intake CRM" in title
    flat = {s.replace("\u200b", "") for s in summaries}
    for path in FAMILY_PATHS:
        assert path in flat, (path, sorted(flat))
    assert failed == []
    # Nothing on the page needed an outside host (the sidecar serves every asset).
    assert not [url for url in blocked if not url.startswith("data:")], blocked
