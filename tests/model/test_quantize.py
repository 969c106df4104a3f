"""int8 inference on the CPU (model/quantize.py): accuracy of the layers, batch invariance,
calibration in the artefact, the precision choice and the compile fallback."""

from __future__ import annotations

import copy
import shutil
import warnings

import pytest
import torch

from model.engine import resolve_precision
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
from model.tagger import Tagger, calibrate_artefact, model_id_of
from tests.model.conftest import ticket_texts

needs_int8 = pytest.mark.skipif(not int8_supported(),
                                reason="torch._int_mm or a C++ compiler is missing")


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
        alone = torch.stack([layer(x[i:i + 1])[0] for i in range(40)])
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
    for bad, device in (("int8", cuda), ("bf16", cpu), ("int4", cpu)):
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
    int8 = Tagger.load(folder, device="cpu")
    assert int8.precision == "int8"
    assert Tagger.load(folder, device="cpu", precision="fp32").precision == "fp32"
    fp32 = Tagger.load(keyword_dir, device="cpu")
    assert fp32.precision == "fp32", "no calibration: fp32"
    texts = ticket_texts(25)
    got, want = int8.tag(texts, batch_size=4), fp32.tag(texts, batch_size=4)
    assert [[(e.start, e.end, e.label) for e in ents] for ents in got] == \
        [[(e.start, e.end, e.label) for e in ents] for ents in want]
    worst = max(abs(a.score - b.score) for ga, gb in zip(got, want, strict=True)
                for a, b in zip(ga, gb, strict=True))
    assert worst < 0.02


@needs_int8
def test_int8_engine_gives_a_text_the_same_entities_in_any_batch(random_dir):
    """What makes an interrupted-and-resumed job equal a clean run in int8 too."""
    tagger = Tagger.load(random_dir, device="cpu", precision="int8")
    texts = ticket_texts(21)
    one = tagger.tag(texts, batch_size=1)
    seven = tagger.tag(texts, batch_size=7)
    assert [[(e.start, e.end, e.label) for e in ents] for ents in one] == \
        [[(e.start, e.end, e.label) for e in ents] for ents in seven]
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
    assert tagger.precision == "fp32"
    assert tagger.tag(["Jane Doe in Paris"])[0]
