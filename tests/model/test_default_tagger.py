"""The committed default tagger: loads offline and finds the entities of a few tickets."""

from __future__ import annotations

import json
import re

import pytest

from data.demo import iter_gold_tickets
from model import DEFAULT_MODEL_DIR, Tagger
from model.datasets import examples_from_gold
from model.evaluate import evaluate_examples
from tests.model.conftest import AUTO_ON_THIS_CPU


def test_default_tagger_tags_tickets():
    metrics = json.loads((DEFAULT_MODEL_DIR / "metrics.json").read_text(encoding="utf-8"))
    assert {"scores", "seed", "data", "backbone"} <= set(metrics)
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert size < 10 * 1024 * 1024

    tagger = Tagger.load(device="cpu")
    assert re.fullmatch(r"default-[0-9a-f]{12}", tagger.model_id)
    assert tagger.model_id == metrics["model_id"]
    # decoded as its figures were measured: the most probable valid IOB2 sequence
    assert tagger.engine.decoding == metrics["decoding"] == "iob2-viterbi"
    assert tagger.types == ["LOC", "ORG", "PER", "PRODUCT"]

    text = (
        "Hi, Giulia Kim here (CTO at Quarry Publishing, San Francisco). "
        "OpenAI cut prices again 😀\r\nCan tessera embed match that?"
    )
    [found] = tagger.tag([text])
    got = {(e.text, e.label) for e in found}
    assert {("Giulia Kim", "PER"), ("San Francisco", "LOC"), ("OpenAI", "ORG")} <= got
    assert all(text[e.start : e.end] == e.text for e in found)

    tickets = examples_from_gold(iter_gold_tickets(40, 987_654))
    scores = evaluate_examples(lambda t: tagger.tag(t, batch_size=16), tickets)
    assert scores["overall"]["f1"] >= 0.9


def test_default_tagger_runs_int8_on_a_cpu_at_under_half_a_point_of_f1():
    """The committed tagger carries its int8 calibration; on a CPU that can run it, int8 is
    the default, and it scores within 0.5 F1 point of fp32 on held-out generated tickets."""
    from model.quantize import CALIBRATION_FILE, int8_supported

    assert (DEFAULT_MODEL_DIR / CALIBRATION_FILE).is_file()
    if not int8_supported():
        pytest.skip("int8 inference needs torch._int_mm and a C++ compiler")
    int8 = Tagger.load(device="cpu", precision="int8")
    fp32 = Tagger.load(device="cpu", precision="fp32")
    assert (int8.precision, fp32.precision) == ("int8", "fp32")
    assert int8.model_id == fp32.model_id
    tickets = examples_from_gold(iter_gold_tickets(200, 424_242))
    f1 = {
        t.precision: evaluate_examples(lambda x, t=t: t.tag(x, batch_size=32), tickets)["overall"][
            "f1"
        ]
        for t in (int8, fp32)
    }
    assert f1["int8"] >= f1["fp32"] - 0.005, f1


def test_auto_precision_is_chosen_for_this_cpu():
    """``auto`` on a CPU with AMX is bf16 for every job (no compile); on other CPUs a small
    job runs in bf16 where the CPU multiplies bf16 (AVX-512 BF16), else fp32 (int8 is
    compiled only for a large one, tests/model/test_quantize.py). bf16 stays within 0.5 F1
    point of fp32 and gives the same sentiment labels."""
    from model.engine import cpu_runs_bf16_fast

    auto = Tagger.load(device="cpu")
    if cpu_runs_bf16_fast():
        assert auto.precision == "bf16" and auto.plan(100_000) == "bf16" and not auto.compiling
    else:
        assert auto.precision == AUTO_ON_THIS_CPU and auto.plan(30) == AUTO_ON_THIS_CPU
        assert not auto.compiling
    if auto.precision != "bf16":
        return
    fp32 = Tagger.load(device="cpu", precision="fp32")
    tickets = examples_from_gold(iter_gold_tickets(200, 424_242))
    f1 = {
        t.precision: evaluate_examples(lambda x, t=t: t.tag(x, batch_size=32), tickets)["overall"][
            "f1"
        ]
        for t in (auto, fp32)
    }
    assert f1["bf16"] >= f1["fp32"] - 0.005, f1
    texts = [t.text for t in tickets[:60]]
    labels = {
        t.precision: [s.label for s in t.tag_with_sentiment(texts)[1] if s is not None]
        for t in (auto, fp32)
    }
    same = sum(a == b for a, b in zip(labels["bf16"], labels["fp32"], strict=True))
    assert same >= 0.95 * len(texts), labels


def test_default_tagger_gives_sentiment_in_the_same_pass():
    """The committed tagger has both heads; its metrics record the sentiment figures and
    the selection sets, and it reads the tone of plain tickets right."""
    metrics = json.loads((DEFAULT_MODEL_DIR / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["sentiment"]["labels"] == ["negative", "neutral", "positive"]
    assert {"goemotions_dev", "val_goemotions"} <= set(metrics["sentiment_scores"])
    assert {"wnut17_dev", "btc_h", "generated_test"} <= set(metrics["scores"])
    assert "wnut17_dev" not in metrics["selection_sets"]

    tagger = Tagger.load(device="cpu", precision="fp32")
    assert tagger.has_sentiment
    texts = [
        "This is the third outage this week and nobody answers. We are furious and "
        "moving to Anthropic unless this is fixed today.",
        "Thank you so much, the new pricing is great and the support team was wonderful!",
    ]
    entities, moods = tagger.tag_with_sentiment(texts)
    assert [m.label for m in moods] == ["negative", "positive"]
    assert entities == tagger.tag(texts)
