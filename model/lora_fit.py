"""A whole model fitted back into LoRA adapters, so a full fine-tune ships as a small artefact.

    python -m model.train fit-lora FULL_DIR --output DIR [--rank R] [--embedding-rank E]

A full fine-tune (``--full``) changes every weight; its artefact holds all of them (90 MB in
float32, 45 MB in float16), too large for the repository's default and for the 64 MiB a
device call may send. Most of the change sits in a few directions of each weight matrix, so
each encoder matrix's change from the backbone, ``W - W0``, is replaced by its best rank-``R``
approximation (the truncated singular value decomposition, which is the closest in the
Frobenius norm): ``B @ A`` with ``B = U[:, :R] * S[:R]`` and ``A = Vh[:R]``, LoRA's own form
with a scaling of 1 (alpha = rank). The word embeddings' change gets a rank-``E`` adapter the
same way (``E = 0``: the backbone's embeddings). What is small is kept exactly: every bias of
an adapted layer (``bias="lora_only"``), the LayerNorms, the position and word-shape
embeddings and both heads (``modules_to_save``). The adapters are stored in float16 (each
within 2**-11 of its value; read back in float32).

The artefact is format ``lora`` and loads as any other; its ``metrics.json`` is the full
run's, to be scored again (``python -m model.train rescore DIR``): the fit changes the
weights, so the figures are the fitted model's only once measured. ``fit_report`` in it
records the ranks and how much of each change the ranks kept.

``--rank-allocation energy`` spends the same number of adapter weights as rank ``R`` on every
matrix, but where the changes are: each matrix gets the rank at which its next singular
direction would keep less of the change per weight than the others' (a greedy split of
``R · Σ (rows + columns)`` weights by ``σ² / (rows + columns)``, at least rank 1 each), so
the fit's squared Frobenius error summed over the encoder falls where the changes are uneven
(never above the uniform fit's: where the greedy split would keep less, uniform is kept).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from pathlib import Path

import torch

from model.artefact import SETTINGS_FILE, load_model, read_settings
from model.backbone import backbone_version
from model.folder_swap import replace_folder, staging_folder

__all__ = ["ALLOCATIONS", "add_fit_lora", "base_model", "energy_ranks", "fit_lora"]

#: The encoder's linear layers (LoRA's targets in training too).
_TARGETS = ("query", "key", "value", "dense")
#: Kept exactly (small): both heads, the LayerNorms, the position and word-shape embeddings.
_KEPT = (
    "classifier",
    "sentiment_head",
    "LayerNorm",
    "position_embeddings",
    "token_type_embeddings",
)
_ADAPTER_FILE = "adapter_model.safetensors"
#: How ``--rank`` is spent: the same rank on every matrix, or split by the changes' energy.
ALLOCATIONS = ("uniform", "energy")
_COPIED = ("int8_calibration.safetensors", "metrics.json")


def _low_rank(delta: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``(B, A, kept)``: ``B @ A`` is the best rank-``rank`` approximation of ``delta``;
    ``kept`` the share of its squared Frobenius norm that it keeps."""
    u, s, vh = torch.linalg.svd(delta.double(), full_matrices=False)
    kept = float((s[:rank] ** 2).sum() / (s**2).sum()) if float(s.sum()) > 0 else 1.0
    return (u[:, :rank] * s[:rank]).float(), vh[:rank].float(), kept


def base_model(settings: dict) -> torch.nn.Module:
    """The model a full fine-tune of this artefact's kind started from: the backbone with
    fresh heads (and the word-shape table, if the artefact has it)."""
    from model.casing import enable_casing
    from model.sentiment import load_two_head

    base = load_two_head(settings["labels"], settings["sentiment"]["labels"])
    return enable_casing(base) if settings.get("casing") else base


