"""Tagging speed: our engine against Hugging Face's token-classification pipeline.

Both run the same model (the default tagger, LoRA merged) on the same generated tickets:
ours with :meth:`model.Tagger.tag`, theirs with
``pipeline("token-classification", aggregation_strategy="first", batch_size=32)``. The last
line printed is the result::

    tagging: ours=<tokens/s> pipeline=<tokens/s> ratio=<ours/pipeline> agreement=<F1> peak_fraction=<f>

- tokens/s: word-piece tokens of the tickets (with [CLS]/[SEP]) per second of wall time;
- agreement: entity-level F1 of our entities against the pipeline's (exact start, end, label);
- peak_fraction: the model FLOP/s our engine reached (matmul FLOPs of the real, unpadded
  tokens) divided by this machine's measured matmul FLOP/s in the precision our engine ran
  (int8 ``torch._int_mm`` or fp32 on CPU, bf16 on CUDA).

Ours runs as ``python -m model tag`` would for a job of ``--tickets`` tickets (``--precision
auto``: on a CPU with AMX bf16; on other CPUs bf16 (AVX-512 BF16) or fp32 up to
``model.tagger.AUTO_BF16_TEXTS`` or ``AUTO_FP32_TEXTS`` tickets, else int8 when the
artefact is calibrated, compiled before the timed runs; see model/tagger.py); the pipeline
gets the plain fp32 model, as a user of transformers would run it. ``--precision fp32``
compares like with like.

Usage::

    python -m bench.tagging [--tickets N] [--device cpu|cuda] [--model DIR] [--random] [--repeats R]
                            [--precision auto|fp32|bf16|int8]

``--engine ray`` runs ``bench/tagging_ray.py`` instead: the same tagger on Ray Data against
the local engine (its own summary line ``tagging[ray]: ...``).

``--random`` uses a randomly initialised model of the same shape (for a GPU machine without
the backbone package); agreement is then still measured, on that model.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _tickets(n: int, seed: int) -> list[str]:
    try:
        from data.demo import iter_gold_tickets

        return [t.text for t in iter_gold_tickets(n, seed)]
    except ImportError:  # a bare machine: texts of the same shape
        import random

        rng = random.Random(seed)
        text = (
            "please help our team in Paris with the invoice for Azure and OpenAI "
            "credits Jane Doe from Acme Corp asked about Gemini pricing"
        )
        words = text.split(" ")
        return [" ".join(rng.choice(words) for _ in range(rng.randint(8, 110))) for _ in range(n)]


def model_flops(lengths: list[int], config) -> float:
    """Matmul FLOPs of a BERT token classifier over sequences of these lengths (no padding)."""
    h, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    labels = config.num_labels
    total = 0.0
    for n in lengths:
        linear = 2 * n * (4 * h * h + 2 * h * inter)  # Q, K, V, output; two feed-forward
        attention = 2 * 2 * n * n * h  # Q·Kᵀ and weights·V
        total += layers * (linear + attention) + 2 * n * h * labels
    return total


def matmul_peak(device, dtype, size: int = 2048, seconds: float = 3.0) -> float:
    """Best measured FLOP/s of a square matmul on ``device`` in ``dtype`` (``torch.int8``:
    ``torch._int_mm``, int8 × int8 → int32, what the int8 engine multiplies with)."""
    import torch

    if dtype == torch.int8:
        a = torch.randint(-127, 127, (size, size), dtype=dtype)
        b = torch.randint(-127, 127, (size, size), dtype=dtype)
        matmul = torch._int_mm
    else:
        a = torch.randn(size, size, device=device, dtype=dtype)
        b = torch.randn(size, size, device=device, dtype=dtype)
        matmul = torch.matmul
    best = float("inf")
    deadline = time.perf_counter() + seconds
    reps = 0
    while time.perf_counter() < deadline or reps < 3:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10 if device.type == "cuda" else 1):
            matmul(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t0) / (10 if device.type == "cuda" else 1))
        reps += 1
    return 2 * size**3 / best


def cased_pipeline_class() -> type:
    """The Hugging Face token-classification pipeline that gives every token its word shape
    as its token type (:func:`model.casing.token_cases` from the tokenizer's offsets): what
    a tagger trained with ``--casing`` sees in our engine. Without it the pipeline would run
    such a model blind to case (all token types 0), a weaker model than ours."""
    import torch
    from transformers import TokenClassificationPipeline

    from model.casing import token_cases
    from model.words import split_words

    class CasedTokenClassificationPipeline(TokenClassificationPipeline):
        def preprocess(self, sentence, offset_mapping=None, **params):
            spans = split_words(sentence)
            for inputs in super().preprocess(sentence, offset_mapping=offset_mapping, **params):
                offsets = inputs["offset_mapping"][0].tolist()
                cases = token_cases(sentence, spans, offsets)
                inputs["token_type_ids"] = torch.from_numpy(cases).unsqueeze(0)
                yield inputs

    return CasedTokenClassificationPipeline


def agreement(ours: list[list], theirs: list[list[dict]]) -> float:
    """Entity-level F1 of our entities against the pipeline's."""
    a = {(i, e.start, e.end, e.label) for i, ents in enumerate(ours) for e in ents}
    b = {
        (i, int(e["start"]), int(e["end"]), e["entity_group"])
        for i, ents in enumerate(theirs)
        for e in ents
    }
    if not a and not b:
        return 1.0
    both = len(a & b)
    precision = both / len(a) if a else 0.0
    recall = both / len(b) if b else 0.0
    return 2 * precision * recall / (precision + recall) if both else 0.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures, the summary line last."""
    engine = argparse.ArgumentParser(add_help=False)
    engine.add_argument("--engine", default="local", choices=["local", "ray"])
    known, rest = engine.parse_known_args(argv)
    if known.engine == "ray":  # Ray Data against the local engine: bench/tagging_ray.py
        from bench.tagging_ray import main as ray_main

        return ray_main(rest)
    parser = argparse.ArgumentParser(
        prog="python -m bench.tagging", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--engine",
        default="local",
        choices=["local", "ray"],
        help="local: this comparison; ray: Ray Data against the local engine "
        "(bench/tagging_ray.py, its own options)",
    )
    parser.add_argument("--tickets", type=int, default=2000, help="generated tickets to tag")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--model", type=Path, help="artefact folder (default: built-in)")
    parser.add_argument(
        "--random", action="store_true", help="same-shape random model instead of the trained one"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="our engine's batch size")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated tickets")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument(
        "--repeats", type=int, default=2, help="alternating timed runs of each side (best kept)"
    )
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        help="a second artefact run by our engine, alternating with the first "
        "(its throughput ratio is printed before the summary line)",
    )
    parser.add_argument(
        "--precision",
        default=None,
        choices=["auto", "fp32", "bf16", "int8"],
        help="our engine's arithmetic (default: auto, as the tag command)",
    )
    args = parser.parse_args(argv)

    import torch
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    from model.backbone import load_tokenizer
    from model.labels import ENTITY_TYPES, iob2_labels
    from model.tagger import Tagger

    if args.random:
        from transformers import BertConfig, BertForTokenClassification

        from model.backbone import label_config

        labels = iob2_labels(ENTITY_TYPES)
        config = BertConfig(
            vocab_size=30522,
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=1536,
            attn_implementation="sdpa",
            **label_config(labels),
        )
        torch.manual_seed(0)
        model = BertForTokenClassification(config).eval()
        tokenizer = load_tokenizer()
        tagger = Tagger.from_model(
            model,
            tokenizer,
            model_id="random",
            device=args.device,
            precision=args.precision or "auto",
        )
    else:
        from model.artefact import DEFAULT_MODEL_DIR, load_model

        tagger = Tagger.load(args.model, device=args.device, precision=args.precision)
        # the pipeline's own copy, in fp32 (bf16 on CUDA as ours): what transformers would run
        model = load_model(args.model or DEFAULT_MODEL_DIR)
    engine = tagger.engine
    device = engine.device
    if device.type == "cuda":
        model = model.to(device, dtype=torch.bfloat16)
    texts = _tickets(args.tickets, args.seed)
    pipe_tokenizer = load_tokenizer()
    pipe_tokenizer.model_max_length = 512
    lengths = [len(ids) for ids in pipe_tokenizer(texts, truncation=True)["input_ids"]]
    tokens = sum(lengths)
    # --precision auto decides per job (model.tagger.choose_precision), as `python -m model tag`
    # does for this many tickets; a background int8 compile is awaited, so the timed runs
    # measure the steady state (compile excluded, as before)
    plan = tagger.plan(len(texts))
    if tagger.compiling:  # fp32-then-int8 or bf16-then-int8
        tagger.wait_compiled()
    other = None
    if args.against is not None:
        other = Tagger.load(args.against, device=args.device, precision=args.precision)
        other.plan(len(texts))
        if other.compiling:
            other.wait_compiled()
        other.engine.tag(texts[:64], batch_size=args.batch_size)
    print(
        f"auto precision plan for {len(texts)} tickets: {plan}"
        if args.precision in (None, "auto")
        else f"precision {args.precision}"
    )
    print(
        f"model {tagger.model_id} on {device} ({engine.precision}), {len(texts)} tickets, "
        f"{tokens} tokens (mean {tokens / len(texts):.0f}, max {max(lengths)}), "
        f"torch threads {torch.get_num_threads()}"
    )

    from model.casing import casing_of

    pipe = pipeline(
        "token-classification",
        model=model,
        tokenizer=pipe_tokenizer,
        aggregation_strategy="first",
        batch_size=32,
        device=device,
        # a casing model gets the word shapes it was trained with, as ours does
        pipeline_class=cased_pipeline_class() if casing_of(model) else None,
    )

    def run_pipeline(items: list[str]) -> list[list[dict]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(pipe(items))

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    warm = texts[:64]
    engine.tag(warm, batch_size=args.batch_size)  # the engine: no new plan per call
    run_pipeline(warm)
    sync()

    # alternate the two sides and keep each one's best time: on a shared machine the load
    # changes between runs, and a single pair of timings can favour either side
    ours_s = pipe_s = other_s = float("inf")
    for _ in range(args.repeats):
        if other is not None:
            t0 = time.perf_counter()
            other.engine.tag(texts, batch_size=args.batch_size)
            sync()
            other_s = min(other_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        ours = engine.tag(texts, batch_size=args.batch_size)
        sync()
        ours_s = min(ours_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs = run_pipeline(texts)
        sync()
        pipe_s = min(pipe_s, time.perf_counter() - t0)

    peak_dtype = {"bf16": torch.bfloat16, "int8": torch.int8}.get(engine.precision, torch.float32)
    peak = matmul_peak(device, peak_dtype)
    flops = model_flops(lengths, model.config)
    ours_tps, pipe_tps = tokens / ours_s, tokens / pipe_s
    print(
        f"ours: {ours_s:.2f} s, {len(texts) / ours_s:.1f} tickets/s, "
        f"{flops / ours_s / 1e9:.1f} GFLOP/s (model)"
    )
    print(f"pipeline: {pipe_s:.2f} s, {len(texts) / pipe_s:.1f} tickets/s")
    if other is not None:
        print(
            f"against {other.model_id} ({other.engine.precision}): "
            f"ours={len(texts) / ours_s:.1f} other={len(texts) / other_s:.1f} tickets/s "
            f"ratio={other_s / ours_s:.3f}"
        )
    print(f"measured {peak_dtype} matmul peak: {peak / 1e9:.1f} GFLOP/s")
    print(
        f"tagging: ours={ours_tps:.0f} pipeline={pipe_tps:.0f} ratio={ours_tps / pipe_tps:.2f} "
        f"agreement={agreement(ours, theirs):.4f} peak_fraction={flops / ours_s / peak:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
