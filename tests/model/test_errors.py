"""model/errors.py: one exception tree for the model layer, each keeping its built-in base."""

from __future__ import annotations

import pytest

from model import errors


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("ModelNotFoundError", FileNotFoundError),
        ("DamagedModelError", FileNotFoundError),
        ("BackboneMissingError", RuntimeError),
        ("DatasetError", ValueError),
        ("LabelMapError", ValueError),
        ("FileModeError", ValueError),
        ("RayMissingError", ImportError),
        ("RayTagError", ValueError),
        ("TaggerProcessError", RuntimeError),
    ],
)
def test_every_model_error_is_a_model_error_and_keeps_its_builtin_base(name, builtin):
    cls = getattr(errors, name)
    assert issubclass(cls, errors.ModelError) and issubclass(cls, builtin)
    assert name in errors.__all__ and name in errors.__doc__


def test_the_modules_that_raise_them_raise_these_very_classes():
    from model import artefact, backbone, datasets, filemode, labels, tagger, worker

    assert artefact.DamagedModelError is errors.DamagedModelError
    assert artefact.ModelNotFoundError is errors.ModelNotFoundError
    assert backbone.BackboneMissingError is errors.BackboneMissingError
    assert datasets.DatasetError is errors.DatasetError
    assert labels.LabelMapError is errors.LabelMapError
    assert filemode.FileModeError is errors.FileModeError
    assert worker.TaggerProcessError is errors.TaggerProcessError
    with pytest.raises(errors.ModelError, match="no-such-folder"):
        tagger.Tagger.load("no-such-folder")
