"""Putting a finished folder in place of another, so that no moment leaves half of either.

A tagger artefact or a backbone copy is written whole into a staging folder beside its
target, then :func:`replace_folder` moves the old folder aside, renames the staging folder
into place and only then deletes the old one. A crash before the first rename leaves the
old folder untouched; a failed second rename puts the old folder back; a crash between the
two renames leaves the old folder whole under ``.NAME.old-*/NAME`` beside it; after, the new
folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["replace_folder", "staging_folder"]


def staging_folder(target: Path) -> Path:
    """A new, empty folder beside ``target`` (same file system, so a rename moves it),
    named ``.NAME.*`` so that it is never taken for ``target`` itself."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)  # readable as a folder made by mkdir is (mkdtemp's is owner-only)
    return staging


def replace_folder(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``, its files made readable to all (``0644``: some are
    written owner-only, as safetensors files are); an existing ``target`` is moved aside
    first and deleted once the new folder is in place (put back if the new one cannot be).

    Raises:
        OSError: a rename failed; ``target`` is then as it was.
    """
    for made in staging.iterdir():
        if made.is_file():
            made.chmod(0o644)
    if not target.exists():
        os.replace(staging, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, old / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old / target.name, target)  # the old folder back where it was
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)
