"""Batch inference: texts in, whole-word entities with exact character offsets out.

How a call to :meth:`Engine.tag` runs:

1. Texts are cut into words (model/words.py: ``words`` keeps names such as ``gpt-4o-mini``
   whole; ``bert``, older artefacts, takes the tokenizer's own words) and tokenized in chunks
   by the fast tokenizer (no special tokens; ``words``: the pre-split words with
   ``is_split_into_words``, so every token belongs to exactly one word) on a helper thread,
   so the next chunk is tokenized while the model runs.
2. Each text becomes one or more *windows* of at most ``max_length - 2`` tokens; long texts
   get overlapping windows (``stride`` tokens of overlap), so nothing is cut off.
3. Windows are sorted by length and cut into batches padded only to their own longest window
   (dynamic padding); the model runs under ``torch.inference_mode`` with SDPA attention
   (bf16 on CUDA and on a CPU with AMX; on other CPUs int8 with per-token activation scales,
   see model/quantize.py, and bf16 or fp32 until it is compiled).
   The softmax is taken for the whole batch at once. Every batch of
   a chunk runs on the model that was current when the chunk began (:meth:`Engine.use_model`
   swaps it, e.g. to int8 once compiled), so a text is tagged in one precision. On a CPU,
   ``streams`` batches (one per intra-op thread torch was given) run at once on a pool of
   threads with one intra-op thread each: this model's matmuls are too small to keep two
   threads busy on one batch, and the results are taken back in order, so they do not
   depend on the number of streams.
4. A token seen by several windows keeps the probabilities of the window where it sits
   furthest from an edge. Words take the probabilities of their first sub-word
   (``aggregation="first"``), so entities are whole words. With ``decoding="iob2-viterbi"``
   (artefacts trained since 2026-12-05) a text's words take the most probable label sequence
   that is valid IOB2 (:func:`model.labels.best_iob2_path`: the per-word arg-max where it is
   valid, else constrained Viterbi, so ``B-ORG I-PRODUCT`` becomes one entity or two whole
   ones, not two halves); with ``argmax`` (older artefacts) each word its most probable
   label. Adjacent words join one entity as in IOB2 (an ``I-`` without ``B-`` starts
   one). Words without a letter or digit (punctuation, symbols, emoji) are
   taken off both ends of an entity, and an entity of nothing else is dropped (``- Jane``
   is ``Jane``); an entity never runs across a line break or a ``?``, ``!``, ``;``. Offsets are the words' character ranges (``bert``: from the tokenizer's
   offset mapping), so ``entity.text == text[entity.start:entity.end]`` for any Unicode,
   emoji or CRLF.
5. A model with a sentiment head (model/sentiment.py) gives, in the same forward pass, one
   sentiment distribution per window; a text's sentiment is the mean of its windows'
   probabilities weighted by their token counts, its label the most probable class and its
   score that probability (:meth:`Engine.tag_with_sentiment`). A text without any token has
   no sentiment (``None``).

Example:
    >>> engine = Engine(model, tokenizer)                         # doctest: +SKIP
    >>> engine.tag(["Jane from Acme asked about Azure in Paris"])  # doctest: +SKIP
    [[Entity(start=0, end=4, label='PER', text='Jane', score=0.99), ...]]
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from model.casing import casing_of, word_cases
from model.labels import VITERBI, best_iob2_path, check_decoding, iob2_constraints, split_tag
from model.results import Entity, Sentiment
from model.words import BERT, WORDS, check_segmentation, is_punctuation, split_words


@dataclass
class _Encoded:
    """One text after tokenization: token ids and word ids; the words' character ranges
    (``words`` segmentation) or the tokens' offsets (``bert``)."""

    ids: np.ndarray  # (n,) int64
    words: np.ndarray  # (n,) int64: the word of each token (tokens of a word are adjacent)
    offsets: np.ndarray | None = None  # (n, 2) int64, bert: the tokens' character ranges
    spans: np.ndarray | None = None  # (words, 2) int64, words: the words' character ranges
    cases: np.ndarray | None = None  # (n,) int64: each token's word shape, casing models only


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU. Raises ``ValueError`` on an unknown name
    and ``RuntimeError`` when CUDA is asked for but missing."""
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"unknown device {device!r} (auto, cpu or cuda)")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("CUDA was asked for but no CUDA device is available")
    return torch.device(device)


PRECISIONS = ("auto", "fp32", "bf16", "int8")
"""``auto``: bf16 on CUDA, fp32 on a CPU (:meth:`model.Tagger.load` picks bf16 on a CPU with
AMX, see :func:`cpu_runs_bf16_fast`; on other CPUs int8 per job when the artefact is
calibrated for it, with bf16 for small jobs where :func:`cpu_multiplies_bf16` and fp32
elsewhere); ``int8`` runs on the CPU only (model/quantize.py)."""


def cpu_runs_bf16_fast() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware: Intel AMX tiles with AVX-512
    bf16 (Sapphire Rapids and later). There the MiniLM forward pass ran 4.3× faster in bf16
    than in fp32 and needs no compile (bench/RESULTS.md); a CPU without AMX (an AMD EPYC with
    AVX-512 VNNI) stays on int8."""
    try:
        return bool(torch.cpu._is_amx_tile_supported() and torch.cpu._is_avx512_bf16_supported())
    except (AttributeError, RuntimeError):  # an older torch or a non-x86 CPU
        return False


