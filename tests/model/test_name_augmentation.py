"""model.name_augmentation: real names in generated training tickets."""


def test_real_names_replace_generated_ones_with_spans_moved():
    from data.demo import iter_gold_tickets
    from model.datasets import examples_from_gold
    from model.name_augmentation import augment_ticket_names, domain_names

    products, orgs = domain_names()
    assert "gpt-4o-mini" in products and "claude-3.5-sonnet" in products
    assert "Zhipu AI" in orgs and "ByteDance" in orgs
    tickets = list(iter_gold_tickets(60, 5, sentiment=True))
    augmented = augment_ticket_names(tickets, seed=1, share=1.0)
    assert augmented == augment_ticket_names(tickets, seed=1, share=1.0)
    changed = 0
    for before, after in zip(tickets, augmented, strict=True):
        assert after.sentiment == before.sentiment
        assert [lb for *_, lb in before.spans] == [lb for *_, lb in sorted(after.spans)]
        changed += before.text != after.text
    assert changed > 20
    examples = examples_from_gold(augmented)  # spans checked: in range, not overlapping
    names = {ex.text[s:e] for ex in examples for s, e, lb in ex.spans if lb == "PRODUCT"}
    assert names & set(products)


def test_platform_mentions_add_a_product_sentence_and_keep_every_span():
    from data.demo import iter_gold_tickets
    from model.datasets import examples_from_gold
    from model.name_augmentation import PLATFORM_PRODUCTS, add_platform_mentions

    tickets = list(iter_gold_tickets(80, 7, sentiment=True))
    added = add_platform_mentions(tickets, seed=3, share=1.0)
    assert added == add_platform_mentions(tickets, seed=3, share=1.0)
    cased = {name.lower(): name for name in PLATFORM_PRODUCTS}
    in_the_middle = 0
    for before, after in zip(tickets, added, strict=True):
        assert after.sentiment == before.sentiment
        old = [(before.text[s:e], lb) for s, e, lb in sorted(before.spans)]
        new = [(after.text[s:e], lb) for s, e, lb in sorted(after.spans)]
        platforms = [(n, lb) for n, lb in new if (n, lb) not in old]
        assert 1 <= len(platforms) <= 2, (after.text, platforms)
        for name, label in platforms:
            assert label == "PRODUCT" and name.lower() in cased, name
            assert name == cased[name.lower()] or name in (name.lower(), name.upper())
        remaining = list(new)
        for item in old:  # every old span, same words and label, in the same order
            remaining.remove(item)
        assert sorted(remaining) == sorted(platforms)
        in_the_middle += not after.text.startswith(before.text)
    assert in_the_middle > 40
    examples_from_gold(added)  # spans checked: in range, not overlapping

    untouched = add_platform_mentions(tickets, seed=3, share=0.0)
    assert [(t.text, tuple(sorted(t.spans))) for t in untouched] == [
        (t.text, tuple(sorted(t.spans))) for t in tickets
    ]


def test_platform_mention_goes_after_a_sentence_end_outside_every_span():
    from data.demo import GoldTicket
    from model.name_augmentation import add_platform_mentions

    text = "We met St. Louis Labs. It fails."
    ticket = GoldTicket(text, ((7, 21, "ORG"),), "negative")
    (after,) = add_platform_mentions([ticket], seed=0, share=1.0)
    assert after.text.startswith("We met St. Louis Labs. ")
    assert after.text.endswith(" It fails.")
    assert [after.text[s:e] for s, e, _ in sorted(after.spans)][0] == "St. Louis Labs"

    lower = GoldTicket("no sentence end here", (), None)
    (after,) = add_platform_mentions([lower], seed=0, share=1.0)
    assert after.text.startswith("no sentence end here ")
    assert after.text == after.text.lower()
    assert all(after.text[s:e] == after.text[s:e].lower() for s, e, _ in after.spans)


def test_the_recipe_puts_platform_sentences_into_its_training_tickets_only(tmp_path):
    from model.name_augmentation import PLATFORM_PRODUCTS
    from model.train_recipe import recipe_parser, two_head_data

    def data(*flags: str):
        args = recipe_parser().parse_args(
            ["two-head", "--output", str(tmp_path), "--scale", "0.003", "--tickets", "40",
             "--val-tickets", "10", "--test-tickets", "10", *flags]
        )  # fmt: skip
        return two_head_data(args)

    def platform_spans(examples) -> int:
        names = {n.lower() for n in PLATFORM_PRODUCTS}
        return sum(
            ex.text[s:e].lower() in names and lb == "PRODUCT"
            for ex in examples
            for s, e, lb in ex.spans
        )

    train, _, dev, test, record = data("--platform-share", "1.0")
    assert platform_spans(train) >= 40  # every training ticket names at least one
    assert record["train"]["generated_tickets"]["platform_mentions_share"] == 1.0
    held_out = [ex for s in [*dev, *test] if s.name in ("val_tickets", "generated_test")
                for ex in s.examples]  # fmt: skip
    assert held_out and platform_spans(held_out) == 0
    plain, *_, plain_record = data()
    assert platform_spans(plain) < platform_spans(train)
    assert plain_record["train"]["generated_tickets"]["platform_mentions_share"] == 0.0
