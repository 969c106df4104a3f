"""Tagging on Ray Data (model/ray_engine.py) against the local engine, and safe reruns.

One local Ray instance (``ray.init(num_cpus=2)``) serves the whole module and is shut down
after it; no Ray process may outlive it. The tiny random BERT of tests/model/conftest.py
(windows of 30 tokens, so long texts are split and merged) tags 120 tickets in three files
(CSV, JSONL with one empty text, Parquet); one test uses the committed default tagger.

Why scores are compared to 1e-4 and not exactly: the local path (``tag_store``) batches
tickets sorted by length, the Ray path batches them as they stream from the files, so the
same window can be padded to a different width. Padding is masked, but a matmul of another
shape may sum in another order, and a probability can move by ~1e-7 — across a rounding
boundary of the stored 4 decimals. Spans, labels and texts must be exactly equal.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.explore import tagging_progress
from data.entity_shards import (
    EntityShardError,
    check_folder_model,
    complete_shards,
    shard_paths,
)
from data.ingest import ingest_files
from data.keyed_tickets import keyed_ticket_chunks
from data.shard_loading import load_entity_shards
from data.store import Store
from model import ray_engine
from model.artefact import model_id_of
from model.cli import main
from model.errors import RayMissingError, RayTagError
from model.jobs import SCORE_DECIMALS, tag_store
from model.ray_engine import find_inputs, plan_workers, tag_on_ray
from model.tagger import Tagger
from tests.model.conftest import entity_rows, ticket_texts

BATCH = 8
SCORE_TOLERANCE = 1e-4 + 1e-9


# -- without Ray -----------------------------------------------------------------------------


def test_usage_statistics_are_off() -> None:
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"


@pytest.mark.parametrize(
    ("resources", "kwargs", "expected"),
    [
        ({"CPU": 2.0}, {}, ("cpu", 2, 0.0, 1.0, 1)),
        ({"CPU": 8.0}, {"num_workers": 2}, ("cpu", 2, 0.0, 4.0, 4)),
        ({"CPU": 32.0, "GPU": 4.0}, {}, ("cuda", 4, 1.0, 1.0, None)),
        ({"CPU": 32.0, "GPU": 4.0}, {"num_gpus_per_worker": 0.5}, ("cuda", 8, 0.5, 1.0, None)),
        ({"CPU": 32.0, "GPU": 4.0}, {"device": "cpu"}, ("cpu", 32, 0.0, 1.0, 1)),
    ],
)
def test_worker_plan(resources, kwargs, expected) -> None:
    plan = plan_workers(resources, **kwargs)
    assert (plan.device, plan.workers, plan.num_gpus, plan.num_cpus, plan.threads) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "cuda"}, "has no GPU"),
        ({"num_gpus_per_worker": 1}, "has no GPU"),
        ({"device": "cpu", "num_gpus_per_worker": 1}, "contradicts --device cpu"),
        ({"num_workers": 0}, "at least 1"),
    ],
)
def test_worker_plan_refuses_what_does_not_fit(kwargs, message) -> None:
    with pytest.raises(RayTagError, match=message):
        plan_workers({"CPU": 4.0}, **kwargs)


def test_inputs_from_a_folder_a_glob_or_a_file(tmp_path: Path) -> None:
    for name in ("a.csv", "b.jsonl.gz", "c.parquet", "notes.md", ".hidden.csv", "_x.csv"):
        (tmp_path / name).write_text("text\nx\n")
    assert [p.name for p in find_inputs(tmp_path)] == ["a.csv", "b.jsonl.gz", "c.parquet"]
    assert [p.name for p in find_inputs(str(tmp_path / "*.csv"))] == ["_x.csv", "a.csv"]
    assert [p.name for p in find_inputs(tmp_path / "a.csv")] == ["a.csv"]
    with pytest.raises(RayTagError, match="no such file, folder or glob"):
        find_inputs(tmp_path / "missing")
    with pytest.raises(RayTagError, match="no CSV, TSV, JSONL or Parquet"):
        find_inputs(str(tmp_path / "*.xlsx"))


def test_the_output_folder_is_never_read_as_input(inputs, random_dir, tmp_path) -> None:
    folder = tmp_path / "both"
    shutil.copytree(inputs, folder)
    with pytest.raises(RayTagError, match="no input file outside the output folder"):
        tag_on_ray(folder, folder, model_dir=random_dir)


def test_an_unreachable_cluster_fails_fast() -> None:
    with pytest.raises(RayTagError, match="cannot reach the Ray cluster at 127.0.0.1:1"):
        ray_engine._check_reachable("127.0.0.1:1", timeout=2)
    ray_engine._check_reachable("auto")  # left to Ray


def test_without_ray_the_message_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what a machine without Ray sees
    with pytest.raises(RayMissingError, match=r'pip install "ray\[data\]==2.60.0"'):
        ray_engine._ray()


# -- the Ray instance and the inputs ---------------------------------------------------------


def _ray_children() -> list[str]:
    """Command lines of this process's children that belong to Ray (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid():
                cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "ray" in cmd:
                    out.append(cmd[:120])
        except (OSError, IndexError, ValueError):
            continue
    return out


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module: 2 CPUs, no dashboard; nothing of it left afterwards."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield ray
    finally:
        ray.shutdown()
        deadline = time.monotonic() + 30
        while _ray_children() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _ray_children(), _ray_children()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """120 tickets in three files: CSV (ids, dates, customers), JSONL (one empty text),
    Parquet."""
    folder = tmp_path_factory.mktemp("ray-in")
    texts = ticket_texts(120)  # text 3 is empty
    texts[70] = " ".join(["Jane Doe moved from Acme to Azure in Paris"] * 12)  # > 1 window
    pd.DataFrame({"id": range(40), "text": texts[:40]}).to_json(
        folder / "b.jsonl", orient="records", lines=True
    )
    pd.DataFrame(
        {
            "id": [f"A{i}" for i in range(40, 80)],
            "text": texts[40:80],
            "created_at": [f"2026-01-{1 + i % 28:02d} 10:00:00" for i in range(40)],
            "customer": ["acme", "globex"] * 20,
        }
    ).to_csv(folder / "a.csv", index=False)
    pd.DataFrame({"text": texts[80:]}).to_parquet(folder / "c.parquet")
    return folder


