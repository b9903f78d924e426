#!/usr/bin/env bash
# Piano, offline: render music21's bundled scores with fluidsynth, then the usual stages.
#   recipes/piano_offline/run.sh [deps] [corpus] [manifest] [prepare] [train] [eval] [generate]
# deps installs fluidsynth, the soundfont and music21 (as root); corpus renders MAX_HOURS
# (default 6) of audio, about 90 times faster than real time, then UNSEEN_HOURS (default 0) more
# into corpus/unseen/: pieces no model trains on (recipes/midi_piano/compare.py measures on them;
# UNSEEN_HOURS=1 gave the two Beethoven quartet pieces that docs/QUALITY.md uses). Outputs go to $WORK.
source "$(dirname "$0")/../common.sh"

default_stages=(corpus manifest prepare train eval generate)
prepare_args=(--valid-fraction 0.05)
generate_speakers=(piano)
generate_seconds=4
: "${MAX_HOURS:=6}"

stage_deps() {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fluidsynth fluid-soundfont-gm
    $PYTHON -m pip install --quiet music21 mido
}

stage_corpus() {
    $PYTHON "$recipe_dir/render_corpus.py" "$work/corpus" --max-hours "$MAX_HOURS" --unseen-hours "${UNSEEN_HOURS:-0}"
}
stage_manifest() { $WAVENET manifest dir "$work/corpus/piano" --speaker piano -o "$work/manifest.tsv"; }

run_stages "$@"
