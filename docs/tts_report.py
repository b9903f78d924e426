"""The text-to-speech section of docs/QUALITY.md: alignment, prosody, intelligibility and voices of tts-small.

    python docs/tts_report.py [--sentences 20] [--voices-per-engine 2]

Needs the tts recipe's prepared data (recipes/tts: its test split holds 60 transcribed
en_US_f_Allison prompts that no voice read in training), pocketsphinx (`pip install -e '.[dev]'`)
and espeak-ng for its reading of the same texts. Every figure is computed here:

- **Alignment** (recipes' phone timings come from it): espeak-ng's own phone times when other
  voices of it (en-us+f3 at its rate, en-us+m7 at 130 words a minute, en-us+f2 at 220) read the
  held-out texts, against those found by aligning that audio to the en-us reading.
- **Prosody**: the plan for each held-out prompt in Allison's measured voice against her
  recording (aligned): phone duration RMSE (ms) and F0 RMSE on frames voiced in both (cents);
  beside espeak-ng's prosody unscaled.
- **Intelligibility**: pocketsphinx's word error rate on ``--sentences`` held-out prompts,
  spoken by the model in Allison's voice and in a few others, beside her recordings and
  espeak-ng reading the same texts.
- **Voices**: each offered voice's median F0 in what the model says against its recordings', and
  its share of voiced frames.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conditioned_report import espeak, recognise, resynthesise  # noqa: E402
from quality_report import F0_THRESHOLD, PICTURES  # noqa: E402

from wavenet.checkpoint import Checkpoint, load_release  # noqa: E402
from wavenet.data.manifest import read_manifest  # noqa: E402
from wavenet.evaluation.intelligibility import word_error_rate  # noqa: E402
from wavenet.evaluation.quality import f0_track, median_f0, voiced_share  # noqa: E402
from wavenet.generation.synthesis import text_frames  # noqa: E402
from wavenet.text.align import Segment, align, boundary_errors  # noqa: E402
from wavenet.text.espeak import PAUSE, render  # noqa: E402
from wavenet.text.normalize import normalize  # noqa: E402
from wavenet.text.prosody import Voice, plan  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUALITY = ROOT / "docs" / "QUALITY.md"
BEGIN, END = "<!-- text to speech: docs/tts_report.py -->", "<!-- end of text to speech -->"
ALLISON = "asterisk-en_US_f_Allison"


def speak(ckpt: Checkpoint, texts: list[str], speaker: int) -> list[np.ndarray]:
    """The model's audio for each text (all its sentences), stream i seeded with i."""
    frames = [np.concatenate(text_frames(ckpt, t, speaker)) for t in texts]
    return resynthesise(ckpt, frames, [speaker] * len(frames))


def alignment_accuracy(texts: list[str]) -> dict:
    rows = {}
    for voice, rate in (("en-us+f3", None), ("en-us+m7", 130), ("en-us+f2", 220)):
        errors = []
        for text in texts:
            truth = render(text, voice=voice, rate=rate)
            found = align(truth.audio, truth.sample_rate, text)
            try:
                errors.append(boundary_errors(found, [Segment(*s) for s in truth.segments()]))
            except ValueError:
                continue
        e = np.concatenate(errors)
        rows[f"{voice} at {rate or 175} wpm"] = {
            "phones": len(e), "mean_ms": 1000 * e.mean(), "median_ms": 1000 * np.median(e),
            "within_20ms": float(np.mean(e <= 0.02)),
        }  # fmt: skip
    return rows


def prosody_accuracy(recordings: list[tuple[np.ndarray, str]], voice: Voice) -> dict:
    """Plans against the recordings: phone duration RMSE (ms) and F0 RMSE (cents), scaled and unscaled."""
    out = {}
    for name, v in (("rescaled to her voice", voice), ("espeak-ng unscaled", Voice())):
        durations, cents = [], []
        for audio, text in recordings:
            truth = [s for s in align(audio, 16000, text) if s.phone != PAUSE]
            planned = plan(text, v, 200, 16000)
            mine = [s for s in planned.segments if s.phone != PAUSE]
            if len(mine) != len(truth):
                continue
            durations += [(a.end - a.start) - (b.end - b.start) for a, b in zip(mine, truth, strict=True)]
            theirs = f0_track(audio, threshold=F0_THRESHOLD)  # 10 ms frames; compared at the plan's 12.5 ms frames
            t = np.arange(len(planned.f0)) * 200 / 16000
            index = np.clip(np.round(t * 100 - 2).astype(int), 0, len(theirs) - 1)
            both = np.isfinite(theirs[index]) & np.isfinite(planned.f0)
            cents += list(1200 * np.log2(planned.f0[both] / theirs[index][both]))
        out[name] = {
            "phones": len(durations),
            "duration_rmse_ms": 1000 * float(np.sqrt(np.mean(np.square(durations)))),
            "f0_rmse_cents": float(np.sqrt(np.mean(np.square(cents)))),
        }
    return out


