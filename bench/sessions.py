"""N sessions at once against one ``streamlit run`` while its tagging job runs.

::

    python -m bench.sessions --sessions 10              # a fresh 3,000-ticket demo
    python -m bench.sessions --sessions 25 --db var/pricewar.duckdb
    python -m bench.sessions --sessions 10 --chromium   # real browsers, for comparison
    python -m bench.sessions --sessions 10 --alone 30 --rounds 4   # tagging alone, then beside

The server is started as the browser tests start it (``bench.streamlit_server``: headless,
loopback, no file watcher, the project's ``.streamlit/config.toml``) on a demo store with
``PRICEWAR_AUTOTAG=1``, so the in-app tagging job tags the store while the sessions browse.
One warm-up visit opens the store and starts the job; the sessions begin once the sidebar
says it is tagging.

Each session opens the app, visits every page of the navigation the server sends (the admin
pages included: local mode is an admin), changes the what-if on Pricing (our price), uploads
a small CSV on Batch tagging (form submit), and saves a scenario on Scenarios (name, then
Save). By default the sessions are light clients (``bench.light_client``: Streamlit's own
protobuf messages over its websocket, as a browser sends them, fragment auto-reruns
included); each action is timed from the request to the ``script_finished`` of the run it
caused. ``--chromium`` drives N real Chromium tabs instead (one browser, one context each),
timing each action until the app's script state is ``notRunning``; on a small machine those
figures include the browsers' own rendering.

Errors: exception elements, error boxes, a page not found, disconnects, timeouts, failed
uploads, a save or an import that did not say it was done. The last line printed is::

    sessions: n=N p95=S median=S errors=K
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.light_client import Action, LightSession

ROOT = Path(__file__).resolve().parents[1]

TAGGING = re.compile(r"Tagging: ([\d,]+) of ([\d,]+)")
STARTING = re.compile(r"Loading|Looking for")  # the job's line before it tags
PRICE_KEY = r"wi_price_per_m_\d+"


def p95(values: Sequence[float]) -> float:
    """The 95th percentile of ``values`` by nearest rank, ``ceil(0.95 n)`` (NaN when empty)."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1] if ordered else float("nan")


def summary_line(n: int, times: Sequence[float], errors: int) -> str:
    """The contract line: ``sessions: n=N p95=S median=S errors=K``."""
    med = statistics.median(times) if times else float("nan")
    return f"sessions: n={n} p95={p95(times):.3f} median={med:.3f} errors={errors}"


def upload_bytes(index: int, rows: int = 3) -> tuple[str, bytes]:
    """A small ticket CSV for session ``index`` (its own ids, so nothing is a duplicate)."""
    stamp = time.time_ns()
    text = "id,text\n" + "".join(
        f"B{index}-{stamp}-{i},B{index} ticket {i}: Jane Doe at Acme moved from Azure to Paris\n"
        for i in range(rows)
    )
    return f"bench-session-{index}.csv", text.encode()


def _number(proto: object) -> float:
    value = getattr(proto, "value", 0.0)
    if getattr(proto, "set_value", False):
        return float(value)
    default = getattr(proto, "default", 0.0)
    try:
        return float(default[0]) if len(default) else float(value)  # type: ignore[arg-type]
    except TypeError:
        return float(default)  # type: ignore[arg-type]


# -- light sessions ------------------------------------------------------------------------


async def light_session(base: str, index: int, timeout: float, rounds: int = 1) -> list[Action]:
    """One user: open, every page, the what-if, an upload, a saved scenario (``rounds``
    times over, on one websocket)."""
    session = LightSession(base, timeout=timeout)
    try:
        await session.connect()
    except Exception as exc:
        return [Action("connect", timeout, [f"connect: {type(exc).__name__}: {exc}"[:300]])]
    try:
        for _ in range(rounds):
            await session.open()
            for page in list(session.pages):
                if page.url_path == "":
                    continue  # the default page: opened above
                action = await session.goto(page)
                if action.problems:
                    continue
                await _page_work(session, page.url_path, index)
    except Exception as exc:  # a missing widget, say: one error of this session
        session.actions.append(Action("session", 0.0, [f"{type(exc).__name__}: {exc}"[:300]]))
    finally:
        await session.close()
    return session.actions


