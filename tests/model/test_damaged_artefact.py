"""A missing, truncated or unreadable artefact file: DamagedModelError, CLI exit 2, one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from data.store import Store
from model.cli import main
from model.errors import DamagedModelError, ModelNotFoundError
from model.tagger import Tagger
from tests.model.conftest import add_tickets, save_lora_artefact


def _damage(target: Path, name: str, how: str) -> None:
    path = target / name
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif how == "garbage":
        path.write_bytes(b"\x00\xffnot a model file at all" * 10)
    elif how == "empty":
        path.write_bytes(b"")


def _assert_says_what_to_do(exc: BaseException, folder: Path) -> None:
    message = str(exc)
    assert "\n" not in message
    assert str(folder) in message
    assert "python -m model train" in message and "restore" in message


FULL_CASES = [
    ("model.safetensors", "missing"),
    ("model.safetensors", "truncated"),
    ("model.safetensors", "garbage"),
    ("model.safetensors", "empty"),
    ("config.json", "missing"),
    ("config.json", "garbage"),
]


@pytest.mark.parametrize(("name", "how"), FULL_CASES)
def test_damaged_full_artefact_raises_damaged_model_error(name, how, keyword_dir, tmp_path):
    target = tmp_path / "broken"
    shutil.copytree(keyword_dir, target)
    _damage(target, name, how)
    with pytest.raises(DamagedModelError) as info:
        Tagger.load(target, device="cpu")
    assert isinstance(info.value, ModelNotFoundError)  # the CLI and the dashboard catch this
    _assert_says_what_to_do(info.value, target)


@pytest.mark.parametrize(
    ("name", "how"),
    [
        ("adapter_model.safetensors", "missing"),
        ("adapter_model.safetensors", "truncated"),
        ("adapter_config.json", "missing"),
        ("adapter_config.json", "garbage"),
    ],
)
def test_damaged_lora_artefact_raises_damaged_model_error(name, how, tmp_path):
    target = save_lora_artefact(tmp_path / "default")
    Tagger.load(target, device="cpu")  # whole, it loads
    _damage(target, name, how)
    with pytest.raises(DamagedModelError) as info:
        Tagger.load(target, device="cpu")
    _assert_says_what_to_do(info.value, target)


@pytest.mark.parametrize(
    ("name", "how"), [("model.safetensors", "truncated"), ("model.safetensors", "missing")]
)
def test_cli_tag_db_with_a_damaged_artefact_exits_2_with_one_line(
    name, how, keyword_dir, tmp_path, capsys
):
    target = tmp_path / "broken"
    shutil.copytree(keyword_dir, target)
    _damage(target, name, how)
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        add_tickets(store, ["Jane at Acme"])
    assert main(["tag", "--db", str(db), "--model", str(target), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("python -m model tag: error: ")
    assert str(target) in err[0] and "python -m model train" in err[0]
    with Store.open(db) as store:
        assert store.scalar("SELECT count(*) FROM tagging_runs") == 0


def test_an_intact_artefact_still_loads(keyword_dir):
    assert Tagger.load(keyword_dir, device="cpu").tag(["Jane"])[0][0].label == "PER"
