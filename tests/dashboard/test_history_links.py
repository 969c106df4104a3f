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


def _page_then(seeds: tuple[int, ...]) -> None:
    import streamlit as st

    from analytics.scenario import Scenario
    from dashboard import history_links

    for seed in seeds:
        st.session_state["answer"] = history_links.write_address(
            Scenario(price_per_m=0.8, mc_seed=seed)
        )


def test_a_what_if_the_link_check_refuses_leaves_no_older_one_in_the_address() -> None:
    """Round 26 of #12: the address held an older what-if (a copied link or a reload showed
    another what-if than the screen), the page said nothing, and the link check's note for
    a refused link was left for the next what-if page ("… were not used")."""
    from dashboard.scenario_links import LINK_PROBLEM_KEY

    at = AppTest.from_function(_page_then, args=((7, 2**60),), default_timeout=30).run()
    assert not at.exception
    assert not [k for k in at.query_params if k.startswith("s_")], dict(at.query_params)
    assert "s_mc_seed=1152921504606846976 is outside" in at.session_state["answer"]
    assert LINK_PROBLEM_KEY not in at.session_state
    at = AppTest.from_function(_page_then, args=((7,),), default_timeout=30).run()
    assert at.session_state["answer"] == ""
