"""The dashboard's state, one import for the pages: ``from dashboard import state``.

It gathers three modules, each with one concern:

- :mod:`dashboard.app_state`: the process-wide :class:`AppState` (one store, its tagging job
  and inbox poller per database file, shared by every session), :func:`store`,
  :func:`job`, :func:`db_path`;
- :mod:`dashboard.scenario_state`: this session's what-if scenario, bound to the session
  state and the URL (:func:`current_scenario`, :func:`set_scenario`, :func:`scenario_rev`);
- :mod:`dashboard.actions`: the write actions a person can start from a page, each
  role-checked and audited (:func:`upload_files`, :func:`start_tagging`,
  :func:`stop_tagging`, :func:`load_shards`, :func:`save_scenario`,
  :func:`delete_scenario`, :func:`reset_data`).

The background jobs themselves are in :mod:`dashboard.tagging_job` (``TaggingJob``),
:mod:`dashboard.inbox_poller` (``InboxPoller``) and :mod:`dashboard.job_settings` (their
settings), re-exported by :mod:`dashboard.jobs`.
"""

from __future__ import annotations

from dashboard.actions import (
    RESET_CONFIRM_WORD,
    delete_scenario,
    load_shards,
    reset_data,
    save_scenario,
    start_tagging,
    stop_tagging,
    upload_files,
)
from dashboard.app_state import (
    DEMO_TICKETS_VAR,
    MAX_DEMO_TICKETS,
    AppState,
    app_state,
    db_path,
    demo_tickets_from_env,
    job,
    store,
)
from dashboard.app_state import register_before_shutdown as register_before_shutdown
from dashboard.jobs import record_audit, tag_batch_from_env
from dashboard.scenario_state import (
    SCENARIO_KEY,
    SCENARIO_NOTE_KEY,
    SCENARIO_REV_KEY,
    current_scenario,
    scenario_rev,
    set_scenario,
)

__all__ = [
    "DEMO_TICKETS_VAR",
    "MAX_DEMO_TICKETS",
    "RESET_CONFIRM_WORD",
    "SCENARIO_KEY",
    "SCENARIO_NOTE_KEY",
    "SCENARIO_REV_KEY",
    "AppState",
    "app_state",
    "current_scenario",
    "db_path",
    "delete_scenario",
    "demo_tickets_from_env",
    "job",
    "load_shards",
    "record_audit",
    "reset_data",
    "save_scenario",
    "scenario_rev",
    "set_scenario",
    "start_tagging",
    "stop_tagging",
    "store",
    "tag_batch_from_env",
    "upload_files",
]
