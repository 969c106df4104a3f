"""model.folder_swap: a finished folder replaces another whole, or not at all."""

from __future__ import annotations

import os

import pytest

from model import folder_swap
from model.folder_swap import replace_folder, staging_folder


def _fill(folder, text):
    (folder / "weights.bin").write_text(text, encoding="utf-8")


def test_a_new_folder_takes_the_old_ones_place_and_nothing_else_is_left(tmp_path):
    target = tmp_path / "artefact"
    target.mkdir()
    _fill(target, "old")
    staging = staging_folder(target)
    assert staging.parent == tmp_path and staging.name.startswith(".artefact.")
    assert staging.stat().st_mode & 0o777 == 0o755  # others may read the artefact it becomes
    _fill(staging, "new")
    (staging / "weights.bin").chmod(0o600)  # as safetensors writes its files
    replace_folder(staging, target)
    assert (target / "weights.bin").read_text(encoding="utf-8") == "new"
    assert (target / "weights.bin").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["artefact"]


def test_a_missing_target_is_simply_created(tmp_path):
    target = tmp_path / "deep" / "artefact"
    staging = staging_folder(target)
    _fill(staging, "new")
    replace_folder(staging, target)
    assert (target / "weights.bin").read_text(encoding="utf-8") == "new"
    assert [p.name for p in target.parent.iterdir()] == ["artefact"]


def test_a_failed_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    target = tmp_path / "artefact"
    target.mkdir()
    _fill(target, "old")
    staging = staging_folder(target)
    _fill(staging, "new")
    real_replace = os.replace

    def failing(src, dst):
        if os.fspath(src) == os.fspath(staging):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(folder_swap.os, "replace", failing)
    with pytest.raises(OSError, match="No space"):
        replace_folder(staging, target)
    assert (target / "weights.bin").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["artefact", staging.name])
