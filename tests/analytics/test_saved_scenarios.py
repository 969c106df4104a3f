"""Saved scenarios: save (an upsert), load, size, list and delete in the store."""

from __future__ import annotations

import pytest

from analytics import (
    Competitor,
    Scenario,
    ScenarioError,
    ScenarioNotFoundError,
    delete_scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
    saved_scenario_size,
)


def test_store_save_load_list_delete(tmp_path) -> None:
    from data.store import Store

    with Store.open(tmp_path / "s.duckdb") as store:
        a = Scenario(name="base")
        b = Scenario(
            name="cut 20 %",
            price_per_m=0.8,
            competitors=(Competitor("DeepSeek", 0.5, 0.2),),
            cut_competitor="DeepSeek",
        )
        save_scenario(store, a)
        save_scenario(store, b)
        assert load_scenario(store, "cut 20 %") == b
        save_scenario(store, b.replace(price_per_m=0.7))  # upsert
        assert load_scenario(store, "cut 20 %").price_per_m == 0.7
        assert set(list_scenarios(store)["name"]) == {"base", "cut 20 %"}
        stored = store.scalar("SELECT CAST(params AS VARCHAR) FROM scenarios WHERE name = 'base'")
        assert saved_scenario_size(store, "base") == len(stored) > 0
        assert saved_scenario_size(store, "nobody") is None
        assert delete_scenario(store, "base") is True
        assert delete_scenario(store, "base") is False
        with pytest.raises(ScenarioNotFoundError, match="base"):
            load_scenario(store, "base")
        with pytest.raises(ScenarioError):
            save_scenario(store, Scenario(name="  "))
