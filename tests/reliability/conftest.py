"""Fixtures of the reliability tests: real DuckDB files, real subprocesses, a real
``streamlit run`` and Debian's chromium.

Helpers:

- :func:`fingerprint` — row count and content checksum of every table of a database file
  (what "the store is unchanged" means in these tests).
- :func:`run_cli` — ``python -m data …`` / ``python -m model …`` as a subprocess.
- :func:`streamlit_server` — ``streamlit run dashboard/app.py`` on a loopback port, serving
  a given database, optionally with the in-app tagger pointed at a tiny model
  (``PRICEWAR_MODEL_DIR``).
- :func:`settle`, :func:`page_problems` — wait for a page and list what is wrong on it
  (exception elements, error boxes, dialogs, injected elements).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from bench.streamlit_server import Server, run_streamlit
from tests.chromium import (  # noqa: F401 - the browser helpers, importable from here too
    CHROMIUM,
    SCRIPT_STATE_JS,
    SETTLED_JS,
    new_page,
    settle,
)

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus" / "files"
ARTIFACTS = ROOT / "tests" / "artifacts" / "reliability"
DEMO_TICKETS = 300
DEMO_SEED = 5
#: Every JavaScript sink of the hostile texts sets one of these globals when it runs.
XSS_PROBE = "window.__xss"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is absent: install Debian's chromium (.ci/run does) to run the "
    "browser reliability tests",
)


# -- the store ---------------------------------------------------------------------------


Fingerprint = dict[str, tuple[int, str]]

#: Columns that differ between two runs doing the same work (clock times, random run ids).
VOLATILE: dict[str, tuple[str, ...]] = {
    "tickets": ("ingested_at",),
    "ingested_files": ("ingested_at",),
    "tagged_tickets": ("run_id", "tagged_at"),
    "schema_version": ("applied_at",),
    "scenarios": ("created_at", "updated_at"),
    "audit_log": ("id", "at"),
    "tagging_runs": (
        "run_id",
        "started_at",
        "finished_at",
        "status",
        "tickets",
        "entities",
        "message",
        "device",
        "model_id",
    ),
}


def fingerprint(path: Path, *, stable: bool = False, skip: Sequence[str] = ()) -> Fingerprint:
    """Row count and an order-independent MD5 of the rows of every table in ``path``.

    ``stable=True`` leaves out :data:`VOLATILE` columns (and counts ``tagging_runs`` only by
    content), so that two runs doing the same work compare equal. Opens the file read-only,
    so it also proves that the file opens cleanly.
    """
    from data.store import Store

    out: Fingerprint = {}
    with Store.open(path, read_only=True) as store:
        columns: dict[str, list[str]] = {}
        for table, column in store.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ):
            columns.setdefault(table, []).append(column)
        for table, cols in columns.items():
            if table in skip:
                continue
            kept = [c for c in cols if not (stable and c in VOLATILE.get(table, ()))]
            if stable and table == "tagging_runs":
                continue
            row = "ROW(" + ", ".join('"' + c.replace('"', '""') + '"' for c in kept) + ")"
            n, digest = store.fetchall(
                "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM "
                f'(SELECT md5(CAST({row} AS VARCHAR)) AS h FROM "{table}")'
            )[0]
            out[table] = (int(n), str(digest))
    return out


def _rollup_tables() -> frozenset[str]:
    from data.rollup_tables import TABLES

    return frozenset({t.name for t in TABLES} | {"rollup_state"})


#: The roll-up tables: kept in step with the base tables inside every write's transaction.
ROLLUP_TABLES = _rollup_tables()


def rollups_are_fresh(path: Path) -> bool:
    """Whether every roll-up part of ``path`` is marked up to date with the base tables."""
    from data.rollup_tables import PARTS
    from data.rollups import fresh_parts
    from data.store import Store

    with Store.open(path, read_only=True) as store:
        return fresh_parts(store.cursor()) == frozenset(PARTS)


def entity_rows(path: Path, model_id: str | None = None) -> list[tuple]:
    """The entity rows (without run-specific columns) of ``path``, sorted."""
    from data.store import Store

    sql = (
        'SELECT ticket_key, model_id, start, "end", label, text, score FROM entities'
        + (" WHERE model_id = ?" if model_id else "")
        + ' ORDER BY ticket_key, model_id, start, "end", label'
    )
    with Store.open(path, read_only=True) as store:
        return store.fetchall(sql, [model_id] if model_id else None)


def tagged_keys(path: Path) -> set[tuple[str, str]]:
    """``(ticket_key, model_id)`` of every ``tagged_tickets`` row of ``path``."""
    from data.store import Store

    with Store.open(path, read_only=True) as store:
        return set(store.fetchall("SELECT ticket_key, model_id FROM tagged_tickets"))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database (300 tickets, seed 5), generated once; copy it before writing."""
    from tests.conftest import make_demo_db

    return make_demo_db(
        tmp_path_factory.mktemp("demo") / "demo.duckdb", tickets=DEMO_TICKETS, seed=DEMO_SEED
    )


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the demo database."""
    return copy_db(demo_db, tmp_path / "db.duckdb")


def copy_db(source: Path, target: Path) -> Path:
    """Copy a closed database file (and its WAL, if any) to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copy(wal, target.with_name(target.name + ".wal"))
    return target


