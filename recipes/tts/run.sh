#!/usr/bin/env bash
# Text to speech on the offline speech corpus's English voices (speech_offline's corpus, built here
# if missing): linguistic frames from each file's text, aligned to the audio; per-voice prosody.
#   recipes/tts/run.sh [deps] [corpus] [manifest] [prepare] [train] [voices] [eval] [generate]
# SAY_TEXT: what the generate stage says (default: two sentences no voice read in training).
source "$(dirname "$0")/../common.sh"

default_stages=(corpus manifest prepare train voices eval generate)
prepare_args=(--trim-silence --normalize --valid-fraction 0.05 --features linguistic --hop 200)
source "$recipe_dir/../speech_offline/corpus.sh"

stage_manifest() { split_manifest --english-with-texts; }

# Each voice's tempo and pitch against espeak-ng's, measured on its training files, saved in the model.
stage_voices() { $PYTHON "$recipe_dir/voices.py" "$work/data/train.tsv" "$work/model" --files "${VOICE_FILES:-100}" \
    --held-out "$work/data/valid.tsv"; }

stage_generate() {
    mkdir -p "$work/samples"
    local text=${SAY_TEXT:-"The weather will be cloudy tomorrow. Please call me back after six."}
    for speaker in asterisk-en_US_f_Allison espeak-en-us-m1; do
        $WAVENET say "$work/model" "$text" --speaker "$speaker" -o "$work/samples/$speaker.wav" --seed 1
    done
}

run_stages "$@"
