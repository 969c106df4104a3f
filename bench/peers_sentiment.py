"""Sentiment on GoEmotions dev: the two-head tagger beside its peers, measured in one run.

GoEmotions (Demszky et al. 2020, CC BY 4.0; ``model/datasets/goemotions``): the dev split's
single-group comments (5,006), three classes (``ambiguous`` → ``neutral``, see
``model.datasets.read_goemotions``), macro-F1 over the classes:

- **VADER** (``vaderSentiment``, Hutto & Gilbert 2014): the compound score with the standard
  thresholds (≥ 0.05 positive, ≤ −0.05 negative, else neutral); no training.
- **TF-IDF + logistic regression** (scikit-learn): word 1–2-grams and character 2–5-grams
  (sublinear TF, min_df 2), multinomial logistic regression (C = 2, balanced class weights),
  trained on GoEmotions *train* (rows whose groups agree, as the tagger's training data).
- **full fine-tune** (with ``--full-ft-epochs N``; off by default, about 7 minutes an epoch of
  half the data on two cores): the backbone alone, every weight, on a seeded
  ``--full-ft-share`` of GoEmotions train (:mod:`bench.finetune_peer`); the issue's third peer
  is one epoch on half.
- **ours**: the tagger's sentiment head (``Tagger.tag_with_sentiment``), when ``--model``
  names a two-head artefact (default: model/default, which has no head until it is
  retrained; then only the peers are measured).

The last line printed is the result::

    sentiment[goemotions-dev]: ours=<macro-F1> vader=<macro-F1> tfidf_lr=<macro-F1> n=<texts>

(with ``full_ft=<macro-F1>`` before ``n=`` when the fine-tune ran).

Usage::

    python -m bench.peers_sentiment [--model DIR] [--precision fp32|int8|auto] [--json FILE]
                                    [--full-ft-epochs N] [--full-ft-share S]

Needs ``vaderSentiment`` and ``scikit-learn`` (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

GOEMOTIONS = ROOT / "model" / "datasets" / "goemotions"
LABELS = ("negative", "neutral", "positive")


def vader_labels(texts: list[str]) -> list[str]:
    """VADER's compound score with the standard ±0.05 thresholds."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        out.append(
            "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        )
    return out


def tfidf_lr_labels(
    train_texts: list[str], train_labels: list[str], texts: list[str], seed: int = 13
) -> list[str]:
    """TF-IDF (word 1-2-grams + char 2-5-grams) and logistic regression, fit on train."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, lowercase=True
    )
    x_train = hstack([words.fit_transform(train_texts), chars.fit_transform(train_texts)]).tocsr()
    x_test = hstack([words.transform(texts), chars.transform(texts)]).tocsr()
    model = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced", random_state=seed)
    model.fit(x_train, train_labels)
    return [str(p) for p in model.predict(x_test)]


def main(argv: list[str] | None = None) -> int:
    """Measure ours (when the model has the head), VADER and TF-IDF + LR; print the line."""
    from model.datasets import read_goemotions
    from model.evaluate import evaluate_sentiment

    parser = argparse.ArgumentParser(prog="python -m bench.peers_sentiment")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--data-dir", type=Path, default=GOEMOTIONS)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--full-ft-epochs", type=int, default=0, help="also the full fine-tune peer (0: not run)"
    )
    parser.add_argument("--full-ft-share", type=float, default=0.5, help="its share of train")
    args = parser.parse_args(argv)

    dev = read_goemotions(args.data_dir / "group_dev.tsv", single_group=True)
    train = read_goemotions(args.data_dir / "group_train.tsv")
    train_texts, train_labels = [ex.text for ex in train], [ex.sentiment for ex in train]
    texts = [ex.text for ex in dev]
    gold = [ex.sentiment for ex in dev]
    results: dict[str, dict] = {}
    timings: dict[str, float] = {}

    started = time.perf_counter()
    results["vader"] = evaluate_sentiment(gold, vader_labels(texts), LABELS)
    timings["vader"] = time.perf_counter() - started

    started = time.perf_counter()
    predicted = tfidf_lr_labels(train_texts, train_labels, texts)
    results["tfidf_lr"] = evaluate_sentiment(gold, predicted, LABELS)
    timings["tfidf_lr"] = time.perf_counter() - started

    if args.full_ft_epochs:
        from bench.finetune_peer import fine_tune_labels

        started = time.perf_counter()
        predicted = fine_tune_labels(
            train_texts,
            train_labels,
            texts,
            epochs=args.full_ft_epochs,
            share=args.full_ft_share,
        )
        results["full_ft"] = evaluate_sentiment(gold, predicted, LABELS)
        timings["full_ft"] = time.perf_counter() - started

    from model.tagger import Tagger

    tagger = Tagger.load(args.model, device="cpu", precision=args.precision)
    ours = None
    if tagger.has_sentiment:
        started = time.perf_counter()
        _, moods = tagger.tag_with_sentiment(texts, batch_size=64)
        results["ours"] = evaluate_sentiment(
            gold, [m.label if m is not None else None for m in moods], LABELS
        )
        timings["ours"] = time.perf_counter() - started
        ours = results["ours"]["macro_f1"]
    for name, scores in results.items():
        per = " ".join(f"{k}={v['f1']:.4f}" for k, v in scores["per_class"].items())
        print(
            f"{name:<9} macro-F1 {scores['macro_f1']:.4f} accuracy {scores['accuracy']:.4f} "
            f"({per}; {timings[name]:.1f} s)"
        )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "model_id": tagger.model_id,
                    "n": len(texts),
                    "precision": args.precision,
                    "full_ft": {"epochs": args.full_ft_epochs, "share": args.full_ft_share},
                    "scores": results,
                    "seconds": timings,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
    print(
        f"sentiment[goemotions-dev]: ours={'n/a' if ours is None else f'{ours:.4f}'} "
        f"vader={results['vader']['macro_f1']:.4f} "
        f"tfidf_lr={results['tfidf_lr']['macro_f1']:.4f} "
        + (f"full_ft={results['full_ft']['macro_f1']:.4f} " if "full_ft" in results else "")
        + f"n={len(texts)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