def energy_ranks(changes: dict[str, torch.Tensor], rank: int) -> dict[str, int]:
    """Each matrix's rank when the adapter weights of rank ``rank`` on every one of
    ``changes`` are shared out by the changes' energy: singular directions taken in the order
    of ``σ² / (rows + columns)`` (the squared Frobenius norm a direction keeps per adapter
    weight) while the weights last, directions with none (or mere rounding) left out; at
    least 1 each, at most the matrix's smaller side. Where that split keeps less of the
    changes than ``rank`` on every matrix (it can, the costs being unequal), the uniform
    ranks are returned.

    >>> a, b = torch.zeros(4, 4), torch.zeros(4, 4)
    >>> a[0, 0], a[1, 1], b[0, 0] = 3.0, 2.0, 0.5
    >>> energy_ranks({"a": a, "b": b}, 2)  # rank 1 each, then a's second direction; no more
    {'a': 2, 'b': 1}
    """
    budget = rank * sum(sum(c.shape) for c in changes.values())
    ranks = {name: 1 for name in changes}
    spent = sum(sum(c.shape) for c in changes.values())
    energy = {name: torch.linalg.svdvals(c.double()) ** 2 for name, c in changes.items()}
    candidates = []
    for name, change in changes.items():
        cost = sum(change.shape)
        floor = 1e-9 * float(energy[name].sum())  # below: float32 rounding, not a change
        candidates += [(float(e) / cost, cost, name) for e in energy[name][1:] if e > floor]
    for _, cost, name in sorted(candidates, key=lambda c: -c[0]):
        if spent + cost <= budget:
            ranks[name] += 1
            spent += cost
    # the greedy split can lose to the uniform one where the costs differ: keep the better
    uniform = {name: min(rank, min(c.shape)) for name, c in changes.items()}

    def kept(ranks_of: dict[str, int]) -> float:
        return sum(float(energy[name][: ranks_of[name]].sum()) for name in changes)

    return ranks if kept(ranks) >= kept(uniform) else uniform


def _peft_model(
    settings: dict, rank: int, embedding_rank: int, ranks: dict[str, int] | None = None
) -> torch.nn.Module:
    """:func:`base_model` wrapped in LoRA adapters of ``rank`` (``ranks``: a rank per matrix,
    by its name in the plain model), and ``embedding_rank`` on the word embeddings."""
    from peft import LoraConfig, get_peft_model

    base = base_model(settings)
    targets = list(_TARGETS) + (["word_embeddings"] if embedding_rank else [])
    pattern = dict(ranks or {}) | ({"word_embeddings": embedding_rank} if embedding_rank else {})
    config = LoraConfig(
        r=rank,
        lora_alpha=rank,  # scaling 1: B @ A is the change itself
        target_modules=targets,
        modules_to_save=list(_KEPT),
        bias="lora_only",
        lora_dropout=0.0,
        rank_pattern=pattern,
        alpha_pattern=pattern,  # scaling 1 for each
    )
    with warnings.catch_warnings():  # peft calls a deprecated transformers property
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        return get_peft_model(base, config)


def fit_lora(
    full_dir: Path,
    out: Path,
    rank: int = 128,
    embedding_rank: int = 0,
    allocation: str = "uniform",
) -> dict:
    """Write the LoRA artefact fitted to the whole-model artefact ``full_dir`` into ``out``
    (replaced); returns the fit report (ranks, kept share of each change, worst and mean).
    ``allocation``: ``uniform`` (``rank`` on every encoder matrix) or ``energy`` (the same
    number of adapter weights split by :func:`energy_ranks`).

    Raises:
        ValueError: ``full_dir`` is not a whole model of both heads on the installed
            backbone, or a rank is below 1
            (``embedding_rank``: below 0) or above a matrix's size, or an unknown allocation.
    """
    if allocation not in ALLOCATIONS:
        raise ValueError(f"unknown rank allocation {allocation!r} ({', '.join(ALLOCATIONS)})")
    settings = read_settings(full_dir)
    if settings["format"] != "full" or not settings.get("sentiment"):
        raise ValueError(f"{full_dir}: not a whole model of both heads (format 'full')")
    if settings.get("backbone") != backbone_version():  # the changes are from this backbone
        raise ValueError(
            f"{full_dir}: trained on backbone {settings.get('backbone')!r}, "
            f"not the installed {backbone_version()!r}"
        )
    if rank < 1 or embedding_rank < 0:
        raise ValueError(f"ranks must be at least 1 (embeddings: 0); got {rank}, {embedding_rank}")
    full = load_model(full_dir).float()
    trained = dict(full.named_parameters())
    ranks = None
    if allocation == "energy":
        start = _peft_model(settings, rank, 0)
        changes = {
            _plain(name): trained[f"{_plain(name)}.weight"] - module.base_layer.weight
            for name, module in start.named_modules()
            if hasattr(module, "lora_A") and "default" in module.lora_A
        }
        ranks = energy_ranks({k: v.detach() for k, v in changes.items()}, rank)
    model = _peft_model(settings, rank, embedding_rank, ranks)
    kept: dict[str, float] = {}
    with torch.no_grad():
        for name, module in model.named_modules():
            if hasattr(module, "lora_A") and "default" in module.lora_A:
                own = ranks[_plain(name)] if ranks else rank
                kept[name] = _fit_linear(module, _plain(name), trained, own)
            elif hasattr(module, "lora_embedding_A") and "default" in module.lora_embedding_A:
                kept[name] = _fit_embedding(module, _plain(name), trained, embedding_rank)
            elif hasattr(module, "modules_to_save") and "default" in module.modules_to_save:
                copy = module.modules_to_save["default"]
                for param_name, param in copy.named_parameters():
                    param.copy_(trained[f"{_plain(name)}.{param_name}"])
    report = {
        "rank": rank,
        "allocation": allocation,
        "ranks": {"min": min(ranks.values()), "max": max(ranks.values())} if ranks else None,
        "embedding_rank": embedding_rank,
        "kept_min": round(min(kept.values()), 4),
        "kept_mean": round(sum(kept.values()) / len(kept), 4),
        "adapted": len(kept),
    }
    _write(model, full_dir, out, settings, report)
    return report


