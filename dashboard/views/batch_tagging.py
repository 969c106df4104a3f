"""Batch tagging: upload ticket files, check them, tag them, download the results.

Uploads, starting and stopping tagging and loading entity shards are for analysts (the
controls are drawn for them only, and each action checks the role again: ``dashboard.state``);
viewers see the job and the results, with customer data masked.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd
import streamlit as st

from analytics.explore import Filters
from analytics.explore.entity_lookup import entities_of_tickets
from dashboard import access, queries, state, ui
from dashboard.access import Role
from data import export
from data.export import entity_rows

st.title("Batch tagging")
st.caption(
    "Upload support tickets (CSV, TSV, JSONL or Parquet, gzipped or not, several at once). "
    "Each file is checked first: a file with problems is rejected as a whole and the report "
    "says what to fix; re-uploading a file adds nothing twice. Then tag the new tickets: the "
    "job runs in the background (on the GPU when there is one), keeps going when you open "
    "another page, and resumes where it stopped if it was interrupted."
)

TYPES = ["csv", "tsv", "tab", "txt", "jsonl", "ndjson", "parquet", "pq", "gz"]
#: Tickets shown as cards under "3. Results".
PREVIEW_TICKETS = 10
#: Most rows of the entity table, and most pages of tickets read to fill it.
ENTITY_TABLE_ROWS = 500
ENTITY_TABLE_PAGES = 4
#: Chosen files with at most this many tickets and bytes of text get their downloads built
#: with the page; larger ones when the button is clicked.
INLINE_DOWNLOAD_TICKETS = 1_000
INLINE_DOWNLOAD_BYTES = 8 * 2**20


def report_row(report: Any) -> dict[str, Any]:
    """One line of the validation report, from a ``data.ingest.IngestReport``."""
    columns = getattr(report, "columns", {}) or {}
    return {
        "file": str(report.file),
        "status": str(report.status),
        "rows": int(report.rows),
        "new_tickets": int(report.new_tickets),
        "duplicates": int(report.duplicates),
        "columns": ", ".join(f"{k} ← {v}" for k, v in columns.items()),
        # a column that could have been the text ("body" beside "text") is said, not dropped
        "not_used": ", ".join(str(c) for c in getattr(report, "ignored_columns", []) or []),
        "note": "" if report.status == "rejected" else str(report.message),
        "problems": [str(p) for p in report.problems]
        or ([str(report.message)] if report.status == "rejected" else []),
    }


job = state.job()
user = access.current_user()
may_write = user.can(Role.ANALYST)


def _upload() -> None:
    """Section 1: the upload form and its report (analysts only)."""
    from data.limits import limits_from_env

    limits = limits_from_env()
    # A form: its submit button stays disabled while a chosen file is still uploading, and
    # the click sends the files with it. (A plain button clicked mid-upload reran without
    # the file: tests/reliability/GAPS.md item 5.)
    with st.form("bt_upload", border=False):
        files = st.file_uploader(
            "Ticket files",
            type=TYPES,
            accept_multiple_files=True,
            key="bt_files",
            help="Needs a text column (e.g. `text` or `body`); optional "
            "id, date, customer, channel and category columns are "
            "kept.",
        )
        st.caption(
            f"Limits per file: {st.get_option('server.maxUploadSize'):,} MB uploaded "
            f"(server.maxUploadSize), {limits.max_bytes / 2**20:,.0f} MiB after "
            f"decompression, {limits.max_rows:,} rows, {limits.max_text_chars:,} "
            "characters per ticket (PRICEWAR_MAX_UPLOAD_BYTES, PRICEWAR_MAX_UPLOAD_ROWS, "
            "PRICEWAR_MAX_TEXT_CHARS)."
        )
        clicked = st.form_submit_button(
            "Check and import", type="primary", key="bt_import", icon=":material/fact_check:"
        )
    if clicked and not files:
        st.warning("Choose one or more ticket files above first.", icon=":material/upload_file:")
    elif clicked:
        with st.spinner("Checking and importing…"):
            reports = state.upload_files(list(files or []))  # checks the role, audits
        rows = [report_row(r) for r in reports]
        st.session_state["bt_reports"] = rows
        imported = [str(r["file"]) for r in rows if r["status"] != "rejected"]
        if imported:
            st.session_state["bt_sources"] = imported

    reports = st.session_state.get("bt_reports")
    if reports:
        table = pd.DataFrame([{k: v for k, v in r.items() if k != "problems"} for r in reports])
        st.dataframe(table, hide_index=True, width="stretch")
        for r in reports:
            if r["status"] == "rejected":
                st.error(
                    f"{ui.md_text(r['file'])} was rejected; nothing of it was imported. "
                    "Fix these problems and upload it again:",
                    icon=":material/block:",
                )
                st.code("\n".join(str(p) for p in r["problems"]), language=None)
        if any(r["status"] == "imported" for r in reports):
            st.success("Import done. Start tagging below to find the entities in the new tickets.")


if may_write:
    st.subheader("1. Upload and check")
    with ui.page_guard("the upload"):
        _upload()
else:
    st.info(
        f"You have the {user.role_label} role: uploading files, starting or stopping "
        "tagging and loading entity shards need the analyst role. Ask an admin if you "
        "need it. You can follow the tagging job and read and download the results below.",
        icon=":material/lock:",
    )

st.subheader("2. Tag")


PANEL_REFRESH_SECONDS = 2.0  # how often the job panel refreshes while tagging runs


def _job_panel() -> None:
    status = job.status()

    # 2 s: live enough for a progress bar, half the server work of 1 s per open page.
    @st.fragment(run_every=PANEL_REFRESH_SECONDS if status.running else None)
    @ui.guarded("the tagging job")
    def panel() -> None:
        s = job.status()
        model_id = s.model_id or queries.current_model_id()
        done, total = queries.tagging_progress(model_id)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Tickets tagged", f"{done:,} / {total:,}")
        c2.metric("Speed", f"{s.rate:,.0f} tickets/s" if s.rate else "—")
        c3.metric("Device", (s.device or "—").upper())
        c4.metric("Job", s.state)
        if s.running:
            st.progress(s.fraction, text=f"{s.done:,} of {s.total:,} tickets in this run")
        elif done < total:
            last = queries.last_tagging_run()
            stopped = last is not None and last["status"] in {"running", "interrupted"}
            st.info(
                f"{total - done:,} tickets are not tagged yet."
                + (
                    " The last run stopped before the end; Start tagging resumes where it "
                    "stopped, without tagging anything twice."
                    if stopped
                    else " Start tagging to tag them."
                ),
                icon=":material/pending:",
            )
        if s.state == "failed":
            st.error(ui.md_text(s.message))
        elif s.message and not s.running:
            st.caption(ui.md_text(s.message))
        if may_write:  # the actions check the role again (state.start_tagging, stop_tagging)
            b1, b2, _ = st.columns([1, 1, 4])
            if b1.button(
                "Start tagging",
                type="primary",
                disabled=s.running,
                key="bt_start",
                icon=":material/play_arrow:",
            ):
                state.start_tagging()
                st.rerun()
            if b2.button("Stop", disabled=not s.running, key="bt_stop", icon=":material/stop:"):
                state.stop_tagging()
                st.rerun()
        if not s.running and status.running:
            st.rerun()  # the run just ended: refresh the whole page (results below)

    panel()


_job_panel()


def _shard_loader() -> None:
    """Load a folder of entity shards written by ``python -m model tag --engine ray``
    (analysts only; ``state.load_shards`` checks the role again and audits)."""
    from data.errors import DataError

    with st.expander("Load entities tagged on a cluster (Ray)", icon=":material/hub:"):
        st.caption(
            "A folder written by `python -m model tag --engine ray --input FILES "
            "--output DIR`, on this server. Its entities join the tickets of the same "
            "files (import those above first); loading it twice adds nothing."
        )
        folder = st.text_input(
            "Folder of entity shards (a path on the server)",
            key="bt_shards",
            placeholder="var/entity-shards",
        )
        if st.button(
            "Load entity shards",
            key="bt_load_shards",
            icon=":material/download:",
            disabled=not folder.strip(),
        ):
            try:
                with st.spinner("Loading…"):
                    report = state.load_shards(folder)
            except (DataError, OSError) as exc:
                st.session_state["bt_shard_result"] = ("error", str(exc))
            else:
                kind = "success" if report.new_tickets else "info"
                st.session_state["bt_shard_result"] = (kind, report.message)
        result = st.session_state.get("bt_shard_result")
        if result:
            kind, message = result
            getattr(st, kind)(ui.md_text(message))


if may_write:
    _shard_loader()

st.subheader("3. Results")
uploaded = queries.sources()
if ui.empty_frame(uploaded):
    st.info(
        "No uploaded files yet. Upload a file above; its tagged tickets appear here."
        if may_write
        else "No uploaded files yet."
    )
    st.stop()
names = list(uploaded["source"])
default = [n for n in st.session_state.get("bt_sources", []) if n in names] or names[:1]
# a file named after a customer ("export jane.doe@example.org.csv") is masked for a viewer
# masked once per name: Streamlit formats every value a session sends, and a forged value
# may repeat one name 400,000 times (round 16: 15 s of mask_text per page run)
_masked = {} if user.sees_pii else {n: ui.mask_text(n) for n in names}
shown_name = str if user.sees_pii else (lambda n: _masked.get(n, "…"))
chosen = ui.chosen_options(
    st.multiselect("Files", names, default=default, key="bt_show", format_func=shown_name), names
)
if not chosen:
    st.info("Choose at least one file to see its tickets.")
    st.stop()
model_id = job.status().model_id or queries.current_model_id()
# Only the preview's tickets are read at each run; the tables and downloads below go page by
# page (export.source_ticket_pages): reading every chosen ticket at each run held about ten
# times the files' text (3,000 tickets of 99,000 characters: 3.5 GB).
preview = ui.visible_tickets(
    queries.ticket_list(Filters(), model_id, sources=tuple(chosen), limit=PREVIEW_TICKETS), user
)
store = state.store()
n_tickets = int(uploaded.loc[uploaded["source"].isin(chosen), "tickets"].sum())
n_tagged = export.tagged_ticket_count(store, model_id, chosen)
st.caption(
    f"{n_tickets:,} tickets from the chosen files; {n_tagged:,} with entities "
    f"(model {ui.md_text(model_id or 'none yet')}). The newest {len(preview):,}:"
)
st.html(ui.ticket_cards_html(preview, ("source", ("source_id", "ticket_key"))))


def _visible_pages() -> Iterator[pd.DataFrame]:
    """The chosen files' tickets with their entities, newest first, a page at a time, as
    this user may see them (customer data masked for viewers)."""
    for keys in export.source_ticket_pages(store, chosen, model_id=model_id):
        page = export.tickets_of_keys(store, keys)
        page["entities"] = entities_of_tickets(store, model_id, keys)
        yield ui.visible_tickets(page, user)


def _entity_table() -> pd.DataFrame:
    """The entities of the newest tickets: at most :data:`ENTITY_TABLE_ROWS` rows, from at
    most :data:`ENTITY_TABLE_PAGES` pages of tickets."""
    parts = [entity_rows(pd.DataFrame(columns=["ticket_key", "source", "source_id", "entities"]))]
    if n_tagged:
        pages = itertools.islice(export.source_ticket_pages(store, chosen), ENTITY_TABLE_PAGES)
        for keys in pages:
            # only the entities the table shows are read (a ticket may hold thousands)
            left = ENTITY_TABLE_ROWS - sum(len(p) for p in parts)
            page = export.tickets_of_keys(store, keys)
            page["entities"] = export.entities_of_keys(store, model_id, keys, limit=left)
            parts.append(entity_rows(ui.visible_tickets(page, user)))
            if sum(len(p) for p in parts) >= ENTITY_TABLE_ROWS:
                break
    return pd.concat(parts, ignore_index=True).head(ENTITY_TABLE_ROWS)


def _of_visible_pages(build: Callable[[Iterable[pd.DataFrame]], bytes]) -> bytes:
    """A download's bytes: ``build`` (``data.export.entities_csv``, ``tickets_jsonl``) of the
    chosen files' tickets as this user may see them, read anew at each build."""
    return build(_visible_pages())


