#!/usr/bin/env bash
# The GPU machine's checks in one call, prepared here by `python -m bench.gpu_kit`:
#
#   run(command="bash bench/gpu_check.sh", carry=[".gpu"], timeout_s=570)
#
# Under $OUT it writes env.txt (GPU, driver, library versions), bench_cuda.txt (`python -m
# bench.tagging --device cuda`: ours against the Hugging Face pipeline on the GPU, bf16 auto),
# bench_cuda_fp32.txt (both in fp32) and tests_cuda.txt (the tests that take the CUDA paths).
# Each step has its own time limit (510 s together, inside the call's 570), so a hung step
# leaves the others' results; the exit status is the number of steps that failed. The retrain,
# bench/gpu_retrain.sh, does not fit beside them: it is a call of its own.
set -u
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --root-user-action=ignore \
  --target /tmp/site .gpu/wheels/*.whl || { echo "no kit: run python -m bench.gpu_kit here first"; exit 99; }
export PYTHONPATH="/tmp/site:$PWD"
export PRICEWAR_BACKBONE_DIR="$PWD/.gpu/backbone"
failed=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.txt
  local name=$1 limit=$2; shift 2
  echo "== $name: $* (limit ${limit}s)" | tee "$OUT/$name.txt"
  local start=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$OUT/$name.txt"
  local rc=${PIPESTATUS[0]}
  echo "== $name: rc=$rc in $((SECONDS - start)) s" | tee -a "$OUT/$name.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
}
step env 60 bash -c 'nvidia-smi; lscpu | grep "Model name"; python3 -c "
import torch, transformers, peft
print(\"torch\", torch.__version__, \"transformers\", transformers.__version__, \"peft\", peft.__version__)
print(torch.cuda.get_device_name(0), \"bf16\", torch.cuda.is_bf16_supported())"'
step bench_cuda 150 python3 -m bench.tagging --device cuda --tickets 2000
step bench_cuda_fp32 120 python3 -m bench.tagging --device cuda --tickets 2000 --precision fp32
# the tests whose code takes a CUDA path when torch sees a GPU, and the default tagger read
# through the float16 copy (its CPU int8 test left to CI: a compile of minutes, no CUDA);
# warnings shown, not errors: the image's transformers is older than the pinned one
step tests_cuda 180 python3 -m pytest -q -p no:cacheprovider -o addopts="-ra" -W default \
  -k "not int8" tests/model/test_cuda_engine.py tests/model/test_train_device.py \
  tests/model/test_quantize.py::test_precision_names_and_devices tests/model/test_default_tagger.py
echo "steps failed: $failed"
exit "$failed"
