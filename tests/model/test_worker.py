"""The tagger in its own process (model/worker.py, and model/worker_child.py what runs in the
child), with real child processes and tiny real artefacts: the same entities and sentiment as
in-process, status and errors coming back, a killed child reported and replaced, no child
outliving its parent, a bad artefact's message."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from data.store import Store
from model.errors import DamagedModelError, ModelNotFoundError
from model.jobs import TagStatus, tag_store
from model.tagger import Tagger
from model.worker import ProcessTagger, TaggerProcessError
from tests.model.conftest import (
    AUTO_ON_THIS_CPU,
    LABELS,
    add_tickets,
    entity_rows,
    save_two_head,
    ticket_texts,
)
from tests.tiny_models import random_two_head

ROOT = Path(__file__).resolve().parents[2]


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _running(pid):
            return True
        time.sleep(0.1)
    return not _running(pid)


@pytest.fixture(scope="module")
def keyword_process(keyword_dir):
    with ProcessTagger.start(keyword_dir, threads=1, device="cpu") as tagger:
        yield tagger


def test_the_child_gives_exactly_the_in_process_entities(keyword_process, keyword_tagger):
    texts = ticket_texts(40) + ["Jane Doe from Acme in Zürich 😀\r\nasked about Azure"]
    assert keyword_process.tag(texts, batch_size=4) == keyword_tagger.tag(texts, batch_size=4)
    assert keyword_process.model_id == keyword_tagger.model_id
    assert keyword_process.labels == keyword_tagger.labels
    assert keyword_process.types == keyword_tagger.types
    # no int8 calibration in this artefact
    assert keyword_process.device == "cpu" and keyword_process.precision == AUTO_ON_THIS_CPU
    assert not keyword_process.has_sentiment and not keyword_process.compiling
    entities, sentiments = keyword_process.tag_with_sentiment(texts[:3])
    assert sentiments == [None, None, None] and entities == keyword_tagger.tag(texts[:3])
    assert keyword_process.alive and keyword_process.pid != os.getpid()
    assert _niceness(keyword_process.pid) == min(19, _niceness(os.getpid()) + 10)


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_progress_plan_and_errors_come_back(keyword_process, keyword_tagger):
    done: list[int] = []
    texts = ticket_texts(30)
    assert keyword_process.tag(texts, batch_size=2, progress=done.append) == keyword_tagger.tag(
        texts, batch_size=2
    )
    assert sum(done) == len(texts)
    assert keyword_process.plan(10) == AUTO_ON_THIS_CPU
    with pytest.raises(TypeError, match="text 1 is int"):
        keyword_process.tag(["fine", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="batch_size"):
        keyword_process.tag(["fine"], batch_size=0)
    assert keyword_process.tag(["Jane Doe"]) == keyword_tagger.tag(["Jane Doe"])  # serving on


def test_a_real_bert_and_a_two_head_tagger_give_the_same_results(random_dir, tmp_path):
    texts = ticket_texts(24) + ["word " * 90]  # a long text: several windows
    # fp32 on both sides: bf16 sums (AMX) round differently with another thread count
    in_process = Tagger.load(random_dir, device="cpu", precision="fp32")
    with ProcessTagger.start(random_dir, threads=1, device="cpu", precision="fp32") as child:
        assert child.tag(texts, batch_size=8) == in_process.tag(texts, batch_size=8)
    two = save_two_head(random_two_head(LABELS, seed=3), tmp_path / "two", name="two")
    local = Tagger.load(two, device="cpu", precision="fp32")
    statuses: list[TagStatus] = []
    with ProcessTagger.start(
        two, threads=1, device="cpu", precision="fp32", status=statuses.append
    ) as child:
        assert child.has_sentiment and child.sentiment_labels == local.sentiment_labels
        found, moods = child.tag_with_sentiment(texts, batch_size=8)
        expected, expected_moods = local.tag_with_sentiment(texts, batch_size=8)
        assert found == expected
        assert [(m.label, m.score, m.probabilities) for m in moods if m is not None] == [
            (m.label, m.score, m.probabilities) for m in expected_moods if m is not None
        ]
        assert [m is None for m in moods] == [m is None for m in expected_moods]
    assert [s.state for s in statuses][:1] == ["loading"] and "ready" in {s.state for s in statuses}


def test_tag_store_through_the_child_writes_what_the_in_process_tagger_writes(
    keyword_process, keyword_tagger, tmp_path
):
    texts = ticket_texts(50)
    rows = []
    for name, tagger in (("local", keyword_tagger), ("child", keyword_process)):
        with Store.open(tmp_path / f"{name}.duckdb") as store:
            add_tickets(store, texts)
            summary = tag_store(store, tagger, batch_size=4)
            assert summary.status == "done" and summary.tickets == 50
            rows.append(entity_rows(store, tagger.model_id))
    assert rows[0] == rows[1] and rows[0]


def test_a_killed_child_is_a_clear_error_and_a_new_one_serves(keyword_dir, keyword_tagger):
    child = ProcessTagger.start(keyword_dir, threads=1, device="cpu")
    try:
        os.kill(child.pid, signal.SIGKILL)
        with pytest.raises(
            TaggerProcessError,
            match=rf"pid {child.pid}\) ended unexpectedly "
            r"\(killed by SIGKILL\)",
        ):
            for _ in range(100):  # the reader may not have seen the end yet: calls fail then
                child.tag(["Jane Doe"])
                time.sleep(0.05)
        assert not child.alive
        with pytest.raises(TaggerProcessError, match="SIGKILL"):  # and every later call
            child.tag(["Jane Doe"])
    finally:
        child.close()
    with ProcessTagger.start(keyword_dir, threads=1, device="cpu") as again:
        assert again.tag(["Jane Doe"]) == keyword_tagger.tag(["Jane Doe"])


def test_a_call_in_flight_when_the_child_dies_raises(keyword_dir):
    child = ProcessTagger.start(keyword_dir, threads=1, device="cpu")
    errors: list[BaseException] = []

    def tag_forever() -> None:
        try:
            while True:
                child.tag(ticket_texts(400), batch_size=1)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=tag_forever)
    worker.start()
    time.sleep(0.5)
    os.kill(child.pid, signal.SIGKILL)
    worker.join(30)
    child.close()
    assert not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], TaggerProcessError)
    assert "killed by SIGKILL" in str(errors[0])


def test_close_ends_the_child_and_later_calls_raise(keyword_dir):
    with ProcessTagger.start(keyword_dir, threads=1, device="cpu") as child:
        pid = child.pid
        assert _running(pid)
    assert _gone_within(pid, 10) and not child.alive
    with pytest.raises(TaggerProcessError, match="was stopped"):
        child.tag(["Jane Doe"])
    child.close()  # twice is fine


def test_a_tagger_nobody_holds_ends_its_child(keyword_dir):
    import gc

    child = ProcessTagger.start(keyword_dir, threads=1, device="cpu")
    pid = child.pid
    child.tag(["Jane Doe"])
    del child
    gc.collect()
    assert _gone_within(pid, 15)


# Starts a ProcessTagger, prints its pid, then ends as told: a normal exit (atexit), a hard
# exit (no atexit hooks) or waits to be killed.
PARENT = textwrap.dedent("""
    import os, sys, time
    from model.worker import ProcessTagger
    tagger = ProcessTagger.start(sys.argv[1], threads=1, device="cpu")
    print(tagger.pid, flush=True)
    how = sys.argv[2]
    if how == "busy":  # killed while the child computes
        import threading
        threading.Thread(target=lambda: [tagger.tag(["Jane Doe and Acme " * 40] * 200,
                                                    batch_size=1) for _ in range(1000)],
                         daemon=True).start()
        time.sleep(600)
    if how == "hard":
        os._exit(0)
    if how == "wait":
        time.sleep(600)
