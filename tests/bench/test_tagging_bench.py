"""``python -m bench.tagging`` as a user runs it, on a few tickets: the summary line's form
and the ``--against`` comparison line (never a time; speed lives in bench/RESULTS.md)."""

from __future__ import annotations

import re

import pytest

from model import DEFAULT_MODEL_DIR
from tests.bench.test_summary_lines import last_line, run_bench

TAGGING_LINE = re.compile(
    r"^tagging: ours=\d+ pipeline=\d+ ratio=\d+\.\d{2} "
    r"agreement=(\d\.\d{4}) peak_fraction=\d+\.\d{3}$"
)


@pytest.mark.slow
def test_tagging_bench_against_a_second_artefact_prints_both_lines() -> None:
    result = run_bench(
        "bench.tagging",
        "--tickets",
        "24",
        "--repeats",
        "1",
        "--precision",
        "fp32",
        "--against",
        DEFAULT_MODEL_DIR,
        timeout=300,
    )
    match = TAGGING_LINE.match(last_line(result))
    assert match, result.stdout[-2000:] + result.stderr[-2000:]
    # the pipeline splits at every punctuation mark where a `words` artefact keeps a name whole
    # (gpt-4o-mini), so the two agree on most spans, not all (bench/RESULTS.md)
    assert float(match.group(1)) >= 0.85
    against = re.search(
        r"^against default-[0-9a-f]{12} \(fp32\): ours=[\d.]+ other=[\d.]+ "
        r"tickets/s ratio=(\d+\.\d{3})$",
        result.stdout,
        re.M,
    )
    assert against, result.stdout[-2000:]
    assert "Traceback" not in result.stderr


def test_the_pipeline_peer_gives_a_casing_model_its_word_shapes() -> None:
    """The peer runs a ``--casing`` tagger as ours does: ``Apple`` an organisation, ``apple``
    not (tests/model/test_casing.py's keyword model); the plain pipeline would miss it."""
    from transformers import pipeline

    from bench.tagging import agreement, cased_pipeline_class
    from model.backbone import load_tokenizer
    from model.tagger import Tagger
    from tests.model.test_casing import case_keyword_model

    tokenizer = load_tokenizer()
    model = case_keyword_model(tokenizer)
    texts = ["Apple opened in paris", "apple pie in Paris", "Apple, APPLE and apple"]
    ours = Tagger.from_model(model, tokenizer, model_id="kw", precision="fp32").tag(texts)

    def peer(pipeline_class=None) -> list[list[dict]]:
        pipe = pipeline(
            "token-classification",
            model=model,
            tokenizer=tokenizer,
            aggregation_strategy="first",
            pipeline_class=pipeline_class,
        )
        return [list(found) for found in pipe(texts)]

    cased = peer(cased_pipeline_class())
    assert [(e["word"], e["entity_group"]) for e in cased[0]] == [
        ("apple", "ORG"),
        ("paris", "LOC"),
    ]
    assert agreement(ours, cased) == 1.0
    assert agreement(ours, peer()) < 1.0  # blind to case: no Apple
