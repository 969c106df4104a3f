"""The background jobs' settings, read from the environment, and what they share: who
acts for the app in the audit trail (:func:`record_audit`) and the tagger the settings
choose (:func:`load_tagger`).

Each setting is read when it is asked for, never at import; a bad value is a
``data.errors.ConfigError`` naming the variable, which the pages show (``PRICEWAR_TAG_PROCESS``
takes any value: only 0/false/no/off turn it off).

Environment (``PRICEWAR_MODEL_DIR`` is read by ``dashboard.tagging_job``):
    PRICEWAR_AUTOTAG          off (0/false/no/off) to not start background tagging by itself
                              (default on); another value is a message naming it
    PRICEWAR_INBOX_SECONDS    how often the inbox is checked, whole seconds (default 5;
                              0 or off disables)
    PRICEWAR_TAG_BATCH        batch size of background tagging (default 32; 1–4,096, else
                              every page says what is wrong with it)
    PRICEWAR_TAG_PROCESS      "0" to run the tagger in the app's process (a thread) instead
                              of its own child process (default "1")
    PRICEWAR_TAG_THREADS      torch threads of the tagging process (default: the cores but
                              one, at least 1; 1–256, else every page says what is wrong)
    PRICEWAR_MODEL_DIR        tagger artefact to use (default ``model.DEFAULT_MODEL_DIR``)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from data.store import Store

log = logging.getLogger("dashboard.jobs")  # the name the log has always used

#: Who acts when the app starts tagging by itself (on start, after an inbox import).
SYSTEM_ACTOR = "system"
#: Who acts for a tagging request handed over by a command line that did not say.
CLI_ACTOR = "cli"


def record_audit(
    store: Store | None,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    role: str | None = None,
    source: str = "app",
) -> None:
    """One row of the audit trail (``data.audit.record``); a failure is logged, never raised
    (the action it records has already happened)."""
    if store is None:
        return
    try:
        from data import audit

        audit.record(
            store,
            actor=actor,
            action=action,
            target=target,
            detail=detail,
            role=role,
            source=source,
        )
    except Exception:
        log.exception("audit row not written: %s %s %s", actor, action, target)


TAG_BATCH_VAR = "PRICEWAR_TAG_BATCH"
DEFAULT_TAG_BATCH = 32


def whole_number_setting(env: Any, name: str, default: int, most: int, what: str) -> int:
    """``env[name]`` as a whole number from 1 to ``most`` (``_`` separators allowed), or
    ``default`` when unset or blank.

    Raises:
        data.errors.ConfigError: anything else, naming the variable and what it sets.
    """
    from data.errors import ConfigError

    text = env.get(name, "").strip()
    if not text:
        return default
    digits = text.replace("_", "")
    # ASCII digits only: str.isdigit() accepts "²" and "④", which int() refuses
    ok = digits.isascii() and digits.isdigit() and len(digits) <= 12
    if not ok or not 1 <= int(digits) <= most:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ConfigError(
            f"{name} must be a whole number from 1 to {most:,} ({what}), "
            f"not {shown!r}; fix or unset it and restart the app"
        )
    return int(digits)


def tag_batch_from_env(environ: dict[str, str] | None = None) -> int:
    """The batch size of background tagging: ``$PRICEWAR_TAG_BATCH`` (default 32).

    Read when the app opens its store (never at import), so a bad value is shown on the
    page as a message naming the variable (like the upload limits,
    ``data.limits.limits_from_env``) instead of stopping the app.

    Raises:
        data.errors.ConfigError: not a whole number from 1 to 4,096 (the most a tagging
            request may ask, ``data.tag_requests.MAX_BATCH_SIZE``).
    """
    from data.tag_requests import MAX_BATCH_SIZE

    return whole_number_setting(
        os.environ if environ is None else environ,
        TAG_BATCH_VAR,
        DEFAULT_TAG_BATCH,
        MAX_BATCH_SIZE,
        "the batch size of background tagging",
    )


_OFF = {"0", "false", "no", "off"}
_ON = {"", "1", "true", "yes", "on"}


def _switch_setting(env: Any, name: str, default: bool) -> bool:
    """``env[name]`` as on/off (``1 true yes on`` / ``0 false no off``, any case; unset or
    blank: ``default``).

    Raises:
        data.errors.ConfigError: any other value, naming the variable.
    """
    from data.errors import ConfigError

    text = env.get(name, "").strip().lower()
    if text in _OFF:
        return False
    if text in _ON:
        return default if not text else True
    shown = text if len(text) <= 40 else text[:39] + "…"
    raise ConfigError(
        f"{name} must be on or off (1/true/yes/on or 0/false/no/off), "
        f"not {shown!r}; fix or unset it and restart the app"
    )


def autotag_enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether the app tags new tickets in the background by itself (``$PRICEWAR_AUTOTAG``,
    default on).

    Raises:
        data.errors.ConfigError: a value that is neither on nor off.
    """
    return _switch_setting(os.environ if environ is None else environ, "PRICEWAR_AUTOTAG", True)


