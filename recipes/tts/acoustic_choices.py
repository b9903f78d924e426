"""A two-stage release's choices, measured: which F0 it speaks with (its acoustic model's, or the prosody
model's), what the prosody's timing costs it, and which vocoder speaks its frames.

    python recipes/tts/acoustic_choices.py MODEL DATA [--prompts 30] [--speaker asterisk-en_US_f_Allison]
        [--vocoder DIR ...] [--json OUT]

Two measures, both on held-out recordings (DATA's test split, never trained on or chosen on):

- **Frame by frame** (the recordings' own timing): the acoustic model reads each test file's
  linguistic frames (phones timed by aligning the recording) and predicts voicing and F0; the
  frames carry the recording's, so voicing error and F0 RMSE (cents, frames voiced in both) need
  no alignment. The prosody model times phones itself; its plan's F0 is compared with the
  recording's at the same times (:func:`wavenet.text.prosody.accuracy`, the tts report's prosody row),
  so its figure also carries its timing errors.
- **Spoken** (what a listener gets): ``--prompts`` test prompts said in ``--speaker``'s voice with each
  F0 source, at the same seeds; pocketsphinx's word error rate, the share of voiced frames and the
  median F0 (YIN), beside the recordings'. Then the same prompts at the recordings' own timing (the
  test split's linguistic frames, phones aligned to the recording): the words lost to the prosody
  model's durations and melody, against those lost to the acoustic model and the vocoder.
- **Vocoders** (``--vocoder``, each another mel vocoder release, such as the tts recipe's ``vocoder``
  stage's, fine-tuned on the acoustic model's frames): the same prompts, F0 and seeds, spoken by it
  in place of the release's own; also the loudness (RMS) of what it says, which shows a vocoder
  whose free-running output drifts silent or saturates.

Prints one JSON object (and writes it to ``--json``); the release's ``metadata.f0`` (default ``model``) is set
from it by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from wavenet.data.audio import load_audio  # noqa: E402
from wavenet.data.dataset import PreparedData  # noqa: E402
from wavenet.data.manifest import read_manifest  # noqa: E402
from wavenet.evaluation.intelligibility import word_error_rate  # noqa: E402
from wavenet.evaluation.quality import median_f0, voiced_share  # noqa: E402
from wavenet.evaluation.reports.common import F0_THRESHOLD, recognise_all, resynthesise  # noqa: E402
from wavenet.evaluation.reports.tts import speak  # noqa: E402
from wavenet.release import load_release  # noqa: E402
from wavenet.speech import sentence_frames  # noqa: E402
from wavenet.text.normalize import normalize  # noqa: E402
from wavenet.text.prosody import Voice, accuracy  # noqa: E402


def frame_accuracy(model, split, speakers: dict[int, int]) -> dict:
    """The acoustic model's voicing error and F0 RMSE (cents) on every utterance of ``split``, at its timing."""
    wrong = count = 0
    squared, voiced = 0.0, 0
    for u in range(len(split.frames)):
        frames = np.asarray(split.utterance_frames(u), dtype=np.float32)
        out_speaker = speakers[int(split.index[u, 2])]
        _, f0 = model.predict(frames, out_speaker)
        truth_voiced = frames[:, -1] > 0.5
        said_voiced = f0 > 0
        wrong += int((truth_voiced != said_voiced).sum())
        count += len(frames)
        both = truth_voiced & said_voiced
        cents = 1200 * (np.log2(f0[both] / 100.0) - frames[both, -2])
        squared += float((cents**2).sum())
        voiced += int(both.sum())
    return {"voicing_error": wrong / count, "f0_rmse_cents": (squared / max(voiced, 1)) ** 0.5, "frames": count}


def spoken(texts: list[str], audio: list[np.ndarray]) -> dict:
    """What a listener gets: pocketsphinx's word error rate, the voiced share, median F0 and RMS of ``audio``."""
    heard = recognise_all(audio)
    said = np.concatenate(audio)
    return {
        "wer": word_error_rate(list(zip(texts, heard, strict=True))),
        "voiced": voiced_share(said, threshold=F0_THRESHOLD),
        "median_f0": median_f0(said, threshold=F0_THRESHOLD),
        "rms": float(np.sqrt(np.mean(said.astype(np.float64) ** 2))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--prompts", type=int, default=30)
    parser.add_argument("--speaker", default="asterisk-en_US_f_Allison")
    parser.add_argument("--vocoder", type=Path, action="append", default=[],
                        help="another mel vocoder release to speak the same frames (repeatable)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    ckpt = load_release(args.model)
    if ckpt.acoustic is None:
        parser.error(f"{args.model}: not a two-stage release")
    data = PreparedData(args.data)
    ids = {data.speakers[name]: ckpt.speakers[name] for name in data.speakers if name in ckpt.speakers}
    test = data.split("test")
    out = {
        "model": str(args.model),
        "frame_by_frame": {"acoustic model": frame_accuracy(ckpt.acoustic.model, test, ids)},
    }
    files = [u for u in read_manifest(args.data / "test.tsv") if u.speaker == args.speaker][: args.prompts]
    texts = [u.path.with_suffix(".txt").read_text(encoding="utf-8").strip() for u in files]
    recordings = [load_audio(u.path, ckpt.audio) for u in files]
    voice = Voice.from_dict(ckpt.metadata.get("prosody", {}).get(args.speaker, {}))
    planned = accuracy([(a, 16000, normalize(t)) for a, t in zip(recordings, texts, strict=True)], {"prosody": voice})
    out["frame_by_frame"]["prosody model (its own timing)"] = planned["prosody"]
    out["spoken"] = {"recordings": spoken(texts, recordings)}
    for source in ("model", "prosody"):
        variant = replace(ckpt, metadata={**ckpt.metadata, "f0": source})
        audio = speak(variant, [(args.speaker, normalize(t)) for t in texts])
        out["spoken"][f"F0 from the {source}"] = spoken(texts, audio)
    for path in args.vocoder:  # beside the release's own vocoder (what the F0 it uses gave above)
        out.setdefault(
            "vocoders", {ckpt.acoustic.path: out["spoken"][f"F0 from the {ckpt.metadata.get('f0', 'model')}"]}
        )
        vocoder = load_release(path)
        stage = replace(ckpt.acoustic, vocoder=vocoder, path=str(path), unheard=())
        sampling = {k: vocoder.metadata[k] for k in ("audio", "temperature", "voiced_temperature_scale")
                    if k in vocoder.metadata}  # fmt: skip
        variant = replace(ckpt, model=vocoder.model, acoustic=stage, metadata={**ckpt.metadata, **sampling})
        out["vocoders"][str(path)] = spoken(texts, speak(variant, [(args.speaker, normalize(t)) for t in texts]))
    timed = [int(u) for u in range(len(test.frames)) if int(test.index[u, 2]) == data.speakers[args.speaker]]
    timed = timed[: len(files)]  # the test split keeps test.tsv's order: the same prompts
    frames = [sentence_frames(ckpt.acoustic, np.asarray(test.utterance_frames(u), np.float32),
                              ckpt.speakers[args.speaker]) for u in timed]  # fmt: skip
    audio = resynthesise(ckpt, frames, [ckpt.acoustic.vocoder_speaker(args.speaker)] * len(frames), batch=16)
    out["spoken"]["F0 from the model, at the recordings' timing"] = spoken(texts, audio)
    out["prompts"], out["speaker"] = len(files), args.speaker
    out["command"] = " ".join(["python recipes/tts/acoustic_choices.py", *sys.argv[1:]])
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
