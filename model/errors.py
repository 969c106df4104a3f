"""Exceptions raised by the model layer, in one place (as ``data.errors``).

    ModelError
     ├── ModelNotFoundError (FileNotFoundError)   the folder is not a tagger artefact
     │    ├── DamagedModelError                   its weights or config are missing/damaged
     │    └── ModelChangedError                   it changed while it was being loaded
     ├── BackboneMissingError (RuntimeError)      the backbone package is not installed
     ├── DatasetError (ValueError)                a training/evaluation file is malformed
     ├── LabelMapError (ValueError)               a ``--label-map`` cannot be parsed
     ├── FileModeError (ValueError)               an input file cannot be tagged as asked
     ├── RayMissingError (ImportError)            Ray Data is not installed
     ├── RayTagError (ValueError)                 a Ray job cannot run as asked
     ├── TaggerProcessError (RuntimeError)        the tagging process died or was closed
     ├── RemoteError (RuntimeError)               an error raised inside the tagging process
     │                                            (defined beside its code, model/worker.py)
     └── UsageError                               a command-line flag out of range (model/cli.py)

Each keeps the built-in base it always had, so ``except FileNotFoundError`` and the like go
on catching it; ``except ModelError`` catches every one. Messages are one line for people
and name the file, line or setting at fault.
"""

from __future__ import annotations

__all__ = [
    "BackboneMissingError",
    "DamagedModelError",
    "DatasetError",
    "FileModeError",
    "LabelMapError",
    "ModelError",
    "ModelChangedError",
    "ModelNotFoundError",
    "RayMissingError",
    "RayTagError",
    "TaggerProcessError",
]


class ModelError(Exception):
    """Base class of every error the model layer raises on purpose."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """The folder is not a tagger artefact."""


class DamagedModelError(ModelNotFoundError):
    """The folder is a tagger artefact whose weights are missing, truncated or unreadable."""


class ModelChangedError(ModelNotFoundError):
    """The artefact's files were replaced or rewritten while they were being loaded: the
    weights in memory and the model id (a hash of the files) might not belong together."""


class BackboneMissingError(ModelError, RuntimeError):
    """The backbone package is not installed."""


class DatasetError(ModelError, ValueError):
    """A training or evaluation file is malformed (the message names file and line)."""


class LabelMapError(ModelError, ValueError):
    """A ``--label-map`` specification could not be parsed."""


class FileModeError(ModelError, ValueError):
    """The input file cannot be tagged as asked (unreadable, missing column, …)."""


class RayMissingError(ModelError, ImportError):
    """Ray Data is not installed."""


class RayTagError(ModelError, ValueError):
    """The Ray job cannot run as asked (no input files, too few GPUs, …)."""


class TaggerProcessError(ModelError, RuntimeError):
    """The tagging process is gone: it died (killed, crashed, out of memory) or was closed.

    A ``RuntimeError``, so that :func:`model.jobs.is_shutdown_error` recognises the case of a
    tagger closed at interpreter shutdown (its message then says "interpreter shutdown").
    """
