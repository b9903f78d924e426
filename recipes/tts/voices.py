"""Measure each voice's prosody on its training files and save it in a text-to-speech release.

    python recipes/tts/voices.py TRAIN.tsv MODEL_DIR [MODEL_DIR ...] [--files 100] [--held-out VALID.tsv]

For every speaker of the model, up to ``--files`` of its training files (the first in the
manifest's order) with the text beside each, aligned to espeak-ng's reading of it
(wavenet.text.prosody.read): the speaker's tempo and log-F0 mean and spread against espeak-ng's
(the rescaled prosody), and the two small trained models that correct it phone by phone (their
strengths chosen by 5-fold cross-validation over the training files). Then both are compared on
the ``--held-out`` files (never trained on, by the WaveNet or here; the recipe passes the validation
split, so that the test split chooses nothing): each trained model is kept only if its RMSE over
every held-out file, all voices pooled, is lower than the rescaled prosody's. Written into the release's metadata under "prosody" (what `wavenet say` and the
server read) and the comparison under "prosody_choice".
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wavenet.data.audio import AudioOptions, load_audio  # noqa: E402
from wavenet.data.manifest import read_manifest  # noqa: E402
from wavenet.release import load_release, update_metadata  # noqa: E402
from wavenet.text.normalize import normalize  # noqa: E402
from wavenet.text.prosody import accuracy, cross_validate, fit_voice, read  # noqa: E402

STRENGTHS = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0]


def recordings(manifests: list[Path], speakers: dict, options: AudioOptions, files: int) -> dict[str, list]:
    """speaker → [(audio, sample rate, normalised text)], up to ``files`` each, in the manifests' order."""
    out = defaultdict(list)
    for manifest in manifests:
        for u in read_manifest(manifest):
            if u.speaker in speakers and len(out[u.speaker]) < files:
                text = normalize(u.path.with_suffix(".txt").read_text(encoding="utf-8"))
                if text:
                    out[u.speaker].append((load_audio(u.path, options), options.sample_rate, text))
    return out


def pooled(rows: list[dict], key: str, count: str) -> float:
    """The RMSE over every row's items together."""
    n = sum(r[count] for r in rows)
    return float(np.sqrt(sum(r[count] * r[key] ** 2 for r in rows if r[count]) / max(n, 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("model", type=Path, nargs="+", help="releases of the same voices: each gets the prosody")
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--held-out", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    ckpt = load_release(args.model[0])
    options = AudioOptions(**ckpt.metadata["audio"]) if "audio" in ckpt.metadata else AudioOptions()
    readings = {}
    for speaker, recs in sorted(recordings([args.manifest], ckpt.speakers, options, args.files).items()):
        readings[speaker] = []
        for audio, rate, text in recs:
            try:
                readings[speaker].append(read(audio, rate, text))
            except ValueError:  # espeak-ng's phones and its phonemes disagree: left out, as in `prepare`
                continue
        if not readings[speaker]:
            print(f"{speaker}: no training file could be aligned; espeak-ng's prosody unscaled")
            del readings[speaker]
    scores = cross_validate(list(readings.values()), STRENGTHS)
    duration_strength = min(STRENGTHS, key=lambda s: scores[s][0])
    f0_strength = min(STRENGTHS, key=lambda s: scores[s][1])
    print(f"strengths (5-fold): duration {duration_strength:g}, F0 {f0_strength:g}")
    voices = {s: fit_voice(r, duration_strength, f0_strength) for s, r in readings.items()}
    choice = {
        "duration_strength": duration_strength,
        "f0_strength": f0_strength,
        "duration": "trained",
        "f0": "trained",
    }
    if args.held_out:
        held_out = recordings(args.held_out, voices, options, args.files)
        rows = {"rescaled": [], "trained": []}
        for speaker, recs in sorted(held_out.items()):
            result = accuracy(recs, {"rescaled": voices[speaker].rescaled(), "trained": voices[speaker]})
            for name in rows:
                rows[name].append(result[name])
        figures = {name: {"duration_rmse_ms": pooled(r, "duration_rmse_ms", "phones"),
                          "f0_rmse_cents": pooled(r, "f0_rmse_cents", "frames"),
                          "files": sum(len(v) for v in held_out.values())} for name, r in rows.items()}  # fmt: skip
        choice.update(held_out=figures)
        for part, key in (("duration", "duration_rmse_ms"), ("f0", "f0_rmse_cents")):
            if not figures["trained"][key] < figures["rescaled"][key]:
                choice[part] = "rescaled"
        for name, f in figures.items():
            print(f"held out ({f['files']} files), {name}: duration RMSE {f['duration_rmse_ms']:.1f} ms, "
                  f"F0 RMSE {f['f0_rmse_cents']:.0f} cents")  # fmt: skip
    keep = {"duration_model": choice["duration"] == "trained", "f0_model": choice["f0"] == "trained"}
    voices = {s: replace(v, **{k: () for k, kept in keep.items() if not kept}) for s, v in voices.items()}
    print(f"using: durations {choice['duration']}, F0 {choice['f0']}")
    for model in args.model:
        update_metadata(model, {"prosody": {s: v.to_dict() for s, v in voices.items()}, "prosody_choice": choice})
    for speaker, v in voices.items():
        print(f"{speaker}: tempo {v.tempo:.2f}, median F0 {100 * 2**v.f0_mean:.0f} Hz ({len(readings[speaker])} files)")


if __name__ == "__main__":
    main()
