"""Prepare what the GPU machine needs, here, before a lent GPU's 15 minutes start.

    python -m bench.gpu_kit [--folder .gpu]

The GPU machine (the ``device`` tool) reaches no package index and is sent the working tree,
at most 64 MiB with what ``carry`` names. Its image has torch, transformers, peft, pandas,
scikit-learn, safetensors and pytest, not the backbone package, ``seqeval`` or
``vaderSentiment``. This writes, in the git-ignored ``.gpu/``:

- ``backbone/``: the backbone in float16 (:mod:`model.backbone_copy`; 45 MB where the
  package's float32 weights are 88 MB), read through ``PRICEWAR_BACKBONE_DIR``;
- ``wheels/``: ``seqeval`` and ``vaderSentiment`` (pure Python) at their pinned versions;

checks that the tracked tree and the kit fit in what a call may send, and prints the call to
make: ``bash bench/gpu_check.sh`` with ``carry=[".gpu"]`` (see that script for what it runs
and writes under ``$OUT``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from model.backbone_copy import write_backbone_copy

ROOT = Path(__file__).resolve().parent.parent
SEND_LIMIT = 64 * 2**20  # bytes: the working tree a device call may send, carried paths included
WHEELS = ("seqeval==1.2.2", "vaderSentiment==3.3.2")


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def tree_bytes(root: Path = ROOT) -> int:
    """Bytes of the files a device call sends from ``root``: tracked and untracked files
    that git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    paths = (root / name.decode() for name in listed if name)
    return sum(path.stat().st_size for path in paths if path.is_file())


def build_wheels(folder: Path) -> list[Path]:
    """Pure-Python wheels of :data:`WHEELS` in ``folder`` (``pip wheel --no-deps``: seqeval
    is published as a source archive only)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.whl"):
        old.unlink()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder), *WHEELS],
        check=True,
    )
    return sorted(folder.glob("*.whl"))


def main(argv: list[str] | None = None) -> int:
    """Write the kit and print the device call; 2 when it would not fit in one call."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.gpu_kit", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--folder", type=Path, default=ROOT / ".gpu", help="the kit (git-ignored)")
    args = parser.parse_args(argv)
    kit = args.folder.resolve()
    write_backbone_copy(kit / "backbone")
    wheels = build_wheels(kit / "wheels")
    kit_size, tree_size = folder_bytes(kit), tree_bytes()
    total = kit_size + tree_size
    print(f"kit {kit}: backbone + {len(wheels)} wheels, {kit_size / 2**20:.1f} MiB")
    print(
        f"sent per call: tree {tree_size / 2**20:.1f} MiB + kit = {total / 2**20:.1f} MiB of {SEND_LIMIT / 2**20:.0f}"
    )
    if total > SEND_LIMIT:
        print("error: the tree and the kit exceed what one device call may send", file=sys.stderr)
        return 2
    print('device call: run(command="bash bench/gpu_check.sh", carry=[".gpu"], timeout_s=570)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
