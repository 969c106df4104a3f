"""Real tone in generated tickets (model/real_tone.py): the same tickets with a real sentence of
their class as the tone, and the recipe's ``--real-tone-per-epoch`` pool and sets."""

from __future__ import annotations

from data.demo import iter_gold_tickets
from model.datasets import Example, split_words
from model.real_tone import real_tone_tickets, tone_picker, tone_sentences
from model.train_recipe import recipe_parser, two_head_data

SLIVER = ["--scale", "0.02", "--tickets", "24", "--val-tickets", "12", "--test-tickets", "12",
          "--goemotions-val", "40"]  # fmt: skip


def _example(text: str, sentiment: str | None) -> Example:
    return Example(text, (), split_words(text), sentiment=sentiment, annotated=False)


def test_only_usable_sentences_are_kept_by_class() -> None:
    examples = [
        _example("This is a joke, honestly", "negative"),
        _example("ok", "neutral"),  # too short
        _example("[NAME] did it again!", "negative"),  # a placeholder
        _example("see https://example.com for it", "neutral"),  # a link
        _example("ask r/LocalLLaMA about that one", "neutral"),  # a subreddit
        _example("Thanks  so\nmuch for this!", "positive"),
        _example("no label on this one here", None),
        _example(" ".join(["word"] * 31), "neutral"),  # a post, not a sentence
    ]
    assert tone_sentences(examples) == {
        "negative": ["This is a joke, honestly."],
        "positive": ["Thanks so much for this!"],
    }


def test_the_picker_is_seeded_and_a_class_without_sentences_drops_out() -> None:
    sentences = {"negative": ["a b c.", "d e f.", "g h i."]}
    one, two = tone_picker(sentences, 5), tone_picker(sentences, 5)
    assert [one("negative") for _ in range(6)] == [two("negative") for _ in range(6)]
    assert one("positive") is None
    some = real_tone_tickets(30, 11, {"neutral": ["I will check on it tomorrow."]})
    assert some and {ex.sentiment for ex in some} == {"neutral"}
    assert all("i will check on it tomorrow." in ex.text.lower() for ex in some)


def test_the_same_tickets_come_out_with_a_real_sentence_of_their_class() -> None:
    sentences = {
        "negative": ["Rate limits like these are a bad {joke}."],
        "neutral": ["I will check on it tomorrow."],
        "positive": ["That made my whole week, thanks!"],
    }
    plain = list(iter_gold_tickets(40, 11, sentiment=True))
    toned = list(iter_gold_tickets(40, 11, sentiment=True, tone=tone_picker(sentences, 1)))
    assert [t.sentiment for t in toned] == [t.sentiment for t in plain]
    assert {t.sentiment for t in toned} == set(sentences)
    for before, after in zip(plain, toned, strict=True):
        wanted = sentences[after.sentiment][0].replace("{", "(").replace("}", ")")
        assert wanted.lower() in after.text.lower(), "every ticket carries its class's sentence"
        # the body's entities are untouched, only moved past the inserted sentence
        assert [after.text[a:b] for a, b, _ in after.spans] == [
            before.text[a:b] for a, b, _ in before.spans
        ]
    examples = real_tone_tickets(40, 11, sentences)
    assert len(examples) == 40 and not any(ex.annotated for ex in examples)
    assert real_tone_tickets(40, 11, sentences, exclude={examples[0].text})[0] == examples[1]


def _data(*flags: str) -> tuple:
    args = recipe_parser().parse_args(["two-head", "--output", "unused", *SLIVER, *flags])
    train, pools, dev_sets, test_sets, record = two_head_data(args)
    return train, {p.name: p for p in pools}, {s.name: s for s in dev_sets}, test_sets, record


def test_the_recipe_trains_and_selects_on_real_tone_only_when_asked() -> None:
    train, pools, dev, test_sets, record = _data()
    assert "ticket_tone" not in pools and "ticket_tone" not in record["pools_per_epoch"]
    reported = {s.name: s for s in test_sets}
    assert "val_ticket_tone" not in dev, "not scored every epoch when nothing is chosen on it"
    assert not reported["val_ticket_tone"].for_selection, "reported, not chosen on, by default"
    assert [s.name for s in dev.values()][:3] == ["val_real", "val_tickets", "val_goemotions"]
    test = reported["ticket_tone_test"]
    assert test.sentiment and not test.for_selection and test.examples

    train_on, pools_on, dev_on, _, record_on = _data("--real-tone-per-epoch", "10")
    pool = pools_on["ticket_tone"]
    assert pool.per_epoch == 10 and pool.examples and not any(ex.annotated for ex in pool.examples)
    assert dev_on["val_ticket_tone"].for_selection and dev_on["val_ticket_tone"].sentiment
    assert record_on["selection"]["val_ticket_tone"]["for_selection"] is True
    assert record_on["pools_per_epoch"]["ticket_tone"]["per_epoch"] == 10
    # the rest of the data is unchanged, and no selection or test ticket is trained on
    assert [ex.text for ex in train_on] == [ex.text for ex in train]
    trained = {ex.text for ex in train_on} | {ex.text for ex in pool.examples}
    for name in ("val_tickets", "val_ticket_tone"):
        assert not trained & {ex.text for ex in dev_on[name].examples}, name
    assert not trained & {ex.text for ex in test.examples}
    # the tone sentences come from the split each set belongs to
    goemotions_train = {ex.text for ex in pools_on["goemotions"].examples}
    val_sentences = {" ".join(ex.text.split()) for ex in dev_on["val_goemotions"].examples}
    assert any(
        any(s.rstrip(".") in ex.text for s in val_sentences)
        for ex in dev_on["val_ticket_tone"].examples
    )
    assert not any(
        g in ex.text
        for ex in dev_on["val_ticket_tone"].examples
        for g in goemotions_train
        if len(g.split()) >= 6
    ), "no training sentence in the selection tickets"


def test_a_checkpoint_without_real_tone_does_not_resume_into_a_run_with_it(tmp_path) -> None:
    import dataclasses

    from model.train_checkpoint import config_key
    from model.train_config import config_from_args
    from model.train_recipe import data_options

    parser = recipe_parser()
    plain = parser.parse_args(["two-head", "--output", str(tmp_path)])
    toned = parser.parse_args(["two-head", "--output", str(tmp_path), "--real-tone-per-epoch", "5"])
    assert data_options(plain) == {} and data_options(toned) == {"real_tone_per_epoch": 5}
    base = config_from_args(plain)
    with_tone = dataclasses.replace(base, extra=data_options(toned))
    assert config_key(with_tone) != config_key(base)
    assert config_key(dataclasses.replace(base, extra=data_options(plain))) == config_key(base)
