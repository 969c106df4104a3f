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
