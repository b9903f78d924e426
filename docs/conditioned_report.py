"""The conditioned models' section of docs/QUALITY.md, its pictures and samples: the mel vocoder and MIDI to piano.

    python docs/conditioned_report.py            # or: make quality-report (runs both reports)

Needs the prepared data of the two recipes (recipes/mel_vocoder, recipes/midi_piano: their test
and valid splits hold what neither model trained on) and the report extras (pocketsphinx,
mir_eval; `pip install -e '.[dev]'`), and espeak-ng for the intelligibility baseline. Every
figure is computed here:

- **Mel vocoder**, on the test split (never trained on, never used to pick a checkpoint): 60
  transcribed en_US_f_Allison prompts and three whole voices the vocoder never heard. Each file
  is resynthesised from its own mel frames and compared with the original (the μ-law audio the
  frames were computed from): log-mel distance (dB), F0 RMSE (cents, on frames voiced in both)
  and voicing error (YIN at threshold 0.35, as the rest of the report), and the word error rate
  of pocketsphinx's English recogniser on the originals, the resynthesis and espeak-ng reading
  the same texts.
- **MIDI to piano**, on the valid split (whole pieces held out of training): each piece's MIDI
  file rendered by the model against fluidsynth's rendering of the same file (what the model
  learned from): onset F-measure of each against the MIDI's onsets (mir_eval, 50 ms; the same
  onset detector on both), chroma similarity and log-mel distance between the two.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality_report  # noqa: E402  (its picture helpers)
from quality_report import F0_THRESHOLD, PICTURES, SAMPLES, curves, plt, save  # noqa: E402

from wavenet import mulaw  # noqa: E402
from wavenet.data.dataset import PreparedData, Split  # noqa: E402
from wavenet.data.features import KEYS, read_midi  # noqa: E402
from wavenet.evaluation.intelligibility import word_error_rate  # noqa: E402
from wavenet.evaluation.likelihood import model_log2_probs  # noqa: E402
from wavenet.evaluation.quality import chroma_similarity, mel_distance_db, onsets, pitch_errors  # noqa: E402
from wavenet.generation.registry import make_generator  # noqa: E402
from wavenet.release import Checkpoint, load_release  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUALITY = ROOT / "docs" / "QUALITY.md"
BEGIN, END = "<!-- conditioned models: docs/conditioned_report.py -->", "<!-- end of conditioned models -->"
TRANSCRIBED = "asterisk-en_US_f_Allison"


def resynthesise(ckpt: Checkpoint, frames: list[np.ndarray], speakers: list[int], batch: int = 8) -> list[np.ndarray]:
    """Each stream's audio from its frames (frames × hop samples), ``batch`` streams of similar length at a time."""
    hop = ckpt.config.cond_hop
    order = sorted(range(len(frames)), key=lambda i: len(frames[i]))
    out: list[np.ndarray | None] = [None] * len(frames)
    for start in range(0, len(order), batch):
        part = order[start : start + batch]
        generator = make_generator(ckpt.model, len(part))
        for slot, i in enumerate(part):
            generator.reset(slot, speaker=speakers[i], seed=i, frames=frames[i])
        remaining = [len(frames[i]) * hop for i in part]
        codes: list[list[np.ndarray]] = [[] for _ in part]
        while any(remaining):
            n = min(4000, min(r for r in remaining if r))  # no stream past its end; finished ones ride along freed
            chunk = generator.generate(n)
            for slot in range(len(part)):
                if remaining[slot]:
                    codes[slot].append(chunk[slot])
                    remaining[slot] -= n
                    if not remaining[slot]:
                        generator.release(slot)
        for slot, i in enumerate(part):
            out[i] = mulaw.decode(np.concatenate(codes[slot]), ckpt.config.mu)
        print(f"  generated {min(start + batch, len(frames))} of {len(frames)}", flush=True)
    return out


def originals(split: Split, mu: int) -> list[np.ndarray]:
    """Every file of a split, as the μ-law audio its frames were computed from."""
    return [mulaw.decode(np.asarray(split.utterance(i)), mu) for i in range(len(split.index))]


