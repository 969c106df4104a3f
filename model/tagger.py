"""A trained tagger on disk (an *artefact* folder) and the object that tags with it.

An artefact folder holds ``tagger.json`` (format, name, labels, window settings, backbone
version) and either a LoRA adapter with its head (``adapter_config.json``,
``adapter_model.safetensors``; format ``lora``) or a whole model (``config.json``,
``model.safetensors``; format ``full``). ``metrics.json`` records how it was trained and
scored. The model id is the artefact's name plus a short hash of its weights and settings,
so a retrained tagger gets a new id and its entities never mix with an older one's.

Example:
    >>> tagger = Tagger.load()                                     # doctest: +SKIP
    >>> tagger.tag(["Jane from Acme asked about Azure"])           # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from model.backbone import BackboneMissingError, backbone_dir, load_token_classifier, load_tokenizer
from model.engine import Engine, Entity

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
"""The committed default tagger."""

SETTINGS_FILE = "tagger.json"
_ID_FILES = (SETTINGS_FILE, "adapter_config.json", "adapter_model.safetensors",
             "config.json", "model.safetensors")


class ModelNotFoundError(FileNotFoundError):
    """The folder is not a tagger artefact."""


class DamagedModelError(ModelNotFoundError):
    """The folder is a tagger artefact whose weights are missing, truncated or unreadable."""


_WEIGHT_FILES = {
    "full": (("config.json",), ("model.safetensors", "pytorch_model.bin")),
    "lora": (("adapter_config.json",), ("adapter_model.safetensors", "adapter_model.bin")),
}


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message``, shortened: fits the CLI's one-line errors."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _damaged(model_dir: Path, what: str) -> DamagedModelError:
    return DamagedModelError(
        f"the tagger in {model_dir} cannot be loaded ({what}); retrain it with "
        f"'python -m model train ... --output {model_dir}' or restore the artefact folder "
        "(for model/default: git checkout -- model/default)")


def read_settings(model_dir: Path | str) -> dict:
    """The artefact's ``tagger.json``. Raises :class:`ModelNotFoundError` if absent or bad."""
    path = Path(model_dir) / SETTINGS_FILE
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelNotFoundError(f"{model_dir} is not a tagger folder (no {SETTINGS_FILE})") from None
    except json.JSONDecodeError as exc:
        raise ModelNotFoundError(f"{path} is not valid JSON: {exc}") from None
    if settings.get("format") not in ("lora", "full") or not settings.get("labels"):
        raise ModelNotFoundError(f"{path} lacks a valid 'format' or 'labels'")
    return settings


def model_id_of(model_dir: Path | str) -> str:
    """``<name>-<12 hex>``: the artefact's name and a hash of its settings and weights."""
    model_dir = Path(model_dir)
    settings = read_settings(model_dir)
    digest = hashlib.sha256()
    for name in _ID_FILES:
        path = model_dir / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return f"{settings.get('name') or model_dir.name}-{digest.hexdigest()[:12]}"


def load_model(model_dir: Path | str) -> torch.nn.Module:
    """The artefact's ``BertForTokenClassification``, LoRA merged into the weights.

    Raises:
        ModelNotFoundError: the folder is not a tagger artefact.
        DamagedModelError: its config or weights file is missing, truncated or unreadable
            (the message names the folder and says to retrain or restore it).
    """
    model_dir = Path(model_dir)
    settings = read_settings(model_dir)
    configs, weights = _WEIGHT_FILES[settings["format"]]
    for name in configs:
        if not (model_dir / name).is_file():
            raise _damaged(model_dir, f"{name} is missing")
    if not any((model_dir / name).is_file() for name in weights):
        raise _damaged(model_dir, f"{weights[0]} is missing")
    try:
        return _load_weights(model_dir, settings)
    except BackboneMissingError:
        raise
    except Exception as exc:  # safetensors, torch, transformers, peft, json: a damaged file
        raise _damaged(model_dir, _one_line(exc)) from exc


def _load_weights(model_dir: Path, settings: dict) -> torch.nn.Module:
    if settings["format"] == "full":
        from transformers import BertForTokenClassification

        return BertForTokenClassification.from_pretrained(
            str(model_dir), local_files_only=True, attn_implementation="sdpa")
    from peft import PeftModel

    base = load_token_classifier(settings["labels"])
    with warnings.catch_warnings():  # peft calls a deprecated transformers property
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*",
                                category=FutureWarning)
        peft_model = PeftModel.from_pretrained(base, str(model_dir), is_trainable=False)
    return peft_model.merge_and_unload()


def _tokenizer_dir(model_dir: Path) -> Path:
    """The artefact's own tokenizer when it has one, else the backbone's."""
    return model_dir if (model_dir / "tokenizer.json").is_file() else backbone_dir()


