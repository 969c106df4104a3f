"""``python -m model.train rescore DIR``: an artefact measured again with today's engine, on
the evaluation sets rebuilt from the training command its ``metrics.json`` records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model.artefact import SETTINGS_FILE, model_id_of
from model.labels import ARGMAX, VITERBI
from model.train_recipe import main
from model.train_rescore import rescore
from tests.model.conftest import save_lora_artefact, train_random_two_heads

TINY_RECIPE = [
    "--epochs", "1", "--scale", "0.003", "--tickets", "24", "--val-tickets", "12",
    "--test-tickets", "12", "--goemotions-val", "12", "--btc-per-epoch", "8",
    "--wikigold-per-epoch", "4", "--goemotions-per-epoch", "8", "--batch-size", "8",
    "--full", "--no-int8", "--precision", "fp32", "--device", "cpu", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """The shipped recipe's command, on a sliver of its data, with a tiny random model."""
    out = tmp_path_factory.mktemp("rescore") / "run"
    with pytest.MonkeyPatch.context() as patch:
        train_random_two_heads(patch)
        assert main(["two-head", "--output", str(out), *TINY_RECIPE]) == 0
    return out


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


def test_rescoring_rebuilds_the_same_sets_and_finds_the_same_scores(trained, capsys):
    first = _metrics(trained)
    assert first["decoding"] == VITERBI
    assert json.loads((trained / SETTINGS_FILE).read_text())["decoding"] == VITERBI
    assert main(["rescore", str(trained), "--no-int8"]) == 0
    again = _metrics(trained)
    # the same files, splits and seeds, the same engine: the same figures, set by set
    assert set(again["scores"]) == set(first["scores"]) >= {"val_real", "wnut17_dev", "btc_h"}
    assert again["scores"] == first["scores"]
    assert again["sentiment_scores"] == first["sentiment_scores"]
    assert again["model_id"] == first["model_id"] == model_id_of(trained)
    assert again["history"] == first["history"]  # training's record is kept
    record = again["rescored"]
    assert record["command"] == f"python -m model.train rescore {trained} --no-int8"
    assert record["decoding"] == record["decoding_before"] == VITERBI
    assert record["overall_f1_before"] == {
        n: s["overall"]["f1"] for n, s in first["scores"].items()
    }
    chosen = [
        first["scores"]["val_real"]["overall"]["f1"],
        first["scores"]["val_tickets"]["overall"]["f1"],
        first["sentiment_scores"]["val_goemotions"]["macro_f1"],
    ]
    assert record["selection_f1"] == pytest.approx(sum(chosen) / 3, abs=1e-4)
    assert "selection" in capsys.readouterr().out


def test_a_new_decoding_is_written_first_and_gives_a_new_id(trained, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(trained, folder)
    before = _metrics(folder)
    metrics = rescore(folder, int8=False, decoding=ARGMAX, log=lambda _m: None)
    assert json.loads((folder / SETTINGS_FILE).read_text())["decoding"] == ARGMAX
    assert metrics["decoding"] == ARGMAX and metrics["rescored"]["decoding_before"] == VITERBI
    assert metrics["model_id"] == model_id_of(folder) != before["model_id"]
    assert _metrics(folder) == metrics
    assert not list(folder.glob("*.tmp"))


def test_float16_halves_a_whole_model_that_loads_in_float32_and_tags_as_before(
    trained, tmp_path, capsys
):
    import shutil

    import torch
    from safetensors.torch import load_file

    from model.artefact import load_model

    folder = tmp_path / "half"
    shutil.copytree(trained, folder)
    before, size = _metrics(folder), (folder / "model.safetensors").stat().st_size
    assert main(["rescore", str(folder), "--no-int8", "--float16"]) == 0
    after = _metrics(folder)
    assert (folder / "model.safetensors").stat().st_size < 0.55 * size
    assert torch.float32 not in {t.dtype for t in load_file(folder / "model.safetensors").values()}
    assert after["model_id"] == model_id_of(folder) != before["model_id"]
    assert after["rescored"]["command"].endswith("--no-int8 --float16")
    whole, half = load_model(trained).eval(), load_model(folder).eval()
    assert {p.dtype for p in half.parameters()} == {torch.float32}
    ids = torch.randint(5, 100, (2, 12))
    with torch.no_grad():
        a = whole(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        b = half(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    assert torch.allclose(a, b, atol=2e-3 * float(a.abs().max())), float((a - b).abs().max())
    assert not list(folder.glob("*.partial"))


def test_float16_refuses_a_lora_artefact_before_writing(trained, tmp_path, capsys):
    folder = save_lora_artefact(tmp_path / "lora")
    shutil.copy(trained / "metrics.json", folder)  # a recorded command, as a run leaves it
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["rescore", str(folder), "--no-int8", "--float16"]) == 2
    assert "only a whole model (format 'full') is stored in float16" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files


def test_a_folder_without_a_recorded_command_is_refused(trained, tmp_path, capsys):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(trained, folder)
    metrics = _metrics(folder)
    metrics["data"].pop("command")
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    assert main(["rescore", str(folder), "--no-int8"]) == 2
    err = capsys.readouterr().err
    assert "metrics.json: no 'python -m model.train two-head' command" in err
    assert json.loads((folder / "metrics.json").read_text()) == metrics  # untouched


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"data": ', "metrics.json is not valid JSON"),
        (b"\xff\xfe{}", "metrics.json is not UTF-8 text"),
        (b"[1, 2]", "metrics.json holds no JSON object"),
        (b"[" * 200_000 + b"]" * 200_000, "metrics.json is not usable JSON"),  # too deep
        (b" " * ((1 << 22) + 1), "metrics.json is 4,194,305 bytes"),
    ],
)
def test_a_damaged_metrics_file_is_refused_by_name(trained, tmp_path, capsys, content, message):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(trained, folder)
    settings = (folder / SETTINGS_FILE).read_bytes()
    (folder / "metrics.json").write_bytes(content)
    assert main(["rescore", str(folder), "--no-int8"]) == 2
    err = capsys.readouterr().err
    assert f"error: {folder / 'metrics.json'}" in err and message in err
    assert (folder / "metrics.json").read_bytes() == content  # untouched
    assert (folder / SETTINGS_FILE).read_bytes() == settings


def test_a_named_pipe_for_metrics_is_refused_without_blocking(trained, tmp_path, capsys):
    import os
    import shutil
    import threading

    folder = tmp_path / "copy"
    shutil.copytree(trained, folder)
    fifo = folder / "metrics.json"
    fifo.unlink()
    os.mkfifo(fifo)
    codes: list[int] = []
    worker = threading.Thread(
        target=lambda: codes.append(main(["rescore", str(folder), "--no-int8"])), daemon=True
    )
    worker.start()
    worker.join(30)
    if worker.is_alive():  # it waits for a writer: give it one, so that the test ends
        with open(fifo, "wb"):
            pass
        worker.join(10)
    assert codes == [2], "rescore waited on a named pipe"
    err = capsys.readouterr().err
    assert f"error: {fifo} is not a regular file" in err
