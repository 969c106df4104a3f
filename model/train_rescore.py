"""``python -m model.train rescore DIR``: measure a trained artefact again with today's engine.

The evaluation sets are rebuilt from the training command recorded in the artefact's
``metrics.json`` (the same files, splits and seeds), the artefact is scored through the
inference engine as it loads it now (fp32, and int8 unless ``--no-int8``; with ``--decoding
NAME`` its ``tagger.json`` first gets that ``"decoding"``, which gives it a new id; with
``--float16`` a whole model's weights are first stored in float16, half the file, also a new
id), and
``metrics.json`` is rewritten in place: ``model_id``, ``scores``, ``sentiment_scores``,
``int8_scores`` and ``int8_sentiment_scores`` replaced; ``decoding`` set; the training
history, ``selection_dev_f1`` and everything else kept; under ``rescored`` the command, the
selection figure of the artefact as it stands (:func:`model.train_scores.selection_f1`; the
sentiment part after the class offsets training fitted, where the training history has it
before them) and the overall figures it replaced. Used when the engine's decoding changed (2026-12-05) or an
artefact's ``tagger.json`` gained a setting.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from model.artefact import SETTINGS_FILE, model_id_of, read_bounded_json, read_settings
from model.labels import DECODINGS, check_decoding

METRICS_FILE = "metrics.json"
MAX_METRICS_BYTES = 1 << 22
"""The largest ``metrics.json`` read (a trained artefact's is about 20 kB)."""
RECIPE_PREFIX = ("python", "-m", "model.train", "two-head")
"""How a recorded training command starts (``metrics.json``'s ``data.command``)."""


def add_rescore(sub: argparse._SubParsersAction) -> None:
    """The ``rescore`` verb and its flags."""
    p = sub.add_parser(
        "rescore",
        help="score a trained artefact again with today's engine (metrics.json rewritten)",
        description="Rebuild the evaluation sets from the training command in DIR/metrics.json, "
        "score the artefact as the engine loads it now and rewrite metrics.json's scores.",
    )
    p.add_argument("model_dir", type=Path, metavar="DIR", help="a two-head artefact folder")
    p.add_argument("--no-int8", action="store_true", help="skip the int8 scores")
    p.add_argument(
        "--decoding",
        choices=DECODINGS,
        help="first set the artefact's decoding (tagger.json; the model id changes)",
    )
    p.add_argument(
        "--float16",
        action="store_true",
        help="first store a whole model's weights in float16, half the file (read back in "
        "float32; the model id changes)",
    )
    p.set_defaults(func=_cmd_rescore)


def recorded_args(metrics: dict, source: Path) -> argparse.Namespace:
    """The two-head recipe's arguments of the recorded training command.

    Raises:
        ValueError: ``metrics`` holds no two-head training command.
    """
    from model.train_recipe import recipe_parser

    command = (metrics.get("data") or {}).get("command")
    words = shlex.split(command) if isinstance(command, str) else []
    if tuple(words[: len(RECIPE_PREFIX)]) != RECIPE_PREFIX:
        raise ValueError(
            f"{source}: no 'python -m model.train two-head' command under data.command"
        )
    return recipe_parser().parse_args(words[len(RECIPE_PREFIX) - 1 :])


def read_metrics(path: Path) -> dict:
    """The JSON object in ``path`` (an artefact's ``metrics.json``; a regular file of at most
    :data:`MAX_METRICS_BYTES`, read by :func:`model.artefact.read_bounded_json`).

    Raises:
        ValueError: it is no regular file, too large, not UTF-8 JSON or no object.
        OSError: it cannot be opened.
    """
    metrics = read_bounded_json(path, MAX_METRICS_BYTES, "a metrics.json")
    if not isinstance(metrics, dict):
        raise ValueError(f"{path} holds no JSON object")
    return metrics


def set_decoding(model_dir: Path, decoding: str) -> None:
    """Write ``"decoding": decoding`` into the artefact's ``tagger.json`` (atomically)."""
    settings = read_settings(model_dir)
    settings["decoding"] = check_decoding(decoding)
    path = model_dir / SETTINGS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def rescore(
    model_dir: Path,
    *,
    int8: bool = True,
    decoding: str | None = None,
    float16: bool = False,
    command: str = "",
    log: Callable[[str], None] = print,
) -> dict:
    """Score ``model_dir`` again (see the module docstring); returns the new metrics.

    Raises:
        ValueError: ``metrics.json`` records no two-head training command.
    """
    from model.tagger import Tagger
    from model.train_recipe import two_head_data
    from model.train_scores import score_int8, score_sets, selection_f1

    path = model_dir / METRICS_FILE
    metrics = read_metrics(path)
    args = recorded_args(metrics, path)
    if decoding is not None:
        set_decoding(model_dir, decoding)
    if float16:
        from model.artefact_writer import store_weights_in_float16

        log(f"weights stored in float16: {store_weights_in_float16(model_dir):,} bytes")
    _, _, dev_sets, test_sets, _ = two_head_data(args)
    sets = [*dev_sets, *test_sets]
    tagger = Tagger.load(model_dir, device="cpu", precision="fp32")
    scores, sentiment = score_sets(tagger, sets)
    int8_scores, int8_sentiment = score_int8(model_dir, sets, log) if int8 else ({}, {})
    before = {name: s["overall"]["f1"] for name, s in metrics.get("scores", {}).items()}
    decoding_before = check_decoding(metrics.get("decoding"))
    metrics.update(
        model_id=tagger.model_id,
        scores=scores,
        int8_scores=int8_scores,
        decoding=tagger.engine.decoding,
    )
    if "sentiment_scores" in metrics or sentiment:
        metrics["sentiment_scores"] = sentiment
        metrics["int8_sentiment_scores"] = int8_sentiment
    metrics["rescored"] = {
        "command": command or f"python -m model.train rescore {shlex.quote(str(model_dir))}",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "decoding": tagger.engine.decoding,
        "decoding_before": decoding_before,
        "selection_f1": round(selection_f1(scores, dev_sets, sentiment), 4),
        "overall_f1_before": before,
    }
    if model_id_of(model_dir) != tagger.model_id:
        raise RuntimeError(f"{model_dir} changed while it was scored; run rescore again")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return metrics


def _cmd_rescore(args: argparse.Namespace) -> int:
    from model.evaluate import format_scores

    try:
        command = shlex.join(
            ["python", "-m", "model.train", "rescore", str(args.model_dir)]
            + (["--no-int8"] if args.no_int8 else [])
            + (["--decoding", args.decoding] if args.decoding else [])
            + (["--float16"] if args.float16 else [])
        )
        metrics = rescore(
            args.model_dir,
            int8=not args.no_int8,
            decoding=args.decoding,
            float16=args.float16,
            command=command,
            log=_log,
        )
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, scores in metrics["scores"].items():
        print(f"== {name}")
        print(format_scores(scores))
    for name, scores in metrics.get("sentiment_scores", {}).items():
        print(f"== {name} sentiment: macro-F1 {scores['macro_f1']:.4f}")
    print(
        f"model {metrics['model_id']} ({metrics['decoding']}): selection "
        f"{metrics['rescored']['selection_f1']:.4f}; {args.model_dir / METRICS_FILE} rewritten"
    )
    return 0


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
