"""Settings, read from the environment.

Defaults suit a laptop: an SQLite file and Celery tasks executed in-process. Setting
DATABASE_URL and REDIS_URL switches to PostgreSQL and a real Celery worker; production
differs from development only in environment values (see docs/deploy.md).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DEBUG", default=False)

# The development key: accepted only with DEBUG on (make run). Without DEBUG, start-up stops
# unless SECRET_KEY is a real key: at least 50 characters, at least 5 distinct ones, and not
# this key nor Django's "django-insecure-" kind. Tests set a test-only key (pyproject.toml).
DEV_SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"  # noqa: S105


def secret_key_problem(key: str) -> str | None:
    """Why `key` is not fit for production, or None when it is."""
    if not key:
        return "SECRET_KEY is not set"
    if key == DEV_SECRET_KEY or key.startswith("django-insecure-"):
        return "SECRET_KEY is the development key"
    if len(key) < 50 or len(set(key)) < 5:
        return "SECRET_KEY is too short or not random enough (use at least 50 random characters)"
    return None


SECRET_KEY = env_str("SECRET_KEY")
if not DEBUG and (problem := secret_key_problem(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"{problem}. With DEBUG off the platform refuses to start without a real key: set "
        "SECRET_KEY to a long random string, e.g. the output of "
        '`python -c "import secrets; print(secrets.token_urlsafe(50))"` (see docs/deploy.md).'
    )
if not SECRET_KEY:
    SECRET_KEY = DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "apps.accounts",
    "apps.projects",
    "apps.codebooks",
    "apps.transcripts",
    "apps.assignments",
    "apps.annotations",
    "apps.jobs",
    "apps.reliability",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "coding_platform.no_store.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "coding_platform.request_input.RequestInputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "coding_platform.middleware.DomainErrorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "coding_platform.urls"
WSGI_APPLICATION = "coding_platform.wsgi.application"

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
    }
]

# Database: SQLite file by default, anything dj-database-url understands otherwise.
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Persistent connections are checked before each request reuses them, so a connection the
    # database dropped (restart, failover, idle timeout) is replaced instead of failing.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("CONN_MAX_AGE", 60),
            conn_health_checks=env_bool("CONN_HEALTH_CHECKS", default=True),
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": {
                # WAL lets the in-process task and the web process read while one writes.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "CONN_HEALTH_CHECKS": env_bool("CONN_HEALTH_CHECKS", default=True),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes watches every authenticate() call (login page, API token endpoint) and refuses
# one from an address or for an account with too many recent failures; ModelBackend checks
# the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # per address, and per account
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "apps.accounts.throttling.login_username"
AXES_CLIENT_IP_CALLABLE = "apps.accounts.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "apps.accounts.throttling.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Reverse proxies in front of the web process that append to X-Forwarded-For (0: none, the
# client address is REMOTE_ADDR; docker-compose behind one TLS proxy: 1).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# API tokens: each has a name and a lifetime, and ends when its owner's password changes.
API_TOKEN_LIFETIME = timedelta(days=env_int("API_TOKEN_LIFETIME_DAYS", 30))

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "projects:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Recordings and uploads are clinical data: kept outside any public URL, served by a view
# that checks project membership.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(DATA_DIR / "private")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env_bool("COLLECTSTATIC", default=False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# Upload limits (bytes). Transcript files and manifests have their own limits in
# apps/transcripts/parsing.py; these bound the request itself.
MAX_RECORDING_BYTES = env_int("MAX_RECORDING_BYTES", 2 * 1024 * 1024 * 1024)
MAX_BULK_UPLOAD_BYTES = env_int("MAX_BULK_UPLOAD_BYTES", 200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 5000
# What one transcript may hold once read (docs/transcript-formats.md): turns, and for .docx
# the size its archive unpacks to.
TRANSCRIPT_MAX_TURNS = env_int("TRANSCRIPT_MAX_TURNS", 20_000)
TRANSCRIPT_MAX_DOCX_EXPANDED_BYTES = env_int("TRANSCRIPT_MAX_DOCX_EXPANDED_BYTES", 50 * 1024 * 1024)

# Email: console by default (invitations and password resets print to the terminal).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "coding-platform@localhost")

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process (eagerly).
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# In-process (eager) tasks keep a failing job's exception to the job row instead of failing
# the request that queued it; tests/conftest.py turns propagation on so tests see them.
CELERY_TASK_EAGER_PROPAGATES = env_bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 660)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a task while the broker is down fails within about a second instead of holding the
# request; the job row records the error and jobs_recover sends it again (docs/jobs.md).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TIMEZONE = TIME_ZONE

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "apps.accounts.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "coding_platform.api_schema.PlatformAutoSchema",
    # DRF's parsers, with NUL characters refused in form fields (coding_platform/request_input.py).
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "coding_platform.request_input.FormParser",
        "coding_platform.request_input.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "coding_platform.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    # ?format= selects an export file format on our endpoints, not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Coding platform API",
    "DESCRIPTION": (
        "Multi-rater coding of psychotherapy transcripts (PACS, 3RS): projects, coding "
        "systems, cases, sessions, transcripts, recordings, assignments and codings. Every "
        "endpoint is scoped by project membership; coders see only their own codings."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from the installed package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # <id:...> path parameters (coding_platform/converters.py) are bigint-sized integers.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}
    },
    "ENUM_NAME_OVERRIDES": {
        "AssignmentStateEnum": "apps.assignments.models.State",
        "ReportStateEnum": "apps.reliability.models.ReportState",
        "AAIClassEnum": "apps.transcripts.models.AAIClass",
    },
}

# Security: strict by default outside DEBUG; TLS settings switch on with SECURE_SSL=true.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag instead
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Lab computers are shared: a session ends after a working day or when the browser closes.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
SECURE_SSL = env_bool("SECURE_SSL", default=False)
if SECURE_SSL:
    # Behind the TLS proxy: it sets X-Forwarded-Proto, Django redirects plain HTTP to HTTPS
    # and sends cookies over HTTPS only.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)

# Content-Security-Policy (django-csp): scripts, styles, media and requests from this site
# only; no inline script or style, no plug-ins, no framing. The pages load htmx and their one
# script per screen from /static/, and keep data in <script type="application/json"> blocks.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "media-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Logs never carry transcript text: requests are logged by path and status only, and our
# own loggers log ids, not content.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

# Reliability reports: submissions within this many seconds are folded into one report.
RELIABILITY_DEBOUNCE_SECONDS = env_int("RELIABILITY_DEBOUNCE_SECONDS", 30)

# Background jobs (docs/jobs.md): a running job whose heartbeat is older than
# JOBS_STALL_SECONDS is restarted; a queued job not started JOBS_PICKUP_SECONDS after it was
# due is sent again; jobs_recover runs every JOBS_RECOVER_EVERY_SECONDS (Celery beat) and at
# worker start; a job started JOBS_MAX_ATTEMPTS times is failed.
JOBS_HEARTBEAT_SECONDS = env_int("JOBS_HEARTBEAT_SECONDS", 30)
JOBS_STALL_SECONDS = env_int("JOBS_STALL_SECONDS", 180)
JOBS_PICKUP_SECONDS = env_int("JOBS_PICKUP_SECONDS", 180)
JOBS_RECOVER_EVERY_SECONDS = env_int("JOBS_RECOVER_EVERY_SECONDS", 60)
JOBS_MAX_ATTEMPTS = env_int("JOBS_MAX_ATTEMPTS", 5)
if JOBS_HEARTBEAT_SECONDS >= JOBS_STALL_SECONDS:
    raise ImproperlyConfigured("JOBS_HEARTBEAT_SECONDS must be shorter than JOBS_STALL_SECONDS")

# Drift check (docs/jobs.md): Celery beat runs it every DRIFT_CHECK_EVERY_SECONDS (daily).
# SITE_URL (e.g. https://coding.lab.example) makes the links in its emails absolute.
DRIFT_CHECK_EVERY_SECONDS = env_int("DRIFT_CHECK_EVERY_SECONDS", 24 * 60 * 60)
SITE_URL = env_str("SITE_URL").rstrip("/")
if DRIFT_CHECK_EVERY_SECONDS < 60:
    raise ImproperlyConfigured("DRIFT_CHECK_EVERY_SECONDS must be at least 60")