async def _page_work(session: LightSession, url_path: str, index: int) -> None:
    if url_path == "pricing":
        box = session.widget(PRICE_KEY)
        new = round(_number(box.proto) * 1.1 + 0.013 * index, 4)
        await session.set_value(PRICE_KEY, new, name="what-if change")
    elif url_path == "batch-tagging":
        name, content = upload_bytes(index)
        action = await session.upload_and_submit("bt_files", "bt_import", name, content)
        if not action.problems and not any("Import done" in t for t in session.texts):
            action.problems.append("upload: no 'Import done'")
    elif url_path == "scenarios":
        name = f"bench session {index} {time.time_ns() % 10**9}"
        await session.set_value("sc_name", name, name="scenario name")
        action = await session.click("sc_save", name="save scenario")
        if not action.problems and not any("Saved as" in t for t in session.texts):
            action.problems.append("save: no 'Saved as'")


async def tagging_line(base: str, timeout: float) -> str:
    """The sidebar's tagging line as a new visitor sees it ('' when there is none)."""
    async with LightSession(base, timeout=timeout, auto_rerun=False) as probe:
        await probe.open()
        lines = [t for t in probe.texts if re.search(r"tagg|Loading|Looking for", t, re.I)]
        return lines[0].replace("\\", "") if lines else ""  # markdown escapes


async def run_light(
    base: str, n: int, timeout: float, rounds: int = 1
) -> tuple[list[list[Action]], float]:
    """N light sessions at once (each ``rounds`` visits); their actions and the wall time."""
    started = time.perf_counter()
    results = await asyncio.gather(*(light_session(base, i, timeout, rounds) for i in range(n)))
    return list(results), time.perf_counter() - started


# -- Chromium sessions ---------------------------------------------------------------------

SCRIPT_STATE_JS = (
    "() => document.querySelector('[data-testid=\"stApp\"]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)


async def chromium_session(
    browser: object, base: str, index: int, urls: Sequence[str], timeout: float, folder: Path
) -> list[Action]:
    """The same user in a real Chromium tab: each page by its address, then its action."""
    context = await browser.new_context(viewport={"width": 1300, "height": 900})  # type: ignore[attr-defined]
    page = await context.new_page()
    page.set_default_timeout(timeout * 1000)
    actions: list[Action] = []

    async def settled() -> None:
        await asyncio.sleep(0.3)
        await page.wait_for_function(SCRIPT_STATE_JS, timeout=timeout * 1000, polling=250)

    async def timed(name: str, work: object) -> None:
        started = time.perf_counter()
        problems: list[str] = []
        try:
            await work()  # type: ignore[operator]
            await settled()
            if await page.locator('[data-testid="stException"]').count():
                problems.append("exception")
            errors = page.locator('[data-testid="stAlertContentError"]')
            if await errors.count():
                problems.append(f"error box: {await errors.all_inner_texts()}"[:300])
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}"[:300])
        actions.append(Action(name, time.perf_counter() - started, problems))

    try:
        for url in urls:

            async def go(url: str = url) -> None:
                await page.goto(f"{base}/{url}")
                await page.wait_for_selector("h1")

            await timed(f"page /{url}", go)
            if url == "pricing":
                box = page.get_by_role("spinbutton", name="Our price, USD per 1M tokens")
                await box.fill(f"{0.41 + index * 0.013:.3f}")
                await timed("what-if change", lambda box=box: box.press("Enter"))
            elif url == "batch-tagging":
                name, content = upload_bytes(index)
                path = folder / name
                path.write_bytes(content)

                async def upload(path: Path = path) -> None:
                    await page.locator('input[type="file"]').set_input_files(str(path))
                    await page.locator(
                        '[data-testid="stFileUploader"]', has_text=path.name
                    ).wait_for()
                    await page.get_by_role("button", name=re.compile("Check and import")).click()
                    await page.locator("text=Import done").first.wait_for()

                await timed("upload", upload)
            elif url == "scenarios":
                box = page.get_by_label("Name")
                await box.fill(f"chromium session {index} {time.time_ns() % 10**9}")
                await timed("scenario name", lambda box=box: box.press("Enter"))

                async def save() -> None:
                    await page.get_by_role("button", name=re.compile("^Save")).click()
                    await page.wait_for_selector("text=Saved as")

                await timed("save scenario", save)
    finally:
        await context.close()
    return actions


