"""The conditioned models' part of docs/QUALITY.md: the mel vocoder and MIDI to piano.

Needs the prepared data of the two recipes (recipes/mel_vocoder, recipes/midi_piano: their test
and valid splits hold what neither model trained on), the report extras (pocketsphinx, mir_eval,
matplotlib: ``pip install -e '.[dev]'``), and espeak-ng for the intelligibility baseline. Every
figure is computed here, into docs/quality/conditioned.json:

- **Mel vocoder**, on the test split (never trained on, never used to pick a checkpoint): the
  transcribed en_US_f_Allison prompts and whole voices the vocoder never heard. Each file is
  resynthesised from its own mel frames and compared with the original (the μ-law audio the
  frames were computed from): log-mel distance (dB), F0 RMSE (cents, on frames voiced in both)
  and voicing error (YIN at the report's threshold), and the word error rate of pocketsphinx's
  English recogniser on the originals, the resynthesis and espeak-ng reading the same texts.
- **MIDI to piano**, on the valid split (whole pieces held out of training): each piece's MIDI
  file rendered by the model against fluidsynth's rendering of the same file (what the model
  learned from): onset F-measure of each against the MIDI's onsets (mir_eval, 50 ms; the same
  onset detector on both), chroma similarity and log-mel distance between the two.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from wavenet import mulaw
from wavenet.data.audio import AudioOptions, decoded, load_audio
from wavenet.data.dataset import PreparedData, Split
from wavenet.data.features import KEYS, piano_roll, read_midi
from wavenet.dsp import MelSpec
from wavenet.errors import WavenetError
from wavenet.evaluation.classic import resyntheses
from wavenet.evaluation.intelligibility import word_error_rate
from wavenet.evaluation.likelihood import model_log2_probs
from wavenet.evaluation.quality import (
    chroma_similarity,
    dnsmos,
    intelligibility_and_quality,
    mel_distance_db,
    onsets,
    pitch_errors,
)
from wavenet.evaluation.reports.common import (
    F0_THRESHOLD,
    PICTURES,
    ROOT,
    SAMPLES,
    curves,
    duration,
    espeak,
    plt,
    read_json,
    recognise_all,
    resynthesise,
    save,
    write_json,
    write_section,
)
from wavenet.release import Checkpoint, load_release

BEGIN, END = "<!-- conditioned models: python -m wavenet.evaluation.reports conditioned -->", "<!-- end of conditioned models -->"  # fmt: skip
JSON = PICTURES / "conditioned.json"
TRANSCRIBED = "asterisk-en_US_f_Allison"
ORIGINAL, OWN, ANY, ESPEAK = "the recordings", "WaveNet, own id", "WaveNet, id 'any'", "espeak-ng en-us, same texts"
USES_FRAMES = 0.05  # bits a sample: below this gain over constant frames, the vocoder is said not to use its frames


def originals(split: Split, mu: int, preemphasis: float = 0.0) -> list[np.ndarray]:
    """Every file of a split, as the μ-law audio its frames were computed from (de-emphasised, where it was
    pre-emphasised)."""
    return [decoded(split.utterance(i), mu, preemphasis) for i in range(len(split.index))]


def split_frames(split: Split) -> list[np.ndarray]:
    return [np.asarray(split.utterance_frames(i), dtype=np.float32) for i in range(len(split.index))]


def pairs_measured(reference: list[np.ndarray], test: list[np.ndarray]) -> dict[str, float]:
    mel = [mel_distance_db(r, t[: len(r)]) for r, t in zip(reference, test, strict=True)]
    pitch = [pitch_errors(r, t[: len(r)], threshold=F0_THRESHOLD) for r, t in zip(reference, test, strict=True)]
    weights = np.array([len(r) for r in reference], dtype=float)

    def average(values: list[float], square: bool = False) -> float:  # weighted by length, over the files that have one
        v = np.array(values) ** (2 if square else 1)
        has = np.isfinite(v)
        if not has.any():
            return float("nan")
        mean = float(np.average(v[has], weights=weights[has]))
        return float(np.sqrt(mean)) if square else mean

    return {
        "files": len(reference),
        "seconds": float(weights.sum() / 16000),
        "mel_distance_db": float(np.average(mel, weights=weights)),
        "f0_rmse_cents": average([p.rmse_cents for p in pitch], square=True),
        "f0_gross_error": average([p.gross_error for p in pitch]),
        "f0_fine_rmse_cents": average([p.fine_rmse_cents for p in pitch], square=True),
        "voicing_error": float(np.average([p.voicing_error for p in pitch], weights=weights)),
    }


def spectrogram_pair(pairs: list[tuple[str, np.ndarray, np.ndarray]], name: str, pictures: Path,
                     rate: int = 16000) -> str:  # fmt: skip
    fig, axes = plt().subplots(len(pairs), 2, figsize=(10, 2.8 * len(pairs)), squeeze=False)
    for row, (label, real, made) in enumerate(pairs):
        for col, (audio, title) in enumerate(((real, "original"), (made, "resynthesised"))):
            ax = axes[row, col]
            ax.specgram(audio[: 4 * rate] + 1e-7, NFFT=512, Fs=rate, noverlap=384, cmap="magma", vmin=-120)
            ax.set(title=f"{label}: {title}", xlabel="seconds", ylabel="Hz" if col == 0 else None)
    return save(fig, f"{name}-spectrograms.png", pictures)


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


def measured(reference: list[np.ndarray], test: list[np.ndarray], texts: list[str] | None) -> dict:
    """One resynthesis of a group of files against the originals: :func:`pairs_measured`, STOI,
    PESQ and DNSMOS (weighted by length), and the word error rate where ``texts`` are known."""
    weights = np.array([len(r) for r in reference], dtype=float)
    scores = [intelligibility_and_quality(r, t) for r, t in zip(reference, test, strict=True)]
    pesq = np.array([s["pesq"] for s in scores])
    has = np.isfinite(pesq)
    out = pairs_measured(reference, test) | {
        "stoi": float(np.average([s["stoi"] for s in scores], weights=weights)),
        "pesq": float(np.average(pesq[has], weights=weights[has])) if has.any() else float("nan"),
        "dnsmos": float(
            np.average([dnsmos(t[: len(r)]) for r, t in zip(reference, test, strict=True)], weights=weights)
        ),
    }
    if texts is not None:
        out["wer"] = word_error_rate(
            list(zip(texts, recognise_all([t[: len(r)] for r, t in zip(reference, test, strict=True)]), strict=True))
        )
    return out


def vocoder_section(
    ckpt: Checkpoint,
    data: PreparedData,
    per_voice: int | None = None,
    pictures: Path = PICTURES,
    samples_dir: Path = SAMPLES,
) -> dict:
    if (ckpt.config.lpc_order, ckpt.config.f0_channel) != (data.features.lpc_order, data.features.f0):
        raise WavenetError(
            f"{data.directory}: its frames carry {data.features.lpc_order} reflection coefficients"
            f"{' and F0' if data.features.f0 else ''}, the vocoder reads {ckpt.config.lpc_order}"
            f"{' and F0' if ckpt.config.f0_channel else ''}: prepare the data with --lpc-order "
            f"{ckpt.config.lpc_order}{' --f0' if ckpt.config.f0_channel else ''}"
        )
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
    reals = [decoded(test.utterance(i), data.mu, data.audio.preemphasis) for i in keep]
    f = data.features
    spec = MelSpec(hop=f.hop, n_mels=f.n_mels, n_fft=f.n_fft, win=f.win, fmin=f.fmin, fmax=f.fmax)
    print(f"[vocoder] {len(frames)} held-out files, speaker 'any'", flush=True)
    made_any = resynthesise(ckpt, frames, [ckpt.default_speaker] * len(frames))
    allison = [i for i, s in enumerate(speakers) if s == TRANSCRIBED]
    print(f"[vocoder] {len(allison)} {TRANSCRIBED} prompts with her own speaker id", flush=True)
    made_own = resynthesise(ckpt, [frames[i] for i in allison], [ckpt.speakers[TRANSCRIBED]] * len(allison))
    own = dict(zip(allison, made_own, strict=True))
    print(f"[vocoder] classic resyntheses of {len(frames)} files", flush=True)
    classic = [resyntheses(reals[i], frames[i][:, : spec.n_mels], spec, seed=i) for i in range(len(frames))]
    texts = {i: Path(manifest[i]).with_suffix(".txt") for i in range(len(manifest))}
    groups = {}
    for voice in sorted(set(speakers)):
        index = [i for i, s in enumerate(speakers) if s == voice]
        english = voice == TRANSCRIBED or voice.startswith(("mbrola", "flite", "espeak"))
        refs = (
            [texts[i].read_text().strip() for i in index]
            if english and all(texts[i].is_file() for i in index)
            else None
        )
        systems = {name: [classic[i][name] for i in index] for name in classic[0]}
        if voice == TRANSCRIBED:
            systems[OWN] = [own[i] for i in index]
        systems[ANY] = [made_any[i] for i in index]
        recordings = [reals[i] for i in index]
        print(f"[vocoder] measuring {len(index)} files of {voice}", flush=True)
        group = {ORIGINAL: measured(recordings, recordings, refs)}
        group |= {name: measured(recordings, audio, refs) for name, audio in systems.items()}
        if refs is not None and voice == TRANSCRIBED:
            group[ESPEAK] = {
                "wer": word_error_rate(list(zip(refs, recognise_all([espeak(r) for r in refs]), strict=True)))
            }
        groups[voice] = group
    first_unheard = next(i for i, s in enumerate(speakers) if s != TRANSCRIBED)
    picture = spectrogram_pair(
        [
            (TRANSCRIBED, reals[allison[0]], made_own[0]),
            (f"{speakers[first_unheard]} (never heard)", reals[first_unheard], made_any[first_unheard]),
        ],
        "vocoder",
        pictures,
    )
    samples = []
    samples_dir.mkdir(parents=True, exist_ok=True)
    picks = [(("allison", "allison-2")[k], allison[k], made_own[k]) for k in range(min(2, len(allison)))]
    for label, i, made in [*picks, ("unheard", first_unheard, made_any[first_unheard])]:
        for kind, audio in (("original", reals[i]), ("resynthesised", made)):
            name = f"vocoder-{label}-{kind}.wav"
            sf.write(samples_dir / name, mulaw.to_pcm16(audio[: 6 * 16000]), 16000, subtype="PCM_16")
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


def piano_roll_picture(
    roll: np.ndarray, made: np.ndarray, hop: int, name: str, pictures: Path, rate: int = 16000
) -> str:
    seconds = 8
    fig, axes = plt().subplots(2, 1, figsize=(10, 6), sharex=True)
    frames = min(len(roll), seconds * rate // hop)
    sustain = roll[:frames].reshape(frames, 3, KEYS)[:, 1, :].T
    axes[0].imshow(sustain, aspect="auto", origin="lower", cmap="Greys", extent=(0, frames * hop / rate, 21, 109))
    axes[0].set(title=f"{name}: piano roll (the model's input)", ylabel="MIDI note")
    axes[1].specgram(made[: seconds * rate] + 1e-7, NFFT=1024, Fs=rate, noverlap=896, cmap="magma", vmin=-120)
    axes[1].set(title="generated", xlabel="seconds", ylabel="Hz", ylim=(0, 4000))
    return save(fig, f"{name}-roll.png", pictures)


def piano_measured(references: list[np.ndarray], reals: list[np.ndarray], made: list[np.ndarray]) -> dict:
    """Rendered pieces beside fluidsynth's: onset F-measure (precision, recall) against each piece's
    MIDI onsets (seconds, :func:`midi_onsets`) within 50 ms, for both; chroma similarity and log-mel
    distance of ours to fluidsynth's; every figure averaged over pieces weighted by their length."""
    import mir_eval

    scores = {"fluidsynth": [], "model": []}
    chroma, mel, weights = [], [], []
    for reference, real, ours in zip(references, reals, made, strict=True):
        reference = reference[reference < len(real) / 16000]
        for key, audio in (("fluidsynth", real), ("model", ours[: len(real)])):
            scores[key].append(mir_eval.onset.f_measure(reference, onsets(audio), window=0.05))
        chroma.append(chroma_similarity(real, ours[: len(real)]))
        mel.append(mel_distance_db(real, ours[: len(real)]))
        weights.append(len(real))

    def average(values: list[float]) -> float:
        return float(np.average(values, weights=weights))

    return {
        "pieces": len(references),
        "seconds": float(sum(weights) / 16000),
        "onset_f": {k: average([s[0] for s in v]) for k, v in scores.items()},
        "onset_precision": {k: average([s[1] for s in v]) for k, v in scores.items()},
        "onset_recall": {k: average([s[2] for s in v]) for k, v in scores.items()},
        "chroma_similarity": average(chroma),
        "mel_distance_db": average(mel),
    }


