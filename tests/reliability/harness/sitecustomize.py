"""Test harness for a real ``streamlit run``: point the app's tagger at a given artefact.

The dashboard always loads :data:`model.DEFAULT_MODEL_DIR` (it has no setting for another
artefact; see ``tests/reliability/GAPS.md``). The reliability tests start the server with
this folder on ``PYTHONPATH`` and ``PRICEWAR_TEST_MODEL_DIR`` set, so that the in-app job
tags with a tiny model that runs in milliseconds. Nothing else is changed.
"""

from __future__ import annotations

import os
from pathlib import Path

_model_dir = os.environ.get("PRICEWAR_TEST_MODEL_DIR")
if _model_dir:
    import model.tagger

    model.tagger.DEFAULT_MODEL_DIR = Path(_model_dir)