""")


@pytest.mark.parametrize("how", ["normal", "hard", "killed", "busy"])
def test_no_child_outlives_its_parent(keyword_dir, how):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(keyword_dir), "wait" if how == "killed" else how],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = parent.stdout.readline() if parent.stdout else ""
        assert line.strip().isdigit(), parent.stderr.read() if parent.stderr else ""
        pid = int(line)
        assert _running(pid)
        if how in {"killed", "busy"}:
            time.sleep(0.5 if how == "busy" else 0)
            parent.kill()
        assert parent.wait(60) is not None
        assert _gone_within(pid, 15), f"the tagging child {pid} outlived its parent ({how})"
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait(10)
        for stream in (parent.stdout, parent.stderr):
            if stream is not None:
                stream.close()


def test_a_damaged_artefact_raises_its_message_from_the_child(keyword_dir, tmp_path):
    broken = Path(shutil.copytree(keyword_dir, tmp_path / "broken"))
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(DamagedModelError, match=r"cannot be loaded .*retrain it") as caught:
        ProcessTagger.start(broken, threads=1, device="cpu")
    assert str(broken) in str(caught.value)
    assert any("tagging process" in note for note in getattr(caught.value, "__notes__", []))
    with pytest.raises(ModelNotFoundError, match="is not a tagger folder"):
        ProcessTagger.start(tmp_path, threads=1, device="cpu")


def test_threads_are_checked():
    with pytest.raises(ValueError, match="threads"):
        ProcessTagger.start(threads=0)


def test_the_parent_tags_through_the_child_without_importing_torch(keyword_dir):
    """The app beside its tagging process never loads torch: ``model``, the worker and the
    result types it unpickles are torch-free (model/results.py)."""
    script = (
        "import sys\n"
        "from model import tag_store, Entity\n"
        "from model.worker import ProcessTagger\n"
        "with ProcessTagger.start(sys.argv[1]) as tagger:\n"
        "    [found] = tagger.tag(['Jane Doe uses Azure in Paris'])\n"
        "assert found and all(isinstance(e, Entity) for e in found), found\n"
        "print('torch' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(keyword_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
