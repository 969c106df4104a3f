"""Writing a trained tagger's artefact: the adapter (or full model) and ``tagger.json``.

The folder it writes is what :mod:`model.artefact` reads back (``load_model``,
``read_settings``, ``model_id_of``); ``model.train`` calls it at the end of a run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from model.artefact import SETTINGS_FILE
from model.backbone import backbone_version
from model.casing import CASING
from model.labels import VITERBI
from model.quantize import CALIBRATION_FILE
from model.sentiment import sentiment_config
from model.train_config import TrainConfig
from model.words import WORDS

__all__ = ["save_artefact"]


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
    adapter_config = out / "adapter_config.json"
    if adapter_config.is_file():  # drop the machine-specific backbone path
        data = json.loads(adapter_config.read_text(encoding="utf-8"))
        data["base_model_name_or_path"] = None
        for key in ("target_modules", "modules_to_save"):  # peft writes sets in hash order:
            if isinstance(data.get(key), list):  # sorted, the model id is stable
                data[key] = sorted(data[key])
        adapter_config.write_text(
            json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
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
