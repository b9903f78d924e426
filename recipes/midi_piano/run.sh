#!/usr/bin/env bash
# MIDI to piano on the offline piano corpus (piano_offline's renders with their MIDI files; built
# here if missing). 5% of the pieces, whole, are held out as the valid split.
#   recipes/midi_piano/run.sh [deps] [corpus] [manifest] [prepare] [train] [eval] [generate]
# GENERATE_FILES (default 4): how many valid files the generate stage renders.
source "$(dirname "$0")/../common.sh"

default_stages=(corpus manifest prepare train eval generate)
prepare_args=(--valid-fraction 0.05 --features pianoroll --hop 200)
piano="$recipe_dir/../piano_offline"
corpus=${CORPUS:-work/piano_offline/corpus}

stage_deps() { bash "$piano/run.sh" deps; }

stage_corpus() {
    if compgen -G "$corpus/piano/*.mid" > /dev/null; then
        log "corpus: $corpus is there, with its MIDI files"
    else
        WORK=$(dirname "$corpus") bash "$piano/run.sh" corpus
    fi
}

stage_manifest() { $WAVENET manifest dir "$corpus/piano" --speaker piano -o "$work/manifest.tsv"; }

stage_generate() {
    mkdir -p "$work/samples"
    for file in $(awk -F'\t' 'NR > 1 {print $1}' "$work/data/valid.tsv" | head -n "${GENERATE_FILES:-4}"); do
        $WAVENET render "$work/model" "${file%.*}.mid" -o "$work/samples/$(basename "$file")" --seed 1
    done
}

run_stages "$@"
