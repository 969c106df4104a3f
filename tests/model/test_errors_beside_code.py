"""The model errors that live beside their code (``model.cli.UsageError``,
``model.worker.RemoteError``) are still under ``model.errors.ModelError``."""

from __future__ import annotations

import pytest

from model.errors import ModelError


def test_a_usage_error_of_the_command_line_is_a_model_error() -> None:
    from model.cli import UsageError

    assert issubclass(UsageError, ModelError)


def test_an_unpicklable_error_of_the_tagging_process_is_a_model_error_and_a_runtime_error() -> None:
    from model.jobs import is_shutdown_error
    from model.worker import RemoteError, _exception

    error = _exception(("OddError", "cannot schedule new futures after interpreter shutdown"), 1)
    assert isinstance(error, RemoteError)
    with pytest.raises(ModelError, match="OddError: cannot schedule"):
        raise error
    assert is_shutdown_error(error)  # still a RuntimeError, as the job's check needs
