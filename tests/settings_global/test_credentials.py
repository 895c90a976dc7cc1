import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from settings_global.models import ApiCredential, hash_secret
from settings_global.selectors import (
    credential_by_aninja_apikey,
    credential_by_api_key,
    credential_by_auth_token,
    credential_by_keys,
)
from settings_global.services import api_user_create

pytestmark = pytest.mark.django_db

KEYS = {"username", "access_key", "secret_key", "api_key", "auth_token", "aninja_apikey"}


def create_json(name: str) -> dict:
    out = StringIO()
    call_command("create_api_user", name, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_api_user_json_prints_exactly_the_six_keys():
    keys = create_json("acme")
    assert set(keys) == KEYS
    assert keys["username"] == "acme"
    assert all(isinstance(v, str) and v for v in keys.values())


def test_create_api_user_stores_only_hashes():
    keys = create_json("acme")
    credential = ApiCredential.objects.get(user__username="acme")
    stored = {f.attname: str(getattr(credential, f.attname)) for f in ApiCredential._meta.fields}
    for secret in ("secret_key", "api_key", "auth_token", "aninja_apikey"):
        assert keys[secret] not in stored.values()
    assert credential.secret_key_hash == hash_secret(keys["secret_key"])
    assert credential.access_key == keys["access_key"]


def test_create_api_user_makes_a_user_that_owns_its_leads():
    create_json("acme")
    credential = ApiCredential.objects.select_related("user").get(user__username="acme")
    assert credential.user.first_name == "System API User"
    assert not credential.user.has_usable_password()
    assert credential.user.groups.filter(name="API users").exists()


def test_each_credential_gets_fresh_secrets():
    a, b = create_json("a"), create_json("b")
    assert {a[k] for k in KEYS - {"username"}}.isdisjoint({b[k] for k in KEYS - {"username"}})


def test_create_api_user_refuses_a_second_active_set():
    create_json("acme")
    with pytest.raises(CommandError, match="already has active keys"):
        call_command("create_api_user", "acme", "--json", stdout=StringIO())


def test_keys_check_accepts_the_pair_and_rejects_a_wrong_secret():
    issued = api_user_create(name="acme")
    assert credential_by_keys(issued.access_key, issued.secret_key) == issued.credential
    assert credential_by_keys(issued.access_key, issued.secret_key + "x") is None
    assert credential_by_keys("ak_nope", issued.secret_key) is None
    assert credential_by_keys(issued.access_key, "") is None


def test_each_token_kind_finds_only_its_own_credential():
    issued = api_user_create(name="acme")
    assert credential_by_api_key(issued.api_key) == issued.credential
    assert credential_by_auth_token(issued.auth_token) == issued.credential
    assert credential_by_aninja_apikey(issued.aninja_apikey) == issued.credential
    assert credential_by_auth_token(issued.api_key) is None
    assert credential_by_aninja_apikey(issued.auth_token) is None
    assert credential_by_api_key(None) is None


def test_revoke_api_user_takes_effect_at_once():
    issued = api_user_create(name="acme")
    out = StringIO()
    call_command("revoke_api_user", "acme", stdout=out)
    assert "Revoked 1" in out.getvalue()
    assert credential_by_keys(issued.access_key, issued.secret_key) is None
    assert credential_by_auth_token(issued.auth_token) is None


def test_revoke_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match="No active API credentials"):
        call_command("revoke_api_user", "ghost")


def test_create_api_user_cli_prints_json_on_stdout(tmp_path):
    """The contract other programs rely on, run as they run it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path}/cli.sqlite3"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True
        )
    else:
        pytest.skip("the test database is not reachable from another process on PostgreSQL")
    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_user", "cli-vendor", "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert set(json.loads(result.stdout)) == KEYS
