#!/usr/bin/env bash
# A mel vocoder on the offline speech corpus (speech_offline's, built here if missing).
#   recipes/mel_vocoder/run.sh [deps] [corpus] [manifest] [prepare] [train] [eval] [generate]
# GENERATE_FILES (default 4): how many test files the generate stage resynthesises.
# The manifest holds out three whole voices and 60 transcribed en_US_f_Allison prompts as the test
# split (speech_offline/split_manifest.py); generate resynthesises test files from their own mel frames.
source "$(dirname "$0")/../common.sh"

default_stages=(corpus manifest prepare train eval generate)
# LPC_ORDER (default 16, as checkpoints/mel-vocoder): frames also carry their envelope's reflection
# coefficients, and the vocoder is a source-filter one (the network draws the excitation); 0: plain.
prepare_args=(--trim-silence --normalize --valid-fraction 0.05 --features mel --hop 200 --n-mels 80
    --lpc-order "${LPC_ORDER:-16}")
# F0 (default 1, as checkpoints/mel-vocoder): frames also carry the recording's F0 (YIN), and the
# vocoder also reads sines at its first eight harmonics (model.source_harmonics, a periodic source);
# 0: frames without it.
if [ "${F0:-1}" = 1 ]; then prepare_args+=(--f0); fi
# PREEMPHASIS (default 0, as checkpoints/mel-vocoder): e.g. 0.85 models x[t] - 0.85 x[t-1] (LPCNet's
# pre-emphasis; its output is de-emphasised): better on Allison's held-out prompts, worse on the voices it
# never heard (README.md, "Pre-emphasis"; docs/quality/vocoder-levers.jsonl).
if [ "${PREEMPHASIS:-0}" != 0 ]; then prepare_args+=(--preemphasis "$PREEMPHASIS"); fi
# Sampled at 0.7 unless a request says otherwise: better on every measure of held-out output (docs/QUALITY.md);
# with F0, voiced frames at 0.7 times that (VOICED_SCALE): better DNSMOS, PESQ, STOI and voicing on 60 prompts.
export_args=(--temperature "${TEMPERATURE:-0.7}")
if [ "${F0:-1}" = 1 ]; then export_args+=(--voiced-scale "${VOICED_SCALE:-0.7}"); fi
source "$recipe_dir/../speech_offline/corpus.sh"

stage_manifest() { split_manifest --held-out-speakers asterisk-it_IT_m_Carlo,mbrola-mb-us2,flite-awb; }

stage_generate() {
    mkdir -p "$work/samples"
    for file in $(awk -F'\t' 'NR > 1 {print $1}' "$work/data/test.tsv" | head -n "${GENERATE_FILES:-4}"); do
        $WAVENET vocode "$work/model" "$file" -o "$work/samples/$(basename "$(dirname "$file")")-$(basename "$file")" --seed 1
    done
}

run_stages "$@"
