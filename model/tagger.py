"""The object that tags with a trained tagger: :class:`Tagger`, loaded from an artefact folder
(model/artefact.py: the folder's files, settings, model id and weights), and the ``auto``
precision it chooses per job (:func:`choose_precision`, :meth:`Tagger.plan`).

Example:
    >>> tagger = Tagger.load()                                     # doctest: +SKIP
    >>> tagger.tag(["Jane from Acme asked about Azure"])           # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from model.artefact import (
    DEFAULT_MODEL_DIR,
    check_unchanged,
    damaged_model_error,
    folder_stamp,
    load_model,
    model_id_of,
    one_line,
    read_settings,
    tokenizer_folder,
)
from model.backbone import BackboneMissingError, load_tokenizer
from model.engine import Engine, Entity, Sentiment
from model.jobs import StatusFn, TagStatus
from model.labels import VITERBI, check_decoding
from model.words import WORDS, check_segmentation

log = logging.getLogger(__name__)

AUTO_FP32_TEXTS = 5000
"""``auto`` precision on a CPU: a job of at most this many texts runs in fp32 without compiling
int8 (see :func:`choose_precision`). Measured on the 2-core "Intel(R) Xeon(R) Processor" of
``/proc/cpuinfo`` (AMX int8/bf16, AVX-512 VNNI), shared with other jobs (load 4-30), default
tagger, generated tickets of about 56 tokens: fp32 55-73 tickets/s, int8 144-155 tickets/s
(alternating, 3 runs each of 1,000 tickets, ``/tmp`` inductor cache warm); the one int8 graph
compiled in 43 s alone with a warm cache, 117 s on a cold one beside fp32 tagging, which then
ran at about 24 tickets/s. Break-even of a background compile: the job size ``N`` where
``C + (N - r_bg·C)/r_int8 = N/r_fp32``: about 5,000 tickets with a warm cache (C ≈ 60 s
beside tagging, r_bg ≈ 30/s), 10,000 with a cold one. Below it fp32 finishes first (30
tickets: 7 s for the whole ``python -m model tag`` process against 22 s with the old int8
default and a warm cache); above it a cold cache costs at most the difference, since fp32
goes on while int8 compiles."""

AUTO_BF16_TEXTS = 20000
"""``auto`` precision on a CPU with AVX-512 BF16 but no AMX
(:func:`model.engine.cpu_multiplies_bf16`): a job of at most this many texts runs in bf16
without compiling int8. Measured on the 2-core AMD EPYC (AVX-512 BF16 and VNNI), default
tagger, generated tickets, nothing else running (bench/RESULTS.md, 2026-12-06): 12,000
tickets took 59.4 s in bf16 alone (202 tickets/s) and 68.1 s as bf16-then-int8 with a warm
inductor cache: the compile took ``C`` = 28.6 s beside tagging, which meanwhile tagged
1,536 tickets, then int8 ran 265 tickets/s. The same break-even as for
:data:`AUTO_FP32_TEXTS` with bf16 in place of fp32 gives about 19,400 tickets (more with a
cold cache: the graph compiled in 43 s alone, 20 s warm)."""

FP32 = "fp32"
BF16 = "bf16"
INT8 = "int8"
FP32_THEN_INT8 = "fp32-then-int8"
BF16_THEN_INT8 = "bf16-then-int8"
_THEN_INT8 = {FP32: FP32_THEN_INT8, BF16: BF16_THEN_INT8}
"""The plan that starts in a quick precision while int8 compiles."""


def choose_precision(
    job_texts: int,
    *,
    int8_possible: bool,
    int8_ready: bool,
    threshold: int = AUTO_FP32_TEXTS,
    quick: str = FP32,
) -> str:
    """What ``auto`` runs on a CPU for a job of ``job_texts`` texts.

    ``quick`` is the precision that needs no compile: ``"fp32"``, or ``"bf16"`` on a CPU
    that multiplies bf16 in hardware.

    Returns:
        ``"int8"`` when the int8 model is compiled already (the compile is paid for);
        ``quick`` when int8 cannot run here, or the job is small (at most ``threshold``
        texts: ``quick`` finishes before int8 would); else ``"fp32-then-int8"`` (or
        ``"bf16-then-int8"``): tag in ``quick`` at once while int8 compiles in a background
        thread, and switch to it when ready.

    Example:
        >>> choose_precision(30, int8_possible=True, int8_ready=False)
        'fp32'
        >>> choose_precision(50_000, int8_possible=True, int8_ready=False, quick="bf16")
        'bf16-then-int8'
    """
    if quick not in _THEN_INT8:
        raise ValueError(f"quick must be {FP32!r} or {BF16!r}, not {quick!r}")
    if not int8_possible:
        return quick
    if int8_ready:
        return INT8
    if job_texts <= threshold:
        return quick
    return _THEN_INT8[quick]


class Tagger:
    """A loaded tagger: ``model_id``, ``device``, ``labels``, :meth:`tag`, and :attr:`status`
    (what it is doing, for a progress display)."""

    def __init__(
        self,
        engine: Engine,
        model_id: str,
        model_dir: Path | None = None,
        *,
        int8_builder: Callable[[], torch.nn.Module] | None = None,
        status: StatusFn | None = None,
    ) -> None:
        self.engine = engine
        self.model_id = model_id
        self.model_dir = model_dir
        self.segmentation = engine.segmentation
        # auto precision on a CPU: builds the compiled int8 model when a job is worth it
        self._int8_builder = int8_builder
        self._lock = threading.Lock()
        self._compiler: threading.Thread | None = None
        self._since_plan = 0  # texts tagged since the last plan() (tag() calls add up)
        self._quick = engine.precision
        """What ``auto`` runs until int8 is compiled: fp32, or bf16 where the CPU has it."""
        self.small_job_texts = AUTO_BF16_TEXTS if self._quick == BF16 else AUTO_FP32_TEXTS
        """Jobs up to this many texts never compile int8 (``auto`` on a CPU,
        :func:`choose_precision`)."""
        self._listeners: list[StatusFn] = [status] if status is not None else []
        how = engine.precision + ("; int8 for large jobs" if int8_builder is not None else "")
        self.status = TagStatus(
            "ready", f"Tagger {model_id} ready ({how})", precision=engine.precision
        )
        """The latest :class:`model.jobs.TagStatus` of this tagger (loading, compiling,
        ready); :func:`model.jobs.tag_store` reports a job's progress to its own callback."""

    # -- status ----------------------------------------------------------------------

    def add_listener(self, fn: StatusFn) -> None:
        """Call ``fn(status)`` on every status change of this tagger (compile start/end)."""
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: StatusFn) -> None:
        """Stop calling ``fn`` (no error if it was not registered)."""
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def _emit(self, status: TagStatus) -> None:
        with self._lock:
            self.status = status
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(status)
            except Exception:  # a progress display must never break the tagger
                log.debug("status listener failed", exc_info=True)

    # -- loading ---------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        model_dir: Path | str | None = None,
        device: str = "auto",
        precision: str | None = None,
        status: StatusFn | None = None,
    ) -> Tagger:
        """Load the artefact in ``model_dir`` (default: the committed default tagger).

        Args:
            model_dir: an artefact folder; ``None`` means :data:`DEFAULT_MODEL_DIR`.
            device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
            precision: ``auto``, ``fp32``, ``bf16`` (CUDA, or a CPU with AVX-512 BF16) or
                ``int8`` (CPU); ``None`` reads ``$PRICEWAR_TAG_PRECISION`` (default
                ``auto``). ``auto`` is bf16 on CUDA and on a CPU with AMX
                (:func:`model.engine.cpu_runs_bf16_fast`: 4.3× fp32 there, no compile); on
                other CPUs it is chosen per job by :func:`choose_precision` when the artefact
                has its int8 calibration (``int8_calibration.safetensors``) and this machine
                can compile it (small jobs in bf16 where the CPU multiplies bf16,
                :func:`model.engine.cpu_multiplies_bf16`, else fp32; int8 compiled in the
                background for large ones), else that bf16 or fp32.
            status: called with a :class:`model.jobs.TagStatus` now (loading), when loaded
                (ready) and whenever the tagger compiles int8 later (it stays registered;
                the latest is also :attr:`status`).

        Raises:
            ModelNotFoundError: the folder is not a tagger artefact.
            DamagedModelError: (a ``ModelNotFoundError``) its weights are missing, truncated
                or unreadable.
            RuntimeError: ``cuda`` was asked for and there is none.
            ValueError: an unknown precision or segmentation, or a precision the device
                cannot run.
        """
        from model.engine import (
            PRECISIONS,
            cpu_multiplies_bf16,
            cpu_runs_bf16_fast,
            resolve_device,
            resolve_precision,
        )
        from model.quantize import int8_supported, load_calibration, prepare_int8

        model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        if status is not None:
            status(TagStatus("loading", f"Loading the tagger from {model_dir}…"))
        stamp = folder_stamp(model_dir)
        settings = read_settings(model_dir)
        segmentation = check_segmentation(settings.get("segmentation"))
        decoding = check_decoding(settings.get("decoding"))
        from_env = "" if precision else os.environ.get("PRICEWAR_TAG_PRECISION", "").strip()
        if from_env:
            # the setting named in the message, not a bare "unknown precision 'FP32'" in the
            # job's failure line; any case accepted, as for the other PRICEWAR_* switches
            precision = from_env.lower()
            if precision not in PRECISIONS:
                shown = from_env if len(from_env) <= 40 else from_env[:39] + "…"
                raise ValueError(
                    f"PRICEWAR_TAG_PRECISION must be one of "
                    f"{', '.join(PRECISIONS)}, not {shown!r}; fix or unset it"
                )
        precision = precision or "auto"
        target = resolve_device(device)
        # a CPU with AMX runs bf16 in hardware: faster than int8 there and nothing to compile
        amx = target.type == "cpu" and precision == "auto" and cpu_runs_bf16_fast()
        wants_int8 = target.type == "cpu" and (
            precision == "int8" or (precision == "auto" and not amx)
        )
        calibration = load_calibration(model_dir) if wants_int8 else None
        auto_int8 = (
            precision == "auto"
            and target.type == "cpu"
            and calibration is not None
            and int8_supported()
        )
        if precision == "auto" and target.type == "cpu":
            # else int8 per job (Tagger.plan), and until then the fastest that needs no compile
            precision = BF16 if amx or cpu_multiplies_bf16() else FP32
        try:
            precision = resolve_precision(precision, target)
        except ValueError as exc:
            if from_env:  # e.g. bf16 on a CPU
                raise ValueError(f"PRICEWAR_TAG_PRECISION={from_env!r}: {exc}") from None
            raise
        tokenizer_dir = tokenizer_folder(model_dir)
        try:
            tokenizer = load_tokenizer(tokenizer_dir)
        except BackboneMissingError:
            raise
        except Exception as exc:  # a damaged tokenizer.json in the artefact
            if tokenizer_dir != model_dir:
                raise
            raise damaged_model_error(model_dir, one_line(exc)) from exc
        model = load_model(model_dir)
        # int8 is quantized from the fp32 weights; a bf16 engine converts its model in place
        fp32_model = copy.deepcopy(model) if auto_int8 and precision == BF16 else model
        engine = Engine(
            model,
            tokenizer,
            device=target,
            max_length=int(settings.get("max_length", 256)),
            stride=int(settings.get("stride", 64)),
            precision=precision,
            calibration=calibration,
            segmentation=segmentation,
            decoding=decoding,
        )
        builder = None
        if auto_int8:
            streams = engine.streams

            def builder() -> torch.nn.Module:
                return prepare_int8(fp32_model, calibration, streams=streams)

        model_id = model_id_of(model_dir)
        check_unchanged(model_dir, stamp)  # the weights and the id are of one artefact
        tagger = cls(engine, model_id, model_dir, int8_builder=builder, status=status)
        tagger._emit(tagger.status)
        return tagger

    @classmethod
    def from_model(
        cls,
        model: torch.nn.Module,
        tokenizer,
        *,
        model_id: str,
        device: str = "cpu",
        max_length: int = 256,
        stride: int = 64,
        precision: str = "auto",
        calibration: dict[str, torch.Tensor] | None = None,
        segmentation: str = WORDS,
        decoding: str = VITERBI,
    ) -> Tagger:
        """Wrap an in-memory model (training, tests); ``auto`` precision is fp32 on a CPU;
        ``segmentation`` as the model was trained (``words``, or ``bert`` for older ones),
        ``decoding`` as its artefact says (:data:`model.labels.DECODINGS`)."""
        return cls(
            Engine(
                model,
                tokenizer,
                device=device,
                max_length=max_length,
                stride=stride,
                precision=precision,
                calibration=calibration,
                segmentation=segmentation,
                decoding=decoding,
            ),
            model_id,
        )

    # -- precision per job -----------------------------------------------------------

    @property
    def compiling(self) -> bool:
        """Whether the int8 model is being compiled in the background right now."""
        thread = self._compiler
        return thread is not None and thread.is_alive()

    def plan(self, job_texts: int, status: StatusFn | None = None) -> str:
        """Prepare for a job of ``job_texts`` more texts; returns what runs it.

        With ``auto`` precision on a CPU (int8 calibrated and compilable here), the job size
        goes to :func:`choose_precision`:
        ``fp32`` (or ``bf16`` on a CPU that multiplies bf16), ``int8`` (compiled already) or
        ``fp32-then-int8`` (or ``bf16-then-int8``: a background thread compiles int8 now;
        chunks that begin once it is ready run in int8; :attr:`compiling` says so). With ``int8``
        asked for explicitly, the compile happens here, in the foreground, reported as
        ``compiling``. Otherwise this is the tagger's fixed precision. :meth:`tag` calls
        it with the size of its input; :func:`model.jobs.tag_store` with the whole job's.
        """
        with self._lock:
            self._since_plan = 0
        if status is not None:
            self.add_listener(status)
        try:
            return self._plan(job_texts)
        finally:
            if status is not None:
                self.remove_listener(status)

    def _plan(self, job_texts: int) -> str:
        from model.quantize import warm_up

        engine = self.engine
        if self._int8_builder is None:
            if engine.precision == INT8 and not getattr(engine, "_warm", False):
                self._emit(TagStatus("compiling", _COMPILING, precision=INT8, compiling=True))
                started = time.monotonic()
                warm_up(engine)
                engine._warm = True
                self._emit(
                    TagStatus(
                        "ready",
                        f"int8 model compiled in {time.monotonic() - started:.0f} s",
                        precision=INT8,
                    )
                )
            return engine.precision
        with self._lock:
            then_int8 = _THEN_INT8[self._quick]
            if self.compiling:
                return then_int8
            choice = choose_precision(
                job_texts,
                int8_possible=True,
                int8_ready=engine.precision == INT8,
                threshold=self.small_job_texts,
                quick=self._quick,
            )
            if choice == then_int8:
                self._compiler = threading.Thread(
                    target=self._compile_in_background, name="int8-compile", daemon=True
                )
                self._compiler.start()
        return choice

    def _compile_in_background(self) -> None:
        """Build and compile the int8 model, then hand it to the engine (on success)."""
        from model.quantize import warm_up

        self._emit(
            TagStatus(
                "compiling",
                f"Tagging in {self._quick} while the int8 model compiles in "
                "the background (switches when ready)",
                precision=self._quick,
                compiling=True,
            )
        )
        started = time.monotonic()
        try:
            model = self._int8_builder()  # type: ignore[misc]
            warm_up(self.engine, model)
            failed = getattr(model, "failed", None)
        except Exception as exc:  # int8 is an optimisation: the quick precision goes on
            failed = f"{type(exc).__name__}: {exc}"
        if failed:
            quick = self._quick
            log.warning("int8 could not be compiled (%s); tagging goes on in %s", failed, quick)
            self._int8_builder = None
            self._emit(
                TagStatus(
                    "ready", f"int8 could not be compiled ({failed}); {quick}", precision=quick
                )
            )
            return
        self.engine.use_model(model, INT8)
        self.engine._warm = True
        self._emit(
            TagStatus(
                "ready",
                f"int8 model compiled in {time.monotonic() - started:.0f} s"
                "; tagging in int8 from the next chunk",
                precision=INT8,
            )
        )

    def wait_compiled(self, timeout: float | None = None) -> bool:
        """Wait for a background int8 compile to end; whether the tagger runs int8 now."""
        thread = self._compiler
        if thread is not None:
            thread.join(timeout)
        return self.precision == INT8

    # -- properties and tagging --------------------------------------------------------

    @property
    def device(self) -> str:
        """Where the model runs: ``"cpu"`` or ``"cuda"``."""
        return self.engine.device.type

    @property
    def precision(self) -> str:
        """The arithmetic new chunks run in now: ``"fp32"``, ``"bf16"`` or ``"int8"`` (with
        ``auto`` on a CPU it may change from fp32 or bf16 to int8 during a job, see
        :meth:`plan`)."""
        return self.engine.current_model()[1]

    @property
    def labels(self) -> list[str]:
        """The IOB2 labels of the model's head."""
        return list(self.engine.labels)

    @property
    def types(self) -> list[str]:
        """The entity types the tagger finds."""
        return list(self.engine.types)

    @property
    def sentiment_labels(self) -> list[str]:
        """The sentiment classes of the model's second head (empty: it has none)."""
        return list(self.engine.sentiment_labels)

    @property
    def has_sentiment(self) -> bool:
        """Whether the tagger also gives a sentiment per text (a two-head artefact)."""
        return bool(self.engine.sentiment_labels)

    def tag(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> list[list[Entity]]:
        """Entities of every text, in input order (see :meth:`model.engine.Engine.tag`).

        With ``auto`` precision on a CPU the call first plans (:meth:`plan`) for the texts
        tagged since the last explicit :meth:`plan`, these included: a few texts never wait
        for a compile, and a caller that tags a large job in small calls without planning
        (file mode, Ray actors) starts the background compile once it has tagged
        :attr:`small_job_texts` texts in fp32 or bf16. :func:`model.jobs.tag_store` plans for
        the whole job first."""
        return self.tag_with_sentiment(texts, batch_size=batch_size, progress=progress)[0]

    def tag_with_sentiment(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[list[list[Entity]], list[Sentiment | None]]:
        """Entities and sentiment of every text from one pass (see :meth:`tag`).

        The second list holds a :class:`model.engine.Sentiment` (``label``, ``score``) per
        text, or ``None`` for every text when the artefact has no sentiment head
        (:attr:`has_sentiment`) and for a text without any token.
        """
        with self._lock:
            self._since_plan += len(texts)
            expected = self._since_plan
        self._plan(expected)
        return self.engine.tag_with_sentiment(texts, batch_size=batch_size, progress=progress)

    def __repr__(self) -> str:
        return f"Tagger(model_id={self.model_id!r}, device={self.device!r})"


_COMPILING = (
    "Compiling the int8 model (once per process: about 30–90 s here, longer on a fresh machine)…"
)
