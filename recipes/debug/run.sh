#!/usr/bin/env bash
# The debug recipe: synthetic corpus -> prepare -> train (60 steps) -> eval -> generate.
#   recipes/debug/run.sh [corpus] [manifest] [prepare] [train] [eval] [generate]
# With no stage, runs them all. Outputs go to $WORK (default work/debug).
source "$(dirname "$0")/../common.sh"

default_stages=(corpus manifest prepare train eval generate)
generate_speakers=(0 voice3)
generate_seconds=0.5

stage_corpus() { $PYTHON "$recipe_dir/make_corpus.py" "$work/corpus"; }
stage_manifest() { $WAVENET manifest dir "$work/corpus" -o "$work/manifest.tsv"; }

run_stages "$@"
