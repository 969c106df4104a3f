#!/usr/bin/env bash
# The two-head retrain sized for a lent GPU, a device call of its own after the checks:
# run(command="bash bench/gpu_retrain.sh", carry=[".gpu"], timeout_s=570).
#
# All of GoEmotions train (39.5 k texts but the 800 held out for selection), BTC a b e f g and
# WikiGold every epoch, 6,000 generated tickets; LoRA rank 64 (its adapters are 10.6 MB, under
# the 16 MiB a returned file may hold; a whole model, 90 MB, could not come back) from the
# backbone; selection on the validation splits only, as every stage's. The artefact comes back
# as $OUT/retrain.tar (its folder, no checkpoint); unpack it here with
# `tar -xf retrain.tar -C runs/` and measure it with `python -m model evaluate` before any
# choice to ship it. RETRAIN_ARGS replaces the recipe's options below, RETRAIN_MIN the budget
# in minutes, RETRAIN_DEVICE the device (cpu: a dry run here).
set -u
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
if [ -z "${PRICEWAR_BACKBONE_DIR:-}" ]; then  # the same set-up as gpu_check.sh
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --root-user-action=ignore \
    --target /tmp/site .gpu/wheels/*.whl || { echo "no kit: run python -m bench.gpu_kit first"; exit 99; }
  export PYTHONPATH="/tmp/site:$PWD" PRICEWAR_BACKBONE_DIR="$PWD/.gpu/backbone"
  export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
fi
ARGS=${RETRAIN_ARGS:---epochs 8 --seed 13 --tickets 6000 --btc-per-epoch 9000 \
  --wikigold-per-epoch 2000 --goemotions-per-epoch 40000 --goemotions-val 800 \
  --sentiment-weight 1.5 --sentiment-class-power 0.5 --rank 64 --batch-size 32}
# shellcheck disable=SC2086  # ARGS is a list of options
python3 -m model.train two-head --output /tmp/retrain --name default --device "${RETRAIN_DEVICE:-cuda}" \
  --time-budget-min "${RETRAIN_MIN:-5}" $ARGS 2>&1 | tee "$OUT/retrain.log"
rc=${PIPESTATUS[0]}
if [ -f /tmp/retrain/tagger.json ]; then
  tar -cf "$OUT/retrain.tar" -C /tmp --exclude checkpoint.pt retrain
  ls -l "$OUT/retrain.tar"
fi
exit "$rc"