UNSEEN_EXCERPTS, UNSEEN_SECONDS = 6, 30.0  # per unseen piece: stretches evenly spaced from its start to its end


def unseen_excerpts(
    folder: Path, hop: int, excerpts: int = UNSEEN_EXCERPTS, seconds: float = UNSEEN_SECONDS, rate: int = 16000
) -> dict[str, list]:
    """Stretches of pieces that no model trained on or was chosen by (render_corpus.py's unseen/
    folder: NAME.mid with fluidsynth's NAME.wav beside it): ``excerpts`` of ``seconds`` from each,
    evenly spaced through it. Returns names, piano rolls (frames, 264), fluidsynth's audio and the
    MIDI onsets (seconds from each stretch's start)."""
    count = round(seconds * rate / hop)  # frames of a stretch
    out: dict[str, list] = {"names": [], "frames": [], "audio": [], "onsets": []}
    for midi in sorted(folder.glob("*.mid")):
        audio = load_audio(midi.with_suffix(".wav"), AudioOptions(rate))
        roll = piano_roll(read_midi(midi), -(-len(audio) // hop), rate, hop)
        onsets = midi_onsets(midi)
        last = max(len(roll) - count, 0)
        for first in np.linspace(0, last, excerpts).round().astype(int) if last else [0]:
            start = first * hop / rate
            out["names"].append(f"{midi.stem}@{start:.0f}s")
            out["frames"].append(roll[first : first + count])
            out["audio"].append(audio[first * hop : (first + count) * hop])
            out["onsets"].append(onsets[(onsets >= start) & (onsets < start + seconds)] - start)
    return out


def piano_unseen(
    ckpt: Checkpoint, folder: Path, excerpts: int = UNSEEN_EXCERPTS, seconds: float = UNSEEN_SECONDS
) -> dict:
    """:func:`piano_measured` on :func:`unseen_excerpts` of ``folder``, rendered by the release at its defaults."""
    pieces = unseen_excerpts(folder, ckpt.config.cond_hop, excerpts, seconds)
    print(f"[piano] {len(pieces['names'])} stretches of unseen pieces in {folder}", flush=True)
    made = resynthesise(ckpt, pieces["frames"], [0] * len(pieces["frames"]))
    return {"folder": str(folder), "excerpts": pieces["names"]} | piano_measured(
        pieces["onsets"], pieces["audio"], made
    )


def piano_section(
    ckpt: Checkpoint,
    data: PreparedData,
    limit: int | None = None,
    pictures: Path = PICTURES,
    samples_dir: Path = SAMPLES,
) -> dict:
    valid = data.split("valid")
    paths = [Path(line.split("\t")[0]) for line in (data.directory / "valid.tsv").read_text().splitlines()[1:]]
    frames, reals = split_frames(valid), originals(valid, data.mu, data.audio.preemphasis)
    paths, frames, reals = paths[:limit], frames[:limit], reals[:limit]
    print(f"[piano] {len(frames)} held-out pieces", flush=True)
    made = resynthesise(ckpt, frames, [0] * len(frames))
    figures = piano_measured([midi_onsets(p.with_suffix(".mid")) for p in paths], reals, made)
    picture = piano_roll_picture(frames[0], made[0], ckpt.config.cond_hop, "midi-piano", pictures)
    samples = []
    samples_dir.mkdir(parents=True, exist_ok=True)
    for i in range(min(2, len(made))):
        for kind, audio in (("fluidsynth", reals[i]), ("model", made[i])):
            name = f"midi-piano-{i}-{kind}.wav"
            sf.write(samples_dir / name, mulaw.to_pcm16(audio[: 10 * 16000]), 16000, subtype="PCM_16")
            samples.append(name)
    return figures | {"pictures": {"roll": picture}, "samples": samples}


def card(ckpt: Checkpoint) -> dict:
    """What the section says of the model itself, from its release."""
    meta = ckpt.metadata
    return {
        "parameters": ckpt.model.parameter_count(),
        "receptive_field": ckpt.config.receptive_field,
        "lpc_order": ckpt.config.lpc_order,
        "source_harmonics": ckpt.config.source_harmonics,
        "voiced_scale": ckpt.voiced_scale,
        "steps": meta.get("steps"),
        "train_seconds": meta.get("train_seconds"),
        "stages": [
            {"steps": s.get("steps"), "train_seconds": s.get("train_seconds")} for s in meta.get("stages") or []
        ],
        "temperature": ckpt.default_temperature,
        "valid_bits_per_sample": meta.get("valid_bits_per_sample"),
        "train_hours": (meta.get("data_splits") or {}).get("train", {}).get("seconds", 0) / 3600,
        "voices": (meta.get("data_splits") or {}).get("train", {}).get("speakers"),  # trained on
    }


def measure(vocoder: Path = ROOT / "checkpoints" / "mel-vocoder", piano: Path = ROOT / "checkpoints" / "midi-piano",
            vocoder_data: Path = ROOT / "work" / "mel_vocoder" / "data",
            piano_data: Path = ROOT / "work" / "midi_piano" / "data", limit: int | None = None,
            json_path: Path = JSON, only: str | None = None,
            piano_unseen_dir: Path = ROOT / "work" / "piano_offline" / "corpus" / "unseen") -> dict:  # fmt: skip
    """Measure both models (those whose checkpoint exists) and write ``json_path``.

    ``limit``: at most this many files of each voice the vocoder never heard (all of Allison's
    prompts are kept), and at most this many piano pieces: a quicker, smaller run. ``only``
    ("vocoder" or "piano"): measure that model and keep the other's figures from ``json_path``.
    ``piano_unseen_dir``: pieces after the piano corpus (recipes/piano_offline/render_corpus.py
    --unseen-hours), measured too where the folder holds any.
    """
    if only not in (None, "vocoder", "piano"):
        raise WavenetError(f"only: 'vocoder' or 'piano', got {only!r}")
    start = time.time()
    pictures, samples = json_path.parent, json_path.parent.parent / "samples"
    results: dict = {}
    if only is not None and json_path.is_file():
        kept = "piano" if only == "vocoder" else "vocoder"
        results = {kept: read_json(json_path)[kept]} if kept in read_json(json_path) else {}
    if vocoder.exists() and only in (None, "vocoder"):
        ckpt = load_release(vocoder)
        data = PreparedData(vocoder_data)
        results["vocoder"] = vocoder_section(ckpt, data, limit, pictures, samples) | {"card": card(ckpt)}
        results["vocoder"]["frames_ablation"] = frames_ablation(ckpt, data)
        results["vocoder"]["pictures"]["curves"] = curves(vocoder / "metrics.jsonl", "mel-vocoder", pictures)
    if piano.exists() and only in (None, "piano"):
        ckpt = load_release(piano)
        results["piano"] = piano_section(ckpt, PreparedData(piano_data), limit, pictures, samples) | {
            "card": card(ckpt)
        }
        results["piano"]["pictures"]["curves"] = curves(piano / "metrics.jsonl", "midi-piano", pictures)
        if any(piano_unseen_dir.glob("*.mid")):
            quick = {"excerpts": 1, "seconds": 2.0} if limit else {}  # a quicker, smaller run
            results["piano"]["unseen"] = piano_unseen(ckpt, piano_unseen_dir, **quick)
    results["seconds"] = time.time() - start
    write_json(json_path, results)
    return results


def trained(c: dict) -> str:
    """How long the model trained: its stages, each starting from the one before."""
    stages = c.get("stages") or []
    if len(stages) < 2:
        return f"{c['steps']:,} steps ({duration(c['train_seconds'])})"
    each = ", then ".join(f"{s['steps']:,} steps ({duration(s['train_seconds'])})" for s in stages)
    return f"in {len(stages)} stages, each from the one before: {each}"


def verdicts(groups: dict) -> list[str]:
    """Each target of the source-filter issue against the measured figures (met or missed)."""

    def mark(ok: bool) -> str:
        return "met" if ok else "missed"

    out = []
    allison = groups.get(TRANSCRIBED, {})
    if OWN in allison and "wer" in allison[OWN]:
        ours, gl = allison[OWN]["wer"], allison["Griffin-Lim"]["wer"]
        out.append(f"{TRANSCRIBED}, own id: WER {ours:.1%} against Griffin-Lim's {gl:.1%} on the same prompts "
                   f"(target: at most 3 points above: {mark(ours <= gl + 0.03 + 1e-9)}).")  # fmt: skip
    for voice, group in groups.items():
        if voice != TRANSCRIBED and "wer" in group[ANY]:
            ours, real = group[ANY]["wer"], group[ORIGINAL]["wer"]
            out.append(f"{voice} (never heard): WER {ours:.1%} against the recordings' {real:.1%} "
                       f"(target: at most 10 points above: {mark(ours <= real + 0.10 + 1e-9)}).")  # fmt: skip
    for voice, group in groups.items():
        m = group.get(OWN, group[ANY])
        out.append(f"{voice}: voicing error {m['voicing_error']:.1%} (target 10%: {mark(m['voicing_error'] <= 0.10)}), "
                   f"F0 RMSE {m['f0_rmse_cents']:.0f} cents (target 50: {mark(m['f0_rmse_cents'] <= 50)}"
                   + (f"; {m['f0_gross_error']:.1%} of the frames voiced in both are gross errors, more than 20% "
                      f"off, and the rest have an RMSE of {m['f0_fine_rmse_cents']:.0f} cents"
                      if "f0_gross_error" in m else "") + "), DNSMOS "
                   f"{m['dnsmos']:.2f} against Griffin-Lim's {group['Griffin-Lim']['dnsmos']:.2f} "
                   f"(target: at least as high: {mark(m['dnsmos'] >= group['Griffin-Lim']['dnsmos'])}).")  # fmt: skip
    return out


def render(results: dict) -> str:
    """The section, from the JSON that :func:`measure` wrote."""
    vocoder, piano = results.get("vocoder"), results.get("piano")
    lines = [BEGIN, "", "## Conditioned models", "",
             "Regenerated by `python -m wavenet.evaluation.reports conditioned` (part of `make quality-report`).", ""]  # fmt: skip
    if vocoder:
        c, g = vocoder["card"], vocoder["groups"]
        unheard = [v for v in g if v != TRANSCRIBED]
        lines += ["### mel-vocoder: resynthesis from log-mel frames", "",
                  f"{c['parameters']:,} parameters, receptive field {c['receptive_field']} samples; trained "
                  f"{trained(c)} on {c['train_hours']:.2f} h of "
                  f"speech from {c['voices']} voices. Held out (the test split, never trained on, never used to pick a "
                  f"checkpoint): {g[TRANSCRIBED][ORIGINAL]['files']} transcribed {TRANSCRIBED} prompts and files of the "
                  f"voices {', '.join(unheard)}, which the vocoder never heard (counts below). Each file is resynthesised "
                  "from its own 80-band log-mel frames with the speaker id 'any' (and Allison's prompts also with her "
                  f"own id), temperature {c.get('temperature', 1.0):g} (the release's default"
                  + (f"; voiced frames at {c['voiced_scale']:g} times it" if c.get("voiced_scale", 1.0) != 1.0 else "")
                  + ")"
                  + (f"; a source-filter model: each sample is the prediction of the order-{c['lpc_order']} filter that "
                     "the frames imply plus the excitation the network draws" if c.get("lpc_order") else "")
                  + (f"; the network also reads sines at the first {c['source_harmonics']} harmonics of the F0 that "
                     "YIN finds in the recording (a periodic source)" if c.get("source_harmonics") else "") + ".", "",
                  "| voice | resynthesis | WER | log-mel distance (dB) | F0 RMSE, cents (gross errors; the rest's) "
                  "| voicing error | STOI | PESQ | DNSMOS |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for voice, group in g.items():
            for name, m in group.items():
                wer = f"{m['wer']:.1%}" if "wer" in m else "-"
                if name == ESPEAK:
                    lines.append(f"| {voice} | {name} | {wer} | | | | | | |")
                elif name == ORIGINAL:
                    lines.append(f"| {voice} ({m['files']} files, {m['seconds'] / 60:.1f} min) | {name} | {wer} "
                                 f"| | | | | | {m['dnsmos']:.2f} |")  # fmt: skip
                else:
                    bold = "**" if name in (OWN, ANY) else ""
                    f0 = f"{m['f0_rmse_cents']:.0f}" + (f" ({m['f0_gross_error']:.1%}; {m['f0_fine_rmse_cents']:.0f})"
                                                        if "f0_gross_error" in m else "")  # fmt: skip
                    lines.append(f"| {voice} | {bold}{name}{bold} | {wer} | {m['mel_distance_db']:.2f} | "
                                 f"{f0} | {m['voicing_error']:.1%} | {m['stoi']:.2f} | "
                                 f"{m['pesq']:.2f} | {m['dnsmos']:.2f} |")  # fmt: skip
        lines += ["", "WER: pocketsphinx 5's English recogniser (its default model), texts and transcripts lower-cased, "
                  "numbers spelled out; only for the English voices with texts. F0 (YIN) and voicing on 40 ms frames "
                  "every 10 ms, RMSE over the frames voiced in both, then split: the share of those frames more than "
                  "20% off (gross errors: octave jumps, a wrong period) and the RMSE of the others; log-mel distance over the frames where either is "
                  "above -50 dBFS; STOI (pystoi) and wideband PESQ (pesq) against the recording, sample for sample; "
                  "DNSMOS P.835 overall (speechmos), no reference. Griffin-Lim and the LPC rows read the same 80 mel "
                  "bands as the vocoder (wavenet/evaluation/classic.py); WORLD reads the waveform.", ""]  # fmt: skip
        lines += [f"- {line}" for line in verdicts(g)]
        if "frames_ablation" in vocoder:
            a = vocoder["frames_ablation"]
            gain = a["constant"] - a["own"]
            verdict = (f"It uses them: the right frames are worth {gain:.2f} bits a sample against constant ones"
                       if gain >= USES_FRAMES else
                       f"It hardly uses them: the right frames are worth {gain:.2f} bits a sample against constant ones")  # fmt: skip
            lines += ["", f"Does the vocoder use its frames? Bits per sample on {a['files']} held-out files "
                      f"({a['seconds'] / 60:.1f} minutes, drawn at random with seed 0, speaker 'any'): "
                      f"**{a['own']:.3f}** with their own frames, {a['other']:.3f} with another file's and "
                      f"{a['constant']:.3f} with constant frames. {verdict}; another file's frames cost "
                      f"{a['other'] - a['own']:.2f} bits a sample more than its own."
                      + (" For a source-filter model these are bits of its excitation codes (the filter's prediction "
                         "comes from the frames too: with the wrong frames it predicts badly, and the excitation "
                         "must carry the difference)." if c.get("lpc_order") else "")]  # fmt: skip
        lines += ["", f"![training curves](quality/{vocoder['pictures']['curves']})", "",
                  f"![original and resynthesised](quality/{vocoder['pictures']['spectrograms']})", "",
                  "Samples (6 s): " + ", ".join(f"`docs/samples/{s}`" for s in vocoder["samples"]) + ".", ""]  # fmt: skip
    if piano:
        c = piano["card"]
        lines += ["### midi-piano: MIDI files rendered on the piano", "",
                  f"{c['parameters']:,} parameters, receptive field {c['receptive_field']} samples; trained "
                  f"{trained(c)} on {c['train_hours']:.2f} h of "
                  f"fluidsynth renderings of music21's scores. Held out: {piano['pieces']} whole pieces "
                  f"({piano['seconds'] / 60:.1f} minutes), each rendered by the model from its MIDI file's piano roll "
                  "and compared with fluidsynth's rendering of the same file.", "",
                  "| | onset F-measure | precision | recall |", "|---|---:|---:|---:|"]  # fmt: skip
        for key in ("fluidsynth", "model"):
            lines.append(f"| {key} | {piano['onset_f'][key]:.3f} | {piano['onset_precision'][key]:.3f} | "
                         f"{piano['onset_recall'][key]:.3f} |")  # fmt: skip
        ratio = piano["onset_f"]["model"] / piano["onset_f"]["fluidsynth"]
        lines += ["", f"The model's onset F-measure is **{ratio:.0%}** of fluidsynth's (target: 90%: "
                  f"{'met' if ratio >= 0.9 else 'missed'}). Between the two "
                  f"renderings: chroma similarity **{piano['chroma_similarity']:.3f}** (cosine, 1 is identical), "
                  f"log-mel distance **{piano['mel_distance_db']:.2f} dB**.", ""]  # fmt: skip
        if "unseen" in piano:
            u = piano["unseen"]
            ratio = u["onset_f"]["model"] / u["onset_f"]["fluidsynth"]
            lines += [f"Pieces that neither trained nor chose the checkpoint (rendered after the corpus's "
                      f"{c['train_hours']:.2f} h by `recipes/piano_offline/render_corpus.py --unseen-hours`): "
                      f"{len(u['excerpts'])} stretches of {u['seconds'] / len(u['excerpts']):.0f} s evenly spaced "
                      f"through {len({n.split('@')[0] for n in u['excerpts']})} pieces ({u['seconds'] / 60:.1f} "
                      f"minutes). Onset F-measure {u['onset_f']['model']:.3f} against fluidsynth's "
                      f"{u['onset_f']['fluidsynth']:.3f}: **{ratio:.0%}** (target 90%: "
                      f"{'met' if ratio >= 0.9 else 'missed'}); chroma similarity **{u['chroma_similarity']:.3f}** "
                      f"(target 0.85: {'met' if u['chroma_similarity'] >= 0.85 else 'missed'}); log-mel distance "
                      f"{u['mel_distance_db']:.2f} dB.", ""]  # fmt: skip
        lines += [f"![training curves](quality/{piano['pictures']['curves']})", "",
                  f"![piano roll and generated audio](quality/{piano['pictures']['roll']})", "",
                  "Samples (10 s): " + ", ".join(f"`docs/samples/{s}`" for s in piano["samples"]) + ".", ""]  # fmt: skip
    lines.append(END)
    return "\n".join(lines) + "\n"


def run(render_only: bool = False, limit: int | None = None, only: str | None = None,
        vocoder_data: Path = ROOT / "work" / "mel_vocoder" / "data") -> None:  # fmt: skip
    """Measure (unless ``render_only``) and write the section into QUALITY.md."""
    results = read_json(JSON) if render_only else measure(vocoder_data=vocoder_data, limit=limit, only=only)
    write_section(render(results), BEGIN, END)
