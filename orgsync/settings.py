"""Django settings for orgsync, read from the environment (see README, "Configuration")."""

from pathlib import Path

from orgsync.env import (
    BASE_DIR,
    email_settings,
    env,
    random_encryption_key,
    read_env_file,
    required_secret,
)

read_env_file()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = required_secret("SECRET_KEY", debug=DEBUG)
# Comma-separated "kid:base64key" entries; the first seals, every one opens (credentials vault).
ORGSYNC_ENCRYPTION_KEYS = required_secret(
    "ORGSYNC_ENCRYPTION_KEYS", debug=DEBUG, ephemeral=random_encryption_key
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_q",
    "orgsync",
    "connections",
    "replication",
    "synclog",
    "metadiff",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "orgsync.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "orgsync.request_guard.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "orgsync.middleware.RequireMFAMiddleware",
]

ROOT_URLCONF = "orgsync.urls"
WSGI_APPLICATION = "orgsync.wsgi.application"
ASGI_APPLICATION = "orgsync.asgi.application"

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

VAR_DIR = Path(env.str("ORGSYNC_VAR_DIR", default=str(BASE_DIR / "var")))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'orgsync.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Web and workers write the same file: wait for locks instead of failing at once, and take
    # the write lock at BEGIN so a read-then-write transaction cannot deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Names the worker cluster, its Redis queue and this deployment's cache keys: deployments (or
# test runs) sharing one Redis need distinct names.
ORGSYNC_Q_NAME = env.str("ORGSYNC_Q_NAME", default="orgsync")
# The cache is shared by web and workers: allauth's login rate limits and django-q2's cluster
# statistics (read by /healthz) live there, so a per-process memory cache would not do.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "orgsync_cache",
        }
    }
CACHES["default"]["KEY_PREFIX"] = ORGSYNC_Q_NAME

Q_CLUSTER = {
    "name": ORGSYNC_Q_NAME,
    "workers": env.int("ORGSYNC_Q_WORKERS", default=2),
    "timeout": env.int("ORGSYNC_Q_TIMEOUT", default=600),
    # Broker redelivery only: longer than timeout, so a task still running is never handed out
    # twice; every task is safe to run twice anyway (see ARCHITECTURE "Three retry layers").
    "retry": env.int("ORGSYNC_Q_TIMEOUT", default=600) + 120,
    "max_attempts": 5,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# --- Operator login (django-allauth) ---
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "admin:index"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "orgsync.accounts.OperatorAccountAdapter"
# Operators are created by an administrator or `createsuperuser`, not by signing up.
ORGSYNC_ALLOW_SIGNUP = env.bool("ORGSYNC_ALLOW_SIGNUP", default=False)
# Every operator must enrol a second factor before using the console.
ORGSYNC_REQUIRE_MFA = env.bool("ORGSYNC_REQUIRE_MFA", default=False)
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "login": "30/m/ip"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "orgsync"

SESSION_COOKIE_HTTPONLY = True

# --- The edge: HTTPS, headers, Content-Security-Policy (see docs/production.md) ---
# Off by default so `make run` keeps working on http://127.0.0.1:8000 even with DEBUG off.
# ORGSYNC_HTTPS=true is the one switch for production behind a TLS proxy: it turns on the HTTPS
# redirect, HSTS for a year, secure cookies and trusting the proxy's X-Forwarded-Proto; each
# piece below can still be set on its own.
ORGSYNC_HTTPS = env.bool("ORGSYNC_HTTPS", default=False)
ORGSYNC_BEHIND_TLS_PROXY = env.bool("ORGSYNC_BEHIND_TLS_PROXY", default=ORGSYNC_HTTPS)
# Only behind a proxy that sets (and strips from clients) X-Forwarded-Proto: otherwise any
# client could claim HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if ORGSYNC_BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=ORGSYNC_HTTPS)
# /healthz answers plain HTTP probes from the host or the orchestrator.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if ORGSYNC_HTTPS else 0)
# Subdomains of the console's own host name (e.g. *.orgsync.example.com), not of example.com.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=ORGSYNC_HTTPS)
# Preloading is a commitment for a whole registrable domain, made by its owner: opt-in only,
# and `check --deploy` does not nag about it while it is off.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=ORGSYNC_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SESSION_COOKIE_SECURE)
SECURE_CONTENT_TYPE_NOSNIFF = env.bool("SECURE_CONTENT_TYPE_NOSNIFF", default=True)
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
X_FRAME_OPTIONS = env.str("X_FRAME_OPTIONS", default="DENY")
# Content-Security-Policy, sent by orgsync.security.ContentSecurityPolicyMiddleware. No inline
# scripts; inline styles stay allowed (style="width: …" progress bars). img data: is the MFA QR
# code. form-action allows https: because "Connect New Org" answers its POST with a redirect to
# the org's login page, which Chromium checks against form-action.
ORGSYNC_CSP = env.str(
    "ORGSYNC_CSP",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self' https:; frame-ancestors 'none'"
    ),
)
# true: the browser reports violations (console) but enforces nothing.
ORGSYNC_CSP_REPORT_ONLY = env.bool("ORGSYNC_CSP_REPORT_ONLY", default=False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Logging is configured once, here, to stderr. Records never carry secrets or field values.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {"django-q": {"handlers": ["stderr"], "level": LOG_LEVEL, "propagate": False}},
}

# --- Monitoring: sync log retention, alert emails, /metrics (see docs/monitoring.md) ---
ORGSYNC_LOG_RETENTION_DAYS = env.int("ORGSYNC_LOG_RETENTION_DAYS", default=90)
ORGSYNC_ALERT_EMAILS = env.list("ORGSYNC_ALERT_EMAILS", default=[])
ORGSYNC_ALERT_FAILURE_THRESHOLD = env.int("ORGSYNC_ALERT_FAILURE_THRESHOLD", default=10)
ORGSYNC_ALERT_FAILURE_WINDOW_HOURS = env.int("ORGSYNC_ALERT_FAILURE_WINDOW_HOURS", default=24)
ORGSYNC_ALERT_QUEUE_REPORT_HOURS = env.int("ORGSYNC_ALERT_QUEUE_REPORT_HOURS", default=12)
# The console's address as alert mails link to it, e.g. https://sync.acme.com (unset: paths only).
ORGSYNC_CONSOLE_URL = env.str("ORGSYNC_CONSOLE_URL", default="")
# Unset: /metrics answers 404. Prometheus sends it as `Authorization: Bearer <token>`.
ORGSYNC_METRICS_TOKEN = env.str("ORGSYNC_METRICS_TOKEN", default="")
# Outgoing mail (alerts, invitations), e.g. smtp+tls://user:password@smtp.example.com:587.
# Without EMAIL_URL, dev mail (DEBUG, or `make run`, which sets ORGSYNC_DEV_MAIL) is written as
# files to var/mail/; else smtp://localhost:25. EMAIL_BACKEND, if set, wins over both.
ORGSYNC_DEV_MAIL = env.bool("ORGSYNC_DEV_MAIL", default=DEBUG)
vars().update(email_settings(dev_mail=ORGSYNC_DEV_MAIL, mail_dir=VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="orgsync@localhost")

# --- Partner invitations (docs/connecting-orgs.md, "Connecting with a partner company") ---
ORGSYNC_INVITATION_FROM_EMAIL = env.str("ORGSYNC_INVITATION_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)
ORGSYNC_INVITATION_FROM_NAME = env.str("ORGSYNC_INVITATION_FROM_NAME", default="orgsync")
# A plain-text Django template: the mail's first line is its subject, the rest its body.
ORGSYNC_INVITATION_TEMPLATE = env.str(
    "ORGSYNC_INVITATION_TEMPLATE", default="connections/partner/invitation_email.txt"
)
ORGSYNC_INVITATION_EXPIRY_DAYS = env.int("ORGSYNC_INVITATION_EXPIRY_DAYS", default=7)
# Requests per minute one client address may make to the partner pages (then 429).
ORGSYNC_PARTNER_RATE_LIMIT = env.int("ORGSYNC_PARTNER_RATE_LIMIT", default=30)

# --- Bulk sync (see docs/bulk-sync.md) ---
# Objects with more records in scope than this go through Bulk API 2.0; fewer through REST.
ORGSYNC_BULK_SYNC_THRESHOLD = env.int("ORGSYNC_BULK_SYNC_THRESHOLD", default=2000)
# Records per Bulk API result page (a page is checkpointed as a whole once written).
ORGSYNC_BULK_SYNC_PAGE_RECORDS = env.int("ORGSYNC_BULK_SYNC_PAGE_RECORDS", default=100_000)
# Records per ingest job (one upload per job): Salesforce runs one or two while the next is
# read, classified and uploaded. Smaller jobs overlap more, at five API calls per job.
ORGSYNC_BULK_SYNC_JOB_RECORDS = env.int("ORGSYNC_BULK_SYNC_JOB_RECORDS", default=20_000)
# A backlog of at least this many changed records of one object and direction is applied through
# Bulk API 2.0 jobs (upsert on OrgSync_Source_Id__c, update by Id), not collections; 0 never does.
ORGSYNC_BULK_APPLY_THRESHOLD = env.int("ORGSYNC_BULK_APPLY_THRESHOLD", default=10_000)
# Sync Feeds: files and attachments larger than this are not synced (Organization Sync's 38 MB).
ORGSYNC_FILE_SIZE_LIMIT_MB = env.int("ORGSYNC_FILE_SIZE_LIMIT_MB", default=38)
# Reconcile does not judge records changed this recently by the org's clock (the engine may not have
# carried them yet); 0 judges every record.
ORGSYNC_RECONCILE_SETTLE_SECONDS = env.int("ORGSYNC_RECONCILE_SETTLE_SECONDS", default=120)

# --- User sync (Sync Users on a connection; see docs/engine.md) ---
# Ongoing user changes (active flag, role, profile) are looked for at most this often.
ORGSYNC_USER_SYNC_INTERVAL_SECONDS = env.int("ORGSYNC_USER_SYNC_INTERVAL_SECONDS", default=300)

# --- Engine (see docs/engine.md, "One writer per connection") ---
# A connection's lease: renewed before every write batch; a killed cycle frees it within this.
ORGSYNC_LEASE_SECONDS = env.int("ORGSYNC_LEASE_SECONDS", default=30)