def cpu_multiplies_bf16() -> bool:
    """Whether this CPU has bf16 dot-product instructions (AVX-512 BF16), with or without
    AMX. On the 2-core AMD EPYC (AVX-512 BF16 and VNNI, no AMX) the default tagger ran
    195 tickets/s in bf16 against 99 in fp32 and 266 in int8 (bench/RESULTS.md): bf16 is
    the fastest precision that needs no compile there. Without it bf16 is emulated (slow)."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported())
    except (AttributeError, RuntimeError):  # an older torch or a non-x86 CPU
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision ``precision`` means on ``device``. Raises ``ValueError`` for an unknown
    name or a combination that does not run well (int8 on CUDA, bf16 on a CPU without
    AVX-512 BF16)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} ({', '.join(PRECISIONS)})")
    cuda = device.type == "cuda"
    if precision == "auto":
        return "bf16" if cuda else "fp32"
    if precision == "int8" and cuda:
        raise ValueError("int8 runs on the CPU only; on CUDA use bf16 or fp32")
    if precision == "bf16" and not cuda and not cpu_multiplies_bf16():
        raise ValueError(
            "bf16 runs on CUDA or on a CPU with AVX-512 BF16 (this one has none); use int8 or fp32"
        )
    return precision


INT8_MIN_ROWS = 2
INT8_MIN_WIDTH = 9
"""Smallest int8 batch (windows × tokens). ``torch.compile(dynamic=True)`` makes a graph of
its own for a batch of one window (sizes 0 and 1 are specialised) and for fewer than 17
token rows (``torch._int_mm`` needs more, model/quantize.py pads them): each one cost 85–105 s
to compile on the loaded 2-core Xeon. With at least 2 windows of 9 tokens (18 rows) every
batch runs one graph, compiled once (:func:`model.quantize.warm_up`)."""


def window_bounds(n_tokens: int, size: int, stride: int) -> list[tuple[int, int]]:
    """Token ranges ``[a, b)`` of the windows covering ``n_tokens`` tokens.

    Consecutive windows overlap by at least ``stride`` tokens; the last one ends at
    ``n_tokens``. A text with no token has no window.

    Example:
        >>> window_bounds(10, 4, 2)
        [(0, 4), (2, 6), (4, 8), (6, 10)]
    """
    if size <= 0 or not 0 <= stride < size:
        raise ValueError("need size > 0 and 0 <= stride < size")
    if n_tokens <= size:
        return [(0, n_tokens)] if n_tokens else []
    step = size - stride
    bounds = [(a, a + size) for a in range(0, n_tokens - size, step)]
    bounds.append((n_tokens - size, n_tokens))
    return bounds


def single_thread_pool(workers: int) -> ThreadPoolExecutor:
    """``workers`` threads whose torch ops each use one intra-op thread.

    ``torch.set_num_threads`` sets the calling thread's OpenMP thread count, but it also
    records a process-wide count that a thread adopts when it first runs a torch op; each
    worker therefore makes that first call before setting its own count, and the caller's
    count is set back once all workers have started.
    """
    before = torch.get_num_threads()
    started = threading.Barrier(workers + 1)

    def one_thread() -> None:
        torch.get_num_threads()  # this thread's first torch call adopts the process count
        torch.set_num_threads(1)
        started.wait()

    pool = ThreadPoolExecutor(workers, thread_name_prefix="tag-stream", initializer=one_thread)
    for _ in range(workers):  # a busy worker makes the next submit start a new one
        pool.submit(int)
    started.wait()
    torch.set_num_threads(before)
    return pool


def _done(value) -> Future:
    """A future that already holds ``value`` (the single-stream path)."""
    future: Future = Future()
    future.set_result(value)
    return future


class _Chunk:
    """A chunk of texts on its way through the model: windows, and per token its label
    probabilities so far (from the window where the token sits furthest from an edge)."""

    def __init__(
        self,
        offset: int,
        texts: Sequence[str],
        encoded: list[_Encoded],
        window: int,
        stride: int,
        labels: int,
        sentiment_classes: int = 0,
    ) -> None:
        self.offset = offset
        self.texts = texts
        self.encoded = encoded
        self.windows = [
            (t, a, b)
            for t, enc in enumerate(encoded)
            for a, b in window_bounds(len(enc.ids), window, stride)
        ]
        self.probs = [np.zeros((len(e.ids), labels), dtype=np.float32) for e in encoded]
        self.best = [np.full(len(e.ids), -1, dtype=np.int64) for e in encoded]
        self.model: torch.nn.Module | None = None  # what every batch of the chunk runs on
        self.precision = ""
        # sentiment: per text the token-weighted sum of its windows' probabilities
        self.sentiment = (
            np.zeros((len(encoded), sentiment_classes), dtype=np.float64)
            if sentiment_classes
            else None
        )
        self.sentiment_weight = np.zeros(len(encoded), dtype=np.float64)

    def merge(
        self,
        batch: list[int],
        probs: np.ndarray,
        sentiment: np.ndarray | None = None,
    ) -> None:
        """Keep each token's probabilities from the window where it is most central; add each
        window's sentiment probabilities (weighted by its tokens) to its text's."""
        for row, w in enumerate(batch):
            t, a, b = self.windows[w]
            n = b - a
            if sentiment is not None and self.sentiment is not None:
                self.sentiment[t] += n * sentiment[row]
                self.sentiment_weight[t] += n
            pos = np.arange(n)
            centrality = np.minimum(pos, n - 1 - pos)
            better = centrality > self.best[t][a:b]
            self.best[t][a:b][better] = centrality[better]
            self.probs[t][a:b][better] = probs[row, 1 : n + 1][better]


class Engine:
    """Runs a token-classification model over many texts (see the module docstring).

    Args:
        model: a transformers token classifier.
        tokenizer: its fast tokenizer.
        device: ``cpu``, ``cuda`` or ``auto``.
        max_length: tokens per window, [CLS] and [SEP] included.
        stride: overlap of consecutive windows of a long text.
        chunk_size: texts tokenized together.
        max_batch_tokens: padded tokens per forward pass (default: 4,096 on a CPU, 16,384
            on CUDA).
        precision: see :data:`PRECISIONS`.
        calibration: int8 calibration maxima (model/quantize.py).
        streams: batches run at once, each on one intra-op thread (default: on a CPU
            ``torch.get_num_threads()``, on CUDA 1). With 1, a batch uses all of torch's
            intra-op threads.
        segmentation: ``words`` (whole names, model/words.py) or ``bert`` (the tokenizer's
            words: what artefacts without the setting were trained on).
        decoding: ``iob2-viterbi`` (the most probable valid IOB2 sequence per text) or
            ``argmax`` (each word's most probable label: artefacts without the setting).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        *,
        device: str | torch.device = "cpu",
        max_length: int = 256,
        stride: int = 64,
        chunk_size: int = 512,
        max_batch_tokens: int | None = None,
        precision: str = "auto",
        calibration: dict[str, torch.Tensor] | None = None,
        streams: int | None = None,
        segmentation: str = WORDS,
        decoding: str = VITERBI,
    ) -> None:
        self.segmentation = check_segmentation(segmentation)
        self.decoding = check_decoding(decoding)
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.window = max_length - 2
        self.stride = min(stride, self.window // 2)
        self.chunk_size = chunk_size
        # padded tokens per forward pass: on a CPU small batches stay in cache (int8: 2,000
        # tickets ran ~7 % faster at 1,024–4,096 than at 16,384; fp32 was also fastest with
        # small batches); GPUs want more
        self.max_batch_tokens = max_batch_tokens or (16384 if self.device.type == "cuda" else 4096)
        self.precision = resolve_precision(precision, self.device)
        # a CPU runs one batch per intra-op thread torch has, each batch on one thread:
        # int8 tagging of 2,000 tickets took ~10-15 % less time than with both threads
        # on each batch (bench/RESULTS.md)
        cpu = self.device.type == "cpu"
        self.streams = max(1, streams or (torch.get_num_threads() if cpu else 1))
        self._pool: ThreadPoolExecutor | None = None
        self.dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.model = model.to(self.device, dtype=self.dtype).eval()
        if self.precision == "int8":
            from model.quantize import prepare_int8

            self.model = prepare_int8(self.model, calibration, streams=self.streams)
        self._swap = threading.Lock()
        self._warm = False  # the int8 model has been compiled (model.quantize.warm_up)
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.labels = labels
        types = sorted({t for t in (split_tag(label)[1] for label in labels) if t})
        self.types = types
        # per label id: entity type index (0 = O) and whether it begins an entity
        self._type_of = np.array(
            [0 if split_tag(lb)[1] is None else 1 + types.index(split_tag(lb)[1]) for lb in labels]
        )
        self._is_begin = np.array([split_tag(lb)[0] == "B" for lb in labels])
        self._follows, self._may_start = iob2_constraints(labels)
        self.sentiment_labels: list[str] = list(
            getattr(model.config, "sentiment_labels", None) or []
        )
        """The sentiment head's classes (empty: the model has no sentiment head)."""
        self._cls = tokenizer.cls_token_id
        self._sep = tokenizer.sep_token_id
        self._pad = tokenizer.pad_token_id or 0
        self.casing = casing_of(model)
        """:data:`model.casing.CASING` when the model takes word shapes as token types."""
        if self.casing and self.segmentation != WORDS:
            raise ValueError(f"a casing model needs {WORDS!r} segmentation")

    # -- tokenization ----------------------------------------------------------------

    def _encode(self, texts: Sequence[str]) -> list[_Encoded]:
        if self.segmentation == BERT:
            return self._encode_bert(texts)
        spans = [split_words(text) for text in texts]
        enc = self.tokenizer(
            [[text[a:b] for a, b in words] for text, words in zip(texts, spans, strict=True)],
            is_split_into_words=True,
            add_special_tokens=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            truncation=False,
        )
        out: list[_Encoded] = []
        for i, ids in enumerate(enc["input_ids"]):
            words = np.asarray(enc.word_ids(i), dtype=np.int64)
            out.append(
                _Encoded(
                    np.asarray(ids, dtype=np.int64),
                    words,
                    spans=np.asarray(spans[i], dtype=np.int64).reshape(-1, 2),
                    cases=word_cases(texts[i], spans[i])[words] if self.casing else None,
                )
            )
        return out

    def _encode_bert(self, texts: Sequence[str]) -> list[_Encoded]:
        enc = self.tokenizer(
            list(texts),
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            truncation=False,
        )
        out: list[_Encoded] = []
        for i, ids in enumerate(enc["input_ids"]):
            words = enc.word_ids(i)
            out.append(
                _Encoded(
                    np.asarray(ids, dtype=np.int64),
                    np.asarray([-1 if w is None else w for w in words], dtype=np.int64),
                    offsets=np.asarray(enc["offset_mapping"][i], dtype=np.int64).reshape(-1, 2),
                )
            )
        return out

    def _encoded_chunks(self, texts: Sequence[str]) -> Iterator[tuple[int, list[_Encoded]]]:
        """Yield ``(offset, encodings)`` per chunk, tokenizing the next chunk meanwhile."""
        starts = list(range(0, len(texts), self.chunk_size))
        if not starts:
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenize") as pool:
            pending: Future = pool.submit(self._encode, texts[0 : self.chunk_size])
            for k, start in enumerate(starts):
                current = pending.result()
                if k + 1 < len(starts):
                    nxt = starts[k + 1]
                    pending = pool.submit(self._encode, texts[nxt : nxt + self.chunk_size])
                yield start, current

    # -- model -----------------------------------------------------------------------

    def _batches(self, windows: list[tuple[int, int, int]], batch_size: int) -> Iterator[list[int]]:
        """Indices of ``windows`` (text, a, b) in length-sorted batches of at most
        ``batch_size`` windows and :attr:`max_batch_tokens` padded tokens."""
        order = sorted(
            range(len(windows)), key=lambda w: windows[w][2] - windows[w][1], reverse=True
        )
        batch: list[int] = []
        longest = 0
        for w in order:
            length = windows[w][2] - windows[w][1] + 2
            longest = max(longest, length)
            if batch and (
                len(batch) >= batch_size or longest * (len(batch) + 1) > self.max_batch_tokens
            ):
                yield batch
                batch, longest = [], length
            batch.append(w)
        if batch:
            yield batch

    def use_model(self, model: torch.nn.Module, precision: str) -> None:
        """Run chunks that begin from now on with ``model`` in ``precision`` (a chunk already
        under way finishes on its model, so each text is tagged in one precision). Used to
        switch to the int8 model once it is compiled (model/tagger.py)."""
        with self._swap:
            self.model, self.precision = model, precision

    def current_model(self) -> tuple[torch.nn.Module, str]:
        """The model new chunks run on, and its precision."""
        with self._swap:
            return self.model, self.precision

    def _run(
        self,
        ids: np.ndarray,
        mask: np.ndarray,
        model: torch.nn.Module | None = None,
        types: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Every token's label probabilities ``(rows, width, labels)`` for a padded batch (on
        ``model``, default the current one; ``types``: the word shapes of a casing model),
        and the sentiment probabilities per row (``None`` without the head)."""
        model = model if model is not None else self.model
        inputs = {
            "input_ids": torch.from_numpy(ids).to(self.device, non_blocking=True),
            "attention_mask": torch.from_numpy(mask).to(self.device, non_blocking=True),
        }
        if types is not None:
            inputs["token_type_ids"] = torch.from_numpy(types).to(self.device, non_blocking=True)
        with torch.inference_mode():
            out = model(**inputs)
            probs = torch.softmax(out.logits.float(), dim=-1)
            sentiment = getattr(out, "sentiment_logits", None)
            if sentiment is not None:
                sentiment = torch.softmax(sentiment.float(), dim=-1).cpu().numpy()
        return probs.cpu().numpy(), sentiment

    def _stream_pool(self) -> ThreadPoolExecutor | None:
        """The threads that run batches when there are several :attr:`streams` (made once)."""
        if self.streams == 1:
            return None
        if self._pool is None:
            self._pool = single_thread_pool(self.streams)
        return self._pool

    # -- public ----------------------------------------------------------------------

    def tag(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> list[list[Entity]]:
        """Entities of every text, in input order.

        Args:
            texts: the texts (``str``; an empty text has no entity).
            batch_size: most windows per forward pass.
            progress: called with the number of texts finished after each chunk.

        Raises:
            TypeError: an item of ``texts`` is not a string.
        """
        return self.tag_with_sentiment(texts, batch_size=batch_size, progress=progress)[0]

    def tag_with_sentiment(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[list[list[Entity]], list[Sentiment | None]]:
        """Entities and sentiment of every text from the same forward passes.

        The sentiment list holds ``None`` for every text when the model has no sentiment
        head (:attr:`sentiment_labels` empty), and for a text without any token.
        Arguments and errors as :meth:`tag`.
        """
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is {type(text).__name__}, not str")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        results: list[list[Entity]] = [[] for _ in texts]
        sentiments: list[Sentiment | None] = [None] * len(texts)
        for chunk in self._tagged_chunks(texts, batch_size):
            end = chunk.offset + len(chunk.encoded)
            results[chunk.offset : end] = [
                self._entities(text, enc, probs)
                for text, enc, probs in zip(chunk.texts, chunk.encoded, chunk.probs, strict=True)
            ]
            if chunk.sentiment is not None:
                sentiments[chunk.offset : end] = self._sentiments(chunk)
            if progress is not None:
                progress(len(chunk.encoded))
        return results, sentiments

    def _sentiments(self, chunk: _Chunk) -> list[Sentiment | None]:
        """Each text's sentiment: the token-weighted mean of its windows' probabilities."""
        assert chunk.sentiment is not None
        weight = chunk.sentiment_weight
        mean = chunk.sentiment / np.maximum(weight, 1.0)[:, None]
        best = mean.argmax(axis=1)
        return [
            Sentiment(self.sentiment_labels[k], float(mean[t, k]), tuple(float(x) for x in mean[t]))
            if weight[t] > 0
            else None
            for t, k in enumerate(best.tolist())
        ]

    def _padded(
        self, chunk: _Chunk, batch: list[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Token ids, attention mask and (casing models) word shapes of ``batch`` (window
        indices of ``chunk``; shapes are 0 on [CLS], [SEP] and padding).

        For the compiled int8 model a batch has at least :data:`INT8_MIN_ROWS` rows (a
        ``[CLS]``-only row is added) of at least :data:`INT8_MIN_WIDTH` tokens, so that every
        batch runs the same compiled graph (see :data:`INT8_MIN_ROWS`); each row's result
        does not depend on the others (per-token scales), and the extra row is dropped."""
        width = max(chunk.windows[w][2] - chunk.windows[w][1] for w in batch) + 2
        rows = len(batch)
        if chunk.precision == "int8":
            rows, width = max(rows, INT8_MIN_ROWS), max(width, INT8_MIN_WIDTH)
        ids = np.full((rows, width), self._pad, dtype=np.int64)
        mask = np.zeros((rows, width), dtype=np.int64)
        types = np.zeros((rows, width), dtype=np.int64) if self.casing else None
        ids[len(batch) :, 0] = self._cls
        mask[len(batch) :, 0] = 1
        for row, w in enumerate(batch):
            t, a, b = chunk.windows[w]
            n = b - a
            ids[row, 0] = self._cls
            ids[row, 1 : n + 1] = chunk.encoded[t].ids[a:b]
            ids[row, n + 1] = self._sep
            mask[row, : n + 2] = 1
            if types is not None:
                types[row, 1 : n + 1] = chunk.encoded[t].cases[a:b]
        return ids, mask, types

    def _work(
        self, texts: Sequence[str], batch_size: int
    ) -> Iterator[tuple[_Chunk, list[int] | None, bool]]:
        """``(chunk, batch, last)`` for every batch of every chunk, in order, ``last`` on a
        chunk's last batch; a chunk without any window (only empty texts) comes once, with
        ``None``."""
        for offset, encoded in self._encoded_chunks(texts):
            chunk = _Chunk(
                offset,
                texts[offset : offset + len(encoded)],
                encoded,
                self.window,
                self.stride,
                len(self.labels),
                len(self.sentiment_labels),
            )
            chunk.model, chunk.precision = self.current_model()
            batches = list(self._batches(chunk.windows, batch_size)) or [None]
            for k, batch in enumerate(batches):
                yield chunk, batch, k == len(batches) - 1

    def _tagged_chunks(self, texts: Sequence[str], batch_size: int) -> Iterator[_Chunk]:
        """Chunks whose every batch has been through the model, in input order.

        With several :attr:`streams` the batches run on a pool of threads, each with one
        intra-op thread, and are taken back in submission order, so results do not depend
        on which thread ran what; the next chunk's batches are submitted while the current
        chunk finishes, so no stream waits at chunk boundaries.
        """
        pool = self._stream_pool()
        in_flight: deque[tuple[_Chunk, list[int] | None, Future | None, bool]] = deque()
        work = self._work(texts, batch_size)

        def submit() -> bool:
            item = next(work, None)
            if item is None:
                return False
            chunk, batch, last = item
            future = None
            if batch is not None:
                ids, mask, types = self._padded(chunk, batch)
                future = (
                    pool.submit(self._run, ids, mask, chunk.model, types)
                    if pool is not None
                    else _done(self._run(ids, mask, chunk.model, types))
                )
            in_flight.append((chunk, batch, future, last))
            return True

        ahead = 2 * self.streams if pool is not None else 1
        while len(in_flight) < ahead and submit():
            pass
        while in_flight:
            chunk, batch, future, last = in_flight.popleft()
            if future is not None:
                chunk.merge(batch, *future.result())
            submit()
            if last:
                yield chunk

    def _entities(self, text: str, enc: _Encoded, probs: np.ndarray) -> list[Entity]:
        """Whole-word entities of one text from its tokens' label probabilities: the most
        probable valid IOB2 labels of its words, grouped, punctuation off the ends."""
        n = len(enc.ids)
        if n == 0:
            return []
        first = np.ones(n, dtype=bool)
        first[1:] = enc.words[1:] != enc.words[:-1]
        starts_idx = np.flatnonzero(first)  # first token of each word
        word_probs = probs[starts_idx]
        word_label = (
            best_iob2_path(word_probs, self._follows, self._may_start)
            if self.decoding == VITERBI
            else word_probs.argmax(axis=1)
        )
        word_type = self._type_of[word_label]
        if not word_type.any():
            return []
        word_score = word_probs[np.arange(len(word_label)), word_label]
        if enc.spans is not None:  # words: their own ranges
            ranges = enc.spans[enc.words[starts_idx]]
            word_start, word_end = ranges[:, 0], ranges[:, 1]
        else:  # bert: the tokens' offsets
            ends_idx = np.append(starts_idx[1:], n) - 1  # last token of each word
            word_start = enc.offsets[starts_idx, 0]
            word_end = enc.offsets[ends_idx, 1]
        prev_type = np.concatenate(([0], word_type[:-1]))
        begins = (word_type > 0) & (self._is_begin[word_label] | (word_type != prev_type))
        # every non-O word begins an entity or continues the previous word's one
        inside = np.flatnonzero(word_type > 0)
        entity_of = (np.cumsum(begins) - 1)[inside]
        cuts = np.flatnonzero(np.diff(entity_of)) + 1
        firsts = inside[np.concatenate(([0], cuts))].tolist()
        lasts = inside[np.concatenate((cuts, [len(inside)])) - 1].tolist()
        starts, ends = word_start.tolist(), word_end.tolist()
        out: list[Entity] = []
        for first_word, last_word in zip(firsts, lasts, strict=True):
            kind = self.types[word_type[first_word] - 1]
            for f, la in _pieces(text, starts, ends, first_word, last_word):
                while f <= la and is_punctuation(text[starts[f] : ends[f]]):
                    f += 1
                while la >= f and is_punctuation(text[starts[la] : ends[la]]):
                    la -= 1
                if f > la:  # nothing but punctuation
                    continue
                start, end = starts[f], ends[la]
                mean = float(word_score[f : la + 1].sum(dtype=np.float64)) / (la - f + 1)
                out.append(Entity(start, end, kind, text[start:end], mean))
        return out


_STOPS = frozenset("?!;…")
"""Words that end a sentence or clause: an entity never runs across one (``qwen-long? v2.3``
is two), nor across a line break (a signature's name and the title under it)."""


def _pieces(
    text: str, starts: list[int], ends: list[int], first: int, last: int
) -> list[tuple[int, int]]:
    """The words ``first..last`` of one entity, cut at line breaks and at :data:`_STOPS`."""
    pieces = []
    begin = first
    for k in range(first + 1, last + 1):
        gap = text[ends[k - 1] : starts[k]]
        if "\n" in gap or "\r" in gap or text[starts[k - 1] : ends[k - 1]] in _STOPS:
            pieces.append((begin, k - 1))
            begin = k
    pieces.append((begin, last))
    return pieces
