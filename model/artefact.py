"""A trained tagger on disk: an *artefact* folder, read, identified and loaded.

An artefact folder holds ``tagger.json`` (format, name, labels, window settings, backbone
version, word segmentation: ``"segmentation": "words"``, absent in older artefacts, which
means ``bert``, see model/words.py) and either a LoRA adapter with its head (``adapter_config.json``,
``adapter_model.safetensors``; format ``lora``) or a whole model (``config.json``,
``model.safetensors``; format ``full``). ``metrics.json`` records how it was trained and
scored. A two-head artefact also has ``"sentiment": {"labels": [...], "pooling": "mean"}`` in
``tagger.json`` (model/sentiment.py): it loads as a token classifier with a sentiment head,
and :meth:`model.tagger.Tagger.tag_with_sentiment` gives both from one pass; without the entry the
artefact loads exactly as before (no sentiment). ``"casing": "word-shape"`` (with ``words``
segmentation) marks a tagger that takes each token's word shape as its token type
(model/casing.py); without it, none. The model id is the artefact's name plus a short hash of its weights and settings,
so a retrained tagger gets a new id and its entities never mix with an older one's.

Here: the folder's files checked (:func:`check_artefact_files`), ``tagger.json`` read
(:func:`read_settings`), the model id (:func:`model_id_of`), the folder's stamp that tells
whether it changed during a load, the weights loaded (:func:`load_model`) and the int8
calibration measured and saved (:func:`calibrate_artefact`). :class:`model.tagger.Tagger`
loads a tagger from a folder with these.

Example:
    >>> model_id_of(DEFAULT_MODEL_DIR)                             # doctest: +SKIP
    'default-49821b94e2ed'
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from model.backbone import BackboneMissingError, backbone_dir, load_token_classifier, load_tokenizer
from model.casing import CASING, enable_casing
from model.errors import DamagedModelError, ModelChangedError, ModelNotFoundError
from model.labels import DECODINGS, check_decoding
from model.words import WORDS

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
"""The committed default tagger."""

SETTINGS_FILE = "tagger.json"
_ID_FILES = (
    SETTINGS_FILE,
    "adapter_config.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
)
#: Every file :meth:`Tagger.load` reads from an artefact folder: their identity, size and
#: modification time before and after loading tell whether the folder changed meanwhile.
_LOADED_FILES = (
    *_ID_FILES,
    "tokenizer.json",
    "tokenizer_config.json",
    "int8_calibration.safetensors",
)
_HASH_CHUNK = 1 << 20


_WEIGHT_FILES = {
    "full": (("config.json",), ("model.safetensors", "pytorch_model.bin")),
    "lora": (("adapter_config.json",), ("adapter_model.safetensors", "adapter_model.bin")),
}


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message``, shortened: fits the CLI's one-line errors."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def damaged_model_error(model_dir: Path, what: str) -> DamagedModelError:
    """The error for a tagger folder that cannot be loaded, saying how to mend it."""
    return DamagedModelError(
        f"the tagger in {model_dir} cannot be loaded ({what}); retrain it with "
        f"'python -m model train ... --output {model_dir}' or restore the artefact folder "
        "(for model/default: git checkout -- model/default)"
    )


def check_artefact_files(model_dir: Path | str) -> None:
    """Refuse an artefact folder whose files cannot be read safely, before anything in it
    is opened: every entry a regular file or a folder (through links), each ``.json`` at
    most :data:`data.tag_requests.MAX_MODEL_JSON_BYTES`, at most
    :data:`data.tag_requests.MAX_MODEL_ENTRIES` entries. The loaders (``tagger.json``,
    the configs, the weights, the tokenizer, the int8 calibration) read their files whole:
    a named pipe there hung the caller for good, a link to ``/dev/zero`` was read until
    memory ran out. A folder that does not exist is left to :func:`read_settings`.

    Raises:
        ModelNotFoundError: naming the file and what it is.
    """
    from data.tag_requests import check_model_files

    if not Path(model_dir).is_dir():
        return
    try:
        check_model_files(model_dir)
    except ValueError as exc:
        raise ModelNotFoundError(str(exc)) from None


def read_bounded_json(path: Path, limit: int, what: str) -> object:
    """The JSON in ``path``, read without blocking (``O_NONBLOCK``, ``fstat`` of the opened
    descriptor): a regular file of at most ``limit`` bytes, whatever the name pointed at
    before. ``what`` names the kind of file in the messages (``"a metrics.json"``).

    Raises:
        FileNotFoundError: there is none (other ``OSError``: it cannot be opened).
        ValueError: not a regular file, over ``limit``, not UTF-8 or not JSON (naming
            ``path``).
    """
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(
                f"{path} is not a regular file (a named pipe or a device?); not {what}"
            )
        if info.st_size > limit:
            raise ValueError(f"{path} is {info.st_size:,} bytes ({what} holds at most {limit:,})")
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"{path} is over {limit:,} bytes ({what} holds less)")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
        raise ValueError(f"{path} is not usable JSON: {one_line(exc)}") from None


def _read_small_json(path: Path) -> object:
    """A settings file of the artefact (:func:`read_bounded_json`, at most
    ``MAX_MODEL_JSON_BYTES``).

    Raises:
        FileNotFoundError: there is none.
        ModelNotFoundError: not a regular file, too big, not UTF-8 or not JSON.
    """
    from data.tag_requests import MAX_MODEL_JSON_BYTES

    try:
        return read_bounded_json(path, MAX_MODEL_JSON_BYTES, "a tagger's settings file")
    except ValueError as exc:
        raise ModelNotFoundError(str(exc)) from None


def read_settings(model_dir: Path | str) -> dict:
    """The artefact's ``tagger.json``, after :func:`check_artefact_files`.

    Raises:
        ModelNotFoundError: absent, bad, or a folder holding a named pipe, a device or an
            oversized settings file.
    """
    path = Path(model_dir) / SETTINGS_FILE
    check_artefact_files(model_dir)
    try:
        settings = _read_small_json(path)
    except ModelNotFoundError:  # (a FileNotFoundError too: first)
        raise
    except FileNotFoundError:
        raise ModelNotFoundError(
            f"{model_dir} is not a tagger folder (no {SETTINGS_FILE})"
        ) from None
    except NotADirectoryError:
        raise ModelNotFoundError(f"{model_dir} is not a tagger folder (not a folder)") from None
    except OSError as exc:
        raise ModelNotFoundError(f"{path} cannot be read: {exc.strerror or exc}") from None
    if not isinstance(settings, dict):
        raise ModelNotFoundError(f"{path} lacks a valid 'format' or 'labels'")
    if settings.get("format") not in ("lora", "full") or not settings.get("labels"):
        raise ModelNotFoundError(f"{path} lacks a valid 'format' or 'labels'")
    if "sentiment" in settings:
        from model.sentiment import check_sentiment_settings

        try:
            check_sentiment_settings(settings["sentiment"])
        except ValueError as exc:
            raise ModelNotFoundError(f"{path}: {exc}") from None
    try:
        check_decoding(settings.get("decoding"))
    except ValueError:  # the rule is check_decoding's; the message names the file
        raise ModelNotFoundError(
            f"{path}: unknown 'decoding' {settings['decoding']!r} ({', '.join(DECODINGS)})"
        ) from None
    casing = settings.get("casing")
    if casing is not None and (casing != CASING or settings.get("segmentation") != WORDS):
        raise ModelNotFoundError(
            f"{path}: 'casing' must be {CASING!r} with 'segmentation': {WORDS!r} (it is "
            f"{casing!r} with {settings.get('segmentation')!r})"
        )
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
            with path.open("rb") as weights:  # in chunks: weights take hundreds of MB
                while chunk := weights.read(_HASH_CHUNK):
                    digest.update(chunk)
    return f"{settings.get('name') or model_dir.name}-{digest.hexdigest()[:12]}"


def folder_stamp(model_dir: Path) -> dict[str, tuple[int, int, int, int]]:
    """(device, inode, size, modification time in ns) of the folder and of each file a load
    reads (through links), by name; absent files are left out."""
    stamp = {}
    for name in (".", *_LOADED_FILES):
        try:
            info = (model_dir / name).stat()
        except OSError:
            continue
        stamp[name] = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    return stamp


def check_unchanged(model_dir: Path, before: dict[str, tuple[int, int, int, int]]) -> None:
    """Refuse a load during which the artefact's files changed (a folder swapped in by a
    deployment, a training writing its output there): the weights read first and the id
    hashed after might be of two different taggers, and the store would keep one's results
    under the other's name."""
    after = folder_stamp(model_dir)
    if after == before:
        return
    changed = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
    what = "the folder itself was replaced" if "." in changed else ", ".join(changed) + " changed"
    raise ModelChangedError(
        f"the tagger in {model_dir} changed while it was being loaded ({what}); nothing "
        "was tagged with it: start again once the folder holds the complete artefact"
    )


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
            raise damaged_model_error(model_dir, f"{name} is missing")
    if not any((model_dir / name).is_file() for name in weights):
        raise damaged_model_error(model_dir, f"{weights[0]} is missing")
    try:
        model = _in_own_memory(_load_weights(model_dir, settings))
    except BackboneMissingError:
        raise
    except Exception as exc:  # safetensors, torch, transformers, peft, json: a damaged file
        raise damaged_model_error(model_dir, one_line(exc)) from exc
    theirs = getattr(model.config, "casing", None)
    if theirs != settings.get("casing"):
        raise damaged_model_error(
            model_dir,
            f"{SETTINGS_FILE} says casing {settings.get('casing')!r}, the weights' config {theirs!r}",
        )
    return model


