"""Untrusted text is escaped; numbers are formatted for people."""

from __future__ import annotations

import math

from dashboard import ui

HOSTILE = ('<script>alert(1)</script> <img src=x onerror=alert(2)> '
           '[click](javascript:alert(3)) ![i](http://x/y.png) $x^2$ **bold**')


def test_highlight_html_escapes_text_and_marks_entities() -> None:
    text = "Ask OpenAI <script>alert(1)</script>"
    out = ui.highlight_html(text, [{"start": 4, "end": 10, "label": "ORG", "text": "OpenAI"}])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert ">OpenAI<sub" in out and out.count("<mark") == 1


def test_highlight_html_skips_bad_spans_and_escapes_labels() -> None:
    out = ui.highlight_html("abc", [{"start": 2, "end": 9, "label": "X"},
                                    {"start": 0, "end": 1, "label": "<b>"},
                                    {"start": 0, "end": 2, "label": "ORG"}])
    assert "<b>" not in out and out.count("<mark") == 1


def test_md_text_neutralises_markdown_html_and_latex() -> None:
    out = ui.md_text(HOSTILE)
    for raw in ("<script", "<img", "[click](", "![i](", "**bold"):
        assert raw not in out
    assert "&lt;script&gt;" in out and "\\$x^2\\$" in out  # LaTeX delimiters escaped


def test_formatting() -> None:
    assert ui.fmt_number(1234.0) == "1.2 k"
    assert ui.fmt_number(-2.5e6, money=True) == "-$2.5 M"
    assert ui.fmt_number(7.08, money=True) == "$7.08"
    assert ui.fmt_number(0.528, pct=True) == "52.8 %"
    assert ui.fmt_number(math.nan) == "—"
    assert ui.fmt_delta(0.1) == "+10.0 %"
    assert ui.fmt_delta(-0.02, points=True) == "-2.0 pts"
    assert ui.fmt_delta(math.nan) is None
