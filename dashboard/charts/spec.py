"""Chart specs and PNGs built once per input and shared by every session.

``st.altair_chart(builder(df, ...))`` builds the altair chart, validates it against the
Vega-Lite schema and converts it on every run of every session (14–66 ms a chart). Here
:func:`chart_spec` builds each chart once per input (``st.cache_data``, keyed by the
builder's name and every argument) and converts it *without* schema validation, exactly as
``st.altair_chart`` does otherwise: Streamlit's own data transformer (the data as Arrow,
named by its content hash) and theme, so ``st.vega_lite_chart(spec, width=...)`` sends the
browser the same chart (tooltips, selections, theme, widths) as ``st.altair_chart`` did.
The builders' specs are checked against the schema by the tests instead.

:func:`chart_png` renders a chart to PNG with vl-convert, once per input.

Example:
    >>> import pandas as pd
    >>> from dashboard.charts import chart_spec, comparison_chart
    >>> df = pd.DataFrame({"scenario": ["a"], "value": [1.0]})
    >>> spec = chart_spec(comparison_chart, df, value="profit")
    >>> st.vega_lite_chart(spec, width="stretch")                    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

# Streamlit's own conversion of an altair chart (private, pinned by the tests in
# tests/dashboard/test_charts_spec.py, which compare with ``st.altair_chart``'s output).
from streamlit.elements.vega_charts import _altair_globals_lock, _to_arrow_dataset

from dashboard.charts.safe import xml_safe

#: A chart builder of this package: DataFrames and options in, an altair chart out.
Builder = Callable[..., alt.TopLevelMixin]
#: Specs kept: every chart of every page for a few dozen distinct inputs.
SPECS_KEPT = 512
#: PNGs kept (each one tens of kB).
PNGS_KEPT = 32


def frame_key(df: pd.DataFrame) -> bytes:
    """A digest of everything in ``df`` a chart shows: columns with their names, order and
    dtypes, the index, every value (all rows, never a sample) and, in object columns, each
    value's type (``1`` and ``"1"`` hash alike in pandas)."""
    h = hashlib.blake2b(digest_size=20)
    meta = (
        df.shape,
        list(df.columns),
        [repr(t) for t in df.dtypes],
        repr(df.index.dtype),
        list(df.index.names),
        list(df.columns.names),
    )
    h.update(repr(meta).encode())
    try:
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
        for name in [
            c for c, t in zip(df.columns, df.dtypes, strict=True) if pd.api.types.is_object_dtype(t)
        ]:
            h.update(repr([type(v).__name__ for v in df[name]]).encode())
    except TypeError:  # unhashable cells (lists): the pickled frame is exact
        h.update(pickle.dumps(df, pickle.HIGHEST_PROTOCOL))
    return h.digest()


def builder_name(builder: Builder) -> str:
    """The builder's module and qualified name (what keys its cache entries)."""
    return f"{builder.__module__}.{builder.__qualname__}"


def vega_lite_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """``chart`` as ``st.altair_chart`` sends it, but without the schema validation: the
    data as Arrow datasets named by content, altair's default theme off (Streamlit themes
    the chart). Draw it with ``st.vega_lite_chart(spec, ...)``."""
    datasets: dict[str, Any] = {}
    alt.data_transformers.register("to_arrow_dataset", _to_arrow_dataset)
    with _altair_globals_lock:  # altair's theme and transformer are global to all threads
        theme = alt.theme.enable("none") if alt.theme.active == "default" else nullcontext()
        with theme, alt.data_transformers.enable("to_arrow_dataset", datasets=datasets):
            spec = chart.to_dict(validate=False)
    existing = spec.get("datasets")
    spec["datasets"] = {**existing, **datasets} if isinstance(existing, dict) else datasets
    return spec


@st.cache_data(show_spinner=False, max_entries=SPECS_KEPT, hash_funcs={pd.DataFrame: frame_key})
def _spec(name: str, _builder: Builder, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict:
    return vega_lite_spec(_builder(*args, **kwargs))


def chart_spec(builder: Builder, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The Vega-Lite spec of ``builder(*args, **kwargs)`` for ``st.vega_lite_chart``, built
    once per input for every session (:func:`vega_lite_spec`)."""
    return _spec(builder_name(builder), builder, args, dict(sorted(kwargs.items())))


@st.cache_data(show_spinner=False, max_entries=PNGS_KEPT, hash_funcs={pd.DataFrame: frame_key})
def _png(name: str, _builder: Builder, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    import vl_convert as vlc

    chart = _builder(*args, **kwargs)
    with _altair_globals_lock:  # not while another thread has Streamlit's transformer on
        spec = chart.to_dict(validate=False)
    return vlc.vegalite_to_png(xml_safe(spec), scale=2)


def chart_png(builder: Builder, *args: Any, **kwargs: Any) -> bytes:
    """``builder(*args, **kwargs)`` as a PNG (vl-convert, no browser, scale 2), rendered
    once per input for every session.

    vl-convert renders through SVG and *aborts the process* (a Rust panic that cannot
    unwind) on a character XML forbids: every text of the spec is made XML-safe first
    (:func:`~dashboard.charts.safe.xml_safe`), as a scenario saved before names were
    cleaned may still hold an ESC or a NUL.
    """
    return _png(builder_name(builder), builder, args, dict(sorted(kwargs.items())))
