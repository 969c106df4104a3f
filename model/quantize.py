"""int8 inference on CPU: every ``nn.Linear`` of the encoder becomes an :class:`Int8Linear`.

- Weights: int8, one scale per output channel (symmetric), quantized once at load.
- Activations: int8, one scale per *token* (row), computed on the fly. A token's result
  therefore does not depend on the other texts in its batch, so a resumed job tags exactly
  like a clean run, as in fp32 (per-tensor dynamic quantization, ``torch.ao``'s
  ``quantize_dynamic``, takes one scale per batch and does not have this property).
- Outlier channels (BERT's activations have a few channels 50–100× the median) are moved
  into the weights with SmoothQuant (Xiao et al., 2023: ``x·W = (x/s)·(s·W)``, with
  ``s_j = max|x_j|^α / max|W_j|^(1-α)``, α = 0.5). The activation maxima come from a
  calibration pass over known texts (:func:`calibrate`), stored beside the artefact in
  ``int8_calibration.safetensors``; without that file the layers are quantized unsmoothed.
- The int8 × int8 → int32 product is ``torch._int_mm`` (oneDNN, VNNI where the CPU has it).
- Attention (about a third of the int8 model's time, since its small per-head products run in
  floating point) runs in bf16 where the CPU has native bf16 dot products (AVX-512 BF16,
  AMX): :data:`BF16_ATTENTION`, registered with transformers' ``AttentionInterface``. The
  projections before it and the layers after it stay as above.
- :func:`prepare_int8` compiles the quantized model with ``torch.compile`` (inductor, dynamic
  shapes): without it the per-token scaling runs as separate element-wise passes and int8 is
  no faster than fp32; compiled, they fuse with the matmuls' neighbours. The whole model is
  compiled as one graph (every int8 batch has at least 2 windows of 9 tokens), which
  :func:`warm_up` compiles ahead of the job (``auto`` precision: in a background thread while
  fp32 tags, see model/tagger.py). Where compilation fails (no C++ compiler), the engine
  warns and runs in fp32. Compile times, and why neither the encoder alone nor each layer
  alone is compiled instead, are in model/README.md ("int8") and bench/RESULTS.md.

Its cost in F1 is measured, not assumed: ``python -m model evaluate --precision int8``
against ``--precision fp32`` (figures in model/README.md).

Example:
    >>> maxima = calibrate(model, tokenizer, texts)                   # doctest: +SKIP
    >>> int8_model = quantize_int8(model, maxima)                     # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from model.casing import casing_of, token_cases
from model.words import split_words

CALIBRATION_FILE = "int8_calibration.safetensors"
"""Per-layer input maxima in an artefact folder (see :func:`calibrate`)."""

ALPHA = 0.5
"""SmoothQuant's migration strength (the paper's default)."""


BF16_ATTENTION = "sdpa_bf16_cpu"
"""transformers attention implementation: SDPA on bf16 queries, keys and values, fp32 out."""


def bf16_attention_supported() -> bool:
    """Whether this CPU multiplies bf16 natively (oneDNN's check: AVX-512 BF16 or AMX); on
    other CPUs bf16 would be emulated, slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _sdpa_bf16(module, query, key, value, attention_mask, **kwargs):
    """transformers' SDPA attention with bf16 inputs; the output is cast back to fp32."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if attention_mask is not None and attention_mask.is_floating_point():
        attention_mask = attention_mask.to(torch.bfloat16)
    out, weights = sdpa_attention_forward(
        module,
        query.to(torch.bfloat16),
        key.to(torch.bfloat16),
        value.to(torch.bfloat16),
        attention_mask,
        **kwargs,
    )
    return out.float(), weights


def use_bf16_attention(model: torch.nn.Module) -> bool:
    """Switch ``model`` (a transformers model in SDPA mode) to :data:`BF16_ATTENTION` when this
    CPU has native bf16; returns whether it did. Other models are left as they are."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    if not bf16_attention_supported():
        return False
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(BF16_ATTENTION, _sdpa_bf16)
    AttentionMaskInterface.register(BF16_ATTENTION, sdpa_mask)
    model.set_attn_implementation(BF16_ATTENTION)
    return config._attn_implementation == BF16_ATTENTION


def int8_supported() -> bool:
    """Whether int8 inference can run fast here: ``torch._int_mm`` works on the CPU and a C++
    compiler is on the PATH for ``torch.compile`` (``CXX``, ``g++``, ``c++`` or ``clang++``)."""
    compilers = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    if not any(c and shutil.which(c) for c in compilers):
        return False
    try:
        a = torch.ones(17, 32, dtype=torch.int8)
        return bool(torch._int_mm(a, torch.ones(32, 8, dtype=torch.int8))[0, 0] == 32)
    except (RuntimeError, AttributeError):
        return False


class Int8Linear(torch.nn.Module):
    """``y = x·Wᵀ + b`` with int8 weights (per channel) and int8 activations (per token)."""

    def __init__(self, linear: torch.nn.Linear, smooth: torch.Tensor | None = None) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        if smooth is not None:  # W·diag(s): the input is divided by s at run time
            weight = weight * smooth
        scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        q = torch.round(weight / scale[:, None]).clamp_(-127, 127).to(torch.int8)
        self.register_buffer("weight_t", q.t().contiguous())  # (in, out) int8
        self.register_buffer("weight_scale", scale)  # (out,)
        self.register_buffer(
            "bias", None if linear.bias is None else linear.bias.detach().float().clone()
        )
        self.register_buffer("inv_smooth", None if smooth is None else (1.0 / smooth).float())
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        if self.inv_smooth is not None:
            x = x * self.inv_smooth
        rows = x.shape[0]
        # torch._int_mm wants more than 16 rows: pad tiny inputs with zero rows
        pad = max(0, 17 - rows)
        amax = torch.linalg.vector_norm(x, ord=float("inf"), dim=1, keepdim=True)
        amax.clamp_(min=1e-12)
        q = (x * (127.0 / amax)).round_().to(torch.int8)
        if pad:
            q = torch.nn.functional.pad(q, (0, 0, 0, pad))
        y = torch._int_mm(q, self.weight_t)[:rows]
        out = (
            torch.addcmul(self.bias, y.float(), (amax / 127.0) * self.weight_scale)
            if self.bias is not None
            else y.float() * ((amax / 127.0) * self.weight_scale)
        )
        return out.reshape(*shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"smoothed={self.inv_smooth is not None}"
        )


def _linears(model: torch.nn.Module) -> dict[str, torch.nn.Linear]:
    return {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}


def calibrate(
    model: torch.nn.Module,
    tokenizer,
    texts: Sequence[str],
    batch_size: int = 32,
    max_length: int = 128,
) -> dict[str, torch.Tensor]:
    """Per-channel maxima of |input| of every ``nn.Linear`` over ``texts`` (real tokens only).

    Args:
        model: the fp32 token classifier.
        tokenizer: its tokenizer.
        texts: calibration texts (e.g. the training set; a few hundred are enough).
    """
    if not texts:
        raise ValueError("calibration needs at least one text")
    maxima: dict[str, torch.Tensor] = {}
    keep: dict[str, torch.Tensor] = {}
    casing = casing_of(model) is not None

    def hook(name: str):
        def record(_module, inputs, _output) -> None:
            x = inputs[0].detach()
            x = x[keep["mask"]] if x.dim() == 3 else x.reshape(-1, x.shape[-1])
            peak = x.abs().amax(dim=0).float()
            maxima[name] = torch.maximum(maxima[name], peak) if name in maxima else peak

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in _linears(model).items()]
    try:
        model.eval()
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                part = list(texts[start : start + batch_size])
                enc = tokenizer(
                    part,
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                    return_offsets_mapping=casing,
                )
                keep["mask"] = enc["attention_mask"].bool()
                inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
                if casing:  # the word shapes the engine gives such a model
                    inputs["token_type_ids"] = torch.from_numpy(
                        np.stack(
                            [
                                token_cases(text, split_words(text), offsets.tolist())
                                for text, offsets in zip(part, enc["offset_mapping"], strict=True)
                            ]
                        )
                    )
                model(**inputs)
    finally:
        for h in handles:
            h.remove()
    return maxima