INBOX_SECONDS_VAR = "PRICEWAR_INBOX_SECONDS"
DEFAULT_INBOX_SECONDS = 5


def inbox_seconds_from_env(environ: dict[str, str] | None = None) -> int:
    """How often the inbox is checked: ``$PRICEWAR_INBOX_SECONDS`` whole seconds (default 5;
    ``0``/``off``: never; the poller caps it at ``data.heartbeat.MAX_POLL_SECONDS``, what the
    command lines believe of a heartbeat).

    Raises:
        data.errors.ConfigError: anything else, naming the variable.
    """
    env = os.environ if environ is None else environ
    if env.get(INBOX_SECONDS_VAR, "").strip().lower() in {"0", "off"}:
        return 0
    return whole_number_setting(
        env,
        INBOX_SECONDS_VAR,
        DEFAULT_INBOX_SECONDS,
        7 * 86_400,
        "seconds between checks of the inbox; 0 or off: never",
    )


TAG_PROCESS_VAR = "PRICEWAR_TAG_PROCESS"
TAG_THREADS_VAR = "PRICEWAR_TAG_THREADS"
MAX_TAG_THREADS = 256


def tag_process_enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether the tagger runs in its own process (``$PRICEWAR_TAG_PROCESS``, default on)."""
    env = os.environ if environ is None else environ
    return env.get(TAG_PROCESS_VAR, "1").strip().lower() not in {"0", "false", "no", "off"}


def default_tag_threads() -> int:
    """Every core this process may use but one, at least 1: the default torch threads of the
    tagging process (on the 2-core build machine that is 1: one core stays free for the
    pages)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def tag_threads_from_env(environ: dict[str, str] | None = None) -> int:
    """Torch threads of the tagging process: ``$PRICEWAR_TAG_THREADS`` (default:
    :func:`default_tag_threads`, 1 on a 2-core machine).

    Read when the app opens its store, like :func:`tag_batch_from_env` (no torch import).

    Raises:
        data.errors.ConfigError: not a whole number from 1 to 256.
    """
    env = os.environ if environ is None else environ
    if not env.get(TAG_THREADS_VAR, "").strip():
        return default_tag_threads()
    return whole_number_setting(
        env, TAG_THREADS_VAR, 1, MAX_TAG_THREADS, "the torch threads of the tagging process"
    )


def load_tagger(model_dir: str | Path | None = None) -> Any:
    """The app's tagger for ``model_dir`` (None: the default one; GPU when there is one):
    a :class:`model.worker.ProcessTagger` with ``$PRICEWAR_TAG_THREADS`` threads, or with
    ``PRICEWAR_TAG_PROCESS=0`` a :class:`model.Tagger` in this process."""
    if not tag_process_enabled():
        from model import Tagger

        return Tagger.load(model_dir, device="auto")
    from model.worker import ProcessTagger

    return ProcessTagger.start(model_dir, threads=tag_threads_from_env(), device="auto")
