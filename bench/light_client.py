"""A light Streamlit client: the browser's protobuf messages over ``/_stcore/stream``.

One :class:`LightSession` is one browser tab without the browser: it opens the websocket the
way Streamlit's frontend does (subprotocols ``["streamlit", <xsrf token>]``, the
``_streamlit_xsrf`` cookie, a same-origin ``Origin``), sends ``BackMsg.rerun_script`` with
the page's script hash, the query string and the widget states, and reads the
``ForwardMsg`` stream: the navigation (the pages the server lists for this user), every
element (widgets by their user key, exception elements, error boxes, texts), the
``auto_rerun`` requests of ``st.fragment(run_every=…)`` (answered like a browser, with
fragment reruns) and ``script_finished``. Uploads go through ``file_urls_request`` and a
``PUT`` of a multipart body to ``/_stcore/upload_file/<session>/<file>``, as the frontend's
``st.file_uploader`` does.

Every action is timed from the request to the ``script_finished`` of the full script run it
caused (fragment runs do not count). Problems (exception elements, error boxes, a page not
found, a disconnect, a timeout, a failed upload) are collected, never raised, so a benchmark
can count them.

Example::

    async with LightSession("http://127.0.0.1:8501") as s:
        await s.open()                      # the default page
        await s.goto("pricing")             # a page by its url path
        await s.set_value("wi_price_per_m_0", 0.5)
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

#: The elements that carry a widget id (``element.<kind>.id``).
WIDGET_KINDS = {
    "button",
    "button_group",
    "checkbox",
    "color_picker",
    "date_input",
    "download_button",
    "file_uploader",
    "multiselect",
    "number_input",
    "radio",
    "selectbox",
    "slider",
    "text_area",
    "text_input",
    "time_input",
    "date_time_input",
    "chat_input",
    "camera_input",
    "audio_input",
    "dataframe",
    "menu_button",
    "feedback",
}
_FINISHED = ForwardMsg.ScriptFinishedStatus
_ERROR_ALERT = 1  # streamlit.proto.Alert.Format.ERROR


@dataclass
class Page:
    """One page of the navigation the server sent."""

    script_hash: str
    name: str
    url_path: str
    section: str = ""


@dataclass
class Widget:
    """A widget the last runs drew: its kind, id and proto (for defaults and options)."""

    kind: str
    id: str
    proto: Any
    fragment_id: str = ""  # the fragment that draws it: a change reruns that fragment only


@dataclass
class Action:
    """One timed action of a session and what went wrong in it."""

    name: str
    seconds: float
    problems: list[str] = field(default_factory=list)


class LightSession:
    """One simulated browser session against a running ``streamlit run``.

    Args:
        base_url: ``http://host:port`` of the server.
        timeout: seconds an action may take before it counts as a timeout.
        auto_rerun: answer the server's ``auto_rerun`` requests with fragment reruns, as a
            browser does (a sidebar that refreshes while a job runs).
    """

    def __init__(self, base_url: str, *, timeout: float = 120, auto_rerun: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.auto_rerun = auto_rerun
        self.session_id = ""
        self.pages: list[Page] = []
        self.page_hash = ""
        self.widgets: dict[str, Widget] = {}  # by widget id
        self.values: dict[str, WidgetState] = {}  # what the "browser" holds, by widget id
        self.texts: list[str] = []  # markdown, alerts, headings of the current full run
        self.actions: list[Action] = []
        self.fragment_runs = 0
        self._ws: Any = None
        self._cookie = ""
        self._xsrf = ""
        self._reader: asyncio.Task | None = None
        self._finished: asyncio.Future | None = None
        self._run_problems: list[str] = []
        self._run_ids: set[str] = set()
        self._urls: dict[str, asyncio.Future] = {}
        self._auto: dict[str, asyncio.Task] = {}
        self._auto_pending = 0  # fragment auto-reruns sent and not finished yet
        self._auto_idle = asyncio.Event()
        self._auto_idle.set()
        self._fragment_action = False  # the action in flight reruns a fragment
        self._closed_reason = ""

    # -- connection ------------------------------------------------------------------------

    async def __aenter__(self) -> LightSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Fetch the XSRF cookie (as the page load does) and open the websocket."""
        from websockets.asyncio.client import connect

        headers = await asyncio.to_thread(self._http, "GET", "/_stcore/health")
        for name, value in headers:
            if name.lower() == "set-cookie" and value.startswith("_streamlit_xsrf="):
                self._xsrf = value.split(";", 1)[0].split("=", 1)[1].strip('"')
        self._cookie = f"_streamlit_xsrf={self._xsrf}" if self._xsrf else ""
        ws_url = "ws" + self.base_url[4:] + "/_stcore/stream"
        protocols = ["streamlit", self._xsrf] if self._xsrf else ["streamlit"]
        extra = {"Origin": self.base_url}
        if self._cookie:
            extra["Cookie"] = self._cookie
        self._ws = await connect(
            ws_url,
            subprotocols=protocols,
            additional_headers=extra,
            max_size=None,
            open_timeout=self.timeout,
            ping_interval=None,
        )
        self._reader = asyncio.create_task(self._read(), name="light-client-reader")

    async def close(self) -> None:
        """Stop the fragment reruns and close the websocket."""
        for task in self._auto.values():
            task.cancel()
        self._auto.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    def _http(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> list[tuple[str, str]]:
        url = path if path.startswith("http") else self.base_url + path
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            resp.read()
            return list(resp.headers.items())

    # -- the ForwardMsg stream -------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg)
            self._closed_reason = "server closed the websocket"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a disconnect is a problem of the action waiting on it
            self._closed_reason = f"websocket: {type(exc).__name__}: {exc}"[:300]
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(f"disconnected ({self._closed_reason})")

    #: The method that takes in each kind of ``ForwardMsg`` (by name); other kinds are ignored.
    _HANDLERS: ClassVar[dict[str, str]] = {
        "new_session": "_new_session",
        "navigation": "_navigation",
        "delta": "_delta",
        "page_not_found": "_page_not_found",
        "file_urls_response": "_file_urls_response",
        "auto_rerun": "_auto_rerun_asked",
        "script_finished": "_script_finished",
    }

    def _handle(self, msg: ForwardMsg) -> None:
        """Take in one ``ForwardMsg``, by the method :attr:`_HANDLERS` names for its kind."""
        handler = self._HANDLERS.get(msg.WhichOneof("type") or "")
        if handler is not None:
            getattr(self, handler)(msg)

    def _new_session(self, msg: ForwardMsg) -> None:
        """The session's id, from the server's first message."""
        self.session_id = msg.new_session.initialize.session_id

    def _navigation(self, msg: ForwardMsg) -> None:
        """The pages the server lists for this user, and the page now shown."""
        self.pages = [
            Page(p.page_script_hash, p.page_name, p.url_pathname, p.section_header)
            for p in msg.navigation.app_pages
        ]
        self.page_hash = msg.navigation.page_script_hash or self.page_hash

    def _page_not_found(self, msg: ForwardMsg) -> None:
        """A page the server does not have: a problem of the run."""
        self._run_problems.append(f"page not found: {msg.page_not_found.page_name!r}")

    def _file_urls_response(self, msg: ForwardMsg) -> None:
        """Upload addresses: the answer :meth:`upload_urls` waits for."""
        future = self._urls.pop(msg.file_urls_response.response_id, None)
        if future is not None and not future.done():
            future.set_result(msg.file_urls_response)

    def _auto_rerun_asked(self, msg: ForwardMsg) -> None:
        """A fragment's ``run_every``: rerun it on that beat, when this session answers those."""
        if self.auto_rerun:
            self._start_auto(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)

    def _script_finished(self, msg: ForwardMsg) -> None:
        """A run ended: a fragment's (:meth:`_fragment_finished`), or a full run (an action's)."""
        status = msg.script_finished
        if status == _FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self._fragment_finished()
        elif status in (_FINISHED.FINISHED_SUCCESSFULLY, _FINISHED.FINISHED_WITH_COMPILE_ERROR):
            if status == _FINISHED.FINISHED_WITH_COMPILE_ERROR:
                self._run_problems.append("script compile error")
            if self._finished is not None and not self._finished.done():
                self._finished.set_result("")

    def _fragment_finished(self) -> None:
        """A fragment run ended: an auto-rerun's, else that of the fragment action waiting."""
        self.fragment_runs += 1
        if self._auto_pending:
            self._auto_pending -= 1
            if not self._auto_pending:
                self._auto_idle.set()
        elif self._fragment_action and self._finished is not None and not self._finished.done():
            self._finished.set_result("")

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        kind = el.WhichOneof("type")
        if kind == "exception":
            self._run_problems.append(
                f"exception: {el.exception.type}: {el.exception.message}"[:300]
            )
        elif kind == "alert":
            self.texts.append(el.alert.body)
            if el.alert.format == _ERROR_ALERT:
                self._run_problems.append(f"error box: {el.alert.body}"[:300])
        elif kind in {"markdown", "heading", "text"}:
            self.texts.append(getattr(el, kind).body)
        elif kind in WIDGET_KINDS:
            proto = getattr(el, kind)
            wid = getattr(proto, "id", "")
            if wid:
                self.widgets[wid] = Widget(kind, wid, proto, delta.fragment_id)
                self._run_ids.add(wid)

    def _start_auto(self, fragment_id: str, interval: float) -> None:
        old = self._auto.pop(fragment_id, None)
        if old is not None:
            old.cancel()

        async def tick() -> None:
            while True:
                await asyncio.sleep(interval)
                if self._finished is not None and not self._finished.done():
                    continue  # an action's run is on its way
                self._auto_pending += 1
                self._auto_idle.clear()
                await self._send_rerun(fragment_id=fragment_id, auto=True)

        self._auto[fragment_id] = asyncio.create_task(tick(), name=f"auto-rerun-{fragment_id}")

    # -- requests ----------------------------------------------------------------------------

    async def _send(self, back: BackMsg) -> None:
        await self._ws.send(back.SerializeToString())

    async def _send_rerun(
        self,
        *,
        page_hash: str | None = None,
        fragment_id: str = "",
        auto: bool = False,
        query: str = "",
        triggers: tuple[WidgetState, ...] = (),
    ) -> None:
        state = ClientState(
            query_string=query,
            page_script_hash=(self.page_hash if page_hash is None else page_hash),
            fragment_id=fragment_id,
            is_auto_rerun=auto,
        )
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = self.base_url + "/" + self._url_path(state.page_script_hash)
        for value in [*self.values.values(), *triggers]:
            state.widget_states.widgets.append(value)
        back = BackMsg()
        back.rerun_script.CopyFrom(state)
        await self._send(back)

    def _url_path(self, page_hash: str) -> str:
        return next((p.url_path for p in self.pages if p.script_hash == page_hash), "")

    async def run(
        self,
        name: str,
        *,
        page_hash: str | None = None,
        fragment_id: str = "",
        triggers: tuple[WidgetState, ...] = (),
        before: Any = None,
    ) -> Action:
        """Send one rerun and wait for its ``script_finished``; record the action.

        Args:
            name: what the action is called in the report.
            page_hash: the page to run (default: the current one).
            fragment_id: rerun only this fragment (a widget inside ``st.fragment``
                changed); its ``script_finished`` is the fragment's.
            triggers: one-shot widget states (button clicks) sent with this rerun only.
            before: an optional coroutine function awaited first, inside the timing
                (e.g. an upload).
        """
        loop = asyncio.get_running_loop()
        if not fragment_id:
            for task in self._auto.values():  # the frontend forgets them on a new run
                task.cancel()
            self._auto.clear()
        if self._auto_pending:  # not timed: let a fragment auto-rerun in flight finish
            try:
                await asyncio.wait_for(self._auto_idle.wait(), self.timeout)
            except TimeoutError:
                self._auto_pending = 0
                self._auto_idle.set()
        self._finished = loop.create_future()
        self._fragment_action = bool(fragment_id)
        self._run_problems = []
        if not fragment_id:
            self._run_ids = set()
            self.texts = []
        started = time.perf_counter()
        problems: list[str] = []
        try:
            if self._closed_reason:
                raise ConnectionError(self._closed_reason)
            if before is not None:
                await before()
            if page_hash is not None:
                self.page_hash = page_hash
            await self._send_rerun(triggers=triggers, fragment_id=fragment_id)
            outcome = await asyncio.wait_for(self._finished, self.timeout)
            if outcome:
                problems.append(outcome)
        except TimeoutError:
            problems.append(f"timeout after {self.timeout:.0f} s")
        except Exception as exc:  # a disconnect or a failed upload
            problems.append(f"{type(exc).__name__}: {exc}"[:300])
        seconds = time.perf_counter() - started
        problems += self._run_problems
        if not problems and self._run_ids and not fragment_id:
            # the browser drops the values of widgets that the finished run did not draw
            self.values = {k: v for k, v in self.values.items() if k in self._run_ids}
        action = Action(name, seconds, problems)
        self.actions.append(action)
        return action

    # -- what a user does --------------------------------------------------------------------

    def page(self, url_path: str) -> Page:
        """The page of the navigation served at ``url_path`` ("" is the default page)."""
        for p in self.pages:
            if p.url_path == url_path:
                return p
        raise LookupError(
            f"no page {url_path!r} in the navigation {[p.url_path for p in self.pages]}"
        )

    async def open(self) -> Action:
        """The first run of a new tab at the app's root (the default page)."""
        return await self.run("open", page_hash="")

    async def goto(self, page: Page) -> Action:
        """Click a page in the navigation."""
        return await self.run(f"page {page.url_path or '/'}", page_hash=page.script_hash)

    def widget(self, key: str) -> Widget:
        """The widget drawn with user key ``key`` (a regular expression matched in full)."""
        pattern = re.compile(key)
        for w in self.widgets.values():
            user_key = w.id.split("-", 2)[-1] if w.id.startswith("$$ID-") else w.id
            if pattern.fullmatch(user_key) and w.id in self._run_ids:
                return w
        raise LookupError(f"no widget with key {key!r} on this page")

    async def set_value(self, key: str, value: Any, name: str | None = None) -> Action:
        """Change a widget's value (number, text, bool) and rerun, as on Enter or blur."""
        w = self.widget(key)
        state = WidgetState(id=w.id)
        if isinstance(value, bool):
            state.bool_value = value
        elif isinstance(value, float):
            state.double_value = value
        elif isinstance(value, int):
            state.int_value = value
        else:
            state.string_value = str(value)
        self.values[w.id] = state
        return await self.run(name or f"set {key}", fragment_id=w.fragment_id)

    async def click(
        self,
        key: str,
        name: str | None = None,
        values: tuple[WidgetState, ...] = (),
        before: Any = None,
    ) -> Action:
        """Click a button (or a form's submit button) and wait for the run."""
        w = self.widget(key)
        return await self.run(
            name or f"click {key}",
            fragment_id=w.fragment_id,
            triggers=(*values, WidgetState(id=w.id, trigger_value=True)),
            before=before,
        )

    async def upload_and_submit(
        self,
        uploader_key: str,
        submit_key: str,
        filename: str,
        content: bytes,
        name: str = "upload",
    ) -> Action:
        """Choose a file in a form's ``st.file_uploader`` and press the form's submit button:
        ask the server for upload URLs, ``PUT`` the file, then submit with the uploader's
        state, all inside the timed action."""
        uploader = self.widget(uploader_key)
        w = self.widget(submit_key)

        async def before() -> None:
            (urls,) = await self.upload_urls([filename])
            state = WidgetState(id=uploader.id)
            info = await self.put_file(urls, filename, content)
            state.file_uploader_state_value.uploaded_file_info.append(info)
            self.values[uploader.id] = state

        action = await self.run(
            name,
            fragment_id=w.fragment_id,
            triggers=(WidgetState(id=w.id, trigger_value=True),),
            before=before,
        )
        self.values.pop(uploader.id, None)  # the form clears on submit (clear_on_submit off:
        return action  # the file stays listed, nothing is resent)

    async def upload_urls(self, names: Sequence[str]) -> list[FileURLs]:
        """Ask the server for upload addresses, one per name, as ``st.file_uploader``'s
        frontend does (a ``file_urls_request``; no uploader needs to be on the page).

        Raises:
            RuntimeError: the server answered with an error message.
            TimeoutError: no answer within the session's timeout.
        """
        request_id = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self._urls[request_id] = future
        back = BackMsg()
        back.file_urls_request.request_id = request_id
        back.file_urls_request.session_id = self.session_id
        back.file_urls_request.file_names.extend(names)
        await self._send(back)
        response = await asyncio.wait_for(future, self.timeout)
        if response.error_msg:
            raise RuntimeError(f"upload refused: {response.error_msg}")
        return list(response.file_urls)

    async def put_file(self, urls: FileURLs, filename: str, content: bytes) -> UploadedFileInfo:
        """``PUT`` one file to an address from :meth:`upload_urls`, as the frontend does;
        the entry an uploader's widget state lists for it.

        Raises:
            RuntimeError: the server refused the ``PUT`` (its status and body, in words).
        """
        await asyncio.to_thread(self._put, urls.upload_url, filename, content)
        info = UploadedFileInfo(name=filename, size=len(content), file_id=urls.file_id)
        info.file_urls.CopyFrom(urls)
        return info

    def _put(self, url: str, filename: str, content: bytes) -> None:
        boundary = uuid.uuid4().hex
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        body += content + f"\r\n--{boundary}--\r\n".encode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": self.base_url,
        }
        if self._xsrf:
            headers["X-Xsrftoken"] = self._xsrf
            headers["Cookie"] = self._cookie
        try:
            self._http("PUT", url, body, headers)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"upload PUT {exc.code}: {exc.read()[:200]!r}") from exc
