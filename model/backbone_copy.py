"""A copy of the backbone for a machine where its package cannot be installed.

    python -m model.backbone_copy FOLDER [--dtype float16|float32]

The GPU machine reaches no package index and is sent at most 64 MiB; the backbone's float32
weights alone are 88 MB. The copy holds the tokenizer files, ``config.json``, the weights in
``model.safetensors`` (float16 by default: 45 MB) and ``backbone.json``, which names the
package it copies. With ``PRICEWAR_BACKBONE_DIR=FOLDER`` the tagger reads the copy instead
of the package (:func:`model.backbone.backbone_dir`), loads the weights in float32, and an
artefact trained on it names the same backbone as one trained on the package. A float16
weight differs from the float32 one by at most 2**-11 of its size.

The folder is written beside its final place and renamed into it, so an interrupted copy
leaves no half-written backbone; an existing copy is replaced.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from model.backbone import COPY_PROVENANCE, backbone_dir, backbone_version
from model.errors import BackboneMissingError
from model.folder_swap import replace_folder, staging_folder

COPIED_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
DTYPES = ("float16", "float32")


def write_backbone_copy(folder: Path | str, dtype: str = "float16") -> Path:
    """Write the backbone's copy (weights in ``dtype``) to ``folder``; returns ``folder``.

    Raises:
        BackboneMissingError: there is no backbone to copy.
        ValueError: ``dtype`` is not one of :data:`DTYPES`.
    """
    import torch
    from safetensors.torch import load_file, save_file

    if dtype not in DTYPES:
        raise ValueError(f"--dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    source = backbone_dir()
    target = Path(folder).resolve()
    staging = staging_folder(target)
    try:
        for name in COPIED_FILES:
            if (source / name).is_file():
                shutil.copyfile(source / name, staging / name)
        weights = load_file(str(source / "model.safetensors"))
        cast = {
            k: v.to(getattr(torch, dtype)) if v.is_floating_point() else v
            for k, v in weights.items()
        }
        save_file(cast, str(staging / "model.safetensors"), metadata={"format": "pt"})
        provenance = {"package": backbone_version(), "weights": dtype, "copied_from": str(source)}
        (staging / COPY_PROVENANCE).write_text(
            json.dumps(provenance, indent=2) + "\n", encoding="utf-8"
        )
        replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m model.backbone_copy FOLDER [--dtype D]``: 0 done, 2 refused (one line)."""
    parser = argparse.ArgumentParser(
        prog="python -m model.backbone_copy", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("folder", type=Path, help="where the copy goes (replaced if present)")
    parser.add_argument("--dtype", default="float16", choices=DTYPES)
    args = parser.parse_args(argv)
    try:
        out = write_backbone_copy(args.folder, args.dtype)
    except (BackboneMissingError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in out.iterdir())
    print(
        f"backbone copy ({args.dtype}, {size / 1e6:.1f} MB) in {out}; use it with PRICEWAR_BACKBONE_DIR={out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
