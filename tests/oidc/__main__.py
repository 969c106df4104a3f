"""Start the test OpenID Connect provider: ``python -m tests.oidc --state DIR [...]``.

Run from the repository root. It migrates a fresh SQLite database in ``DIR``, creates an RSA
signing key, the users and the clients, then serves on 127.0.0.1 with Django's threaded
WSGI server and writes the port it got to ``DIR/port``. For example::

    python -m tests.oidc --state /tmp/op --user viewer@example.com:secret \\
        --client streamlit:s3cret:http://127.0.0.1:8501/oauth2callback
    curl http://127.0.0.1:$(cat /tmp/op/port)/openid/.well-known/openid-configuration

``--spec FILE`` (JSON: ``{"users": [...], "clients": [...]}`` with the fields of
:class:`tests.oidc.User` and :class:`tests.oidc.OidcClient`) replaces ``--user``/``--client``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path
from typing import Any


def bootstrap(spec: dict[str, Any]) -> None:
    """Create the schema, a signing key, the users and the clients (Django set up)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oidc_provider.models import Client, ResponseType

    call_command("migrate", verbosity=0, interactive=False)
    call_command("creatersakey", stdout=io.StringIO())
    users = get_user_model()
    for user in spec.get("users", []):
        users.objects.create_user(
            username=user.get("username") or user["email"],
            email=user["email"],
            password=user["password"],
        )
    code = ResponseType.objects.get(value="code")
    for spec_client in spec.get("clients", []):
        client = Client(
            name=spec_client.get("name") or spec_client["client_id"],
            client_type="confidential",
            client_id=spec_client["client_id"],
            client_secret=spec_client["client_secret"],
            jwt_alg="RS256",
            require_consent=False,
            reuse_consent=True,
        )
        client.redirect_uris = list(spec_client["redirect_uris"])
        client.post_logout_redirect_uris = list(
            spec_client.get("post_logout_redirect_uris") or spec_client["redirect_uris"]
        )
        client.save()
        client.response_types.add(code)


def serve(state: Path, port: int) -> None:
    """Serve the provider on 127.0.0.1:``port`` (0: any free port) until killed."""
    from django.core.servers.basehttp import WSGIRequestHandler, run
    from django.core.wsgi import get_wsgi_application

    def bound(actual: int) -> None:
        tmp = state / "port.tmp"
        tmp.write_text(str(actual), encoding="ascii")
        tmp.replace(state / "port")  # appears whole: the parent polls for it
        print(f"test OpenID provider on http://127.0.0.1:{actual}/openid", flush=True)

    WSGIRequestHandler.log_message = _log  # type: ignore[method-assign]
    run("127.0.0.1", port, get_wsgi_application(), threading=True, on_bind=bound)


def _log(self: Any, fmt: str, *args: Any) -> None:
    """One line per request on stderr (the parent keeps it in the provider's log)."""
    sys.stderr.write(f"{self.address_string()} {fmt % args}\n")


def _spec_from_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.spec:
        return json.loads(Path(args.spec).read_text(encoding="utf-8"))
    users = []
    for item in args.user:
        email, _, password = item.partition(":")
        users.append({"email": email, "password": password})
    clients = []
    for item in args.client:
        client_id, secret, redirect = item.split(":", 2)
        clients.append(
            {"client_id": client_id, "client_secret": secret, "redirect_uris": [redirect]}
        )
    return {"users": users, "clients": clients}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.oidc",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--state", required=True, help="an empty folder for the database")
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument("--spec", help="JSON file with users and clients")
    parser.add_argument("--user", action="append", default=[], metavar="EMAIL:PASSWORD")
    parser.add_argument(
        "--client", action="append", default=[], metavar="CLIENT_ID:SECRET:REDIRECT_URI"
    )
    args = parser.parse_args(argv)
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    (state / "port").unlink(missing_ok=True)
    os.environ["PRICEWAR_OIDC_STATE"] = str(state)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc.settings"
    import django

    django.setup()
    bootstrap(_spec_from_args(args))
    serve(state, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
