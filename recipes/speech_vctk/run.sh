#!/usr/bin/env bash
# Speech, VCTK: from a local copy of the corpus, laid out as it ships.
#   VCTK_ROOT=/data/VCTK-Corpus-0.92 recipes/speech_vctk/run.sh [manifest] [prepare] [train] [eval] [generate]
# VCTK_ROOT is the folder holding wav48_silence_trimmed/ (release 0.92) or wav48/ (0.80).
# Outputs go to $WORK (default work/speech_vctk).
source "$(dirname "$0")/../common.sh"

default_stages=(manifest prepare train eval generate)
prepare_args=(--trim-silence --valid-fraction 0.02)
generate_speakers=(p225 p226 p227 p228)
generate_seconds=4

stage_manifest() {
    [[ -n "${VCTK_ROOT:-}" ]] || { echo "set VCTK_ROOT to your copy of VCTK" >&2; exit 2; }
    $WAVENET manifest vctk "$VCTK_ROOT" -o "$work/manifest.tsv"
}

run_stages "$@"