def split_frames(split: Split) -> list[np.ndarray]:
    return [np.asarray(split.utterance_frames(i), dtype=np.float32) for i in range(len(split.index))]


_decoders: dict = {}


def recognise(audio: np.ndarray, rate: int = 16000) -> str:
    """pocketsphinx's English hypothesis; one decoder for all calls (loading its model takes seconds)."""
    from pocketsphinx import Decoder

    if rate not in _decoders:
        _decoders[rate] = Decoder(samprate=rate, loglevel="FATAL")
    decoder = _decoders[rate]
    decoder.start_utt()
    decoder.process_raw(mulaw.to_pcm16(audio).tobytes(), full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() else ""


def espeak(text: str, rate: int = 16000) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "e.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True, capture_output=True)
        audio, native = sf.read(path, dtype="float32")
    return soxr.resample(audio, native, rate).astype(np.float32)


def pairs_measured(reference: list[np.ndarray], test: list[np.ndarray]) -> dict[str, float]:
    mel = [mel_distance_db(r, t[: len(r)]) for r, t in zip(reference, test, strict=True)]
    pitch = [pitch_errors(r, t[: len(r)], threshold=F0_THRESHOLD) for r, t in zip(reference, test, strict=True)]
    weights = np.array([len(r) for r in reference], dtype=float)
    rmse = np.array([p[0] for p in pitch])
    has = np.isfinite(rmse)
    return {
        "files": len(reference),
        "seconds": float(weights.sum() / 16000),
        "mel_distance_db": float(np.average(mel, weights=weights)),
        "f0_rmse_cents": float(np.sqrt(np.average(rmse[has] ** 2, weights=weights[has])))
        if has.any()
        else float("nan"),
        "voicing_error": float(np.average([p[1] for p in pitch], weights=weights)),
    }


def spectrogram_pair(pairs: list[tuple[str, np.ndarray, np.ndarray]], name: str, rate: int = 16000) -> str:
    fig, axes = plt.subplots(len(pairs), 2, figsize=(10, 2.8 * len(pairs)), squeeze=False)
    for row, (label, real, made) in enumerate(pairs):
        for col, (audio, title) in enumerate(((real, "original"), (made, "resynthesised"))):
            ax = axes[row, col]
            ax.specgram(audio[: 4 * rate] + 1e-7, NFFT=512, Fs=rate, noverlap=384, cmap="magma", vmin=-120)
            ax.set(title=f"{label}: {title}", xlabel="seconds", ylabel="Hz" if col == 0 else None)
    return save(fig, f"{name}-spectrograms.png")


def frames_ablation(ckpt: Checkpoint, data: PreparedData, files: int = 40) -> dict:
    """Does the vocoder use its frames? Bits per sample on held-out files with their own frames,
    with another file's frames (repeated or cut to length) and with constant frames (the training
    mean, which the conditioner maps to zero). ``files`` drawn from the test split with seed 0."""
    test = data.split("test")
    picks = np.random.default_rng(0).choice(len(test.index), min(files, len(test.index)), replace=False)
    bits = {"own": 0.0, "other": 0.0, "constant": 0.0}  # bits with each kind of frames
    samples = 0
    mean = ckpt.model.conditioner.mean.numpy().astype(np.float32)
    with torch.inference_mode():
        for k, i in enumerate(picks):
            codes = np.asarray(test.utterance(i))
            own = np.asarray(test.utterance_frames(i), dtype=np.float32)
            other = np.resize(np.asarray(test.utterance_frames(picks[(k + 1) % len(picks)]), np.float32), own.shape)
            constant = np.broadcast_to(mean, own.shape).copy()
            for key, frames in zip(bits, (own, other, constant), strict=True):
                bits[key] -= float(model_log2_probs(ckpt.model, codes, ckpt.default_speaker, frames=frames).sum())
            samples += len(codes)
    print(f"[vocoder] frames ablation on {len(picks)} held-out files", flush=True)
    return {"files": len(picks), "seconds": samples / 16000} | {k: v / samples for k, v in bits.items()}


def vocoder_section(ckpt: Checkpoint, data: PreparedData, per_voice: int | None = None) -> dict:
    test = data.split("test")
    names = {sid: name for name, sid in ckpt.speakers.items()}
    manifest = [line.split("\t")[0] for line in (data.directory / "test.tsv").read_text().splitlines()[1:]]
    keep = [
        i
        for i in range(len(manifest))
        if per_voice is None
        or names[int(test.index[i, 2])] == TRANSCRIBED  # every transcribed prompt, always
        or list(test.index[:i, 2]).count(test.index[i, 2]) < per_voice
    ]
    manifest = [manifest[i] for i in keep]
    speakers = [names[int(test.index[i, 2])] for i in keep]
    frames = [np.asarray(test.utterance_frames(i), dtype=np.float32) for i in keep]
    reals = [mulaw.decode(np.asarray(test.utterance(i)), data.mu) for i in keep]
    any_voice = ckpt.default_speaker
    print(f"[vocoder] {len(frames)} held-out files, speaker 'any'", flush=True)
    made_any = resynthesise(ckpt, frames, [any_voice] * len(frames))
    allison = [i for i, s in enumerate(speakers) if s == TRANSCRIBED]
    print(f"[vocoder] {len(allison)} {TRANSCRIBED} prompts with her own speaker id", flush=True)
    made_own = resynthesise(ckpt, [frames[i] for i in allison], [ckpt.speakers[TRANSCRIBED]] * len(allison))
    groups = {}
    for voice in sorted(set(speakers)):
        index = [i for i, s in enumerate(speakers) if s == voice]
        groups[voice] = {"any": pairs_measured([reals[i] for i in index], [made_any[i] for i in index])}
    groups[TRANSCRIBED]["own id"] = pairs_measured([reals[i] for i in allison], made_own)
    # Intelligibility where the text is known (English), with pocketsphinx.
    texts = {i: Path(manifest[i]).with_suffix(".txt") for i in range(len(manifest))}
    for voice, group in groups.items():
        index = [i for i, s in enumerate(speakers) if s == voice and texts[i].is_file()]
        if not index or not (voice == TRANSCRIBED or voice.startswith(("mbrola", "flite", "espeak"))):
            continue
        refs = [texts[i].read_text().strip() for i in index]
        print(f"[vocoder] recognising {len(index)} files of {voice}", flush=True)
        group["wer"] = {
            "original": word_error_rate([(r, recognise(reals[i])) for r, i in zip(refs, index, strict=True)]),
            "resynthesised (any)": word_error_rate(
                [(r, recognise(made_any[i])) for r, i in zip(refs, index, strict=True)]
            ),
        }
        if voice == TRANSCRIBED:
            group["wer"]["resynthesised (own id)"] = word_error_rate(
                [(r, recognise(m)) for r, m in zip(refs, made_own, strict=True)]
            )
            group["wer"]["espeak-ng en-us, same texts"] = word_error_rate([(r, recognise(espeak(r))) for r in refs])
        group["wer_files"] = len(index)
    first_unheard = next(i for i, s in enumerate(speakers) if s != TRANSCRIBED)
    picture = spectrogram_pair(
        [
            (TRANSCRIBED, reals[allison[0]], made_own[0]),
            (f"{speakers[first_unheard]} (never heard)", reals[first_unheard], made_any[first_unheard]),
        ],
        "vocoder",
    )
    samples = []
    for label, i, made in (("allison", allison[0], made_own[0]), ("allison-2", allison[1], made_own[1]),
                           ("unheard", first_unheard, made_any[first_unheard])):  # fmt: skip
        for kind, audio in (("original", reals[i]), ("resynthesised", made)):
            name = f"vocoder-{label}-{kind}.wav"
            sf.write(SAMPLES / name, mulaw.to_pcm16(audio[: 6 * 16000]), 16000, subtype="PCM_16")
            samples.append(name)
    return {"groups": groups, "pictures": {"spectrograms": picture}, "samples": samples}


def midi_onsets(path: Path) -> np.ndarray:
    """The MIDI file's note onsets in seconds, notes starting within 30 ms of each other merged (a chord)."""
    times = sorted({round(n.start, 4) for n in read_midi(path)})
    merged = []
    for t in times:
        if not merged or t - merged[-1] > 0.03:
            merged.append(t)
    return np.asarray(merged)


def piano_roll_picture(roll: np.ndarray, made: np.ndarray, hop: int, name: str, rate: int = 16000) -> str:
    seconds = 8
    fig, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    frames = min(len(roll), seconds * rate // hop)
    sustain = roll[:frames].reshape(frames, 3, KEYS)[:, 1, :].T
    axes[0].imshow(sustain, aspect="auto", origin="lower", cmap="Greys", extent=(0, frames * hop / rate, 21, 109))
    axes[0].set(title=f"{name}: piano roll (the model's input)", ylabel="MIDI note")
    axes[1].specgram(made[: seconds * rate] + 1e-7, NFFT=1024, Fs=rate, noverlap=896, cmap="magma", vmin=-120)
    axes[1].set(title="generated", xlabel="seconds", ylabel="Hz", ylim=(0, 4000))
    return save(fig, f"{name}-roll.png")


def piano_section(ckpt: Checkpoint, data: PreparedData, limit: int | None = None) -> dict:
    import mir_eval

    valid = data.split("valid")
    paths = [Path(line.split("\t")[0]) for line in (data.directory / "valid.tsv").read_text().splitlines()[1:]]
    frames, reals = split_frames(valid), originals(valid, data.mu)
    paths, frames, reals = paths[:limit], frames[:limit], reals[:limit]
    print(f"[piano] {len(frames)} held-out pieces", flush=True)
    made = resynthesise(ckpt, frames, [0] * len(frames))
    scores = {"fluidsynth": [], "model": []}
    chroma, mel, weights = [], [], []
    for path, real, ours in zip(paths, reals, made, strict=True):
        reference = midi_onsets(path.with_suffix(".mid"))
        reference = reference[reference < len(real) / 16000]
        for key, audio in (("fluidsynth", real), ("model", ours[: len(real)])):
            scores[key].append(mir_eval.onset.f_measure(reference, onsets(audio), window=0.05))
        chroma.append(chroma_similarity(real, ours[: len(real)]))
        mel.append(mel_distance_db(real, ours[: len(real)]))
        weights.append(len(real))
    f = {k: float(np.average([s[0] for s in v], weights=weights)) for k, v in scores.items()}
    precision = {k: float(np.average([s[1] for s in v], weights=weights)) for k, v in scores.items()}
    recall = {k: float(np.average([s[2] for s in v], weights=weights)) for k, v in scores.items()}
    picture = piano_roll_picture(frames[0], made[0], ckpt.config.cond_hop, "midi-piano")
    samples = []
    for i in range(min(2, len(made))):
        for kind, audio in (("fluidsynth", reals[i]), ("model", made[i])):
            name = f"midi-piano-{i}-{kind}.wav"
            sf.write(SAMPLES / name, mulaw.to_pcm16(audio[: 10 * 16000]), 16000, subtype="PCM_16")
            samples.append(name)
    return {
        "pieces": len(paths),
        "seconds": float(sum(weights) / 16000),
        "onset_f": f,
        "onset_precision": precision,
        "onset_recall": recall,
        "chroma_similarity": float(np.average(chroma, weights=weights)),
        "mel_distance_db": float(np.average(mel, weights=weights)),
        "pictures": {"roll": picture},
        "samples": samples,
    }


def card(ckpt: Checkpoint) -> dict:
    meta = ckpt.metadata
    return {
        "parameters": ckpt.model.parameter_count(),
        "receptive_field": ckpt.config.receptive_field,
        "steps": meta.get("steps"),
        "train_seconds": meta.get("train_seconds"),
        "valid_bits_per_sample": meta.get("valid_bits_per_sample"),
        "train_hours": (meta.get("data_splits") or {}).get("train", {}).get("seconds", 0) / 3600,
    }


def markdown(vocoder: dict | None, piano: dict | None) -> str:
    lines = [BEGIN, "", "## Conditioned models", "",
             "Regenerated by `python docs/conditioned_report.py` (part of `make quality-report`).", ""]  # fmt: skip
    if vocoder:
        c, g = vocoder["card"], vocoder["groups"]
        lines += ["### mel-vocoder: resynthesis from log-mel frames", "",
                  f"{c['parameters']:,} parameters, receptive field {c['receptive_field']} samples; trained "
                  f"{c['steps']:,} steps ({quality_report.duration(c['train_seconds'])}) on {c['train_hours']:.2f} h of "
                  "speech from 38 voices. Held out (the test split, never trained on, never used to pick a checkpoint): "
                  f"{g[TRANSCRIBED]['any']['files']} transcribed {TRANSCRIBED} prompts and files of the voices "
                  f"{', '.join(v for v in g if v != TRANSCRIBED)}, which the vocoder never heard (counts below). Each file is resynthesised "
                  "from its own 80-band log-mel frames with the speaker id 'any' (and Allison's prompts also with her "
                  "own id), temperature 1.", "",
                  "| voice | speaker id | files | minutes | log-mel distance (dB) | F0 RMSE (cents) | voicing error |",
                  "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        for voice, group in g.items():
            for which in ("own id", "any"):
                if which in group:
                    m = group[which]
                    lines.append(f"| {voice} | {which} | {m['files']} | {m['seconds'] / 60:.1f} | "
                                 f"{m['mel_distance_db']:.2f} | {m['f0_rmse_cents']:.0f} | {m['voicing_error']:.1%} |")  # fmt: skip
        lines += ["", "Word error rate of pocketsphinx 5's English recogniser (its default model), texts and "
                  "transcripts lower-cased, numbers spelled out:", "",
                  "| voice | files | original | resynthesised | other |", "|---|---:|---:|---:|---|"]  # fmt: skip
        for voice, group in g.items():
            if "wer" in group:
                w = group["wer"]
                resynth = " / ".join(
                    f"{v:.0%} ({k.split('(')[1][:-1]})" for k, v in w.items() if k.startswith("resynth")
                )
                other = "; ".join(f"{k}: {v:.0%}" for k, v in w.items() if not k.startswith(("original", "resynth")))
                lines.append(f"| {voice} | {group['wer_files']} | {w['original']:.0%} | {resynth} | {other or '-'} |")
        if "frames_ablation" in vocoder:
            a = vocoder["frames_ablation"]
            lines += ["", f"Does the vocoder use its frames? Bits per sample on {a['files']} held-out files "
                      f"({a['seconds'] / 60:.1f} minutes, drawn at random with seed 0, speaker 'any'): "
                      f"**{a['own']:.3f}** with their own frames, {a['other']:.3f} with another file's and "
                      f"{a['constant']:.3f} with constant frames. It does use them: the right frames are worth "
                      f"{a['constant'] - a['own']:.2f} bits a sample against constant ones. But with them it needs about "
                      "as many bits as an unconditioned model of the same network without them (speech-small: 3.847 on "
                      "its own valid crops at step 1,500): the network has not yet learned what a mel spectrogram "
                      "tells it; its valid bits were still falling when training stopped (see the curves)."]  # fmt: skip
        lines += ["", f"![training curves](quality/{vocoder['pictures']['curves']})", "",
                  f"![original and resynthesised](quality/{vocoder['pictures']['spectrograms']})", "",
                  "Samples (6 s): " + ", ".join(f"`docs/samples/{s}`" for s in vocoder["samples"]) + ".", ""]  # fmt: skip
    if piano:
        c = piano["card"]
        lines += ["### midi-piano: MIDI files rendered on the piano", "",
                  f"{c['parameters']:,} parameters, receptive field {c['receptive_field']} samples; trained "
                  f"{c['steps']:,} steps ({quality_report.duration(c['train_seconds'])}) on {c['train_hours']:.2f} h of "
                  f"fluidsynth renderings of music21's scores. Held out: {piano['pieces']} whole pieces "
                  f"({piano['seconds'] / 60:.1f} minutes), each rendered by the model from its MIDI file's piano roll "
                  "and compared with fluidsynth's rendering of the same file.", "",
                  "| | onset F-measure | precision | recall |", "|---|---:|---:|---:|"]  # fmt: skip
        for key in ("fluidsynth", "model"):
            lines.append(f"| {key} | {piano['onset_f'][key]:.3f} | {piano['onset_precision'][key]:.3f} | "
                         f"{piano['onset_recall'][key]:.3f} |")  # fmt: skip
        ratio = piano["onset_f"]["model"] / piano["onset_f"]["fluidsynth"]
        lines += ["", f"The model's onset F-measure is **{ratio:.0%}** of fluidsynth's (target: 90%). Between the two "
                  f"renderings: chroma similarity **{piano['chroma_similarity']:.3f}** (cosine, 1 is identical), "
                  f"log-mel distance **{piano['mel_distance_db']:.2f} dB**.", "",
                  f"![training curves](quality/{piano['pictures']['curves']})", "",
                  f"![piano roll and generated audio](quality/{piano['pictures']['roll']})", "",
                  "Samples (10 s): " + ", ".join(f"`docs/samples/{s}`" for s in piano["samples"]) + ".", ""]  # fmt: skip
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace the conditioned models' section of QUALITY.md (or add it at the end)."""
    current = QUALITY.read_text(encoding="utf-8") if QUALITY.exists() else ""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", re.S)
    updated = pattern.sub(lambda _: text, current) if BEGIN in current else current.rstrip() + "\n\n" + text
    QUALITY.write_text(updated, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocoder", type=Path, default=ROOT / "checkpoints" / "mel-vocoder")
    parser.add_argument("--piano", type=Path, default=ROOT / "checkpoints" / "midi-piano")
    parser.add_argument("--vocoder-data", type=Path, default=ROOT / "work" / "mel_vocoder" / "data")
    parser.add_argument("--piano-data", type=Path, default=ROOT / "work" / "midi_piano" / "data")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="at most this many files of each voice the vocoder never heard (all of Allison's prompts are kept)",
    )
    parser.add_argument(
        "--ablation-only",
        action="store_true",
        help="only measure the vocoder's frames ablation; the other figures come from docs/quality/conditioned.json",
    )
    args = parser.parse_args()
    if args.ablation_only:
        results = json.loads((PICTURES / "conditioned.json").read_text(encoding="utf-8"))
        ckpt = load_release(args.vocoder)
        results["vocoder"]["frames_ablation"] = frames_ablation(ckpt, PreparedData(args.vocoder_data))
        write_section(markdown(results.get("vocoder"), results.get("piano")))
        (PICTURES / "conditioned.json").write_text(
            json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8"
        )
        return
    PICTURES.mkdir(parents=True, exist_ok=True)
    SAMPLES.mkdir(parents=True, exist_ok=True)
    start = time.time()
    results = {}
    if args.vocoder.exists():
        ckpt = load_release(args.vocoder)
        data = PreparedData(args.vocoder_data)
        results["vocoder"] = vocoder_section(ckpt, data, args.limit) | {"card": card(ckpt)}
        results["vocoder"]["frames_ablation"] = frames_ablation(ckpt, data)
        results["vocoder"]["pictures"]["curves"] = curves(args.vocoder / "metrics.jsonl", "mel-vocoder")
    if args.piano.exists():
        ckpt = load_release(args.piano)
        results["piano"] = piano_section(ckpt, PreparedData(args.piano_data)) | {"card": card(ckpt)}
        results["piano"]["pictures"]["curves"] = curves(args.piano / "metrics.jsonl", "midi-piano")
    write_section(markdown(results.get("vocoder"), results.get("piano")))
    (PICTURES / "conditioned.json").write_text(json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8")
    print(f"wrote the conditioned models' section of {QUALITY} in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
