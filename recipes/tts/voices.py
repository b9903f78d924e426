"""Measure each voice's prosody on its training files and save it in a text-to-speech release.

    python recipes/tts/voices.py TRAIN.tsv MODEL_DIR [--files 20]

For every speaker of the model, up to ``--files`` of its training files (the first in the
manifest's order) with the text beside each: its tempo against espeak-ng's reading of the same
texts and its log-F0 mean and spread (wavenet.text.prosody.measure_voice). Written into the
release's metadata under "prosody", which `wavenet say` and the server read.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wavenet.checkpoint import load_release, save_release  # noqa: E402
from wavenet.data.audio import AudioOptions, load_audio  # noqa: E402
from wavenet.data.manifest import read_manifest  # noqa: E402
from wavenet.text.normalize import normalize  # noqa: E402
from wavenet.text.prosody import measure_voice  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("--files", type=int, default=20)
    args = parser.parse_args()
    ckpt = load_release(args.model)
    options = AudioOptions(**ckpt.metadata["audio"]) if "audio" in ckpt.metadata else AudioOptions()
    files = defaultdict(list)
    for u in read_manifest(args.manifest):
        if u.speaker in ckpt.speakers and len(files[u.speaker]) < args.files:
            text = normalize(u.path.with_suffix(".txt").read_text(encoding="utf-8"))
            if text:
                files[u.speaker].append((load_audio(u.path, options), options.sample_rate, text))
    voices = {speaker: measure_voice(recordings).to_dict() for speaker, recordings in sorted(files.items())}
    metadata = {**ckpt.metadata, "prosody": voices}
    save_release(ckpt.model, args.model, ckpt.speakers, metadata, ckpt.features)
    for speaker, v in voices.items():
        print(f"{speaker}: tempo {v['tempo']:.2f}, median F0 {100 * 2 ** v['f0_mean']:.0f} Hz")


if __name__ == "__main__":
    main()