st.dataframe(_entity_table(), hide_index=True, width="stretch")

# Small selections get their downloads with the page (ready at once); larger ones are built
# when clicked, page by page and bounded (export.MAX_DOWNLOAD_BYTES), one build at a time in
# the process (clicks sent at once each held a build: export.built_one_at_a_time).
inline = n_tickets <= INLINE_DOWNLOAD_TICKETS and (
    export.text_bytes(store, chosen) <= INLINE_DOWNLOAD_BYTES
)
downloads = [
    ("Entities (CSV)", export.entities_csv, "entities.csv", "text/csv", "bt_csv"),
    (
        "Tickets with entities (JSONL)",
        export.tickets_jsonl,
        "tagged_tickets.jsonl",
        "application/x-ndjson",
        "bt_jsonl",
    ),
]
for column, (label, build, file_name, mime, key) in zip(
    st.columns([1, 1, 3])[:2], downloads, strict=True
):
    column.download_button(
        label,
        export.now_or_on_click(functools.partial(_of_visible_pages, build), now=inline),
        file_name=file_name,
        mime=mime,
        icon=":material/download:",
        key=key,
        on_click="ignore",
    )
st.caption(
    "Each download holds the chosen files' tickets, newest first, up to "
    f"{export.MAX_DOWNLOAD_BYTES // 2**20:,} MiB. " + ui.CSV_NOTE
)
