"""Self-training data (model/pseudo_labels.py): spans voted by trained taggers, written and
read back with clear errors, and given to the recipe's GoEmotions training texts only."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from model.datasets import Example, split_words
from model.errors import DatasetError
from model.labels import ENTITY_TYPES
from model.pseudo_labels import (
    agreed_texts,
    check_min_votes,
    read_pseudo_entities,
    vote,
    with_pseudo_entities,
    write_pseudo_entities,
)
from model.train_checkpoint import config_key
from model.train_config import TrainConfig, config_from_args
from model.train_recipe import main, recipe_parser, two_head_data
from tests.model.conftest import keyword_model, save_full_artefact

SLIVER = ["--scale", "0.02", "--tickets", "24", "--val-tickets", "12", "--test-tickets", "12",
          "--goemotions-val", "40"]  # fmt: skip


def _e(start: int, end: int, label: str) -> SimpleNamespace:
    return SimpleNamespace(start=start, end=end, label=label)


def test_a_span_is_kept_by_a_majority_and_a_minority_span_disputes_the_text() -> None:
    paris, acme = _e(10, 15, "LOC"), _e(0, 4, "ORG")
    kept, disputed = vote([[paris, acme], [paris, acme], [paris], [acme, paris]], 3)
    assert kept == [(0, 4, "ORG"), (10, 15, "LOC")] and not disputed
    kept, disputed = vote([[paris], [paris], [paris, acme], []], 3)
    assert kept == [(10, 15, "LOC")] and disputed  # one teacher alone found Acme
    # the same place with another type is another span
    assert vote([[paris], [paris], [_e(10, 15, "ORG")]], 2) == ([(10, 15, "LOC")], True)
    # a teacher that lists a span twice votes once
    assert vote([[paris, paris], []], 2) == ([], True)


@pytest.mark.parametrize(("min_votes", "teachers"), [(2, 4), (5, 4), (1, 2), (0, 3)])
def test_no_majority_is_refused(min_votes: int, teachers: int) -> None:
    with pytest.raises(ValueError, match="must be a majority"):
        check_min_votes(min_votes, teachers)


def test_only_undisputed_texts_with_a_kept_span_are_kept_once() -> None:
    texts = ["Acme rocks", "nothing here", "Paris or Rome", "Acme rocks"]
    acme, paris, rome = _e(0, 4, "ORG"), _e(0, 5, "LOC"), _e(9, 13, "LOC")
    predictions = [
        [[acme], [], [paris, rome], [acme]],
        [[acme], [], [paris], [acme]],
        [[acme], [], [paris, rome], [acme]],
    ]
    # Rome: two of three teachers, kept by a 2-vote majority, disputed under 3 votes
    assert agreed_texts(texts, predictions, 2) == [
        ("Acme rocks", [(0, 4, "ORG")]),
        ("Paris or Rome", [(0, 5, "LOC"), (9, 13, "LOC")]),
    ]
    assert agreed_texts(texts, predictions, 3) == [("Acme rocks", [(0, 4, "ORG")])]
    with pytest.raises(ValueError, match="majority"):
        agreed_texts(texts, predictions, 1)


def test_a_written_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "pseudo.jsonl"
    rows = [
        ("Acme in Paris", [(0, 4, "ORG"), (8, 13, "LOC")]),
        ('Say "hi" to GPT-4o', [(12, 18, "PRODUCT")]),
    ]
    write_pseudo_entities(path, {"teachers": ["a", "b"], "min_votes": 2}, rows)
    header, spans_of = read_pseudo_entities(path, ENTITY_TYPES)
    assert header["teachers"] == ["a", "b"] and header["pseudo_entities"] == 1
    assert spans_of == {text: tuple(spans) for text, spans in rows}
    assert not list(tmp_path.glob("sub/*.tmp"))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "empty file"),
        (['{"teachers": []}'], r"pseudo\.jsonl:1: expected a header"),
        (["HEADER", "not json"], r"pseudo\.jsonl:2: not JSON"),
        (["HEADER", '{"entities": [[0, 1, "ORG"]]}'], r":2: expected an object with a string"),
        (["HEADER", '{"text": "Acme", "entities": []}'], r":2: \"entities\" must be"),
        (["HEADER", '{"text": "Acme", "entities": [[0, 9, "ORG"]]}'], r":2: bad span"),
        (["HEADER", '{"text": "Acme", "entities": [[2, 2, "ORG"]]}'], r":2: bad span"),
        (["HEADER", '{"text": "Acme", "entities": [[0.0, 4, "ORG"]]}'], r":2: bad span"),
        (["HEADER", '{"text": "Acme", "entities": [[0, 4, "MISC"]]}'], r":2: label 'MISC'"),
        (
            ["HEADER", '{"text": "Acme Inc", "entities": [[0, 4, "ORG"], [2, 8, "ORG"]]}'],
            r":2: overlapping spans",
        ),
    ],
)
def test_a_bad_file_is_refused_with_its_line(tmp_path: Path, lines: list, message: str) -> None:
    path = tmp_path / "pseudo.jsonl"
    header = json.dumps({"pseudo_entities": 1})
    path.write_text("".join(line.replace("HEADER", header) + "\n" for line in lines))
    with pytest.raises(DatasetError, match=message):
        read_pseudo_entities(path, ENTITY_TYPES)
    with pytest.raises(DatasetError, match="no such file"):
        read_pseudo_entities(tmp_path / "missing.jsonl", ENTITY_TYPES)


def test_labelled_texts_become_annotated_and_keep_their_sentiment() -> None:
    texts = ["Acme is great", "meh"]
    examples = [
        Example(t, (), split_words(t), sentiment="positive", annotated=False) for t in texts
    ]
    out, given = with_pseudo_entities(examples, {"Acme is great": ((0, 4, "ORG"),)})
    assert given == 1 and out[1] is examples[1]
    assert out[0].annotated and out[0].sentiment == "positive"
    assert out[0].gold_tags() == ["B-ORG", "O", "O"]


def _goemotions_tsv(path: Path) -> Path:
    rows = ["We flew to Paris on Azure credits\t2\ta1", "Paris was lovely\t2\ta2",
            "Azure in Zurich is down\t0\ta3", "no names at all\t1\ta4"]  # fmt: skip
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_command_writes_what_its_teachers_agree_on(tmp_path: Path, tokenizer, capsys) -> None:
    both = save_full_artefact(keyword_model(tokenizer), tmp_path / "t1", name="t1")
    same = save_full_artefact(keyword_model(tokenizer), tmp_path / "t2", name="t2")
    no_zurich = {"paris": "B-LOC", "azure": "B-PRODUCT"}
    fewer = save_full_artefact(keyword_model(tokenizer, no_zurich), tmp_path / "t3", name="t3")
    out = tmp_path / "pseudo.jsonl"
    flags = ["--teacher", str(both), "--teacher", str(same), "--teacher", str(fewer)]
    tsv = _goemotions_tsv(tmp_path / "group_train.tsv")
    argv = ["pseudo-label", *flags, "--texts", str(tsv), "--min-votes", "3", "--output", str(out)]
    assert main(argv) == 0
    assert "2 agreed texts written" in capsys.readouterr().out
    header, spans_of = read_pseudo_entities(out, ENTITY_TYPES)
    # "Azure in Zurich": Zurich found by two of three teachers, so the text is disputed
    assert spans_of == {
        "We flew to Paris on Azure credits": ((11, 16, "LOC"), (20, 25, "PRODUCT")),
        "Paris was lovely": ((0, 5, "LOC"),),
    }
    assert header["min_votes"] == 3 and header["texts"] == 4 and header["kept"] == 2
    assert len(header["teachers"]) == 3 and "pseudo-label --teacher" in header["command"]
    # two of three is a majority too: Zurich is then kept
    assert main([*argv[:-4], "--min-votes", "2", "--output", str(out)]) == 0
    assert read_pseudo_entities(out, ENTITY_TYPES)[1]["Azure in Zurich is down"] == (
        (0, 5, "PRODUCT"),
        (9, 15, "LOC"),
    )
    assert main([*argv[:-4], "--min-votes", "1", "--output", str(out)]) == 2
    assert "must be a majority" in capsys.readouterr().err


def test_the_recipe_gives_the_labels_to_goemotions_training_texts_only(tmp_path: Path) -> None:
    def data(*flags: str) -> tuple:
        args = recipe_parser().parse_args(["two-head", "--output", "unused", *SLIVER, *flags])
        return two_head_data(args), args

    (train, pools, dev_sets, _test, record), _ = data()
    goemo = next(p for p in pools if p.name == "goemotions").examples
    val = next(s for s in dev_sets if s.name == "val_goemotions").examples
    chosen = [goemo[0].text, goemo[5].text, val[0].text]
    path = tmp_path / "pseudo.jsonl"
    write_pseudo_entities(
        path, {"teachers": ["t"], "min_votes": 1}, [(t, [(0, 1, "ORG")]) for t in chosen]
    )
    (train2, pools2, dev2, _t2, record2), args = data("--pseudo-entities", str(path))
    goemo2 = next(p for p in pools2 if p.name == "goemotions").examples
    labelled = [ex for ex in goemo2 if ex.annotated]
    assert [ex.text for ex in labelled] == chosen[:2]
    assert all(ex.spans == ((0, 1, "ORG"),) and ex.sentiment for ex in labelled)
    assert [ex.text for ex in goemo2] == [ex.text for ex in goemo]
    # selection and training sets otherwise unchanged; the selection text stays sentiment-only
    assert [[ex for ex in s.examples] for s in dev2] == [
        [ex for ex in s.examples] for s in dev_sets
    ]
    assert [ex.text for ex in train2] == [ex.text for ex in train]
    assert record2["train"]["pseudo_entities"] == {
        "file": "pseudo.jsonl",
        "teachers": ["t"],
        "min_votes": 1,
        "goemotions_train_given_entities": 2,
    }
    assert "pseudo_entities" not in record["train"]
    # a run with the labels does not resume a checkpoint of a run without them
    config = config_from_args(args, pseudo_entities=str(path))
    assert config_key(config)["pseudo_entities"] == str(path)
    assert "pseudo_entities" not in config_key(TrainConfig(output=tmp_path))