def smoothing_scale(
    input_max: torch.Tensor, weight: torch.Tensor, alpha: float = ALPHA
) -> torch.Tensor:
    """SmoothQuant's per-input-channel ``s = max|x|^α / max|W|^(1-α)`` (clamped away from 0)."""
    w_max = weight.detach().abs().amax(dim=0).float().clamp(min=1e-5)
    return (input_max.clamp(min=1e-5) ** alpha / w_max ** (1 - alpha)).clamp(min=1e-5)


def quantize_int8(
    model: torch.nn.Module,
    maxima: dict[str, torch.Tensor] | None = None,
    alpha: float = ALPHA,
    bf16_attention: bool = True,
) -> torch.nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` layers are :class:`Int8Linear`.

    Layers with calibration maxima in ``maxima`` are smoothed (SmoothQuant, ``alpha``);
    the others are quantized as they are. With ``bf16_attention``, attention runs in bf16
    where the CPU has it (:func:`use_bf16_attention`). The input model is not changed.
    """
    quantized = copy.deepcopy(model).float().eval()
    if bf16_attention:
        use_bf16_attention(quantized)
    for name, module in list(quantized.named_modules()):
        for child_name, child in list(module.named_children()):
            if not isinstance(child, torch.nn.Linear):
                continue
            full = f"{name}.{child_name}" if name else child_name
            smooth = None
            if maxima is not None and full in maxima:
                smooth = smoothing_scale(maxima[full], child.weight, alpha)
            setattr(module, child_name, Int8Linear(child, smooth))
    return quantized


def save_calibration(maxima: dict[str, torch.Tensor], folder: Path | str) -> Path:
    """Write the maxima to ``folder/int8_calibration.safetensors`` (atomically)."""
    from safetensors.torch import save_file

    path = Path(folder) / CALIBRATION_FILE
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in maxima.items()}, str(tmp))
    tmp.replace(path)
    return path


def load_calibration(folder: Path | str) -> dict[str, torch.Tensor] | None:
    """The maxima saved in ``folder``, or ``None`` when it has none (or they are unreadable)."""
    path = Path(folder) / CALIBRATION_FILE
    if not path.is_file():
        return None
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception:  # a damaged calibration file: quantize unsmoothed rather than fail
        return None


class CompiledWithFallback(torch.nn.Module):
    """Runs ``compiled``; if its first call fails (no compiler, an inductor error), warns once
    and runs ``fallback`` from then on. ``config`` is the fallback's (a transformers model's)."""

    def __init__(self, compiled: torch.nn.Module, fallback: torch.nn.Module) -> None:
        super().__init__()
        self.compiled = compiled
        self.fallback = fallback
        self.failed: str | None = None
        self._ok = False

    @property
    def config(self):  # the engine and the benchmark read labels and sizes from it
        return self.fallback.config

    def forward(self, *args, **kwargs):
        if self.failed is None:
            try:
                out = self.compiled(*args, **kwargs)
                self._ok = True
                return out
            except Exception as exc:  # compilation problems surface on the first call
                if self._ok:
                    raise
                self.failed = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
                warnings.warn(
                    f"int8 inference could not be compiled ({self.failed}); "
                    "tagging in fp32 instead",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return self.fallback(*args, **kwargs)


def warm_up(engine, model: torch.nn.Module | None = None) -> None:
    """Run ``model`` (default: ``engine``'s current one) on a dummy int8-sized batch through
    ``engine._run``, so that a compiled model compiles now (e.g. in a background thread)
    rather than during a job. The engine gives every int8 batch at least
    ``INT8_MIN_ROWS × INT8_MIN_WIDTH`` tokens (model/engine.py), so one graph serves all."""
    from model.engine import INT8_MIN_ROWS, INT8_MIN_WIDTH

    model = model if model is not None else engine.model
    ids = np.full((INT8_MIN_ROWS, INT8_MIN_WIDTH + 7), 1000, dtype=np.int64)
    ids[:, 0], ids[:, -1] = engine._cls, engine._sep
    mask = np.ones(ids.shape, dtype=np.int64)
    mask[1, -3:] = 0  # padded, as real batches are
    # dynamo guards on the calling thread's torch thread count: compile with the count the
    # engine's stream threads run with (1 each), or they would compile again
    threads = torch.get_num_threads()  # also makes a new thread adopt the process count
    if engine.streams > 1:
        torch.set_num_threads(1)
    try:
        engine._run(ids, mask, model, np.zeros_like(ids) if engine.casing else None)
    finally:
        if engine.streams > 1:
            torch.set_num_threads(threads)


def prepare_int8(
    model: torch.nn.Module,
    maxima: dict[str, torch.Tensor] | None = None,
    compile: bool = True,
    streams: int = 1,
) -> torch.nn.Module:
    """The int8 model to run on the CPU: :func:`quantize_int8`, compiled (see the module
    docstring), falling back to the fp32 ``model`` if compilation fails.

    ``streams > 1``: the model will run on that many threads at once, each with one
    intra-op thread (model/engine.py). Its kernels are then compiled single-threaded and
    with inductor's C++ wrapper, which releases the GIL for the whole forward pass; the
    default Python wrapper holds it while a fused kernel runs, which serialises the
    streams' element-wise work.
    """
    quantized = quantize_int8(model, maxima)
    if not compile:
        return quantized
    options = {"cpp.threads": 1, "cpp_wrapper": True} if streams > 1 else None
    compiled = torch.compile(quantized, dynamic=True, options=options)
    return CompiledWithFallback(compiled, model)
