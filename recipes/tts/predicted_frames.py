"""The acoustic model's frames for every prepared file, at its recording's timing: data a mel vocoder fine-tunes on.

    python recipes/tts/predicted_frames.py ACOUSTIC_RELEASE DATA_DIR OUT_DIR [--envelope predicted|recorded]

A mel vocoder trained on recordings' frames hears, at synthesis, an acoustic model's frames
instead: smoother than any recording's (an L1-trained prediction is near the mean of what could
be said). Tacotron 2 closed that gap by fine-tuning its WaveNet on the acoustic model's own
predictions for the training files, made at the recordings' timing ("ground-truth-aligned"), so
that each predicted frame lines up with the audio it stands for. This writes such data: for each
file of DATA_DIR (the tts recipe's prepared linguistic frames, aligned to their recordings), the
acoustic model's log-mel from its linguistic frames and the recording's own F0 (the frames' last
two channels), turned into the vocoder's frames as synthesis does (wavenet.speech.sentence_frames,
F0 from the frames). The recording's F0 rather than the predicted one: pitch is the input the
vocoder should follow exactly, and at synthesis it does follow the acoustic model's. With
``--envelope recorded`` the reflection coefficients are the recording's mel's (the excitation the
vocoder learns stays the recording's residual); by default they are the predicted mel's, as at synthesis.
Both were measured (checkpoints/tts-acoustic/README.md): each vocoder fine-tuned on them spoke
held-out prompts worse than the vocoder it started from.

OUT_DIR is a prepared dataset (wavenet.data.prepare's layout) with the same audio, splits and
speakers; its frame statistics are the vocoder's own (the ones its conditioner was trained to
read), so that a run started from it (``train.init_from``) reads the new frames on the same scale.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wavenet.data.dataset import PreparedData  # noqa: E402
from wavenet.data.features import vocoder_frames  # noqa: E402
from wavenet.errors import WavenetError  # noqa: E402
from wavenet.files import atomic_write_text  # noqa: E402
from wavenet.release import load_release  # noqa: E402
from wavenet.speech import sentence_frames  # noqa: E402

ENVELOPES = ("predicted", "recorded")


def predicted_split(stage, split, names: dict[int, str], speakers: dict[str, int], envelope: str) -> np.ndarray:
    """Every utterance's vocoder frames (frames, channels) float16, concatenated in the split's order; with
    ``envelope="recorded"``, the reflection coefficients are the recording's mel's, the rest predicted."""
    out = []
    vocoder = stage.vocoder
    options = vocoder.features
    for i in range(len(split.index)):
        frames = np.asarray(split.utterance_frames(i), dtype=np.float32)
        name = names[int(split.index[i, 2])]
        made = sentence_frames(stage, frames, speakers[name], f0="prosody")
        if envelope == "recorded" and options.lpc_order:
            offset, count = split.frames[i]
            mel = np.asarray(split.mel[offset : offset + count], dtype=np.float32)
            recorded = vocoder_frames(mel, None, vocoder.config.sample_rate, replace(options, f0=False),
                                      vocoder.audio.preemphasis)  # fmt: skip
            bands = slice(options.n_mels, options.n_mels + options.lpc_order)
            made[:, bands] = recorded[:, bands].astype(np.float16)
        out.append(made)
    return np.concatenate(out).astype(np.float16)


def write(acoustic: Path, data_dir: Path, out_dir: Path, envelope: str = "predicted") -> dict:
    """Write OUT_DIR; return its dataset.json."""
    release = load_release(acoustic)
    stage = release.acoustic
    if stage is None:
        raise WavenetError(f"{acoustic}: not a two-stage release (an acoustic model and its vocoder)")
    data = PreparedData(data_dir)
    if data.features is None or data.features.kind != "linguistic":
        raise WavenetError(f"{data_dir}: needs linguistic frames (prepared with --features linguistic)")
    vocoder = stage.vocoder
    if data.audio.preemphasis != vocoder.audio.preemphasis or data.sample_rate != vocoder.config.sample_rate:
        raise WavenetError(f"{data_dir}: its audio is not prepared as the vocoder {stage.path} reads audio")
    missing = sorted(set(data.speakers) - set(release.speakers))
    if missing:
        raise WavenetError(f"{acoustic}: the acoustic model has no voice named {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "dataset.json").unlink(missing_ok=True)  # until rewritten, the directory is unfinished
    names = {i: n for n, i in data.speakers.items()}
    for name in data.split_names:
        start = time.time()
        split = data.split(name)
        feats = predicted_split(stage, split, names, release.speakers, envelope)
        if len(feats) != int(split.frames[:, 1].sum()):
            raise WavenetError(f"{data_dir}: {name}: the predicted frames do not match the linguistic frames' count")
        np.save(out_dir / f"{name}.feats.npy", feats)
        for suffix in ("codes.npy", "index.npy", "frames.npy", "tsv"):
            shutil.copyfile(data_dir / f"{name}.{suffix}", out_dir / f"{name}.{suffix}")
        print(f"{name}: {len(split.index)} files, {len(feats)} frames in {time.time() - start:.0f} s", flush=True)
    conditioner = vocoder.model.conditioner
    meta = dict(data.meta)
    meta.pop("mel", None)
    meta["features"] = {
        **vocoder.features.to_dict(),
        "mean": conditioner.mean.tolist(),
        "std": conditioner.std.tolist(),
    }
    meta["predicted"] = {
        "acoustic": str(acoustic.resolve()),
        "vocoder": str((acoustic / stage.path).resolve()),
        "linguistic_data": str(data_dir.resolve()),
        "f0": "the recordings' (the linguistic frames' last two channels)",
        "envelope": envelope,
    }
    atomic_write_text(out_dir / "dataset.json", json.dumps(meta, indent=2) + "\n")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("acoustic", type=Path, help="a two-stage release (its acoustic model and vocoder)")
    parser.add_argument("data", type=Path, help="the tts recipe's prepared data (linguistic frames)")
    parser.add_argument("out", type=Path, help="where the vocoder's prepared data goes")
    parser.add_argument("--envelope", choices=ENVELOPES, default="predicted",
                        help="the reflection coefficients: from the predicted mel (default) or the recording's")  # fmt: skip
    args = parser.parse_args()
    try:
        write(args.acoustic, args.data, args.out, args.envelope)
    except WavenetError as err:
        sys.exit(f"predicted_frames.py: {err}")


if __name__ == "__main__":
    main()