async def run_chromium(
    base: str, n: int, timeout: float, folder: Path
) -> tuple[list[list[Action]], float]:
    """N Chromium tabs at once (one browser); their actions and the wall time."""
    from playwright.async_api import async_playwright

    from tests.chromium import CHROMIUM, CHROMIUM_ARGS

    async with LightSession(base, timeout=timeout, auto_rerun=False) as probe:
        await probe.open()
        urls = [p.url_path for p in probe.pages]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            started = time.perf_counter()
            results = await asyncio.gather(
                *(chromium_session(browser, base, i, urls, timeout, folder) for i in range(n))
            )
            return list(results), time.perf_counter() - started
        finally:
            await browser.close()


# -- the server and the report ---------------------------------------------------------------


def make_demo(folder: Path, tickets: int, seed: int = 9) -> Path:
    """A fresh demo store of ``tickets`` tickets in ``folder``."""
    from data.demo import generate_demo
    from data.store import Store

    path = folder / "sessions.duckdb"
    with Store.open(path) as store:
        generate_demo(store, tickets=tickets, seed=seed)
    return path


def server_env(db: Path, model_dir: Path | None) -> dict[str, str]:
    """The server's environment: offline, tagging on by itself, one thread for the job."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONWARNINGS": "ignore",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
        "PRICEWAR_DB": str(db),
        "PRICEWAR_AUTOTAG": "1",
    }
    if model_dir is not None:
        env["PRICEWAR_MODEL_DIR"] = str(model_dir)
    return env


async def wait_tagging(base: str, timeout: float, wait: float) -> str:
    """Open the app once (it opens the store and starts its job); wait while the job loads
    the tagger or looks for tickets (at most ``wait`` seconds); the sidebar's line."""
    deadline = time.monotonic() + wait
    line = await tagging_line(base, timeout)
    while (not line or STARTING.search(line)) and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        line = await tagging_line(base, timeout)
    return line


