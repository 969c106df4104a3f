"""int8 inference on the CPU (model/quantize.py): accuracy of the layers, batch invariance,
calibration in the artefact, the precision choice per job (fp32 or bf16, int8, or one of
them while int8 compiles in the background) and the compile fallback."""

from __future__ import annotations

import copy
import shutil
import warnings

import pytest
import torch

from model.artefact import calibrate_artefact, model_id_of
from model.engine import Engine, cpu_multiplies_bf16, cpu_runs_bf16_fast, resolve_precision
from model.jobs import TagStatus
from model.quantize import (
    BF16_ATTENTION,
    CALIBRATION_FILE,
    CompiledWithFallback,
    Int8Linear,
    bf16_attention_supported,
    calibrate,
    int8_supported,
    load_calibration,
    quantize_int8,
    smoothing_scale,
)
from model.tagger import (
    AUTO_BF16_TEXTS,
    AUTO_FP32_TEXTS,
    BF16,
    BF16_THEN_INT8,
    FP32,
    FP32_THEN_INT8,
    INT8,
    Tagger,
    choose_precision,
)
from tests.model.conftest import AUTO_ON_THIS_CPU, ticket_texts

needs_int8 = pytest.mark.skipif(
    not int8_supported(), reason="torch._int_mm or a C++ compiler is missing"
)


def _relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).norm() / want.norm())


def _linear(seed: int = 0, n_in: int = 96, n_out: int = 64) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(n_in, n_out)


def test_int8_linear_is_close_to_the_float_layer():
    linear = _linear()
    x = torch.randn(4, 30, 96)
    with torch.inference_mode():
        want, got = linear(x), Int8Linear(linear)(x)
    assert got.shape == want.shape and got.dtype == torch.float32
    assert _relative_error(got, want) < 0.02


def test_int8_linear_rows_do_not_depend_on_their_batch():
    """Per-token scales: a row's result is the same alone or beside a row 1000× larger."""
    layer = Int8Linear(_linear())
    x = torch.randn(40, 96)
    x[7] *= 1000
    with torch.inference_mode():
        together = layer(x)
        alone = torch.stack([layer(x[i : i + 1])[0] for i in range(40)])
    assert torch.equal(together, alone)


def test_smoothing_keeps_the_function_and_tames_outlier_channels():
    linear = _linear(1)
    torch.manual_seed(2)
    x = torch.randn(200, 96)
    x[:, 5] *= 60  # one outlier channel, as BERT's activations have
    with torch.inference_mode():
        want = linear(x)
        plain = Int8Linear(linear)(x)
        smooth = Int8Linear(linear, smoothing_scale(x.abs().amax(0), linear.weight))(x)
    assert _relative_error(smooth, want) < 0.5 * _relative_error(plain, want)
    assert _relative_error(smooth, want) < 0.02


def test_calibration_records_every_linear_input_over_real_tokens_only(random_tagger):
    model = random_tagger.engine.model
    maxima = calibrate(model, random_tagger.engine.tokenizer, ticket_texts(12), batch_size=5)
    linears = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert set(maxima) == linears
    assert all(v.ndim == 1 and bool((v >= 0).all()) for v in maxima.values())
    quantized = quantize_int8(model, maxima)
    assert sum(isinstance(m, Int8Linear) for m in quantized.modules()) == len(linears)
    assert not any(isinstance(m, Int8Linear) for m in model.modules()), "input model changed"
    with pytest.raises(ValueError):
        calibrate(model, random_tagger.engine.tokenizer, [])


