"""The inference engine: offsets, whole words, label repair, windows and their merging,
batches on several streams."""

from __future__ import annotations

import threading

import pytest
import torch

from model.engine import Engine, Entity, single_thread_pool, window_bounds
from model.tagger import Tagger
from tests.model.conftest import keyword_model

TRICKY = "Jane Doe (Acme) tried tokenization on Azure 😀 in\r\nZürich, Paris Paris; orphan.\r\n"


def _plain(entities):
    return [(e.start, e.end, e.label, e.text) for e in entities]


def test_whole_words_exact_offsets_and_repair(keyword_tagger):
    [entities] = keyword_tagger.tag([TRICKY])
    assert _plain(entities) == [
        (0, 8, "PER", "Jane Doe"),  # B-PER I-PER joined
        (10, 14, "ORG", "Acme"),  # ac ##me: the continuation's B-LOC is ignored
        (22, 34, "PRODUCT", "tokenization"),  # whole word, not "token"
        (38, 43, "PRODUCT", "Azure"),
        (50, 56, "LOC", "Zürich"),  # after CRLF and an emoji
        (58, 63, "LOC", "Paris"),  # B B → two entities
        (64, 69, "LOC", "Paris"),
        (71, 77, "ORG", "orphan"),  # I-ORG without B-ORG → its own entity (argmax decoding:
    ]  # this artefact has no "decoding" setting, as older ones; see test_decoding.py)
    for e in entities:
        assert TRICKY[e.start : e.end] == e.text
        assert 0.0 < e.score <= 1.0


def test_empty_and_whitespace_texts_and_order(keyword_tagger):
    out = keyword_tagger.tag(["", "   \r\n", "Paris", "no entity here", "Jane"])
    assert [_plain(x) for x in out] == [
        [],
        [],
        [(0, 5, "LOC", "Paris")],
        [],
        [(0, 4, "PER", "Jane")],
    ]
    assert keyword_tagger.tag([]) == []


def test_non_text_is_rejected(keyword_tagger):
    with pytest.raises(TypeError, match="text 1 is int"):
        keyword_tagger.tag(["ok", 5])  # type: ignore[list-item]


def test_batch_size_does_not_change_results(keyword_tagger):
    texts = [TRICKY * (i % 4 + 1) for i in range(30)]
    assert [_plain(x) for x in keyword_tagger.tag(texts, batch_size=1)] == [
        _plain(x) for x in keyword_tagger.tag(texts, batch_size=64)
    ]


@pytest.mark.parametrize(
    "n, size, stride", [(0, 8, 2), (5, 8, 2), (8, 8, 2), (9, 8, 2), (100, 14, 4), (1000, 254, 64)]
)
def test_window_bounds_cover_everything_with_overlap(n, size, stride):
    bounds = window_bounds(n, size, stride)
    covered = set()
    for a, b in bounds:
        assert 0 <= a < b <= n and b - a <= size
        covered |= set(range(a, b))
    assert covered == set(range(n))
    for (_a1, b1), (a2, _) in zip(bounds, bounds[1:], strict=False):
        assert b1 - a2 >= stride


def test_long_text_windows_merge_to_the_unwindowed_result(tokenizer):
    model = keyword_model(tokenizer)
    long_text = " ".join(["word"] * 7 + ["Jane Doe at Acme in Zürich uses tokenization"] * 40)
    long_text += " final Paris"
    full = Tagger.from_model(model, tokenizer, model_id="full", max_length=512)
    windowed = Tagger.from_model(model, tokenizer, model_id="win", max_length=10, stride=3)
    [expected] = full.tag([long_text])
    [got] = windowed.tag([long_text])
    assert _plain(got) == _plain(expected)
    assert got[-1].text == "Paris" and got[-1].end == len(long_text)  # nothing cut off
    assert len(got) == 40 * 4 + 1


def test_random_model_on_long_texts_gives_valid_whole_word_spans(random_tagger):
    texts = ["Ünïcode 😀 tëxt with\r\nCRLF and émojis 🚀🚀 " * 30, "short one", "x" * 600]
    for text, entities in zip(texts, random_tagger.tag(texts, batch_size=3), strict=True):
        last_end = 0
        for e in entities:
            assert isinstance(e, Entity)
            assert text[e.start : e.end] == e.text
            assert e.start >= last_end  # sorted, no overlap
            last_end = e.end
            assert not (e.start > 0 and text[e.start - 1].isalnum() and text[e.start].isalnum())
            assert not (e.end < len(text) and text[e.end - 1].isalnum() and text[e.end].isalnum())


def _scored(results):
    return [[(e.start, e.end, e.label, e.text, e.score) for e in ents] for ents in results]


def test_streams_and_chunks_do_not_change_results_or_their_order(random_tagger):
    """Batches of several chunks in flight on three threads give what one stream gives."""
    model, tokenizer = random_tagger.engine.model, random_tagger.engine.tokenizer
    texts = [TRICKY * (i % 5 + 1) for i in range(23)]
    texts[8:12] = ["", " ", "", "\r\n"]  # a chunk with no window at all
    one = Engine(model, tokenizer, max_length=32, stride=8, chunk_size=4, streams=1)
    three = Engine(model, tokenizer, max_length=32, stride=8, chunk_size=4, streams=3)
    done: list[int] = []
    got = three.tag(texts, batch_size=2, progress=done.append)
    assert done == [4, 4, 4, 4, 4, 3], "one progress call per chunk, in order"
    want = one.tag(texts, batch_size=2)
    assert any(want) and _scored(got) == _scored(want)
    assert got[8:12] == [[], [], [], []]


def test_a_failing_batch_on_a_stream_reaches_the_caller(random_tagger):
    model, tokenizer = random_tagger.engine.model, random_tagger.engine.tokenizer
    engine = Engine(model, tokenizer, max_length=32, stride=8, streams=2)

    def broken(*_args, **_kwargs):
        raise RuntimeError("out of memory in the model")

    engine.model = broken
    with pytest.raises(RuntimeError, match="out of memory in the model"):
        engine.tag(["Jane Doe in Paris", "Acme"])


def test_stream_threads_run_torch_on_one_thread_and_leave_the_caller_alone():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pool = single_thread_pool(2)
        seen = {pool.submit(torch.get_num_threads).result() for _ in range(6)}
        assert seen == {1}
        assert torch.get_num_threads() == 2, "the caller keeps its threads"
        later: list[int] = []
        thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        thread.start()
        thread.join()
        assert later == [2], "threads started afterwards get the caller's count, not 1"
        pool.shutdown()
    finally:
        torch.set_num_threads(before)
