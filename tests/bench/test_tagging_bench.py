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
