"""The default tagger on a GPU (``device="cuda"``): it tags as it does on the CPU.

Skipped where torch sees no GPU (CI, the 2-core machines); run on the lent GPU machine by
``bench/gpu_check.sh``. ``auto`` precision is bf16 there (:func:`model.engine.resolve_precision`),
so its entities may differ from the CPU's fp32 ones on a few borderline words; fp32 on the GPU
differs only by the order of floating-point sums.
"""

from __future__ import annotations

import pytest
import torch

from data.demo import iter_gold_tickets
from model import Tagger
from model.datasets import examples_from_gold
from model.evaluate import evaluate_examples

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU")


def _agreement(ours: list, reference: list) -> float:
    """Entity-level F1 of ``ours`` against ``reference`` (exact start, end and label)."""
    a = {(i, e.start, e.end, e.label) for i, es in enumerate(ours) for e in es}
    b = {(i, e.start, e.end, e.label) for i, es in enumerate(reference) for e in es}
    return 2 * len(a & b) / max(len(a) + len(b), 1)


@pytest.fixture(scope="module")
def tickets() -> list[str]:
    texts = [t.text for t in examples_from_gold(iter_gold_tickets(300, 31_337))]
    # a long text (several windows) and one without any token ride along
    return [*texts, " ".join(texts[:40]), "   "]


@pytest.fixture(scope="module")
def on_cpu(tickets: list[str]) -> tuple[list, list]:
    return Tagger.load(device="cpu", precision="fp32").tag_with_sentiment(tickets)


@pytest.mark.parametrize(("precision", "least"), [("fp32", 0.995), ("auto", 0.97)])
def test_the_gpu_tags_as_the_cpu_does(tickets, on_cpu, precision: str, least: float) -> None:
    tagger = Tagger.load(device="cuda", precision=precision)
    assert tagger.precision == ("bf16" if precision == "auto" else "fp32")
    entities, moods = tagger.tag_with_sentiment(tickets, batch_size=64)
    cpu_entities, cpu_moods = on_cpu
    assert _agreement(entities, cpu_entities) >= least
    assert moods[-1] is None and cpu_moods[-1] is None
    same_mood = sum(m.label == c.label for m, c in zip(moods[:-1], cpu_moods[:-1], strict=True))
    assert same_mood >= least * (len(moods) - 1)
    assert all(
        t[e.start : e.end] == e.text for t, es in zip(tickets, entities, strict=True) for e in es
    )


def test_the_gpu_scores_the_generated_tickets_as_the_cpu_does() -> None:
    gold = examples_from_gold(iter_gold_tickets(300, 4_242))
    f1 = {}
    for device in ("cpu", "cuda"):
        tagger = Tagger.load(device=device, precision="fp32")
        f1[device] = evaluate_examples(lambda x, t=tagger: t.tag(x, batch_size=32), gold)[
            "overall"
        ]["f1"]
    assert abs(f1["cuda"] - f1["cpu"]) <= 0.005, f1
