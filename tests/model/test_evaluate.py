"""Entity-level scores (seqeval, strict IOB2)."""

from __future__ import annotations

from model.datasets import example_from_spans
from model.engine import Entity
from model.evaluate import evaluate_examples, format_scores, score_tags


def test_strict_entity_level_scores_per_type_and_overall():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["I-ORG", "O"]]
    scores = score_tags(gold, pred)
    assert scores["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert scores["LOC"]["recall"] == 0.0
    # strict mode: an I- without B- is not an entity; B-ORG in place of B-LOC is wrong
    assert scores["ORG"]["precision"] == 0.0 and scores["ORG"]["recall"] == 0.0
    assert scores["overall"]["precision"] == 0.5
    assert scores["overall"]["recall"] == round(1 / 3, 4)
    assert scores["overall"]["support"] == 3


def test_partial_span_is_an_error():
    scores = score_tags([["B-ORG", "I-ORG"]], [["B-ORG", "O"]])
    assert scores["overall"]["f1"] == 0.0


def test_no_entities_at_all():
    assert score_tags([["O"]], [["O"]])["overall"]["f1"] == 0.0


def test_evaluate_examples_projects_character_entities():
    examples = [
        example_from_spans(
            "Jane met Acme Corp in Paris", [(0, 4, "PER"), (9, 18, "ORG"), (22, 27, "LOC")]
        )
    ]

    def tag(texts):
        return [
            [
                Entity(0, 4, "PER", "Jane", 0.9),
                Entity(9, 13, "ORG", "Acme", 0.9),
                Entity(22, 27, "LOC", "Paris", 0.9),
            ]
        ]

    scores = evaluate_examples(tag, examples)
    assert scores["PER"]["f1"] == 1.0 and scores["LOC"]["f1"] == 1.0
    assert scores["ORG"]["f1"] == 0.0  # "Acme" alone is not "Acme Corp"
    table = format_scores(scores)
    assert table.splitlines()[-1].startswith("overall")
