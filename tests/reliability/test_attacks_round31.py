"""Round 31 of the hostile-user attacks (#12): paths the system refuses, and files that are
not files, given to the command lines that read ticket and data files.

The issue closes when a fresh round of its attacks finds nothing new in its areas; "reading
files" includes the command lines that read them (``python -m model tag --input``,
``--model``, ``--output``; ``python -m model evaluate --data``; ``python -m data ingest``).
This round gave them a name longer than a file name may be (300 characters: the system
refuses it, ``ENAMETOOLONG``) and, where a file is read, a named pipe, a device and a folder.

Broke (fixed in ``model/cli.py``): ``python -m model tag`` printed a Python traceback for an
over-long ``--model``, ``--input`` or Ray ``--output``; now one line, "python -m model
tag: error: File name too long: …", exit status 2, nothing written.
Weak (mended in ``model/cli_tag.py`` and ``model/datasets.py``): a named pipe or a device
given as ``tag --input`` or ``evaluate --data``, or a folder as ``--data``, was said to be
"no such file"; now what it is ("is a named pipe (FIFO), not a ticket file").
Broke (fixed in ``model/train.py``): a training run of one optimiser step in all (a few
examples, one epoch: ``--demo-train 10 --demo-dev 5 --epochs 1``) divided by zero in its
learning-rate schedule (warm-up took the whole run, and the decay divided by the steps
left after it, none) and printed a traceback; the decay now divides by at least one step
(runs of two steps or more have the same schedule as before).
Held: ``python -m data ingest`` and ``demo`` (one line for every case); the other ``train``
paths (a pipe or a device as ``--train``, an over-long ``--train``, bounds of ``--epochs``,
``--lr nan``, ``--max-length``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LONG = "x" * 300  # a file name may be at most 255 bytes here


def _run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def ticket_file(tmp_path: Path) -> Path:
    path = tmp_path / "ok.csv"
    path.write_text("id,text\n1,Moving from OpenAI to you next month\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "case",
    ["model_folder", "input_file", "model_inside_a_long_folder", "ray_output_folder"],
)
def test_a_name_too_long_for_the_system_is_one_line_not_a_traceback(
    tmp_path: Path, ticket_file: Path, case: str
) -> None:
    """Expected: the system's refusal of a name (``ENAMETOOLONG``) is said in one line
    naming the path, exit status 2, and nothing is written.

    Broke: ``python -m model tag`` printed a Python traceback (the OSError of ``stat``)."""
    out = tmp_path / "out.jsonl"
    args = {
        "model_folder": ["--input", str(ticket_file), "--output", str(out), "--model", LONG],
        "input_file": ["--input", f"{LONG}.csv", "--output", str(out)],
        "model_inside_a_long_folder": [
            "--input",
            str(ticket_file),
            "--output",
            str(out),
            "--model",
            str(tmp_path / LONG / "tagger"),
        ],
        "ray_output_folder": [
            "--engine",
            "ray",
            "--input",
            str(ticket_file),
            "--output",
            str(tmp_path / LONG),
        ],
    }[case]
    done = _run("model", "tag", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-600:]
    assert "Traceback" not in done.stderr, done.stderr[-600:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m model tag: error: "), lines
    assert "File name too long: " in lines[0] and "xxxxxxxx" in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.csv"]


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
@pytest.mark.parametrize("verb", ["tag", "evaluate"])
def test_a_file_that_is_not_a_file_is_named_for_what_it_is(
    tmp_path: Path, kind: str, verb: str
) -> None:
    """Expected: a named pipe, a device or a folder given as the file to read is refused at
    once (never opened: a pipe may never end) and named for what it is.

    Weak before: "no such file" for each (a folder as ``tag --input`` was already named)."""
    if kind == "fifo":
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "folder.csv"
        path.mkdir()
    args = (
        ["--input", str(path), "--output", str(tmp_path / "out.jsonl")]
        if verb == "tag"
        else ["--data", str(path)]
    )
    done = _run("model", verb, *args, cwd=tmp_path)
    said = {"fifo": "is a named pipe (FIFO)", "device": "is a device", "folder": "is a folder"}
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-600:]
    assert f"{path}: {said[kind]}" in done.stderr, done.stderr
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("where", ["db", "file"])
def test_data_ingest_says_a_name_too_long_in_one_line(
    tmp_path: Path, ticket_file: Path, where: str
) -> None:
    """Held: ``python -m data ingest`` says the system's refusal in one line, exit 2."""
    db = tmp_path / (f"{LONG}.duckdb" if where == "db" else "db.duckdb")
    source = tmp_path / LONG / "ok.csv" if where == "file" else ticket_file
    done = _run("data", "ingest", "--db", str(db), str(source), cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-600:]
    assert lines[0].startswith("python -m data ingest: error: "), lines


@pytest.mark.slow
def test_a_training_run_of_one_step_in_all_finishes(tmp_path: Path) -> None:
    """Expected: a run with fewer windows than one batch, for one epoch (one optimiser step
    in all), trains and writes its artefact.

    Broke: ``ZeroDivisionError`` in the learning-rate schedule's decay (total steps minus
    warm-up steps: 1 - 1), a traceback."""
    from model.cli import main

    out = tmp_path / "one-step"
    args = ["train", "--demo-train", "4", "--demo-dev", "2", "--batch-size", "16"]
    assert main([*args, "--epochs", "1", "--seed", "3", "--output", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert len(metrics["history"]) == 1 and (out / "tagger.json").is_file()
