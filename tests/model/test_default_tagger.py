"""The committed default tagger: loads offline and finds the entities of a few tickets."""

from __future__ import annotations

import json
import re

from data.demo import iter_gold_tickets
from model import DEFAULT_MODEL_DIR, Tagger
from model.datasets import examples_from_gold
from model.evaluate import evaluate_examples


def test_default_tagger_tags_tickets():
    metrics = json.loads((DEFAULT_MODEL_DIR / "metrics.json").read_text(encoding="utf-8"))
    assert {"scores", "seed", "data", "backbone"} <= set(metrics)
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert size < 10 * 1024 * 1024

    tagger = Tagger.load(device="cpu")
    assert re.fullmatch(r"default-[0-9a-f]{12}", tagger.model_id)
    assert tagger.model_id == metrics["model_id"]
    assert tagger.types == ["LOC", "ORG", "PER", "PRODUCT"]

    text = ("Hi, Giulia Kim here (CTO at Quarry Publishing, San Francisco). "
            "OpenAI cut prices again 😀\r\nCan tessera embed match that?")
    [found] = tagger.tag([text])
    got = {(e.text, e.label) for e in found}
    assert {("Giulia Kim", "PER"), ("San Francisco", "LOC"), ("OpenAI", "ORG")} <= got
    assert all(text[e.start:e.end] == e.text for e in found)

    tickets = examples_from_gold(iter_gold_tickets(40, 987_654))
    scores = evaluate_examples(lambda t: tagger.tag(t, batch_size=16), tickets)
    assert scores["overall"]["f1"] >= 0.9