@pytest.fixture(scope="module")
def clean_run(local_ray, inputs, random_dir, tmp_path_factory):
    """One uninterrupted Ray run over ``inputs`` with the random tagger: (report, folder)."""
    out = tmp_path_factory.mktemp("ray-out") / "shards"
    report = tag_on_ray(inputs, out, model_dir=random_dir, device="cpu", batch_size=BATCH)
    return report, out


def shard_rows(folder: Path) -> list[tuple]:
    """Every entity row of the folder's complete shards, sorted."""
    files = [str(shard_paths(folder, name).entities) for name, _ in complete_shards(folder)]
    table = pa.concat_tables(pq.read_table(f) for f in files)
    return sorted(
        zip(
            *(
                table[c].to_pylist()
                for c in ("ticket_key", "start", "end", "label", "text", "score")
            ),
            strict=True,
        )
    )


def assert_same_entities(got: list[tuple], expected: list[tuple]) -> None:
    """Same spans, labels and texts; scores within 1e-4 (see the module docstring)."""
    assert [r[:5] for r in got] == [r[:5] for r in expected]
    worst = max((abs(a[5] - b[5]) for a, b in zip(got, expected, strict=True)), default=0.0)
    assert worst <= SCORE_TOLERANCE


def local_entities(tagger: Tagger, files: list[Path]) -> list[tuple]:
    """What the local engine finds in the same tickets, keyed as ingest keys them."""
    rows = []
    for path in files:
        keyed = pa.concat_tables(keyed_ticket_chunks(path)).to_pydict()
        good = [i for i, p in enumerate(keyed["problem"]) if p is None]
        found = tagger.tag([keyed["text"][i] for i in good], batch_size=BATCH)
        for i, entities in zip(good, found, strict=True):
            rows += [
                (
                    keyed["ticket_key"][i],
                    e.start,
                    e.end,
                    e.label,
                    e.text,
                    round(float(e.score), SCORE_DECIMALS),
                )
                for e in entities
            ]
    return sorted(set(rows))


# -- with Ray --------------------------------------------------------------------------------


@pytest.mark.slow
def test_ray_gives_the_entities_of_the_local_engine(
    clean_run, inputs, random_dir, tmp_path
) -> None:
    report, out = clean_run
    assert (report.rows, report.bad_rows, report.skipped, report.failed) == (120, 1, 0, [])
    assert (report.device, report.workers) == ("cpu", 2)
    assert report.entities > 200  # the random tagger finds plenty: the comparison means something
    [bad] = [s for s in report.shards if s.bad_rows]
    assert Path(bad.input).name == "b.jsonl"
    assert bad.bad_rows == [{"row": 4, "column": "text", "problem": "empty text"}]

    tagger = Tagger.load(random_dir, device="cpu")
    assert report.model_id == tagger.model_id
    assert_same_entities(shard_rows(out), local_entities(tagger, find_inputs(inputs)))

    # through the store: the local path (ingest + tag_store) against ingest + the shards
    files = find_inputs(inputs)
    with (
        Store.open(tmp_path / "local.duckdb") as local,
        Store.open(tmp_path / "ray.duckdb") as remote,
    ):
        for store in (local, remote):
            status = {
                Path(f).name: r.status
                for f, r in zip(files, ingest_files(store, files), strict=True)
            }
            assert status == {
                "a.csv": "imported",
                "b.jsonl": "rejected",  # its empty text
                "c.parquet": "imported",
            }
        tag_store(local, tagger, batch_size=BATCH)
        loaded = load_entity_shards(remote, out)
        assert (loaded.new_tickets, loaded.not_in_store) == (80, 39)
        assert_same_entities(
            entity_rows(remote, tagger.model_id), entity_rows(local, tagger.model_id)
        )
        assert (
            tagging_progress(remote, tagger.model_id)
            == tagging_progress(local, tagger.model_id)
            == (80, 80)
        )


