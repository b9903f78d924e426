#!/usr/bin/env bash
# Speech, offline: a 41-voice corpus built from Debian packages, then the usual stages.
#   recipes/speech_offline/run.sh [deps] [corpus] [manifest] [prepare] [train] [eval] [generate]
# deps installs the Debian packages (as root) and the G722 decoder; corpus builds about 4 hours
# of audio in a few minutes. Outputs go to $WORK (default work/speech_offline).
source "$(dirname "$0")/../common.sh"

default_stages=(corpus manifest prepare train eval generate)
prepare_args=(--trim-silence --normalize --valid-fraction 0.05)
generate_speakers=(asterisk-en_US_f_Allison asterisk-it_IT_m_Carlo espeak-en-us-m3 mbrola-mb-us1)
generate_seconds=3
: "${SYNTHETIC_MINUTES:=3}"   # per synthetic voice
: "${ASTERISK_MINUTES:=0}"    # per recorded voice; 0 takes every prompt

stage_deps() {
    # MBROLA voices live in Debian's contrib and non-free sections.
    if ! grep -rqs "non-free" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        . /etc/os-release
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$VERSION_CODENAME" "$VERSION_CODENAME" > /etc/apt/sources.list.d/contrib-non-free.sources
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng flite fortunes \
        mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 \
        asterisk-core-sounds-{en,es,fr,it,ru}-g722
    $PYTHON -m pip install --quiet G722
}

stage_corpus() {
    $PYTHON "$recipe_dir/build_corpus.py" "$work/corpus" \
        --synthetic-minutes "$SYNTHETIC_MINUTES" --asterisk-minutes "$ASTERISK_MINUTES"
}

stage_manifest() { $WAVENET manifest dir "$work/corpus" -o "$work/manifest.tsv"; }

run_stages "$@"
