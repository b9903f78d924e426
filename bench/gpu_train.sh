#!/usr/bin/env bash
# One call that turns a lent GPU machine into a trained model: a recipe's packed data in, a release out.
#
#   make gpu-data RECIPE=mel_vocoder    # on this side, once: bench/gpu-wheels-train and bench/gpu-data/mel_vocoder
#                                       # (the data's largest share that fits beside the code in 64 MiB)
#   device tool: run(command="bash bench/gpu_train.sh mel_vocoder 8",
#                    carry=["bench/gpu-wheels-train", "bench/gpu-data"], timeout_s=600)
#
# RECIPE's config trains for MINUTES of wall time (the schedule's steps sized to fit them from a
# short speed probe; the time limit stops it cleanly in any case), from INIT_FROM if set (a
# release: all its weights, or what fits of them), then exports the best checkpoint. Left in $OUT
# (default bench/gpu-out): release/ (model.safetensors, config.json, metrics.jsonl), probe.txt,
# train-log.txt. On a GPU the run takes GPU_OVERRIDES (default: 32 crops of 1 s, bf16, warm-up
# 100 steps), then TRAIN_OVERRIDES.
#
# Without a GPU (or with GPU_TRAIN_CPU=1) it runs its CPU half: the same steps on the CPU with the
# recipe's own batch, which is how the script is tested before a lease (tests/recipes).
set -uo pipefail
cd "$(dirname "$0")/.."
RECIPE=${1:?usage: bench/gpu_train.sh RECIPE MINUTES}
MINUTES=${2:?usage: bench/gpu_train.sh RECIPE MINUTES}
OUT=${OUT:-$PWD/bench/gpu-out}
PACKED=${PACKED:-bench/gpu-data/$RECIPE}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
exec > >(tee "$OUT/train-log.txt") 2>&1
export PYTHONPATH=$PWD  # the sources as they are: no build step
say() { echo; echo "== $(date -u +%T) $*"; }
[ -f "recipes/$RECIPE/config.yaml" ] || { echo "no recipe $RECIPE (recipes/$RECIPE/config.yaml)"; exit 2; }
[ -f "$PACKED/dataset.json" ] || { echo "no packed data in $PACKED: run 'make gpu-data RECIPE=$RECIPE' first"; exit 2; }

say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
if [ "${GPU_TRAIN_CPU:-0}" = 1 ] || ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    DEVICE=cpu
    DEFAULTS=()
else
    DEVICE=cuda
    read -r -a DEFAULTS <<< "${GPU_OVERRIDES:-data.batch_size=32 data.crop_seconds=1.0 train.precision=bf16 data.valid_crops=64 optim.warmup_steps=100}"
fi
echo "device: $DEVICE"

say "install what is missing (from bench/gpu-wheels-train, no network)"
if [ -d bench/gpu-wheels-train ]; then
    $PY -m pip install --quiet --no-index --find-links bench/gpu-wheels-train \
        soundfile safetensors tqdm pyyaml soxr mido 2>&1 | tail -3
fi

say "unpack $PACKED"
DATA=$(mktemp -d)/data
$PY -m wavenet.data.pack unpack "$PACKED" "$DATA" || exit 1

read -r -a EXTRA <<< "${TRAIN_OVERRIDES:-}"
COMMON=(data.dir="$DATA" train.device="$DEVICE" train.eval_audio_seconds=0 ${DEFAULTS[@]+"${DEFAULTS[@]}"})
[ -n "${INIT_FROM:-}" ] && COMMON+=(train.init_from="$INIT_FROM")
COMMON+=(${EXTRA[@]+"${EXTRA[@]}"})

say "speed probe: 10 steps"
$PY -m wavenet bench --train "recipes/$RECIPE/config.yaml" "${COMMON[@]}" --steps 10 | tee "$OUT/probe.txt" || exit 1
PER_STEP=$(sed -n 's/.*: \([0-9.]*\) s a step.*/\1/p' "$OUT/probe.txt")
# Steps that fit the time, less a tenth for evaluations and checkpoints; the time limit is the backstop.
STEPS=$($PY -c "print(max(10, int($MINUTES * 60 * 0.9 / $PER_STEP)))")
EVERY=$($PY -c "print(max(5, $STEPS // 4))")
echo "$PER_STEP s a step: $STEPS steps in $MINUTES minutes, evaluated every $EVERY"

say "train"
$PY -m wavenet train "recipes/$RECIPE/config.yaml" "${COMMON[@]}" run_dir="$OUT/run" --time-limit "${MINUTES}m" \
    train.steps="$STEPS" train.eval_every="$EVERY" train.checkpoint_every="$EVERY" train.log_every=$((EVERY / 5 + 1)) \
    || exit 1

say "export"
$PY -m wavenet export "$OUT/run" "$OUT/release" --checkpoint best || exit 1
rm -rf "$OUT/run/checkpoints"  # the release holds the weights; the training checkpoints stay behind (size)
grep '"kind": "valid"' "$OUT/release/metrics.jsonl" | tail -3
echo "release in $OUT/release"
