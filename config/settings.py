"""Settings, read from the environment (docs/operating.md); a bad value stops the start."""

from pathlib import Path

from django.core.management.utils import get_random_secret_key

from config.env import (
    REDIS_TIMEOUT_DEFAULT,
    cache_config,
    database_config,
    env_bool,
    env_list,
    env_seconds,
    env_str,
    phone_region,
    tasks_config,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    # A fresh checkout just runs; the key is kept under var/ so sessions survive restarts.
    key_file = BASE_DIR / "var" / "secret_key"
    key_file.parent.mkdir(exist_ok=True)
    if not key_file.exists():
        key_file.write_text(get_random_secret_key())
    SECRET_KEY = key_file.read_text().strip()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

DATABASE_URL = env_str("DATABASE_URL", "")
REDIS_URL = env_str("REDIS_URL", "")
DATABASES = {"default": database_config(DATABASE_URL, base_dir=BASE_DIR)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The health check (a round trip before each request's first query) is what lets the first
    # request after a database restart succeed instead of failing on a dead connection; keep it
    # unless you accept that. DATABASE_POOL: Django's psycopg pool instead of one persistent
    # connection per thread (docs/performance.md has what each choice measured).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DATABASE_HEALTH_CHECKS", True)
    # The same backend, whose health check pings only a connection whose socket has news (the
    # server's goodbye): no round trip per request on a live connection (config/postgresql).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    if env_bool("DATABASE_POOL", False):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": 16}
    # DATABASE_SERVER_SIDE_BINDING: send parameters apart from the SQL (psycopg's server-side
    # binding) instead of quoting them into it in Python. Off by default: see
    # docs/performance.md for what it measured.
    if env_bool("DATABASE_SERVER_SIDE_BINDING", False):
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
CACHES = cache_config(
    REDIS_URL, timeout=env_seconds("REDIS_TIMEOUT_SECONDS", REDIS_TIMEOUT_DEFAULT)
)
TASKS_BACKEND = env_str("TASKS_BACKEND", "db")
TASKS = tasks_config(TASKS_BACKEND, REDIS_URL)
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}}
DEFAULT_PHONE_REGION = phone_region(env_str("DEFAULT_PHONE_REGION", "US"))
# The async drain gives way to a busy host for at most this long in a row (leads/give_way.py);
# 0: it never does.
DRAIN_GIVE_WAY_SECONDS = env_seconds("DRAIN_GIVE_WAY_SECONDS", 15.0)

# The counters live in the cache: shared (Redis) when REDIS_URL is set. The embedded default is one
# process with an in-process cache, where the limit holds for that process only (see README).
RATELIMIT_USE_CACHE = "default"
RATELIMIT_CACHE_PREFIX = "rl:"
SILENCED_SYSTEM_CHECKS = [] if REDIS_URL else ["django_ratelimit.E003", "django_ratelimit.W001"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Index expressions with an operator class (the pg_trgm search indexes); inert on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's assets, served by the app: /api/docs/ works offline
    "django_ratelimit",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "settings_global",
    "injectionlogs",
    "lists_hopper",
    "leads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's and Swagger UI's static files from gunicorn, with no other server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times in the staff member's (browser's) time zone: config/timezones.py.
    "config.timezones.BrowserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it before collectstatic
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Basic first, so that an anonymous script is told 401 with WWW-Authenticate.
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.CappedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Redis or the database away: 503 with Retry-After, not a 500 (the vendor views map their own).
    "EXCEPTION_HANDLER": "config.outages.staff_api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Lead intake CRM",
    "DESCRIPTION": "LeadSquared-, Convoso- and aNinja-compatible lead intake, and the staff API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Periodic jobs run by `manage.py run_scheduler`: (task path, every N seconds).
SCHEDULED_TASKS = [
    ("lists_hopper.tasks.expire_hopper_entries", 30),
    ("leads.tasks.prune_housekeeping", 3600),
    ("leads.tasks.sweep_capture_requests", 60),
    ("injectionlogs.tasks.compact_intake_counts", 600),
    ("leads.tasks.analyze_intake_tables", 15),
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line is redacted after formatting: Django's own request logging names the URL, and a
    # traceback can quote a request's query or body.
    "formatters": {"redacted": {"()": "config.redact.RedactingFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "redacted"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