def _plain(peft_name: str) -> str:
    """A module's name in the plain model (peft's wrapper prefix dropped)."""
    return peft_name.removeprefix("base_model.model.")


def _fit_linear(module, name: str, trained: dict, rank: int) -> float:
    base = module.base_layer
    if rank > min(base.weight.shape):
        raise ValueError(f"rank {rank} exceeds the size of {name} {tuple(base.weight.shape)}")
    b, a, kept = _low_rank(trained[f"{name}.weight"] - base.weight, rank)
    module.lora_A["default"].weight.copy_(a)
    module.lora_B["default"].weight.copy_(b)
    if base.bias is not None:
        base.bias.copy_(trained[f"{name}.bias"])
    return kept


def _fit_embedding(module, name: str, trained: dict, rank: int) -> float:
    base = module.base_layer
    b, a, kept = _low_rank(trained[f"{name}.weight"] - base.weight, rank)
    # peft's embedding adapter adds (B_e @ A_e).T with A_e (rank x vocabulary), B_e (dim x rank)
    module.lora_embedding_A["default"].copy_(b.T)
    module.lora_embedding_B["default"].copy_(a.T)
    return kept


def _write(model, full_dir: Path, out: Path, settings: dict, report: dict) -> None:
    """The artefact: adapters in float16, ``tagger.json`` as LoRA, the full run's
    calibration and metrics (with ``fit_report``); written into a folder beside ``out``, then
    renamed into place (:mod:`model.folder_swap`); on failure nothing is left behind."""
    partial = staging_folder(out)
    try:
        _fill(model, full_dir, partial, settings, report)
        replace_folder(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _fill(model, full_dir: Path, partial: Path, settings: dict, report: dict) -> None:
    """The artefact's files, written into the staging folder ``partial``."""
    from model.artefact_writer import tidy_adapter_config, write_in_float16

    model.save_pretrained(str(partial))
    write_in_float16(partial / _ADAPTER_FILE, partial / _ADAPTER_FILE)
    tidy_adapter_config(partial)
    (partial / "README.md").unlink(missing_ok=True)
    (partial / SETTINGS_FILE).write_text(
        json.dumps(settings | {"format": "lora"}, indent=2) + "\n", encoding="utf-8"
    )
    for name in _COPIED:
        if (full_dir / name).is_file():
            shutil.copy(full_dir / name, partial / name)
    metrics_path = partial / "metrics.json"
    if metrics_path.is_file():
        from model.train_rescore import read_metrics  # bounded: a regular file, at most 4 MiB

        metrics = read_metrics(metrics_path)
        metrics["fit_report"] = report | {"from": str(full_dir)}
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def add_fit_lora(sub: argparse._SubParsersAction) -> None:
    """The ``fit-lora`` verb and its flags."""
    p = sub.add_parser(
        "fit-lora",
        help="fit a whole-model artefact back into LoRA adapters (a small artefact)",
        description="Replace each encoder matrix's change from the backbone by its best "
        "low-rank approximation, as LoRA adapters; score the result with rescore.",
    )
    p.add_argument("full_dir", type=Path, metavar="FULL_DIR", help="a whole-model artefact")
    p.add_argument("--output", type=Path, required=True, help="the LoRA artefact to write")
    p.add_argument("--rank", type=int, default=128, help="rank of each encoder adapter")
    p.add_argument(
        "--embedding-rank",
        type=int,
        default=0,
        help="rank of the word embeddings' adapter (0: none)",
    )
    p.add_argument(
        "--rank-allocation",
        choices=ALLOCATIONS,
        default="uniform",
        help="uniform: --rank on every matrix; energy: as many adapter weights, split where "
        "the changes are",
    )
    p.set_defaults(func=_cmd_fit_lora)


def _cmd_fit_lora(args: argparse.Namespace) -> int:
    try:
        report = fit_lora(
            args.full_dir, args.output, args.rank, args.embedding_rank, args.rank_allocation
        )
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.output}: rank {report['rank']} (embeddings {report['embedding_rank']}), "
        f"{report['adapted']} layers, kept {report['kept_mean']:.4f} of each change on "
        f"average ({report['kept_min']:.4f} at worst); score it: python -m model.train "
        f"rescore {args.output}"
    )
    return 0