# -- the tagger --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny random BERT tagger artefact (2 layers, hidden 32, 32-token windows)."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny")


def save_tiny_model(directory: Path, *, seed: int = 0) -> Path:
    """Write a ``full``-format artefact of a tiny random token classifier to ``directory``."""
    from model.artefact import SETTINGS_FILE
    from model.labels import ENTITY_TYPES, iob2_labels
    from tests.tiny_models import random_token_classifier

    labels = iob2_labels(ENTITY_TYPES)
    model = random_token_classifier(labels, seed=seed)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory))
    (directory / SETTINGS_FILE).write_text(
        json.dumps(
            {
                "format": "full",
                "name": "tiny",
                "labels": labels,
                "max_length": 32,
                "stride": 8,
                "backbone": "test",
            }
        ),
        encoding="utf-8",
    )
    return directory


@pytest.fixture(scope="session")
def tiny_model_id(tiny_model_dir: Path) -> str:
    """The model id of :func:`tiny_model_dir`."""
    from model.artefact import model_id_of

    return model_id_of(tiny_model_dir)


# -- subprocesses ------------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a command-line subprocess: offline, quiet warnings."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONWARNINGS": "ignore",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PRICEWAR_DB", None)
    env.update(extra)
    return env


def run_cli(
    package: str,
    *args: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    preexec_fn: Any = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <package> <args>`` in the repository root and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", package, *map(str, args)],
        cwd=ROOT,
        env=dict(env or cli_env()),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
        check=False,
    )


def kill9(proc: subprocess.Popen[Any]) -> bool:
    """``kill -9`` ``proc``; True if it was still running (the kill interrupted it)."""
    running = proc.poll() is None
    if running:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    return running


def assert_no_traceback(text: str) -> None:
    """An expected failure is one clear line, never a Python traceback."""
    assert "Traceback (most recent call last)" not in text, text[-3000:]


# -- streamlit run -----------------------------------------------------------------------


@contextlib.contextmanager
def streamlit_server(
    db: Path,
    *,
    model_dir: Path | None = None,
    autotag: bool = False,
    env: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
) -> Iterator[Server]:
    """``streamlit run dashboard/app.py`` serving ``db`` on a free loopback port.

    Args:
        db: the database file (``PRICEWAR_DB``).
        model_dir: the tagger artefact the in-app job loads (``PRICEWAR_MODEL_DIR``).
        autotag: whether the app starts tagging by itself when it opens the store.
        env: more environment variables.
        options: more ``streamlit run`` options (e.g. ``--server.maxUploadSize``).
    """
    full_env = cli_env(
        PRICEWAR_DB=str(db), PRICEWAR_AUTOTAG="1" if autotag else "0", PRICEWAR_INBOX_SECONDS="1"
    )
    full_env["OMP_NUM_THREADS"] = "1"  # the in-app job leaves a core to the sessions
    if model_dir is not None:
        full_env["PRICEWAR_MODEL_DIR"] = str(model_dir)
    full_env.update(env or {})
    log = db.with_name(f"streamlit-{db.stem}-{os.getpid()}-{time.monotonic_ns()}.log")
    with run_streamlit(
        db, full_env, log=log, options=options, keep_log=ARTIFACTS / log.name
    ) as server:
        yield server


# -- the browser -------------------------------------------------------------------------


def open_page(page: Any, url: str, timeout: float = 120) -> float:
    """Go to ``url``, wait for the page title and the script to finish; return seconds."""
    started = time.monotonic()
    page.goto(url)
    page.wait_for_selector("h1", timeout=timeout * 1000)
    settle(page, timeout)
    return time.monotonic() - started


