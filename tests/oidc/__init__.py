"""A real OpenID Connect provider for the sign-in tests: django-oidc-provider in a minimal
Django project (this package), served on 127.0.0.1 by Django's threaded WSGI server in a
subprocess, with SQLite in a temporary folder.

:func:`run_provider` starts it with the given users and clients and stops it when the
``with`` block ends. The discovery document is at ``Provider.discovery_url``; users sign in
on the provider's login form (``Username``/``Password``, the username is the e-mail), and
the clients never ask for consent. ``python -m tests.oidc --help`` starts one by hand.

This module only imports the standard library: Django runs in the subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class User:
    """An account on the provider; it signs in with its e-mail as username."""

    email: str
    password: str


@dataclass(frozen=True)
class OidcClient:
    """A confidential client (authorization-code flow, no consent screen)."""

    client_id: str
    client_secret: str
    redirect_uris: Sequence[str]
    post_logout_redirect_uris: Sequence[str] = field(default_factory=tuple)


@dataclass
class Provider:
    """A running provider: its base URL, process and log."""

    url: str
    proc: subprocess.Popen
    log: Path

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def is_available() -> str | None:
    """None when Django and django-oidc-provider are installed, else the reason."""
    try:
        import django  # noqa: F401
        import oidc_provider  # noqa: F401
    except ImportError as exc:
        return (
            f"{exc.name} is not installed (pip install -r requirements-dev.txt): the "
            "sign-in tests need django-oidc-provider"
        )
    return None


@contextlib.contextmanager
def run_provider(
    state: Path,
    users: Sequence[User],
    clients: Sequence[OidcClient],
    *,
    env: Mapping[str, str] | None = None,
    start_timeout: float = 60,
) -> Iterator[Provider]:
    """Start the provider with its database in ``state`` (created; should be empty)."""
    state.mkdir(parents=True, exist_ok=True)
    spec = {
        "users": [asdict(u) for u in users],
        "clients": [
            {
                **asdict(c),
                "redirect_uris": list(c.redirect_uris),
                "post_logout_redirect_uris": list(c.post_logout_redirect_uris),
            }
            for c in clients
        ],
    }
    (state / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    port_file = state / "port"
    port_file.unlink(missing_ok=True)
    log = state / "provider.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.oidc",
                "--state",
                str(state),
                "--spec",
                str(state / "spec.json"),
            ],
            cwd=ROOT,
            env=dict(env if env is not None else os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    provider = Provider("", proc, log)
    try:
        deadline = time.monotonic() + start_timeout
        while not port_file.exists():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the OpenID provider exited with code {proc.returncode}:"
                    f"\n{provider.log_text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the OpenID provider did not start in {start_timeout} s:"
                    f"\n{provider.log_text()[-3000:]}"
                )
            time.sleep(0.1)
        provider.url = f"http://127.0.0.1:{int(port_file.read_text(encoding='ascii'))}"
        with urllib.request.urlopen(provider.discovery_url, timeout=10) as r:
            assert json.load(r)["issuer"] == provider.issuer
        yield provider
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def write_sign_in_files(
    folder: Path,
    *,
    redirect_uri: str,
    cookie_secret: str,
    client_id: str,
    client_secret: str,
    metadata_url: str,
    allow: Sequence[str],
    analysts: Sequence[str] = (),
    admins: Sequence[str] = (),
    prompt_login: bool = True,
) -> tuple[Path, Path]:
    """Write ``folder/secrets.toml`` (Streamlit's ``[auth]`` section for this provider's
    ``client_id``) and ``folder/access.toml`` (the app's access file); return both paths.

    ``prompt_login``: ask the provider for ``prompt=login``. Streamlit asks for
    ``prompt=select_account`` by default; django-oidc-provider answers it by signing the
    user out and asking again, for ever. ``prompt=login`` (standard OpenID Connect) asks
    for the password once per sign-in.
    """
    lines = [
        "[auth]",
        f"redirect_uri = {json.dumps(redirect_uri)}",
        f"cookie_secret = {json.dumps(cookie_secret)}",
        f"client_id = {json.dumps(client_id)}",
        f"client_secret = {json.dumps(client_secret)}",
        f"server_metadata_url = {json.dumps(metadata_url)}",
    ]
    if prompt_login:
        lines.append('client_kwargs = { prompt = "login" }')
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    access_file = folder / "access.toml"
    access_file.write_text(
        "".join(
            f"{key} = {json.dumps(list(emails))}\n"
            for key, emails in (("allow", allow), ("analysts", analysts), ("admins", admins))
        ),
        encoding="utf-8",
    )
    return secrets_file, access_file
