"""Untrusted text is escaped; numbers are formatted for people."""

from __future__ import annotations

import math

from dashboard import ui

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[click](javascript:alert(3)) ![i](http://x/y.png) $x^2$ **bold**"
)


def test_highlight_html_escapes_text_and_marks_entities() -> None:
    text = "Ask OpenAI <script>alert(1)</script>"
    out = ui.highlight_html(text, [{"start": 4, "end": 10, "label": "ORG", "text": "OpenAI"}])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert ">OpenAI<sub" in out and out.count("<mark") == 1


def test_highlight_html_skips_bad_spans_and_escapes_labels() -> None:
    out = ui.highlight_html(
        "abc",
        [
            {"start": 2, "end": 9, "label": "X"},
            {"start": 0, "end": 1, "label": "<b>"},
            {"start": 0, "end": 2, "label": "ORG"},
        ],
    )
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


def test_ticket_cards_show_meta_escape_text_and_fall_back() -> None:
    import pandas as pd

    tickets = pd.DataFrame(
        {
            "text": [HOSTILE + " OpenAI", "plain"],
            "entities": [
                [
                    {
                        "start": len(HOSTILE) + 1,
                        "end": len(HOSTILE) + 7,
                        "label": "ORG",
                        "text": "OpenAI",
                    }
                ],
                [],
            ],
            "created_at": [pd.Timestamp("2026-01-02 03:04"), pd.NaT],
            "source": ["a.csv", "<b>.csv"],
            "source_id": ["7", None],
            "ticket_key": ["k1", "k2"],
        }
    )
    out = ui.ticket_cards_html(tickets, ("created_at", "source", ("source_id", "ticket_key")))
    assert out.count('<div style="border') == 2 and out.count("<mark") == 1
    assert "<script>" not in out and "&lt;b&gt;.csv" in out
    # each meta value isolated (<bdi>): a right-to-left override in one cannot reverse the rest
    assert "<bdi>2026-01-02 03:04 UTC</bdi> · <bdi>a.csv</bdi> · <bdi>7</bdi>" in out
    assert "<bdi>—</bdi> · <bdi>&lt;b&gt;.csv</bdi> · <bdi>k2</bdi>" in out


def test_entity_flattening_and_rows() -> None:
    import pandas as pd

    from data.export import ENTITY_ROW_COLUMNS, entity_rows, flatten_entities

    tickets = pd.DataFrame(
        {
            "ticket_key": ["k1", "k2"],
            "source": ["a.csv", "a.csv"],
            "source_id": ["1", "2"],
            "text": ["OpenAI in Berlin", "none"],
            "entities": [
                [
                    {"start": 0, "end": 6, "label": "ORG", "text": "OpenAI", "score": 0.91234},
                    {"start": 10, "end": 16, "label": "LOC", "text": "Berlin", "score": 0.5},
                ],
                [],
            ],
        }
    )
    assert flatten_entities(tickets)["entities"].tolist() == ["ORG:OpenAI; LOC:Berlin", ""]
    rows = entity_rows(tickets)
    assert list(rows.columns) == ENTITY_ROW_COLUMNS and len(rows) == 2
    assert rows["score"].tolist() == [0.9123, 0.5] and set(rows["ticket_key"]) == {"k1"}
    assert list(entity_rows(tickets.iloc[1:]).columns) == ENTITY_ROW_COLUMNS  # none: empty