def voice_figures(spoken: dict[str, list[np.ndarray]], data: Path, options) -> dict:
    """Per voice: median F0 and voiced share of what the model said, and of 10 of the voice's training files."""
    from wavenet.data.audio import load_audio

    train = read_manifest(data / "train.tsv")
    out = {}
    for name, audio in spoken.items():
        theirs = [load_audio(u.path, options) for u in [u for u in train if u.speaker == name][:10]]
        said, real = np.concatenate(audio), np.concatenate(theirs)
        out[name] = {"median_f0": median_f0(said, threshold=F0_THRESHOLD),
                     "recordings_median_f0": median_f0(real, threshold=F0_THRESHOLD),
                     "voiced": voiced_share(said, threshold=F0_THRESHOLD),
                     "recordings_voiced": voiced_share(real, threshold=F0_THRESHOLD)}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "checkpoints" / "tts-small")
    parser.add_argument("--data", type=Path, default=ROOT / "work" / "tts" / "data")
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--others", default="espeak-en-us-m1,mbrola-mb-us1,flite-slt")
    args = parser.parse_args()
    start = time.time()
    ckpt = load_release(args.model)
    test = [u for u in read_manifest(args.data / "test.tsv")]
    texts = [normalize(u.path.with_suffix(".txt").read_text()) for u in test]
    from wavenet.data.audio import AudioOptions, load_audio

    options = AudioOptions(**ckpt.metadata["audio"]) if "audio" in ckpt.metadata else AudioOptions()
    recordings = [(load_audio(u.path, options), t) for u, t in zip(test, texts, strict=True)]
    print(f"[tts] {len(test)} held-out prompts", flush=True)
    results = {"alignment": alignment_accuracy(texts[:20])}
    print("[tts] alignment measured", flush=True)
    voices = ckpt.metadata.get("prosody", {})
    allison = Voice.from_dict(voices[ALLISON]) if ALLISON in voices else Voice()
    results["prosody"] = prosody_accuracy(recordings, allison)
    print("[tts] prosody measured", flush=True)
    n = min(args.sentences, len(texts))
    refs = [u.path.with_suffix(".txt").read_text().strip() for u in test[:n]]
    wer = {
        "recordings": word_error_rate([(r, recognise(a)) for r, (a, _) in zip(refs, recordings[:n], strict=True)]),
        "espeak-ng en-us": word_error_rate([(r, recognise(espeak(t))) for r, t in zip(refs, texts[:n], strict=True)]),
    }
    spoken = {}
    for name in [ALLISON, *filter(None, args.others.split(","))]:
        if name in ckpt.speakers:
            spoken[name] = speak(ckpt, texts[:n], ckpt.speakers[name])
            wer[f"tts-small as {name}"] = word_error_rate(
                [(r, recognise(a)) for r, a in zip(refs, spoken[name], strict=True)]
            )
            print(f"[tts] spoke {n} prompts as {name}", flush=True)
    results["wer"] = {"sentences": n, **wer}
    results["voices"] = voice_figures(spoken, args.data, options)
    results["seconds"] = time.time() - start
    (PICTURES / "tts.json").write_text(json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8")
    write_section(markdown(results, ckpt))
    print(f"wrote the text-to-speech section of {QUALITY} in {time.time() - start:.0f} s")


def markdown(r: dict, ckpt: Checkpoint) -> str:
    meta = ckpt.metadata
    lines = [BEGIN, "", "## Text to speech", "", f"Regenerated by `python docs/tts_report.py --sentences {r['wer']['sentences']}` "
             f"({r['seconds'] / 60:.0f} minutes on the 2-core CPU machine).", "",
             f"### tts-small: {ckpt.model.parameter_count():,} parameters, receptive field "
             f"{ckpt.config.receptive_field_ms:.0f} ms, {meta.get('steps', '?')} training steps", "",
             "**Alignment** (how the training frames are timed): espeak-ng's own phone start times when other "
             "voices of it read 20 held-out texts, against the times found by warping the en-us reading onto "
             "that audio.", "", "| reader | phones | mean error | median | within 20 ms |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, a in r["alignment"].items():
        lines.append(
            f"| {name} | {a['phones']} | {a['mean_ms']:.1f} ms | {a['median_ms']:.1f} ms | {a['within_20ms']:.0%} |"
        )
    lines += ["", "**Prosody** of the plan for each held-out Allison prompt against her recording (aligned the "
              "same way): phone durations and F0 on frames voiced in both.", "",
              "| prosody | phones | duration RMSE | F0 RMSE |", "|---|---:|---:|---:|"]  # fmt: skip
    for name, p in r["prosody"].items():
        lines.append(f"| {name} | {p['phones']} | {p['duration_rmse_ms']:.0f} ms | {p['f0_rmse_cents']:.0f} cents |")
    w = r["wer"]
    lines += ["", f"**Intelligibility**: pocketsphinx word error rate on {w['sentences']} held-out Allison prompts "
              "(texts no voice read in training).", "", "| speech | WER |", "|---|---:|"]  # fmt: skip
    for name, value in w.items():
        if name != "sentences":
            lines.append(f"| {name} | {value:.0%} |")
    v = r.get("voices", {})
    if v:
        lines += ["", "**Voices**: median F0 and share of voiced frames (YIN, as the rest of this report) of what "
                  "the model said, against 10 of the voice's training recordings.", "",
                  "| voice | median F0 said | recordings | voiced said | recordings |", "|---|---:|---:|---:|---:|"]  # fmt: skip
        for name, x in v.items():
            lines.append(f"| {name} | {x['median_f0']:.0f} Hz | {x['recordings_median_f0']:.0f} Hz | "
                         f"{x['voiced']:.0%} | {x['recordings_voiced']:.0%} |")  # fmt: skip
        a = [x["median_f0"] for x in v.values()]
        b = [x["recordings_median_f0"] for x in v.values()]
        if len(v) >= 3 and np.isfinite(a).all():
            r_f0 = np.corrcoef(a, b)[0, 1]
            lines += ["", f"Across these {len(v)} voices, r = {r_f0:.2f} between the two median F0s."]
        else:
            lines += ["", "The median F0s cannot be correlated: the model's speech has too few voiced frames."]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    current = QUALITY.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", re.S)
    updated = pattern.sub(lambda _: text, current) if BEGIN in current else current.rstrip() + "\n\n" + text
    QUALITY.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    main()
