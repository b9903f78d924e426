#!/usr/bin/env bash
# Piano, MAESTRO v3: from a local copy of the corpus (maestro-v3.0.0.csv beside the year folders).
#   MAESTRO_ROOT=/data/maestro-v3.0.0 recipes/piano_maestro/run.sh [manifest] [prepare] [train] [eval] [generate]
# Outputs go to $WORK (default work/piano_maestro).
source "$(dirname "$0")/../common.sh"

default_stages=(manifest prepare train eval generate)
generate_speakers=(piano)
generate_seconds=4

stage_manifest() {
    [[ -n "${MAESTRO_ROOT:-}" ]] || { echo "set MAESTRO_ROOT to your copy of MAESTRO v3" >&2; exit 2; }
    $WAVENET manifest maestro "$MAESTRO_ROOT" -o "$work/manifest.tsv"
}

run_stages "$@"
