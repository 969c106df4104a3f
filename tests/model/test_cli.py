"""``python -m model``: help, exit codes, one-line reasons, evaluate and tag commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.store import Store
from model.cli import main
from model.engine import cpu_multiplies_bf16
from tests.model.conftest import AUTO_ON_THIS_CPU, add_tickets

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("verb", [[], ["train"], ["evaluate"], ["tag"]])
def test_help_on_every_verb(verb, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*verb, "--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m model" in capsys.readouterr().out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("python -m model ")
    return err[0]


@pytest.fixture()
def gold_jsonl(tmp_path) -> Path:
    path = tmp_path / "gold.jsonl"
    rows = [
        {
            "text": "Jane Doe uses Azure in Paris",
            "spans": [[0, 8, "PER"], [14, 19, "PRODUCT"], [23, 28, "LOC"]],
        },
        {"text": "Acme and tokenization", "spans": [[0, 4, "ORG"]]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_evaluate_text_and_json(gold_jsonl, keyword_dir, capsys):
    assert main(["evaluate", "--data", str(gold_jsonl), "--model", str(keyword_dir)]) == 0
    out = capsys.readouterr().out
    assert "overall" in out and "keywords-" in out
    assert main(["evaluate", "--data", str(gold_jsonl), "--model", str(keyword_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # no int8 calibration in this artefact: fp32, or bf16 on a CPU with AVX-512 BF16
    assert result["precision"] == AUTO_ON_THIS_CPU
    assert result["scores"]["PER"]["f1"] == 1.0
    assert result["scores"]["overall"]["precision"] == 0.8  # 4 of 5: tokenization is not gold


@pytest.mark.parametrize(
    "args, reason",
    [
        (["evaluate", "--data", "nope.conll"], "no such file"),
        (["evaluate", "--data", "{gold}", "--label-map", "a"], "not of the form"),
        (["evaluate", "--data", "{gold}", "--model", "{tmp}"], "not a tagger folder"),
        (["evaluate", "--data", "{gold}", "--batch-size", "0"], "--batch-size"),
        pytest.param(
            ["evaluate", "--data", "{gold}", "--device", "cpu", "--precision", "bf16"],
            "bf16 runs on CUDA or on a CPU with AVX-512 BF16",
            marks=pytest.mark.skipif(cpu_multiplies_bf16(), reason="this CPU runs bf16"),
        ),
        (["tag", "--db", "{tmp}/missing.duckdb"], "no such database"),
        (["tag", "--input", "{tmp}/missing.csv", "--output", "{tmp}/o.jsonl"], "no such file"),
        (["tag", "--input", "{tmp}", "--output", "{tmp}/o.jsonl"], "is a folder"),
        (["tag", "--input", "{gold}"], "needs --output"),
        (["train", "--output", "{tmp}/out"], "nothing to train on"),
        (["train", "--output", "{tmp}/out", "--train", "{gold}"], "no dev data"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, reason, gold_jsonl, tmp_path, keyword_dir, capsys):
    args = [a.format(gold=gold_jsonl, tmp=tmp_path) for a in args]
    if args[0] in ("evaluate", "tag") and "--model" not in args:
        args += ["--model", str(keyword_dir)]
    assert main(args) == 2
    assert reason in _one_line_error(capsys)


def test_tag_requires_db_or_input(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["tag"])
    assert exit_info.value.code == 2


def test_tag_file_mode_and_missing_column(tmp_path, keyword_dir, capsys):
    source = tmp_path / "t.csv"
    source.write_text('id,body\n1,"Jane in\r\nParis 😀"\n2,\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    args = ["tag", "--input", str(source), "--output", str(out), "--model", str(keyword_dir)]
    assert main([*args, "--text-column", "body"]) == 0
    captured = capsys.readouterr()
    assert "2 rows" in captured.out and "1 bad rows" in captured.out
    assert "row 2 (id 2): empty text" in captured.err
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [e["text"] for e in records[0]["entities"]] == ["Jane", "Paris"]
    assert main(args) == 2
    assert "no column 'text'" in _one_line_error(capsys)


def test_tag_db(tmp_path, keyword_dir, capsys):
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        add_tickets(store, ["Jane at Acme", "Paris", ""])
    assert main(["tag", "--db", str(db), "--model", str(keyword_dir), "--device", "cpu"]) == 0
    assert "tagged 3 tickets, 3 entities" in capsys.readouterr().out
    assert main(["tag", "--db", str(db), "--model", str(keyword_dir)]) == 0
    assert "tagged 0 tickets" in capsys.readouterr().out


def test_locked_database_hands_the_tagging_to_the_app(tmp_path, keyword_dir, capsys):
    from data.tag_requests import take_tagging_requests

    db = tmp_path / "locked.duckdb"
    Store.open(db).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert main(["tag", "--db", str(db), "--model", str(keyword_dir), "--batch-size", "7"]) == 0
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        assert "tagging request left in the inbox" in out.out  # the holder is no dashboard
        requests = take_tagging_requests(db)
        assert [(r.model_dir, r.batch_size) for r in requests] == [(str(keyword_dir.resolve()), 7)]
        assert take_tagging_requests(db) == []  # taken once
    finally:
        holder.communicate("")
