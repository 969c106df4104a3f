"""Writing a trained tagger's artefact: the adapter (or full model) and ``tagger.json``.

The folder it writes is what :mod:`model.artefact` reads back (``load_model``,
``read_settings``, ``model_id_of``); ``model.train`` calls it at the end of a run.
:func:`store_weights_in_float16` halves a whole model's weights file (``python -m
model.train rescore DIR --float16``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from model.artefact import SETTINGS_FILE, read_settings
from model.backbone import backbone_version
from model.casing import CASING
from model.labels import VITERBI
from model.quantize import CALIBRATION_FILE
from model.sentiment import sentiment_config
from model.train_config import TrainConfig
from model.words import WORDS

__all__ = ["save_artefact", "store_weights_in_float16", "tidy_adapter_config", "write_in_float16"]

WEIGHTS_FILE = "model.safetensors"
"""A whole model's weights (format ``full``)."""


def save_artefact(
    model: torch.nn.Module,
    config: TrainConfig,
    labels: list[str],
    out: Path,
    *,
    sentiment_labels: Sequence[str] = (),
) -> None:
    """Write the adapter (or full model) and ``tagger.json`` into ``out`` (with
    ``"segmentation": "words"``, ``"decoding": "iob2-viterbi"``, and ``"sentiment"`` when
    the model has that head)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "model.safetensors",
        "config.json",
        CALIBRATION_FILE,
    ):
        (out / stale).unlink(missing_ok=True)
    model.save_pretrained(str(out))
    tidy_adapter_config(out)
    settings = {
        "format": "full" if config.full else "lora",
        "name": config.name,
        "labels": labels,
        "max_length": config.infer_max_length,
        "stride": config.stride,
        "backbone": backbone_version(),
        "segmentation": WORDS,
        "decoding": VITERBI,
    }
    if sentiment_labels:
        settings["sentiment"] = sentiment_config(list(sentiment_labels))
    if config.casing:
        settings["casing"] = CASING
    (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").unlink(missing_ok=True)  # peft's model card template


def store_weights_in_float16(model_dir: Path) -> int:
    """Rewrite a whole-model artefact's weights in float16: half the file (a 22.6 M-weight
    model: 90 MB, then 45 MB); :func:`model.artefact.load_model` reads them back in float32.
    A float16 weight is within 2**-11 of its float32 value (relative; below 6e-5 in absolute
    terms it keeps less). The file is written beside the old one and renamed over it, so an
    interruption leaves either; the model id changes (score it again). Returns the new size.

    Raises:
        ValueError: the artefact is not a whole model (``"format": "full"``), whose weights
            are the bulk of it; a LoRA artefact's adapters are small (8.4 MB at rank 96).
    """
    settings = read_settings(model_dir)
    if settings["format"] != "full":
        raise ValueError(
            f"{model_dir}: only a whole model (format 'full') is stored in float16; "
            f"this one is {settings['format']!r}"
        )
    path = model_dir / WEIGHTS_FILE
    write_in_float16(path, path)
    return path.stat().st_size


def write_in_float16(source: Path, target: Path) -> None:
    """Write the safetensors file ``source`` to ``target`` (may be the same file) with its
    float32 tensors in float16, its metadata kept: into ``target.partial``, then renamed over
    ``target`` (never written in place: tensors read from a file may still map it)."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(source), framework="pt") as stored:
        metadata = stored.metadata()
    tensors = {
        name: tensor.to(torch.float16) if tensor.dtype == torch.float32 else tensor
        for name, tensor in load_file(str(source)).items()
    }
    partial = target.with_name(target.name + ".partial")
    save_file(tensors, str(partial), metadata=metadata)
    os.replace(partial, target)


def tidy_adapter_config(folder: Path) -> None:
    """``folder``'s ``adapter_config.json`` (if any) without the machine-specific backbone
    path, its module lists sorted (peft writes sets in hash order; sorted, the model id is
    stable)."""
    adapter_config = folder / "adapter_config.json"
    if not adapter_config.is_file():
        return
    data = json.loads(adapter_config.read_text(encoding="utf-8"))
    data["base_model_name_or_path"] = None
    for key in ("target_modules", "modules_to_save"):
        if isinstance(data.get(key), list):
            data[key] = sorted(data[key])
    adapter_config.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