def report(results: list[list[Action]], wall: float) -> tuple[list[float], list[str]]:
    """Print the per-action table; return every action's seconds and every problem."""
    times = [a.seconds for actions in results for a in actions if a.name != "session"]
    problems = [
        f"session {i}: {a.name}: {p}"
        for i, actions in enumerate(results)
        for a in actions
        for p in a.problems
    ]
    by_name: dict[str, list[float]] = {}
    for actions in results:
        for a in actions:
            by_name.setdefault(a.name, []).append(a.seconds)
    width = max((len(k) for k in by_name), default=6)
    print(f"\n{'action':<{width}}  count  median      p95      max")
    for name, values in by_name.items():
        print(
            f"{name:<{width}}  {len(values):5d}  {statistics.median(values):6.3f}s  "
            f"{p95(values):6.3f}s  {max(values):6.3f}s"
        )
    print(f"\n{len(times)} actions in {wall:.1f} s wall")
    for p in problems[:30]:
        print(f"problem: {p}")
    if len(problems) > 30:
        print(f"... and {len(problems) - 30} more problems")
    return times, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10, help="sessions at once")
    ap.add_argument(
        "--db",
        type=Path,
        default=None,
        help="the store to serve (it is written to: uploads, scenarios, "
        "tagging); default: a fresh demo in a temporary folder",
    )
    ap.add_argument("--tickets", type=int, default=3000, help="tickets of the fresh demo")
    ap.add_argument("--port", type=int, default=None, help="default: a free port")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per action")
    ap.add_argument(
        "--model",
        type=Path,
        default=None,
        help="tagger artefact of the in-app job (default: the app's default)",
    )
    ap.add_argument(
        "--tag-wait",
        type=float,
        default=120,
        help="seconds to wait for the tagging job to start before the sessions",
    )
    ap.add_argument(
        "--chromium",
        action="store_true",
        help="real Chromium tabs (Debian's /usr/bin/chromium) instead of light clients",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="visits per light session, one after another (a longer window for the "
        "tagging throughput beside the sessions; later rounds list the earlier rounds' "
        "uploads and scenarios)",
    )
    ap.add_argument(
        "--alone",
        type=float,
        default=0.0,
        help="seconds to watch the tagging job alone before the sessions start (its "
        "throughput without them, printed beside the one with them)",
    )
    ap.add_argument(
        "--server-log",
        type=Path,
        default=None,
        help="keep a copy of the server's log here (its slow-page log: every page run)",
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from bench.streamlit_server import run_streamlit

    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as tmp:
        folder = Path(tmp)
        if args.db is None:
            started = time.perf_counter()
            db = make_demo(folder, args.tickets)
            made = f"fresh demo of {args.tickets:,} tickets ({time.perf_counter() - started:.1f} s)"
        else:
            db, made = args.db.resolve(), "given store"
        secrets = folder / "secrets.toml"  # no sign-in: local mode, an admin
        secrets.write_text("", encoding="utf-8")
        load = os.getloadavg()
        print(
            f"store: {db} ({made}); {args.sessions} "
            f"{'Chromium' if args.chromium else 'light'} sessions; python "
            f"{platform.python_version()}, {os.cpu_count()} cores, load "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        with run_streamlit(
            db,
            server_env(db, args.model),
            log=folder / "streamlit.log",
            port=args.port,
            secrets=secrets,
            start_timeout=120,
            keep_log=args.server_log,
        ) as server:
            before = asyncio.run(wait_tagging(server.url, args.timeout, args.tag_wait))
            print(f"before: {before or 'no tagging line in the sidebar'}")
            if args.alone > 0:
                before = asyncio.run(_tagging_alone(server.url, args.timeout, args.alone, before))
            log_before = len(server.log_text())
            if args.chromium:
                results, wall = asyncio.run(
                    run_chromium(server.url, args.sessions, args.timeout, folder)
                )
            else:
                results, wall = asyncio.run(
                    run_light(server.url, args.sessions, args.timeout, args.rounds)
                )
            sessions_log = server.log_text()[log_before:]
            after = asyncio.run(tagging_line(server.url, args.timeout))
            print(f"after:  {after or 'no tagging line in the sidebar'}")
            rate = _tagging_rate(before, after, wall)
            if rate:
                print(rate)
            times, problems = report(results, wall)
            if server.proc.poll() is not None:
                problems.append("the server exited")
            # the page runs of the sessions only (the warm-up visits logged before them)
            print_page_times(page_script_times(sessions_log))
    print(summary_line(args.sessions, times, len(problems)))
    return 0 if not problems else 1


PAGE_RUN = re.compile(r"page run: page='(?P<page>[^']*)' seconds=(?P<seconds>[\d.]+)")


def page_script_times(log_text: str) -> dict[str, list[float]]:
    """The server's slow-page log (``dashboard.pagelog``) read back: every full page run's
    script seconds, by page title, in order.

    Example:
        >>> page_script_times("x INFO dashboard.pages: page run: page='Overview' seconds=0.412 role=admin")
        {'Overview': [0.412]}
    """
    runs: dict[str, list[float]] = {}
    for match in PAGE_RUN.finditer(log_text):
        runs.setdefault(match["page"], []).append(float(match["seconds"]))
    return runs


def print_page_times(runs: dict[str, list[float]]) -> None:
    """The page runs' script time in the server (the slow-page log), per page."""
    if not runs:
        return
    header = "page script (server log)"
    width = max(len(header), *(len(k) for k in runs))
    print(f"\n{header:<{width}}  runs  median      max      sum")
    for page, values in runs.items():
        print(
            f"{page:<{width}}  {len(values):4d}  {statistics.median(values):6.3f}s  "
            f"{max(values):6.3f}s  {sum(values):6.1f}s"
        )


def _tagging_rate(before: str, after: str, wall: float, what: str = "beside the sessions") -> str:
    a, b = TAGGING.search(before), TAGGING.search(after)
    if not (a and b):
        return ""
    done = int(b.group(1).replace(",", "")) - int(a.group(1).replace(",", ""))
    return f"tagging {what}: {done:,} tickets in {wall:.1f} s ({done / wall:.1f}/s)"


async def _tagging_alone(base: str, timeout: float, seconds: float, before: str) -> str:
    """Watch the job with no session for ``seconds``; print its throughput; the sidebar's
    line at the end (where the sessions' window starts)."""
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    line = await tagging_line(base, timeout)
    rate = _tagging_rate(before, line, time.perf_counter() - started, "alone")
    print(rate or f"tagging alone: no count in {line!r}")
    return line


if __name__ == "__main__":
    raise SystemExit(main())
