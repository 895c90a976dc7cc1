"""The Procfile's web process, run for real: its access log holds no credential, and a keep-alive
connection survives a response to a request whose body was never read."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import pytest
from django.conf import settings
from django.db import connection

from tests.helpers import ON_POSTGRES, attrs
from tests.servers import ROOT, free_port, procfile_command

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (the server shares the test DB)"),
    pytest.mark.django_db(transaction=True),
]

SECRET = "Zq9SeCrEt"


def start_web(tmp_path, **env_overrides: str):
    """(port, path of the server's combined output, its environment): the Procfile's web line on
    a free port, with its defaults unless overridden."""
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    for name in ("WEB_CONCURRENCY", "WEB_THREADS"):
        env.pop(name, None)
    env.update(env_overrides)
    output = tmp_path / "web.log"
    with output.open("wb") as sink:
        server = subprocess.Popen(
            procfile_command("web", env), cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"gunicorn did not start: {output.read_text()}")
            time.sleep(0.2)
    return server, port, output, env


def _stop(server) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(15)


@pytest.fixture
def web(tmp_path):
    """The Procfile's web process with its defaults: sync workers, a connection per request."""
    server, port, output, _ = start_web(tmp_path)
    try:
        yield port, output
    finally:
        _stop(server)


@pytest.fixture
def threaded_web(tmp_path):
    """The web process with WEB_THREADS=2: gthread workers, keep-alive connections."""
    server, port, output, env = start_web(tmp_path, WEB_CONCURRENCY="1", WEB_THREADS="2")
    try:
        yield port, env
    finally:
        _stop(server)


def _request(method, path, body=b"", headers=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    return (head + "\r\n").encode() + body


def _response(sock) -> tuple[int, dict[str, str], bytes] | None:
    """One response from the socket, or None when the server closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


def _call(port, method, path, body=b"", headers=None):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(_request(method, path, body, headers))
        return _response(sock)


def test_the_access_log_holds_no_credential(web, credential):
    from leads.models import Lead
    from tests.factories import ListFactory

    port, output = web
    lst = ListFactory()
    key, secret = credential.access_key, f"secret-{credential.access_key}"
    token, aninja = f"token-{credential.access_key}", f"aninja-{credential.access_key}"
    ls = f"accessKey={key}&secretKey={secret}"
    lead = json.dumps(attrs(EmailAddress="logged@example.com")).encode()
    other = json.dumps(attrs(EmailAddress="other@example.com")).encode()
    json_type = {"Content-Type": "application/json"}
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    calls = [
        ("POST", f"/v2/LeadManagement.svc/Lead.Capture?{ls}", lead, json_type, 200),
        (
            "POST",
            f"/v2/LeadManagement.svc/Lead.Capture?accessKey={key}&secretKey={SECRET}",
            lead,
            json_type,
            401,
        ),
        (
            "POST",
            f"/v2/LeadManagement.svc/lead.capture?SECRET_KEY={SECRET}&{ls}",
            other,
            json_type,
            200,
        ),
        ("GET", f"/v2/LeadManagement.svc/Nope?secret%4Bey={SECRET}", b"", {}, 404),
        ("POST", f"/lead/capture?{ls}", lead, {**json_type, "x-api-key": SECRET}, 401),
        (
            "POST",
            f"/v1/leads/insert?auth_token={token}&list_id={lst.id}&phone_number=2015550123",
            b"",
            form_type,
            200,
        ),
        ("GET", f"/v1/leads/search?auth_token={SECRET}", b"", {}, 401),
        ("POST", f"/api/v1/contactform/?apikey={aninja}", b"contact_name=Ann", form_type, 200),
        ("POST", f"/api/v1/contactform?api_key={SECRET}&apikey={SECRET}", b"", form_type, 401),
        ("GET", f"/nowhere?password={SECRET}&token={SECRET}", b"", {}, 404),
    ]
    for method, path, body, headers, status in calls:
        got = _call(port, method, path, body, headers)
        assert got is not None and got[0] == status, (path, got)
    assert Lead.objects.count() == 4  # the calls went through, so they were logged
    time.sleep(0.5)  # the access line is written after the response
    log = output.read_text()
    access = [line for line in log.splitlines() if '"POST /' in line or '"GET /' in line]
    assert len(access) == len(calls), log
    for value in (SECRET, secret, token, aninja, key):
        assert value not in log
    assert "secretKey=[redacted]" in log  # redacted, not dropped: the line still shows the call


def test_the_web_process_accepts_an_async_capture(web, credential):
    """POST /lead/capture through gunicorn, answered by the accept's own WSGI path: the row is
    stored before the answer, with the keys left out, and the access line is redacted."""
    from leads.models import CaptureRequest, CaptureStatus

    port, output = web
    ls = f"accessKey={credential.access_key}&secretKey=secret-{credential.access_key}"
    body = json.dumps(attrs(EmailAddress="web-async@example.com")).encode()
    headers = {"Content-Type": "application/json", "x-api-key": f"apikey-{credential.access_key}"}
    got = _call(port, "POST", f"/lead/capture?{ls}&LeadUpdateBehavior=DoNotUpdate", body, headers)
    assert got is not None and got[0] == 200, got
    answer = json.loads(got[2])
    assert got[1]["content-type"] == "application/json"
    assert got[1]["x-content-type-options"] == "nosniff"
    row = CaptureRequest.objects.get(pk=answer["RequestID"])
    assert row.status == CaptureStatus.IN_QUEUE
    assert row.query == {"LeadUpdateBehavior": "DoNotUpdate"}
    assert row.body == json.loads(body)
    time.sleep(0.5)
    log = output.read_text()
    assert "secretKey=[redacted]" in log and f"secret-{credential.access_key}" not in log


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v2/LeadManagement.svc/LeadsMetaData.Get", 405),  # a GET-only call
        ("POST", "/v2/LeadManagement.svc/Lead.Capture", 401),  # no keys: answered unread
        ("POST", "/lead/capture", 401),  # the accept's own WSGI path (leads.api.accept_wsgi)
        ("POST", "/v1/no-such-call", 404),
        ("PUT", "/api/v1/leads/", 401),
        ("POST", "/admin/login/", 403),  # CSRF
    ],
)
@pytest.mark.parametrize("size", [10, 200_000, 4_000_000])
def test_keep_alive_survives_an_answer_to_an_unread_body(threaded_web, method, path, status, size):
    port, _ = threaded_web
    body = b"[" + b"1," * (size // 2) + b"1]"
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(_request(method, path, body, {"Content-Type": "application/json"}))
        first = _response(sock)
        assert first is not None and first[0] == status
        assert first[1]["connection"] == "keep-alive"
        # The second request on the connection the server said stays open.
        sock.sendall(_request("GET", "/v1/other-call"))
        second = _response(sock)
        assert second is not None, "the server closed a keep-alive connection"
        assert second[0] == 404 and json.loads(second[2])["code"] == 404


def test_a_body_too_large_to_drain_is_answered_with_connection_close(threaded_web):
    port, _ = threaded_web
    from config.keepalive import DRAIN_LIMIT

    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        head = _request("POST", "/v1/no-such-call", b"")
        head = head.replace(b"Content-Length: 0", f"Content-Length: {DRAIN_LIMIT + 1}".encode())
        sock.sendall(head + b"x" * 1000)
        first = _response(sock)
        assert first is not None and first[0] == 404
        assert first[1]["connection"] == "close"  # told, so it opens a new one


def test_a_worker_serves_several_keep_alive_connections_per_thread(threaded_web):
    """Each threaded worker holds CONNECTIONS_PER_THREAD connections per thread: clients holding
    more keep-alive connections than the worker has threads are all answered, their requests
    queued in the worker for a free thread (a connection past the cap would wait unread)."""
    from config.gunicorn import CONNECTIONS_PER_THREAD

    port, env = threaded_web
    command = procfile_command("web", env)
    count = int(command[command.index("--threads") + 1]) * CONNECTIONS_PER_THREAD
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    try:
        for _ in range(2):  # the second round on the same, kept-alive connections
            for sock in socks:
                sock.sendall(_request("GET", "/v1/other-call"))
            answers = [_response(sock) for sock in socks]
            assert [a[0] if a else None for a in answers] == [404] * count
            assert all(a[1]["connection"] == "keep-alive" for a in answers)
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v2/LeadManagement.svc/Lead.Capture", 401),  # no keys: answered unread
        ("POST", "/lead/capture", 401),
        ("POST", "/v1/no-such-call", 404),
    ],
)
@pytest.mark.parametrize("size", [10, 4_000_000])
def test_the_default_web_answers_in_full_and_says_it_closes(web, method, path, status, size):
    """Sync workers: every answer says Connection: close and arrives whole, also to a request
    whose body the app never read (a close with the body unread could reset the connection
    before the client read the answer)."""
    port, _ = web
    body = b"[" + b"1," * (size // 2) + b"1]"
    got = _call(port, method, path, body, {"Content-Type": "application/json"})
    assert got is not None and got[0] == status
    assert got[1]["connection"] == "close"
    assert json.loads(got[2])


def test_the_default_web_answers_more_connections_than_it_has_workers(web):
    """Connections opened at once, more than the workers: each is answered in turn, none waits
    unread behind another client's kept-alive connection."""
    port, _ = web
    command = procfile_command("web", {})  # the defaults, as the fixture runs them
    workers = int(command[command.index("--workers") + 1])
    socks = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(4 * workers)]
    try:
        for sock in socks:
            sock.sendall(_request("GET", "/v1/other-call"))
        answers = [_response(sock) for sock in socks]
        assert [a[0] if a else None for a in answers] == [404] * len(socks)
        assert all(a[1]["connection"] == "close" for a in answers)
    finally:
        for sock in socks:
            sock.close()
