"""``dashboard.history_links.write_address`` writes only an address the what-if link check
reads back (GAPS.md item 19): an entry that Back, a reload or a copied link would turn into
the default inputs is never written."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page(seed: int) -> None:
    from analytics.scenario import Scenario
    from dashboard import history_links

    history_links.write_address(Scenario(price_per_m=0.8, mc_seed=seed))


def test_a_readable_what_if_is_written_to_the_address() -> None:
    at = AppTest.from_function(_page, args=(7,), default_timeout=30).run()
    assert not at.exception
    assert at.query_params["s_mc_seed"] in ("7", ["7"])
    assert at.query_params["s_price_per_m"] in ("0.8", ["0.8"])


def test_a_what_if_the_link_check_refuses_is_not_written() -> None:
    at = AppTest.from_function(_page, args=(2**60,), default_timeout=30).run()
    assert not at.exception
    assert not [k for k in at.query_params if k.startswith("s_")]  # the address kept as it was
