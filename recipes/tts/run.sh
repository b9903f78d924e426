#!/usr/bin/env bash
# Text to speech on the offline speech corpus's English voices (speech_offline's corpus, built here
# if missing): linguistic frames from each file's text, aligned to the audio; per-voice prosody.
# Two models: the two-stage one (acoustic stage: acoustic.yaml, frames → log-mel and F0, spoken by
# a mel vocoder; $work/acoustic) and the direct WaveNet (train stage: config.yaml; $work/model).
#   recipes/tts/run.sh [deps] [corpus] [manifest] [prepare] [acoustic] [train] [voices] [eval] [generate]
# Not run unless named: the vocoder stage (below; measured worse than the vocoder it starts from).
# SAY_TEXT: what the generate stage says (default: two sentences no voice read in training).
# VOCODER: the mel vocoder release the acoustic model's frames go to (default checkpoints/mel-vocoder).
# ACOUSTIC_OVERRIDES, VOCODER_OVERRIDES: key=value changes to acoustic.yaml, vocoder.yaml (as TRAIN_OVERRIDES
# to config.yaml).
source "$(dirname "$0")/../common.sh"

default_stages=(corpus manifest prepare acoustic train voices eval generate)
prepare_args=(--trim-silence --normalize --valid-fraction 0.05 --features linguistic --hop 200)
source "$recipe_dir/../speech_offline/corpus.sh"

stage_manifest() { split_manifest --english-with-texts; }

stage_acoustic() {
    local vocoder=${VOCODER:-$recipe_dir/../../checkpoints/mel-vocoder} overrides
    read -r -a overrides <<< "${ACOUSTIC_OVERRIDES:-}"
    log "acoustic: run directory $work/acoustic_run (resumes if it holds checkpoints); spoken by $vocoder"
    $WAVENET train "$recipe_dir/acoustic.yaml" --resume data.dir="$work/data" run_dir="$work/acoustic_run" \
        ${overrides[@]+"${overrides[@]}"}
    $WAVENET export "$work/acoustic_run" "$work/acoustic" --vocoder "$vocoder"
}

# The vocoder fine-tuned on the acoustic model's frames for the training files, at the recordings' timing
# (predicted_frames.py; ENVELOPE=recorded keeps the recordings' reflection coefficients); it keeps
# $VOCODER's sampling settings. $work/acoustic is exported again to be spoken by it, and its voices
# measured again. Measured on held-out prompts (recipes/README.md): both kinds speak worse than $VOCODER
# (their free-running output drifts loud or silent), so no default stage runs it.
stage_vocoder() {
    local vocoder=${VOCODER:-$recipe_dir/../../checkpoints/mel-vocoder} overrides sampling
    read -r -a overrides <<< "${VOCODER_OVERRIDES:-}"
    log "vocoder: $work/acoustic's frames -> $work/predicted; run directory $work/vocoder_run, from $vocoder"
    $PYTHON "$recipe_dir/predicted_frames.py" "$work/acoustic" "$work/data" "$work/predicted" \
        --envelope "${ENVELOPE:-predicted}"
    $WAVENET train "$recipe_dir/vocoder.yaml" --resume data.dir="$work/predicted" run_dir="$work/vocoder_run" \
        train.init_from="$vocoder" ${overrides[@]+"${overrides[@]}"}
    read -r -a sampling <<< "$($PYTHON -c 'import json, sys
m = json.load(open(sys.argv[1] + "/config.json"))["metadata"]
print(" ".join(f"--{o} {m[k]}" for o, k in (("temperature", "temperature"), ("voiced-scale", "voiced_temperature_scale")) if k in m))' "$vocoder")"
    $WAVENET export "$work/vocoder_run" "$work/vocoder" ${sampling[@]+"${sampling[@]}"}
    $WAVENET export "$work/acoustic_run" "$work/acoustic" --vocoder "$work/vocoder"
    stage_voices  # the export rewrote the release's metadata, the voices' prosody with it
}

# Each voice's tempo and pitch against espeak-ng's, measured on its training files, saved in both models.
stage_voices() {
    local models=()
    for m in "$work/acoustic" "$work/model"; do [[ -d $m ]] && models+=("$m"); done
    $PYTHON "$recipe_dir/voices.py" "$work/data/train.tsv" "${models[@]}" --files "${VOICE_FILES:-100}" \
        --held-out "$work/data/valid.tsv"
}

stage_generate() {
    mkdir -p "$work/samples"
    local text=${SAY_TEXT:-"The weather will be cloudy tomorrow. Please call me back after six."}
    for speaker in asterisk-en_US_f_Allison espeak-en-us-m1; do
        $WAVENET say "$work/acoustic" "$text" --speaker "$speaker" -o "$work/samples/$speaker.wav" --seed 1
        $WAVENET say "$work/model" "$text" --speaker "$speaker" -o "$work/samples/direct-$speaker.wav" --seed 1
    done
}

run_stages "$@"