class _Stop(Exception):
    pass


@pytest.mark.slow
def test_a_rerun_after_a_half_finished_run_duplicates_nothing(
    clean_run, inputs, random_dir, tmp_path
) -> None:
    _, clean = clean_run
    out = tmp_path / "shards"

    def stop_after_first(result) -> None:
        raise _Stop(result.name)

    with pytest.raises(_Stop) as stopped:
        tag_on_ray(
            inputs,
            out,
            model_dir=random_dir,
            device="cpu",
            batch_size=BATCH,
            on_shard=stop_after_first,
        )
    assert [name for name, _ in complete_shards(out)] == [stopped.value.args[0]]
    # and a second shard as a kill would leave it: entities written, no marker, a temp file
    other = next(
        shard_name
        for shard_name in (name for name, _ in complete_shards(clean))
        if shard_name != stopped.value.args[0]
    )
    shutil.copy(shard_paths(clean, other).entities, shard_paths(out, other).entities)
    (out / f".{other}.parquet.1234.abcd.tmp").write_bytes(b"half")
    first_marker = shard_paths(out, stopped.value.args[0]).marker.read_bytes()

    report = tag_on_ray(inputs, out, model_dir=random_dir, device="cpu", batch_size=BATCH)
    assert (report.skipped, report.failed, len(report.shards)) == (1, [], 3)
    assert report.rows == 120 - next(s.rows for s in report.shards if s.skipped)
    assert shard_paths(out, stopped.value.args[0]).marker.read_bytes() == first_marker
    assert not list(out.glob(".*.tmp"))
    assert_same_entities(shard_rows(out), shard_rows(clean))
    keys = [r[:4] for r in shard_rows(out)]
    assert len(keys) == len(set(keys))  # no duplicate (ticket, span, label)

    again = tag_on_ray(inputs, out, model_dir=random_dir, device="cpu")  # all complete
    assert (again.skipped, again.rows, again.ray_init_seconds) == (3, 0, 0.0)


def test_a_folder_of_another_model_is_refused_before_ray_starts(
    inputs, random_dir, keyword_dir, tmp_path
) -> None:
    out = tmp_path / "shards"
    check_folder_model(out, model_id_of(random_dir))  # as a run with the random tagger left it
    with pytest.raises(EntityShardError, match="holds entities of model random-"):
        tag_on_ray(inputs, out, model_dir=keyword_dir, device="cpu")
    assert (
        main(
            [
                "tag",
                "--engine",
                "ray",
                "--input",
                str(inputs),
                "--output",
                str(out),
                "--model",
                str(keyword_dir),
            ]
        )
        == 2
    )


@pytest.mark.slow
def test_cli_tags_a_glob_and_reports_an_unreadable_file(
    local_ray, inputs, random_dir, tmp_path, capsys
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(inputs, folder)
    (folder / "broken.csv").write_bytes(b"\x00\x01\x02 not a table")
    out = tmp_path / "shards"
    args = [
        "tag",
        "--engine",
        "ray",
        "--input",
        str(folder / "*"),
        "--output",
        str(out),
        "--model",
        str(random_dir),
        "--device",
        "cpu",
        "--batch-size",
        str(BATCH),
    ]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "120 rows" in captured.out and "1 bad rows" in captured.out
    assert "broken.csv: not tagged:" in captured.err
    assert (
        captured.err.strip()
        .splitlines()[-1]
        .startswith("python -m model tag: error: 1 input file(s) could not be tagged")
    )
    assert "row 4, column 'text': empty text" in captured.err
    assert len(complete_shards(out)) == 3
    assert main(["tag", "--engine", "ray", "--db", str(tmp_path / "x.duckdb")]) == 2
    assert "--engine ray tags files" in capsys.readouterr().err
    assert (
        main(
            [
                "tag",
                "--input",
                str(folder / "a.csv"),
                "--output",
                str(tmp_path / "o.jsonl"),
                "--address",
                "auto",
            ]
        )
        == 2
    )
    assert "--address belongs to --engine ray" in capsys.readouterr().err


@pytest.mark.slow
def test_the_default_tagger_on_ray_equals_it_locally(local_ray, tmp_path, monkeypatch) -> None:
    from data.demo import iter_gold_tickets

    # the driver's PRICEWAR_* settings reach the actors (fp32 here: no int8 warm-up per actor)
    monkeypatch.setenv("PRICEWAR_TAG_PRECISION", "fp32")

    texts = [t.text for t in iter_gold_tickets(24, 11)]
    source = tmp_path / "demo.csv"
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(source, index=False)
    out = tmp_path / "shards"
    report = tag_on_ray(source, out, device="cpu", num_workers=1, batch_size=BATCH)
    tagger = Tagger.load(device="cpu")
    assert report.model_id == tagger.model_id and report.entities > 24
    assert_same_entities(shard_rows(out), local_entities(tagger, [source]))