def choose(page: Any, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox or multiselect labelled ``label`` (by typing it)."""
    box = page.get_by_role("combobox", name=label)
    box.scroll_into_view_if_needed()
    box.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option).first.wait_for(timeout=30_000)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    settle(page)


#: Elements that exist only if a hostile text was interpreted instead of shown.
INJECTED_SELECTORS = (
    'img[src="x"]',
    'img[src*="example.invalid"]',
    'a[href^="javascript:"]',
    "script:not([src])",
)

INJECTED_JS = """() => {
  const found = [];
  for (const sel of ['img[src="x"]', 'img[src*="example.invalid"]', 'a[href^="javascript:"]',
                     'iframe[srcdoc]']) {
    if (document.querySelector(sel)) found.push(sel);
  }
  for (const s of document.querySelectorAll('script:not([src])')) {
    if (s.textContent.includes('__xss')) found.push('inline script with __xss');
  }
  for (const f of document.querySelectorAll('iframe')) {
    try {
      const d = f.contentDocument;
      if (d && d.querySelector('img[src="x"], a[href^="javascript:"]')) found.push('in iframe');
      if (f.contentWindow && f.contentWindow.__xss) found.push('__xss set in iframe');
    } catch (e) { }
  }
  if (window.__xss) found.push('window.__xss = ' + window.__xss);
  return found;
}"""


def page_problems(page: Any, *, errors_allowed: bool = False) -> list[str]:
    """What is wrong on the page: exception elements, error boxes, dialogs, injected HTML."""
    problems: list[str] = []
    if page.locator('[data-testid="stException"]').count():
        problems.append(
            "exception: "
            + " | ".join(page.locator('[data-testid="stException"]').all_inner_texts())[:500]
        )
    if not errors_allowed:
        errors = page.locator('[data-testid="stAlertContentError"]')
        if errors.count():
            problems.append("error box: " + " | ".join(errors.all_inner_texts())[:500])
    if page.dialogs:
        problems.append(f"dialogs: {page.dialogs}")
    problems += [f"injected: {x}" for x in page.evaluate(INJECTED_JS)]
    if page.get_by_text("Page not found").count():
        problems.append("page not found")
    return problems


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(0.95 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def record_figure(name: str, value: Any) -> None:
    """Print a measured figure and keep it in ``tests/artifacts/reliability/figures.json``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "figures.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str))
    print(f"FIGURE {name}: {value}")


def output_targets(folder: Path) -> list[Path]:
    """Places an output must never be written through, made inside ``folder``: a FIFO, a
    link to it, a dangling link (to ``folder/nowhere``) and, for root only, a device node
    of our own (never ``/dev/null`` itself)."""
    fifo = folder / "out.fifo"
    os.mkfifo(fifo)
    link = folder / "link.jsonl"
    link.symlink_to(fifo)
    dangling = folder / "dangling.jsonl"
    dangling.symlink_to(folder / "nowhere")
    targets = [fifo, link, dangling]
    node = folder / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        targets.append(node)
    except (PermissionError, OSError):
        pass
    return targets


def add_ticket_naming_openai(db: Path, key: str, text: str, source: str) -> None:
    """Add ticket ``key`` (``text``, from ``source``, today) whose "OpenAI" is a gold ORG
    entity, tagged by ``gold-test``."""
    from data.store import Store

    org = text.index("OpenAI")

    def add(conn: Any) -> None:
        conn.execute(
            "INSERT INTO tickets (ticket_key, customer_id, created_at, subject, text, "
            "source, source_id) SELECT ?, customer_id, now()::TIMESTAMP, 'refund', ?, ?, "
            "'1' FROM customers LIMIT 1",
            [key, text, source],
        )
        conn.execute(
            "INSERT INTO entities VALUES (?, 'gold-test', ?, ?, 'ORG', 'OpenAI', 0.9)",
            [key, org, org + len("OpenAI")],
        )
        conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) "
            "VALUES (?, 'gold-test', 'test')",
            [key],
        )

    with Store.open(db) as store:
        store.write(add)


def downloaded_ticket_rows(downloads: Mapping[str, bytes], key: str) -> list[dict[str, str]]:
    """The rows of ticket ``key`` in the Entities page's "Download these tickets (CSV)"."""
    import csv
    import io

    rows = csv.DictReader(io.StringIO(downloads["tickets.csv"].decode()))
    return [r for r in rows if r["ticket_key"] == key]


def app_probe(script: str, db: Path) -> dict[str, Any]:
    """Run ``script`` (``python -c``, the app's path as its argument) in a child process
    serving ``db`` with background jobs off, and return the JSON its last line prints (what
    it measured). The child's failure fails the test with its error output."""
    env = cli_env(PRICEWAR_DB=str(db), PRICEWAR_AUTOTAG="0", PRICEWAR_INBOX_SECONDS="0")
    run = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "dashboard" / "app.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def run_coroutine(coro: Any) -> Any:
    """``asyncio.run(coro)`` in a thread of its own: in the whole suite a session's browser
    (Playwright's sync API) keeps an event loop running in the main thread, where
    ``asyncio.run`` refuses to start ("cannot be called from a running event loop")."""
    import asyncio
    import threading

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="asyncio-run")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def replace_with(path: Path, kind: str) -> None:
    """Replace the file ``path`` by what a hostile writer may leave there: ``"fifo"`` (a
    named pipe: opened for reading, it waits for a writer for good), ``"dev_zero"`` (a
    link to ``/dev/zero``: read whole, it never ends), ``"folder"`` or ``"huge"`` (2 MiB
    of spaces)."""
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    elif kind == "huge":
        path.write_bytes(b" " * (2 << 20))
    else:
        raise ValueError(f"unknown kind {kind!r}")


def tagger_folder_with(tmp_path: Path, kind: str, name: str = "tagger.json") -> Path:
    """A copy of the default tagger whose file ``name`` is :func:`replace_with` ``kind``."""
    folder = tmp_path / f"model-{kind}"
    shutil.copytree(ROOT / "model" / "default", folder)
    replace_with(folder / name, kind)
    return folder
