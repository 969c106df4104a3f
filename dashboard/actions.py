"""The write actions a person can start from a page, each role-checked and audited.

Every write a page can start goes through one of these: :func:`upload_files`,
:func:`start_tagging`, :func:`stop_tagging`, :func:`load_shards`, :func:`save_scenario`,
:func:`delete_scenario`, :func:`reset_data`. Each checks the current user's role itself
(``dashboard.access.require``), so a crafted rerun cannot reach the write, and leaves a row
in the audit trail (``data.audit``). After a write the data version is read again at once
(:func:`dashboard.data_versions.refresh`), so the next run of any page sees the new data; no cache
is emptied.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dashboard.app_state import app_state, job, store
from dashboard.jobs import record_audit

__all__ = [
    "RESET_CONFIRM_WORD",
    "delete_scenario",
    "distinct_files",
    "load_shards",
    "reset_data",
    "save_scenario",
    "start_tagging",
    "stop_tagging",
    "upload_files",
]


def _require(role_name: str, action: str, target: str | None = None) -> Any:
    """``access.require`` for the app's store (the refusal's audit row goes there)."""
    from dashboard import access

    app = app_state()
    return access.require(
        access.Role[role_name], action, target=target, store=app.store if app.ready else None
    )


def _data_changed() -> None:
    """After a write: the next page run reads the data version again (no cache emptied)."""
    from dashboard import queries

    queries.refresh()


def distinct_files(files: Iterable[Any]) -> list[Any]:
    """``files`` with each uploaded file once, in order: by Streamlit's ``file_id`` (one
    upload), else by the object itself.

    A browser lists each chosen file once, but Streamlit builds one ``UploadedFile`` per
    entry of the uploader's state as the session sent it: one uploaded file named 300
    times was hashed, looked up and audited 300 times (round 18).

    Example:
        >>> class F:
        ...     def __init__(self, file_id): self.file_id = file_id
        >>> a, b = F("a"), F("b")
        >>> [f.file_id for f in distinct_files([a, b, a, F("a")])]
        ['a', 'b']
    """
    seen: set[object] = set()
    out = []
    for f in files:
        key = getattr(f, "file_id", None) or id(f)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def upload_files(files: list[Any]) -> list[Any]:
    """Check and import uploaded ticket files (``data.ingest.ingest_files``), as an analyst,
    each uploaded file once (:func:`distinct_files`).

    Records one ``upload`` row per file (target: the file's name, detail: the outcome).

    Raises:
        AccessDenied: the current user is not an analyst (nothing is read or written).
    """
    from data import audit
    from data.ingest import ingest_files

    files = distinct_files(files)
    names = ", ".join(str(getattr(f, "name", "?")) for f in files)[:500]
    user = _require("ANALYST", audit.UPLOAD, names or None)
    the_store = store()
    reports = ingest_files(the_store, list(files))
    for report in reports:
        outcome = (
            f"{report.status}: {int(report.rows):,} rows, {int(report.new_tickets):,} "
            f"new tickets, {int(report.duplicates):,} duplicates"
        )
        if report.status == "rejected":
            outcome += "; " + "; ".join(str(p) for p in report.problems)[:500]
        record_audit(
            the_store,
            actor=user.actor,
            action=audit.UPLOAD,
            target=str(report.file),
            detail=outcome,
            role=user.role_label,
        )
    _data_changed()
    return reports


def start_tagging() -> bool:
    """Start (or queue) the tagging job as an analyst; True if a run started.

    Raises:
        AccessDenied: the current user is not an analyst (the job is unchanged).
    """
    from data import audit

    user = _require("ANALYST", audit.TAG_START)
    return job().start(user.actor, role=user.role_label)


def stop_tagging() -> None:
    """Ask the tagging job to stop after its current batch, as an analyst.

    Raises:
        AccessDenied: the current user is not an analyst (the job is unchanged).
    """
    from data import audit

    user = _require("ANALYST", audit.TAG_STOP)
    job().stop(user.actor, role=user.role_label)


def load_shards(folder: str | Path) -> Any:
    """Load a folder of entity shards (``data.shard_loading.load_entity_shards``), as an
    analyst; the ``shard_load`` row has the folder and the outcome (or the error).

    Raises:
        AccessDenied: the current user is not an analyst (nothing is read or written).
        DataError, OSError: the folder cannot be loaded (recorded, then raised).
    """
    from data import audit
    from data.shard_loading import load_entity_shards

    typed = Path(str(folder).strip())
    try:
        path = typed.expanduser()
    except RuntimeError:  # "~name/…" of no such user: a folder named so, which is not there
        path = typed
    user = _require("ANALYST", audit.SHARD_LOAD, str(path))
    the_store = store()
    try:
        report = load_entity_shards(the_store, path)
    except Exception as exc:
        record_audit(
            the_store,
            actor=user.actor,
            action=audit.SHARD_LOAD,
            target=str(path),
            detail=f"failed: {exc}"[:500],
            role=user.role_label,
        )
        raise
    record_audit(
        the_store,
        actor=user.actor,
        action=audit.SHARD_LOAD,
        target=str(path),
        detail=str(report.message),
        role=user.role_label,
    )
    _data_changed()
    return report


def save_scenario(scenario: Any) -> str:
    """Save ``scenario`` under its cleaned name (``analytics.saved_scenarios.save_scenario``:
    NFC, no control or invisible characters), as an analyst; returns the name it was
    saved under.

    Raises:
        AccessDenied: the current user is not an analyst (nothing is saved).
        ScenarioError: the scenario cannot be saved (no name, a name too long, or an input
            named with more than ``scenario_state.MAX_INPUT_NAME_CHARS`` characters).
    """
    from analytics.errors import ScenarioError
    from analytics.saved_scenarios import clean_scenario_name
    from analytics.saved_scenarios import save_scenario as save
    from dashboard.scenario_state import scenario_name_problem
    from data import audit

    name = clean_scenario_name(scenario.name)
    user = _require("ANALYST", audit.SCENARIO_SAVE, name)
    if (problem := scenario_name_problem(scenario)) is not None:
        # a forged table edit; saved, every page comparing the scenario would carry it
        raise ScenarioError(problem)
    the_store = store()
    existed = the_store.scalar("SELECT count(*) FROM scenarios WHERE name = ?", [name])
    save(the_store, scenario)  # the name as typed: its length is checked as typed too
    record_audit(
        the_store,
        actor=user.actor,
        action=audit.SCENARIO_SAVE,
        target=name,
        detail="replaced" if existed else "created",
        role=user.role_label,
    )
    return name


def delete_scenario(name: str) -> bool:
    """Delete the saved scenario ``name``, as an analyst; True when one was deleted.

    Raises:
        AccessDenied: the current user is not an analyst (nothing is deleted).
    """
    from analytics.saved_scenarios import delete_scenario as delete
    from data import audit

    user = _require("ANALYST", audit.SCENARIO_DELETE, name)
    the_store = store()
    deleted = delete(the_store, name)
    record_audit(
        the_store,
        actor=user.actor,
        action=audit.SCENARIO_DELETE,
        target=name,
        detail="deleted" if deleted else "not found",
        role=user.role_label,
    )
    return deleted


#: The word an admin types to confirm a data reset (Settings page).
RESET_CONFIRM_WORD = "RESET"


def reset_data(kind: str, target: str | None, confirmation: str) -> Any:
    """Run one data reset (``data.reset.reset``) as an admin; returns its ``ResetResult``.

    Raises:
        AccessDenied: the current user is not an admin (recorded; nothing is removed).
        data.reset.ResetError: the confirmation word is wrong, tagging is running (for a
            model or a batch), or the target is unknown; nothing is removed.
    """
    from data import audit, reset

    where = kind if target is None else f"{kind}:{target}"
    admin = _require("ADMIN", audit.DATA_RESET, where)
    if (confirmation or "").strip() != RESET_CONFIRM_WORD:
        raise reset.ResetError(f"type {RESET_CONFIRM_WORD} to confirm the reset")
    if kind != reset.SCENARIOS and job().status().running:
        raise reset.ResetError(
            "tagging is running: stop it on Batch tagging (it stops "
            "after its current batch), then reset"
        )
    try:
        return reset.reset(store(), kind, target, actor=admin.actor, role=admin.role_label)
    finally:
        _data_changed()
