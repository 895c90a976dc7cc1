from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    cache_config,
    database_config,
    env_bool,
    env_list,
    env_seconds,
    phone_region,
    tasks_config,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("off", False)],
)
def test_env_bool_reads_the_usual_spellings(raw, expected):
    assert env_bool("DEBUG", not expected, {"DEBUG": raw}) is expected


def test_env_bool_defaults_when_unset():
    assert env_bool("DEBUG", True, {}) is True


def test_env_bool_rejects_garbage_with_its_name():
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env_bool("DEBUG", False, {"DEBUG": "maybe"})


def test_env_list_splits_and_trims():
    assert env_list("ALLOWED_HOSTS", [], {"ALLOWED_HOSTS": " a.com, b.com ,"}) == ["a.com", "b.com"]


@pytest.mark.parametrize(("raw", "expected"), [("0", 0.0), ("15", 15.0), (" 2.5 ", 2.5), ("", 7.0)])
def test_env_seconds_reads_a_number_of_seconds(raw, expected):
    assert env_seconds("DRAIN_GIVE_WAY_SECONDS", 7.0, {"DRAIN_GIVE_WAY_SECONDS": raw}) == expected


@pytest.mark.parametrize("raw", ["-1", "soon", "nan", "inf", "1e999"])
def test_env_seconds_rejects_what_is_not_a_duration_with_its_name(raw):
    with pytest.raises(ImproperlyConfigured, match="DRAIN_GIVE_WAY_SECONDS must be a number"):
        env_seconds("DRAIN_GIVE_WAY_SECONDS", 15.0, {"DRAIN_GIVE_WAY_SECONDS": raw})


def test_database_defaults_to_sqlite_under_var(tmp_path: Path):
    config = database_config("", base_dir=tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "var" / "db.sqlite3")
    assert (tmp_path / "var").is_dir()


def test_database_url_selects_postgresql(tmp_path: Path):
    config = database_config("postgres://postgres@127.0.0.1:5432/crm", base_dir=tmp_path)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "crm"
    assert config["HOST"] == "127.0.0.1"


def test_database_url_with_unknown_scheme_fails_clearly(tmp_path: Path):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must be a postgres"):
        database_config("mysql://root@localhost/crm", base_dir=tmp_path)


def test_cache_is_in_process_without_redis_url():
    assert cache_config("")["default"]["BACKEND"].endswith("LocMemCache")


def test_cache_is_redis_with_redis_url():
    config = cache_config("redis://127.0.0.1:6379/1")["default"]
    assert config["BACKEND"] == "django_redis.cache.RedisCache"
    assert config["LOCATION"] == "redis://127.0.0.1:6379/1"


def test_redis_gives_up_after_a_second_unless_told_otherwise():
    options = cache_config("redis://127.0.0.1:6379/1")["default"]["OPTIONS"]
    assert options["SOCKET_CONNECT_TIMEOUT"] == options["SOCKET_TIMEOUT"] == 1.0
    options = cache_config("redis://127.0.0.1:6379/1", timeout=0.25)["default"]["OPTIONS"]
    assert options["SOCKET_CONNECT_TIMEOUT"] == options["SOCKET_TIMEOUT"] == 0.25
    with pytest.raises(ImproperlyConfigured, match="REDIS_TIMEOUT_SECONDS"):
        cache_config("redis://127.0.0.1:6379/1", timeout=0)


def test_bad_redis_url_fails_clearly():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        cache_config("http://127.0.0.1:6379")


def test_tasks_backend_db_is_the_database_backend():
    assert tasks_config("db", "")["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_tasks_backend_redis_needs_redis_url():
    with pytest.raises(ImproperlyConfigured, match="needs REDIS_URL"):
        tasks_config("redis", "")
    assert tasks_config("redis", "redis://x")["default"]["BACKEND"] == "django_tasks_rq.RQBackend"


def test_unknown_tasks_backend_fails_clearly():
    with pytest.raises(ImproperlyConfigured, match="TASKS_BACKEND must be one of"):
        tasks_config("celery", "")


def test_phone_region_is_checked():
    assert phone_region(" gb ") == "GB"
    with pytest.raises(ImproperlyConfigured, match="DEFAULT_PHONE_REGION"):
        phone_region("XX")


def test_bad_environment_stops_the_start(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={"PATH": "/usr/bin:/bin", "DEBUG": "perhaps", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr
