"""Django settings of the test OpenID Connect provider (django-oidc-provider).

Everything lives in the folder named by ``PRICEWAR_OIDC_STATE`` (SQLite database); the server
listens on 127.0.0.1 only. Not a production configuration: a fixed debug-free test set-up.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE = Path(os.environ["PRICEWAR_OIDC_STATE"])
HERE = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("PRICEWAR_OIDC_SECRET_KEY", "test-provider-only-" + STATE.name)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.oidc.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(STATE / "provider.sqlite3")}
}

# The provider and Streamlit both run on 127.0.0.1 and browsers keep cookies per host, not
# per port: the provider's cookies get names of their own so they never meet Streamlit's.
SESSION_COOKIE_NAME = "oidc_op_session"
CSRF_COOKIE_NAME = "oidc_op_csrftoken"

# Test speed only: a fast hasher for the few test accounts (Django's advice for test suites).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/accounts/login/"

# django-oidc-provider: e-mail in the userinfo answer and in the id_token (Streamlit's
# st.user is the id_token's claims).
OIDC_USERINFO = "tests.oidc.claims.userinfo"
OIDC_IDTOKEN_INCLUDE_CLAIMS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
