# Stages shared by every recipe; each recipe's run.sh sets its variables, defines its own
# corpus and manifest stages, then calls run_stages "$@".
#
# Environment: WORK (where data, runs and outputs go; default work/RECIPE), WAVENET (the
# wavenet command; default: wavenet on PATH, else the one `make install` put in .venv/),
# PYTHON (default: .venv's python when it exists, else python3), TRAIN_OVERRIDES (extra
# space-separated dotted.key=value settings for training, e.g. "train.steps=1000 optim.lr=5e-4"),
# EVAL_SPLIT (the prepared split that eval scores; default valid).
set -euo pipefail

venv_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin"
if [[ -z "${WAVENET:-}" ]]; then
    if command -v wavenet >/dev/null; then
        WAVENET=wavenet
    elif [[ -x "$venv_bin/wavenet" ]]; then
        WAVENET="$venv_bin/wavenet"
    else
        echo "wavenet: command not found; run 'make install' (it creates .venv/), or set WAVENET" >&2
        exit 2
    fi
fi
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$venv_bin/python" ]]; then PYTHON="$venv_bin/python"; else PYTHON=python3; fi
fi
recipe_dir=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
recipe=$(basename "$recipe_dir")
work=${WORK:-work/$recipe}
prepare_args=()     # extra options for `wavenet prepare`
export_args=()      # extra options for `wavenet export` (a release's default temperature)
read -r -a train_args <<< "${TRAIN_OVERRIDES:-}"   # extra dotted.key=value overrides for `wavenet train`
generate_speakers=(0)
generate_seconds=2   # a recipe may change it; GENERATE_SECONDS in the environment wins

log() { echo "[$recipe] $*" >&2; }

stage_prepare() {
    log "prepare: $work/manifest.tsv -> $work/data"
    $WAVENET prepare "$work/manifest.tsv" "$work/data" ${prepare_args[@]+"${prepare_args[@]}"}
}

stage_train() {
    log "train: run directory $work/run (resumes if it holds checkpoints)"
    $WAVENET train "$recipe_dir/config.yaml" --resume data.dir="$work/data" run_dir="$work/run" ${train_args[@]+"${train_args[@]}"}
    $WAVENET export "$work/run" "$work/model" ${export_args[@]+"${export_args[@]}"}
}

stage_eval() {
    local split=${EVAL_SPLIT:-valid}
    [[ -f "$work/data/$split.tsv" ]] || split=train
    log "eval: $work/model on $work/data/$split.tsv"
    $WAVENET eval "$work/model" "$work/data/$split.tsv" --baseline-data "$work/data" \
        --save-json "$work/eval.json" | tee "$work/eval.md"
}

stage_generate() {
    mkdir -p "$work/samples"
    for speaker in "${generate_speakers[@]}"; do
        $WAVENET generate "$work/model" -o "$work/samples/speaker-$speaker.wav" \
            --speaker "$speaker" --seconds "${GENERATE_SECONDS:-$generate_seconds}" --seed 1
    done
}

run_stages() {
    local stages=("$@")
    [[ ${#stages[@]} -gt 0 ]] || stages=("${default_stages[@]}")
    mkdir -p "$work"
    for stage in "${stages[@]}"; do
        if ! declare -F "stage_$stage" >/dev/null; then
            echo "unknown stage '$stage'; stages: ${default_stages[*]}" >&2
            exit 2
        fi
        "stage_$stage"
    done
}
