"""A real ``streamlit run dashboard/app.py`` on a free loopback port, for the benchmarks
(``bench.sessions``) and the browser test suites (tests/e2e, tests/reliability).

The server runs headless, with no file watcher and no usage statistics, with the project's
``.streamlit/config.toml``; it is stopped (terminate, then kill) when the ``with`` block
ends and its log is copied where asked.

Example::

    with run_streamlit(db, {**os.environ, "PRICEWAR_DB": str(db)}, log=Path("st.log")) as s:
        urllib.request.urlopen(f"{s.url}/_stcore/health")
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    """A running ``streamlit run``: its URL, process, database and log file."""

    url: str
    proc: subprocess.Popen
    db: Path
    log: Path

    def log_text(self) -> str:
        """What the server printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(server: Server, timeout: float) -> None:
    """Return once ``/_stcore/health`` answers 200; raise with the log if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {server.proc.returncode}:\n{server.log_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {server.url} within {timeout} s")


@contextlib.contextmanager
def run_streamlit(
    db: Path,
    env: Mapping[str, str],
    *,
    log: Path,
    options: Sequence[str] = (),
    keep_log: Path | None = None,
    start_timeout: float = 90,
    port: int | None = None,
    address: str | None = "127.0.0.1",
    secrets: Path | None = None,
) -> Iterator[Server]:
    """Serve the app on ``db`` with the process environment ``env`` (complete, not merged).

    Args:
        db: the database the server uses (for the caller's bookkeeping; pass it in ``env``
            as ``PRICEWAR_DB``).
        env: the server's whole environment.
        log: where its stdout and stderr go.
        options: more ``streamlit run`` options.
        keep_log: a copy of the log is written here when the server stops.
        port: the port (default: a free one); a sign-in test needs it in advance for the
            redirect URI.
        address: ``--server.address``; None leaves the flag out, so the project's
            ``.streamlit/config.toml`` decides. ``/_stcore/health`` is asked on 127.0.0.1.
        secrets: the secrets file (``--secrets.files``) instead of ``.streamlit/secrets.toml``
            and ``~/.streamlit/secrets.toml``, so a test never reads or writes the
            repository's or the user's secrets.
    """
    port = free_port() if port is None else port
    flags = [
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    if address is not None:
        flags += ["--server.address", address]
    if secrets is not None:
        flags += ["--secrets.files", str(secrets)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", *flags, *options],
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, db, log)
    try:
        wait_healthy(server, start_timeout)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if keep_log is not None:
            keep_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(log, keep_log)
