"""URLs of the test provider: the OpenID Connect endpoints under ``/openid/`` (discovery at
``/openid/.well-known/openid-configuration``) and Django's own login and logout views."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