@pytest.mark.skipif(not bf16_attention_supported(), reason="no native bf16 on this CPU")
def test_bf16_attention_changes_the_quantized_copy_only_and_little(random_tagger):
    model = random_tagger.engine.model
    assert model.config._attn_implementation == "sdpa"
    with_bf16 = quantize_int8(model)
    without = quantize_int8(model, bf16_attention=False)
    assert with_bf16.config._attn_implementation == BF16_ATTENTION
    assert without.config._attn_implementation == "sdpa"
    assert model.config._attn_implementation == "sdpa", "input model changed"
    enc = random_tagger.engine.tokenizer(ticket_texts(6), padding=True, return_tensors="pt")
    with torch.inference_mode():
        got = with_bf16(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
        want = without(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
    assert got.dtype == torch.float32
    assert _relative_error(got, want) < 0.01
    eager = copy.deepcopy(model)  # a model not in SDPA mode keeps its attention
    eager.set_attn_implementation("eager")
    assert quantize_int8(eager).config._attn_implementation == "eager"


def test_precision_names_and_devices():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_precision("auto", cpu) == "fp32"
    assert resolve_precision("auto", cuda) == "bf16"
    assert resolve_precision("int8", cpu) == "int8"
    refused = [("int8", cuda), ("int4", cpu)]
    if cpu_multiplies_bf16():  # AVX-512 BF16 (with or without AMX): bf16 when asked for
        assert resolve_precision("bf16", cpu) == "bf16"
    else:
        refused.append(("bf16", cpu))
    for bad, device in refused:
        with pytest.raises(ValueError):
            resolve_precision(bad, device)


def test_a_failing_compiled_model_falls_back_with_a_warning(keyword_tagger):
    class Broken(torch.nn.Module):
        def forward(self, **kwargs):
            raise RuntimeError("no C++ compiler")

    fp32 = keyword_tagger.engine.model
    wrapped = CompiledWithFallback(Broken(), fp32)
    ids = torch.tensor([[101, 102]])
    with pytest.warns(RuntimeWarning, match="fp32 instead"):
        out = wrapped(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert torch.equal(out.logits, fp32(input_ids=ids, attention_mask=torch.ones_like(ids)).logits)
    assert wrapped.config is fp32.config


@needs_int8
def test_calibrated_artefact_tags_in_int8_like_fp32(keyword_dir, tmp_path):
    folder = tmp_path / "kw"
    shutil.copytree(keyword_dir, folder)
    before = model_id_of(folder)
    path = calibrate_artefact(folder, ticket_texts(30))
    assert path.name == CALIBRATION_FILE and load_calibration(folder)
    assert model_id_of(folder) == before, "calibration is not part of the model's identity"
    auto = Tagger.load(folder, device="cpu")
    int8 = Tagger.load(folder, device="cpu", precision="int8")
    assert int8.precision == "int8"
    if cpu_runs_bf16_fast():
        assert auto.precision == "bf16", "AMX: bf16, faster than int8 and nothing to compile"
        assert auto.plan(10 * AUTO_FP32_TEXTS) == "bf16" and not auto.compiling
    elif cpu_multiplies_bf16():
        assert auto.precision == BF16, "AVX-512 BF16: small jobs in bf16, int8 per job"
        assert auto.plan(AUTO_BF16_TEXTS) == BF16 and not auto.compiling
        assert auto.plan(AUTO_BF16_TEXTS + 1) == BF16_THEN_INT8 and auto.compiling
        assert auto.wait_compiled(timeout=300) and auto.precision == INT8
        # quantized from the artefact's fp32 weights (the bf16 engine's copy was converted)
        texts = ticket_texts(25)
        assert _scored(auto.tag(texts, batch_size=4)) == _scored(int8.tag(texts, batch_size=4))
    else:
        assert auto.precision == "fp32", "auto starts in fp32: int8 is chosen per job"
        assert auto.plan(AUTO_FP32_TEXTS) == FP32 and not auto.compiling
    assert Tagger.load(folder, device="cpu", precision="fp32").precision == "fp32"
    no_calibration = Tagger.load(keyword_dir, device="cpu")
    assert no_calibration.precision == AUTO_ON_THIS_CPU
    assert no_calibration.plan(10 * AUTO_FP32_TEXTS) == no_calibration.precision
    assert not no_calibration.compiling
    fp32 = Tagger.load(keyword_dir, device="cpu", precision="fp32")
    texts = ticket_texts(25)
    got, want = int8.tag(texts, batch_size=4), fp32.tag(texts, batch_size=4)
    assert [[(e.start, e.end, e.label) for e in ents] for ents in got] == [
        [(e.start, e.end, e.label) for e in ents] for ents in want
    ]
    worst = max(
        abs(a.score - b.score)
        for ga, gb in zip(got, want, strict=True)
        for a, b in zip(ga, gb, strict=True)
    )
    assert worst < 0.02


@needs_int8
def test_int8_engine_gives_a_text_the_same_entities_in_any_batch(random_dir):
    """What makes an interrupted-and-resumed job equal a clean run in int8 too."""
    tagger = Tagger.load(random_dir, device="cpu", precision="int8")
    texts = ticket_texts(21)
    one = tagger.tag(texts, batch_size=1)
    seven = tagger.tag(texts, batch_size=7)
    assert [[(e.start, e.end, e.label) for e in ents] for ents in one] == [
        [(e.start, e.end, e.label) for e in ents] for ents in seven
    ]
    for a_ents, b_ents in zip(one, seven, strict=True):
        for a, b in zip(a_ents, b_ents, strict=True):
            assert abs(a.score - b.score) < 1e-4


def test_a_damaged_calibration_file_means_fp32_not_a_crash(keyword_dir, tmp_path):
    folder = tmp_path / "kw"
    shutil.copytree(keyword_dir, folder)
    (folder / CALIBRATION_FILE).write_bytes(b"\x00not safetensors")
    assert load_calibration(folder) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning noise either
        tagger = Tagger.load(folder, device="cpu")
    assert tagger.precision == AUTO_ON_THIS_CPU  # fp32 (bf16 with AMX, needing no calibration)
    assert tagger.tag(["Jane Doe in Paris"])[0]


# -- auto precision per job ---------------------------------------------------------------


@pytest.mark.parametrize(
    "texts, possible, ready, want",
    [
        (0, True, False, FP32),
        (30, True, False, FP32),  # a handful of tickets: no compile
        (AUTO_FP32_TEXTS, True, False, FP32),
        (AUTO_FP32_TEXTS + 1, True, False, FP32_THEN_INT8),
        (200_000, True, False, FP32_THEN_INT8),  # int8 pays for its compile
        (30, True, True, INT8),  # compiled already: int8 for any job
        (200_000, False, False, FP32),  # no int8 here (no compiler, no calibration)
    ],
)
def test_choose_precision_by_job_size(texts, possible, ready, want):
    assert choose_precision(texts, int8_possible=possible, int8_ready=ready) == want
    assert (
        choose_precision(50, int8_possible=True, int8_ready=False, threshold=10) == FP32_THEN_INT8
    )
    # a CPU that multiplies bf16: bf16 wherever fp32 would run, int8 as before
    as_bf16 = {FP32: BF16, FP32_THEN_INT8: BF16_THEN_INT8, INT8: INT8}[want]
    got = choose_precision(texts, int8_possible=possible, int8_ready=ready, quick=BF16)
    assert got == as_bf16


def test_choose_precision_refuses_an_unknown_quick_precision():
    with pytest.raises(ValueError, match="quick must be 'fp32' or 'bf16', not 'int8'"):
        choose_precision(10, int8_possible=True, int8_ready=False, quick=INT8)


def _auto_tagger(random_tagger, statuses: list[TagStatus], quick: str = FP32) -> Tagger:
    """An ``auto`` tagger on the random model (running ``quick`` until int8 is ready) whose
    int8 model is the quantized one, not compiled (fast; the compile itself is
    model/quantize.py's ``torch.compile``)."""
    base = random_tagger.engine
    fp32_model = base.model
    engine = Engine(
        copy.deepcopy(fp32_model),
        base.tokenizer,
        max_length=32,
        stride=8,
        chunk_size=4,
        segmentation=base.segmentation,
        precision=quick,
    )
    tagger = Tagger(
        engine, "auto", int8_builder=lambda: quantize_int8(fp32_model), status=statuses.append
    )
    tagger.small_job_texts = 10
    return tagger


def _scored(results):
    return [[(e.start, e.end, e.label, e.text, e.score) for e in ents] for ents in results]


def test_auto_compiles_int8_in_the_background_for_a_large_job_only(random_tagger):
    statuses: list[TagStatus] = []
    tagger = _auto_tagger(random_tagger, statuses)
    texts = ticket_texts(9)
    fp32_result = tagger.tag(texts)  # 9 texts: fp32, nothing compiled
    assert tagger.precision == FP32 and not tagger.compiling and statuses == []
    assert tagger.plan(11) == FP32_THEN_INT8
    assert tagger.wait_compiled(timeout=120)
    assert [s.state for s in statuses] == ["compiling", "ready"]
    assert statuses[0].compiling and statuses[0].precision == FP32
    assert statuses[-1].precision == INT8 and tagger.status is statuses[-1]
    assert tagger.plan(1) == INT8, "compiled: int8 from now on, for any job"
    int8_result = tagger.tag(texts)
    assert [[e[:3] for e in ents] for ents in _scored(int8_result)] == [
        [e[:3] for e in ents] for ents in _scored(fp32_result)
    ]


@pytest.mark.skipif(not cpu_multiplies_bf16(), reason="this CPU has no AVX-512 BF16")
def test_a_bf16_cpu_tags_in_bf16_while_int8_compiles(random_tagger):
    """Where the CPU multiplies bf16 (an AMD EPYC with AVX-512 BF16, no AMX), ``auto`` runs
    small jobs, and a large one until int8 is ready, in bf16; the status says so."""
    statuses: list[TagStatus] = []
    tagger = _auto_tagger(random_tagger, statuses, quick=BF16)
    texts = ticket_texts(9)
    bf16_result = tagger.tag(texts)
    assert tagger.precision == BF16 and not tagger.compiling and statuses == []
    assert tagger.plan(11) == BF16_THEN_INT8
    assert tagger.plan(11) == BF16_THEN_INT8, "while compiling"
    assert tagger.wait_compiled(timeout=120)
    assert [s.state for s in statuses] == ["compiling", "ready"]
    assert statuses[0].precision == BF16 and "Tagging in bf16 while" in statuses[0].message
    assert statuses[-1].precision == INT8 and tagger.plan(1) == INT8
    int8_result = tagger.tag(texts)
    assert [[e[:3] for e in ents] for ents in _scored(int8_result)] == [
        [e[:3] for e in ents] for ents in _scored(bf16_result)
    ]


@pytest.mark.skipif(not cpu_multiplies_bf16(), reason="this CPU has no AVX-512 BF16")
def test_a_failed_background_compile_leaves_bf16_where_it_began(random_tagger):
    statuses: list[TagStatus] = []
    tagger = _auto_tagger(random_tagger, statuses, quick=BF16)

    def broken():
        raise RuntimeError("no C++ compiler")

    tagger._int8_builder = broken
    assert tagger.plan(100) == BF16_THEN_INT8
    assert not tagger.wait_compiled(timeout=60)
    assert tagger.precision == BF16 and statuses[-1].message.endswith("; bf16")
    assert tagger.plan(100) == BF16, "not tried again"


def test_small_calls_that_add_up_to_a_large_job_start_the_compile(random_tagger):
    """A caller tagging in small parts without planning (file mode) gets int8 once it has
    tagged more than the threshold; an explicit plan counts from zero again."""
    tagger = _auto_tagger(random_tagger, [])
    tagger.tag(ticket_texts(6))
    assert not tagger.compiling and tagger.plan(4) == FP32
    tagger.tag(ticket_texts(6))
    assert not tagger.compiling, "6 since the plan: fp32"
    tagger.tag(ticket_texts(5))
    assert tagger.wait_compiled(timeout=120), "11 since the plan: compiled"


def test_a_failed_background_compile_leaves_fp32(random_tagger):
    statuses: list[TagStatus] = []
    tagger = _auto_tagger(random_tagger, statuses)

    def broken():
        raise RuntimeError("no C++ compiler")

    tagger._int8_builder = broken
    assert tagger.plan(100) == FP32_THEN_INT8
    assert not tagger.wait_compiled(timeout=60)
    assert tagger.precision == FP32 and "no C++ compiler" in statuses[-1].message
    assert tagger.plan(100) == FP32, "not tried again"


def test_results_are_identical_whichever_path_tags_them_in_one_precision(random_tagger):
    """A job that switches from fp32 to int8 part-way gives every text exactly what a pure
    fp32 run or a pure int8 run gives it (scores included): a chunk runs in one precision."""
    base = random_tagger.engine
    int8_model = quantize_int8(base.model)
    texts = [f"{t} {t}" for t in ticket_texts(40)]

    def engine() -> Engine:
        return Engine(
            base.model,
            base.tokenizer,
            max_length=32,
            stride=8,
            chunk_size=4,
            segmentation=base.segmentation,
            streams=2,
        )

    fp32_only = _scored(engine().tag(texts, batch_size=3))
    pure = engine()
    pure.use_model(int8_model, INT8)
    int8_only = _scored(pure.tag(texts, batch_size=3))
    mixed = engine()
    chunks_done: list[int] = []

    def switch(n: int) -> None:  # after the second chunk, as a finished compile would
        chunks_done.append(n)
        if len(chunks_done) == 2:
            mixed.use_model(int8_model, INT8)

    got = _scored(mixed.tag(texts, batch_size=3, progress=switch))
    paths = []
    for i, entities in enumerate(got):
        if entities == fp32_only[i] and entities != int8_only[i]:
            paths.append(FP32)
        elif entities == int8_only[i] and entities != fp32_only[i]:
            paths.append(INT8)
        else:
            assert entities == fp32_only[i] == int8_only[i], f"text {i} matches neither run"
            paths.append("same")
    chunk_paths = [{p for p in paths[k : k + 4] if p != "same"} for k in range(0, 40, 4)]
    assert all(len(p) <= 1 for p in chunk_paths), "a chunk runs in one precision"
    assert chunk_paths[0] == {FP32} and chunk_paths[-1] == {INT8}
    seen = [p.pop() for p in chunk_paths if p]
    assert seen == sorted(seen, key=[FP32, INT8].index), "fp32 then int8, never back"
