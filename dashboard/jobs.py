"""The app's background work, one import away: ``from dashboard.jobs import …``.

Each part lives in its own module; this one re-exports their names (``app_state``,
``state``, ``actions`` and the tests use them from here):

- ``job_settings``: the jobs' settings read from the environment (``PRICEWAR_AUTOTAG``,
  ``PRICEWAR_INBOX_SECONDS``, ``PRICEWAR_TAG_BATCH``, ``PRICEWAR_TAG_PROCESS``,
  ``PRICEWAR_TAG_THREADS``), the audit helper :func:`record_audit` and its actors, and
  :func:`load_tagger`;
- ``tagging_job``: the background tagging job (:class:`TaggingJob`, :class:`JobStatus`,
  :class:`PagesFirstStore`);
- ``inbox_poller``: :class:`InboxPoller`, which imports what command-line jobs hand to the
  running app.

A test that replaces one of these names must patch the module that defines it (the modules
call each other directly, not through ``jobs``): e.g. ``dashboard.tagging_job.default_loader``.
"""

from __future__ import annotations

from dashboard.inbox_poller import InboxPoller
from dashboard.job_settings import (
    CLI_ACTOR,
    DEFAULT_INBOX_SECONDS,
    DEFAULT_TAG_BATCH,
    INBOX_SECONDS_VAR,
    MAX_TAG_THREADS,
    SYSTEM_ACTOR,
    TAG_BATCH_VAR,
    TAG_PROCESS_VAR,
    TAG_THREADS_VAR,
    autotag_enabled,
    default_tag_threads,
    inbox_seconds_from_env,
    load_tagger,
    record_audit,
    tag_batch_from_env,
    tag_process_enabled,
    tag_threads_from_env,
    whole_number_setting,
)
from dashboard.tagging_job import JobStatus, PagesFirstStore, TaggingJob, default_loader

__all__ = [
    # job_settings
    "CLI_ACTOR",
    "DEFAULT_INBOX_SECONDS",
    "DEFAULT_TAG_BATCH",
    "INBOX_SECONDS_VAR",
    "MAX_TAG_THREADS",
    "SYSTEM_ACTOR",
    "TAG_BATCH_VAR",
    "TAG_PROCESS_VAR",
    "TAG_THREADS_VAR",
    "autotag_enabled",
    "default_tag_threads",
    "inbox_seconds_from_env",
    "load_tagger",
    "record_audit",
    "tag_batch_from_env",
    "tag_process_enabled",
    "tag_threads_from_env",
    "whole_number_setting",
    # tagging_job
    "JobStatus",
    "PagesFirstStore",
    "TaggingJob",
    # inbox_poller
    "InboxPoller",
    # a private name some tests use through ``jobs`` (read it here; patch it in tagging_job)
    "default_loader",
]
