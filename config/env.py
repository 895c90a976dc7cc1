"""Typed readers for the environment: a bad value stops the process at start, with its name."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
import phonenumbers
from django.core.exceptions import ImproperlyConfigured

from config.redis_pause import pausing_connection_class

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}
TASK_BACKENDS = {
    "db": "django_tasks_db.DatabaseBackend",
    "redis": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}


SQLITE_OPTIONS = {
    # WAL lets the web, worker and scheduler processes read while one writes, and with
    # synchronous=NORMAL a commit does not wait for the disk (a crash may lose the last commits,
    # never corrupt the file). IMMEDIATE: a transaction takes the write lock when it begins, so
    # two captures of one person are serialized.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def env_str(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(name, default).strip()


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), got {raw!r}")


def env_seconds(name: str, default: float, environ: Mapping[str, str] = os.environ) -> float:
    """A number of seconds, 0 or more."""
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ImproperlyConfigured(f"{name} must be a number of seconds, 0 or more, got {raw!r}")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_config(url: str | None, *, base_dir: Path) -> dict[str, Any]:
    """DATABASE_URL, or a SQLite file under var/ so that a fresh checkout just runs."""
    if not url:
        (base_dir / "var").mkdir(exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(base_dir / "var" / "db.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    scheme = urlparse(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgres:// or sqlite:// URL, got scheme {scheme!r}"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = dict(SQLITE_OPTIONS)
    return config


# REDIS_TIMEOUT_SECONDS when it is not set.
REDIS_TIMEOUT_DEFAULT = 1.0


def cache_config(redis_url: str | None, timeout: float = REDIS_TIMEOUT_DEFAULT) -> dict[str, Any]:
    """Redis (shared by every process) when REDIS_URL is set, else a per-process memory cache.

    timeout: seconds to connect, and to wait for each reply, before a call gives Redis up as away
    (a 503 for a vendor call): redis-py's own default is 5 s, which a Redis that hangs would cost
    every call while the web's workers wait on it. After such a timeout the process's commands
    fail at once for a few seconds (config.redis_pause)."""
    if not redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "leadintake",
            }
        }
    if urlparse(redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"REDIS_URL must be a redis:// URL, got {redis_url!r}")
    if not timeout > 0:
        raise ImproperlyConfigured(f"REDIS_TIMEOUT_SECONDS must be more than 0, got {timeout!r}")
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "leadintake",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": timeout,
                "SOCKET_TIMEOUT": timeout,
                # After a timeout, the process leaves Redis alone for a few seconds.
                "CONNECTION_POOL_KWARGS": {"connection_class": pausing_connection_class(redis_url)},
            },
        }
    }


def tasks_config(backend: str, redis_url: str | None) -> dict[str, Any]:
    name = backend.lower()
    if name not in TASK_BACKENDS:
        raise ImproperlyConfigured(
            f"TASKS_BACKEND must be one of {', '.join(sorted(TASK_BACKENDS))}, got {backend!r}"
        )
    if name == "redis" and not redis_url:
        raise ImproperlyConfigured("TASKS_BACKEND=redis needs REDIS_URL")
    return {"default": {"BACKEND": TASK_BACKENDS[name]}}


def phone_region(value: str) -> str:
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ImproperlyConfigured(
            f"DEFAULT_PHONE_REGION must be a two-letter region such as US or GB, got {value!r}"
        )
    return region