def _in_own_memory(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with every CPU weight copied out of the file it was read from.

    ``from_pretrained`` maps a safetensors file into memory and the weights stay views of
    it: a weights file truncated or rewritten in place while the tagger is loaded (``cp``
    over it, a training writing its output there) took the pages away, and the next forward
    pass died of SIGBUS, the whole process with it (a command-line run without a word; the
    app itself with ``PRICEWAR_TAG_PROCESS=0``). One tensor is copied at a time.
    """
    with torch.no_grad():
        for tensor in (*model.parameters(), *model.buffers()):
            if tensor.device.type == "cpu":
                tensor.data = tensor.data.clone()
    return model


def _load_weights(model_dir: Path, settings: dict) -> torch.nn.Module:
    if settings.get("sentiment") is not None:
        return _load_two_head(model_dir, settings)
    if settings["format"] == "full":
        from transformers import BertForTokenClassification

        return BertForTokenClassification.from_pretrained(
            str(model_dir), local_files_only=True, attn_implementation="sdpa", dtype=torch.float32
        )
    from peft import PeftModel

    base = _with_casing(load_token_classifier(settings["labels"]), settings)
    with warnings.catch_warnings():  # peft calls a deprecated transformers property
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        peft_model = PeftModel.from_pretrained(base, str(model_dir), is_trainable=False)
    return peft_model.merge_and_unload()


def _with_casing(base: torch.nn.Module, settings: dict) -> torch.nn.Module:
    """The backbone ``base`` with its token types widened to word shapes when the LoRA
    artefact was trained with them (its adapter file holds the trained table)."""
    return enable_casing(base) if settings.get("casing") else base


def _load_two_head(model_dir: Path, settings: dict) -> torch.nn.Module:
    """A two-head artefact (``"sentiment"`` in ``tagger.json``): token and sentiment heads."""
    from model.sentiment import BertForTokensAndSentiment, load_two_head

    if settings["format"] == "full":
        return BertForTokensAndSentiment.from_pretrained(
            str(model_dir), local_files_only=True, attn_implementation="sdpa", dtype=torch.float32
        )
    from peft import PeftModel

    base = _with_casing(
        load_two_head(settings["labels"], settings["sentiment"]["labels"]), settings
    )
    with warnings.catch_warnings():  # peft calls a deprecated transformers property
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        peft_model = PeftModel.from_pretrained(base, str(model_dir), is_trainable=False)
    return peft_model.merge_and_unload()


def tokenizer_folder(model_dir: Path) -> Path:
    """The artefact's own tokenizer when it has one, else the backbone's."""
    return model_dir if (model_dir / "tokenizer.json").is_file() else backbone_dir()


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
    maxima = calibrate(
        model,
        load_tokenizer(tokenizer_folder(model_dir)),
        sample,
        max_length=int(settings.get("max_length", 256)),
    )
    return save_calibration(maxima, model_dir)