class Tagger:
    """A loaded tagger: ``model_id``, ``device``, ``labels`` and :meth:`tag`."""

    def __init__(self, engine: Engine, model_id: str, model_dir: Path | None = None) -> None:
        self.engine = engine
        self.model_id = model_id
        self.model_dir = model_dir

    @classmethod
    def load(cls, model_dir: Path | str | None = None, device: str = "auto",
             precision: str | None = None) -> Tagger:
        """Load the artefact in ``model_dir`` (default: the committed default tagger).

        Args:
            model_dir: an artefact folder; ``None`` means :data:`DEFAULT_MODEL_DIR`.
            device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
            precision: ``auto``, ``fp32``, ``bf16`` (CUDA) or ``int8`` (CPU); ``None`` reads
                ``$PRICEWAR_TAG_PRECISION`` (default ``auto``). ``auto`` is bf16 on CUDA, and
                on a CPU int8 when the artefact has its int8 calibration
                (``int8_calibration.safetensors``) and this machine can compile it, else fp32.

        Raises:
            ModelNotFoundError: the folder is not a tagger artefact.
            DamagedModelError: (a ``ModelNotFoundError``) its weights are missing, truncated
                or unreadable.
            RuntimeError: ``cuda`` was asked for and there is none.
            ValueError: an unknown precision, or one the device cannot run.
        """
        from model.engine import resolve_device, resolve_precision
        from model.quantize import int8_supported, load_calibration

        model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        settings = read_settings(model_dir)
        precision = precision or os.environ.get("PRICEWAR_TAG_PRECISION", "").strip() or "auto"
        target = resolve_device(device)
        wants_int8 = target.type == "cpu" and precision in ("auto", "int8")
        calibration = load_calibration(model_dir) if wants_int8 else None
        if precision == "auto" and target.type == "cpu":
            precision = "int8" if calibration is not None and int8_supported() else "fp32"
        precision = resolve_precision(precision, target)
        tokenizer_dir = _tokenizer_dir(model_dir)
        try:
            tokenizer = load_tokenizer(tokenizer_dir)
        except BackboneMissingError:
            raise
        except Exception as exc:  # a damaged tokenizer.json in the artefact
            if tokenizer_dir != model_dir:
                raise
            raise _damaged(model_dir, _one_line(exc)) from exc
        model = load_model(model_dir)
        engine = Engine(model, tokenizer, device=target,
                        max_length=int(settings.get("max_length", 256)),
                        stride=int(settings.get("stride", 64)),
                        precision=precision, calibration=calibration)
        return cls(engine, model_id_of(model_dir), model_dir)

    @classmethod
    def from_model(cls, model: torch.nn.Module, tokenizer, *, model_id: str,
                   device: str = "cpu", max_length: int = 256, stride: int = 64,
                   precision: str = "auto",
                   calibration: dict[str, torch.Tensor] | None = None) -> Tagger:
        """Wrap an in-memory model (training, tests); ``auto`` precision is fp32 on a CPU."""
        return cls(Engine(model, tokenizer, device=device, max_length=max_length, stride=stride,
                          precision=precision, calibration=calibration), model_id)

    @property
    def device(self) -> str:
        """Where the model runs: ``"cpu"`` or ``"cuda"``."""
        return self.engine.device.type

    @property
    def precision(self) -> str:
        """The arithmetic the model runs in: ``"fp32"``, ``"bf16"`` or ``"int8"``."""
        return self.engine.precision

    @property
    def labels(self) -> list[str]:
        """The IOB2 labels of the model's head."""
        return list(self.engine.labels)

    @property
    def types(self) -> list[str]:
        """The entity types the tagger finds."""
        return list(self.engine.types)

    def tag(self, texts: Sequence[str], batch_size: int = 64,
            progress: Callable[[int], None] | None = None) -> list[list[Entity]]:
        """Entities of every text, in input order (see :meth:`model.engine.Engine.tag`)."""
        return self.engine.tag(texts, batch_size=batch_size, progress=progress)

    def __repr__(self) -> str:
        return f"Tagger(model_id={self.model_id!r}, device={self.device!r})"


def calibrate_artefact(model_dir: Path | str, texts: Sequence[str], limit: int = 600) -> Path:
    """Measure the activation maxima int8 inference needs on ``texts`` (at most ``limit`` of
    them, evenly spread) and save them in the artefact (``int8_calibration.safetensors``).

    Use texts like the ones the tagger will see, e.g. its training texts. Returns the file.
    """
    from model.quantize import calibrate, save_calibration

    model_dir = Path(model_dir)
    settings = read_settings(model_dir)
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError("calibration needs at least one non-empty text")
    step = max(1, len(texts) // limit)
    sample = texts[::step][:limit]
    model = load_model(model_dir).float().eval()
    maxima = calibrate(model, load_tokenizer(_tokenizer_dir(model_dir)), sample,
                       max_length=int(settings.get("max_length", 256)))
    return save_calibration(maxima, model_dir)
