# The deps and corpus stages of every recipe built on speech_offline's corpus (mel_vocoder, tts):
# the corpus is speech_offline's, built there when missing. Sourced by those recipes' run.sh,
# after common.sh. CORPUS: where the corpus is (default work/speech_offline/corpus).
speech="$recipe_dir/../speech_offline"
corpus=${CORPUS:-work/speech_offline/corpus}

stage_deps() { bash "$speech/run.sh" deps; }

stage_corpus() {
    if [[ -f "$corpus/voices.tsv" ]]; then
        log "corpus: $corpus is there"
    else
        WORK=$(dirname "$corpus") bash "$speech/run.sh" corpus
    fi
}

# The manifest with the held-out test split marked (split_manifest.py); $@: its options.
split_manifest() { $PYTHON "$speech/split_manifest.py" "$corpus" "$work/manifest.tsv" "$@"; }
