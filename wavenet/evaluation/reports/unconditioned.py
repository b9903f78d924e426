"""The unconditioned models' part of docs/QUALITY.md: speech-small and piano-small.

Needs the prepared data of the offline recipes (held-out audio and the training data of the
baselines) in work/speech_offline/data and work/piano_offline/data; `make quality-report` builds
it when missing (`recipes/RECIPE/run.sh deps corpus manifest prepare`: seeded, so the held-out
split is the one the models were validated on). Every figure is computed here, from the
checkpoints and the training logs they ship (metrics.jsonl), into docs/quality/report.json.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf

from wavenet import mulaw
from wavenet.data.audio import decoded
from wavenet.data.dataset import PreparedData
from wavenet.evaluation.likelihood import evaluate
from wavenet.evaluation.ngram import KneserNey
from wavenet.evaluation.quality import frechet_distance, levels, median_f0, mel_features, voiced_share
from wavenet.evaluation.reports.common import (
    F0_THRESHOLD,
    PICTURES,
    ROOT,
    SAMPLES,
    curves,
    duration,
    plt,
    read_json,
    save,
    write_json,
    write_section,
)
from wavenet.generation.registry import make_generator
from wavenet.release import Checkpoint, load_release

BEGIN, END = "<!-- unconditioned models: python -m wavenet.evaluation.reports unconditioned -->", "<!-- end of unconditioned models -->"  # fmt: skip
JSON = PICTURES / "report.json"


def generate(ckpt: Checkpoint, speakers: list[int], seconds: float, seed: int = 0) -> np.ndarray:
    """(len(speakers), samples) audio, generated together with the fastest backend."""
    generator = make_generator(ckpt.model, len(speakers))
    for slot, speaker in enumerate(speakers):
        generator.reset(slot, speaker=speaker, seed=seed + slot)
    n = round(seconds * ckpt.config.sample_rate)
    codes = np.concatenate([generator.generate(min(8000, n - s)) for s in range(0, n, 8000)], axis=1)
    return decoded(codes, ckpt.config.mu, ckpt.audio.preemphasis)


def real_audio(data: PreparedData, split: str, speaker: int | None = None, max_seconds: float = 120.0) -> np.ndarray:
    """Decoded μ-law audio of a split (one speaker's, or everyone's), at most max_seconds."""
    part = data.split(split)
    pieces, total = [], 0
    for i in range(len(part.index)):
        if speaker is not None and part.index[i, 2] != speaker:
            continue
        pieces.append(decoded(part.utterance(i), data.mu, data.audio.preemphasis))
        total += len(pieces[-1])
        if total >= max_seconds * data.sample_rate:
            break
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def spectrograms(real: np.ndarray, generated: np.ndarray, rate: int, name: str, pictures: Path) -> str:
    fig, axes = plt().subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for ax, audio, title in ((axes[0], real, "real (held out)"), (axes[1], generated, "generated")):
        ax.specgram(audio[: 4 * rate] + 1e-7, NFFT=512, Fs=rate, noverlap=384, cmap="magma", vmin=-120)
        ax.set(title=f"{name}: {title}", xlabel="seconds")
    axes[0].set_ylabel("Hz")
    return save(fig, f"{name}-spectrograms.png", pictures)


def f0_scatter(points: list[tuple[str, float, float]], r: float, name: str, pictures: Path) -> str:
    fig, ax = plt().subplots(figsize=(5.5, 5))
    real = np.array([p[1] for p in points])
    gen = np.array([p[2] for p in points])
    recorded = np.array([p[0].startswith("asterisk") for p in points], dtype=bool)
    ax.scatter(real[~recorded], gen[~recorded], s=18, label="synthetic voices")
    ax.scatter(real[recorded], gen[recorded], s=30, marker="s", label="recorded voices")
    lo, hi = np.nanmin([real, gen]) * 0.9, np.nanmax([real, gen]) * 1.1
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="equal")
    ax.set(xscale="log", yscale="log", xlabel="median F0 of real recordings (Hz)",
           ylabel="median F0 of generated audio (Hz)", title=f"{name}: pitch per speaker id (r = {r:.2f})")  # fmt: skip
    ax.legend()
    return save(fig, f"{name}-f0.png", pictures)


def compare(real: np.ndarray, generated: np.ndarray, ngram: np.ndarray, rate: int) -> dict:
    """Level statistics and log-mel Fréchet distances, with two scales: real vs real, real vs n-gram."""
    half = len(real) // 2
    mel_real, mel_a, mel_b = mel_features(real, rate), mel_features(real[:half], rate), mel_features(real[half:], rate)
    return {
        "levels": {
            "real": asdict(levels(real, rate)),
            "generated": asdict(levels(generated, rate)),
            "n-gram samples": asdict(levels(ngram, rate)),
        },
        "frechet": {
            "generated vs real": frechet_distance(mel_features(generated, rate), mel_real),
            "real half vs real half": frechet_distance(mel_a, mel_b),
            "n-gram samples vs real": frechet_distance(mel_features(ngram, rate), mel_real),
        },
    }


def card(ckpt: Checkpoint) -> dict:
    """What the section says of the model itself, from its release."""
    meta = ckpt.metadata
    return {
        "parameters": ckpt.model.parameter_count(),
        "receptive_field": ckpt.config.receptive_field,
        "rate": ckpt.config.sample_rate,
        "stages": meta.get("stages") or [{key: meta.get(key) for key in ("steps", "train_seconds")}],
    }


def measure_model(name: str, ckpt_dir: Path, data: PreparedData, seconds: float, f0: bool, ngram_seconds: float,
                  pictures: Path = PICTURES, samples: Path = SAMPLES) -> dict:  # fmt: skip
    """Every figure of one model's section."""
    ckpt = load_release(ckpt_dir)
    speakers = list(range(ckpt.config.n_speakers)) if f0 else [0, 0, 0, 0]
    rate = ckpt.config.sample_rate
    started = time.perf_counter()
    held_out = str(data.directory / "valid.tsv")
    nll = evaluate(ckpt, [held_out], ngram_order=3, baseline_data=str(data.directory)).as_dict()
    print(f"[{name}] bits/sample: {nll['bits_per_sample']}", flush=True)
    gen = generate(ckpt, speakers, seconds)
    real = real_audio(data, "valid")
    train = data.split("train")
    ngram_model = KneserNey(3, ckpt.config.classes, mulaw.silence_code(ckpt.config.mu)).fit(
        np.asarray(train.utterance(i)) for i in range(len(train.index))
    )
    ngram = decoded(ngram_model.sample(round(ngram_seconds * rate), seed=1), ckpt.config.mu, data.audio.preemphasis)
    result = {
        "name": name,
        "card": card(ckpt),
        "bits_per_sample": nll["bits_per_sample"],
        "held_out_seconds": nll["samples"] / rate,
        "held_out_files": len(nll["files"]),
        "generated_seconds": gen.size / rate,
        **compare(real, gen.reshape(-1), ngram, rate),
        "pictures": {"spectrograms": spectrograms(real, gen[0], rate, name, pictures)},
    }
    if (ckpt_dir / "metrics.jsonl").exists():  # the training log that `wavenet export` ships
        result["pictures"]["curves"] = curves(ckpt_dir / "metrics.jsonl", name, pictures)
    if f0:
        names = {sid: spk for spk, sid in ckpt.speakers.items()}
        points = []
        for row, sid in zip(gen, speakers, strict=True):
            recorded = np.concatenate([real_audio(data, "valid", sid, 60), real_audio(data, "train", sid, 60)])
            points.append({
                "speaker": names.get(sid, str(sid)),
                "real_f0": median_f0(recorded, rate, F0_THRESHOLD),
                "generated_f0": median_f0(row, rate, F0_THRESHOLD),
                "real_voiced": voiced_share(recorded, rate, F0_THRESHOLD),
                "generated_voiced": voiced_share(row, rate, F0_THRESHOLD),
            })  # fmt: skip
        ok = [(p["speaker"], p["real_f0"], p["generated_f0"]) for p in points
              if not (math.isnan(p["real_f0"]) or math.isnan(p["generated_f0"]))]  # fmt: skip
        real_f0, gen_f0 = np.array([p[1] for p in ok]), np.array([p[2] for p in ok])
        r, r_log = float("nan"), float("nan")
        if len(ok) > 2:
            r = float(np.corrcoef(real_f0, gen_f0)[0, 1])
            r_log = float(np.corrcoef(np.log(real_f0), np.log(gen_f0))[0, 1])
        result["f0"] = {"threshold": F0_THRESHOLD, "points": points, "pearson_r": r, "pearson_r_log": r_log,
                        "speakers_with_pitch": len(ok), "ngram_voiced": voiced_share(ngram, rate, F0_THRESHOLD)}  # fmt: skip
        if ok:  # a scatter of the speakers where both have a pitch
            result["pictures"]["f0"] = f0_scatter(ok, r, name, pictures)
    labels = {v: k for k, v in ckpt.speakers.items()}
    samples.mkdir(parents=True, exist_ok=True)
    for i in sample_rows(ckpt, speakers):
        label = labels.get(speakers[i], str(speakers[i]))
        sf.write(samples / f"{name}-{i:02d}-{label}.wav", gen[i, : 3 * rate], rate, subtype="PCM_16")
    result["report_seconds"] = time.perf_counter() - started
    return result


def sample_rows(ckpt: Checkpoint, speakers: list[int]) -> list[int]:
    """Rows to keep as WAV samples: the recorded voices and two synthetic ones, or the first four."""
    names = {v: k for k, v in ckpt.speakers.items()}
    recorded = [i for i, s in enumerate(speakers) if names.get(s, "").startswith("asterisk")]
    others = [i for i in range(len(speakers)) if i not in recorded]
    return (recorded + others[:2])[:6] if recorded else list(range(min(4, len(speakers))))


def measure(speech: Path = ROOT / "checkpoints" / "speech-small", piano: Path = ROOT / "checkpoints" / "piano-small",
            speech_work: Path = ROOT / "work" / "speech_offline", piano_work: Path = ROOT / "work" / "piano_offline",
            seconds: float = 12.0, ngram_seconds: float = 30.0, json_path: Path = JSON) -> list[dict]:  # fmt: skip
    """Measure both models (those whose checkpoint exists) and write ``json_path``."""
    results = []
    for name, ckpt_dir, work, f0 in (("speech", speech, speech_work, True), ("piano", piano, piano_work, False)):
        if not ckpt_dir.exists():
            print(f"[{name}] no checkpoint at {ckpt_dir}: skipped")
            continue
        pictures = json_path.parent
        results.append(measure_model(name, ckpt_dir, PreparedData(work / "data"), seconds, f0, ngram_seconds,
                                     pictures, pictures.parent / "samples"))  # fmt: skip
    write_json(json_path, results)
    return results


def hz(f0: float) -> str:
    return "–" if math.isnan(f0) else f"{f0:.0f}"


def render(results: list[dict]) -> str:
    """The section, from the JSON that :func:`measure` wrote."""
    lines = [BEGIN, "", "Regenerated by `python -m wavenet.evaluation.reports unconditioned` (`make quality-report`)",
             "from the checkpoints in `checkpoints/` and the offline recipes' prepared data. Every number below",  # fmt: skip
             "comes from that run.", ""]  # fmt: skip
    for r in results:
        name, meta, bits = r["name"], r["card"], r["bits_per_sample"]
        lines += [f"## {name}", "",
                  f"Model: {meta['parameters']:,} parameters, receptive field {meta['receptive_field']} samples. "
                  "Training, stage by stage (a stage starts from the previous one's weights):", "",
                  "| stage | machine and precision | steps | samples per step | training time | training data |",
                  "|---:|---|---:|---:|---:|---:|"]  # fmt: skip
        for i, st in enumerate(meta["stages"], 1):
            per_step = f"{st['samples_per_step']:,}" if st.get("samples_per_step") else "?"
            data = f"{st['train_samples'] / meta['rate'] / 3600:.2f} h" if st.get("train_samples") else "?"
            lines.append(f"| {i} | {st.get('machine', '?')} | {st['steps']:,} | {per_step} | "
                         f"{duration(st['train_seconds'])} | {data} |")  # fmt: skip
        better = bits["model_bits"] < bits["ngram_bits"]
        lines += ["",
                  f"### Held-out likelihood ({r['held_out_files']} files, {r['held_out_seconds'] / 60:.1f} minutes)", "",
                  "| model | bits per sample |", "|---|---:|",
                  f"| **WaveNet** | **{bits['model_bits']:.3f}** |",
                  f"| 3-gram over μ-law codes (Kneser-Ney, fitted on the training data) | {bits['ngram_bits']:.3f} |",
                  f"| μ-law unigram (training data) | {bits['unigram_bits']:.3f} |", "",
                  f"The WaveNet needs {abs(bits['ngram_bits'] - bits['model_bits']):.3f} bits a sample "
                  f"{'fewer' if better else 'more'} than the 3-gram.", ""]  # fmt: skip
        lv = r["levels"]
        lines += ["### Generated audio against held-out real audio", "",
                  f"{r['generated_seconds']:.0f} s generated (temperature 1) against the held-out set.", "",
                  "| | level (dBFS RMS) | silent frames | spectral centroid (Hz) | spectral flatness |",
                  "|---|---:|---:|---:|---:|"]  # fmt: skip
        for key in ("real", "generated", "n-gram samples"):
            v = lv[key]
            lines.append(
                f"| {key} | {v['rms_dbfs']:.1f} | {v['silence']:.0%} | {v['centroid_hz']:.0f} | {v['flatness']:.3f} |"
            )
        fr = r["frechet"]
        lines += ["", "Fréchet distance between Gaussian fits of 64-band log-mel frames (non-silent frames):", "",
                  "| pair | distance |", "|---|---:|"]  # fmt: skip
        lines += [f"| {k} | {v:.1f} |" for k, v in fr.items()]
        if "f0" in r:
            f0 = r["f0"]
            gen_voiced = np.median([p["generated_voiced"] for p in f0["points"]])
            real_voiced = np.median([p["real_voiced"] for p in f0["points"]])
            lines += ["", "### Speaker conditioning", "",
                      f"Median F0 (YIN, aperiodicity threshold {f0['threshold']}) of the audio generated for each "
                      f"speaker id against the median F0 of that speaker's recordings, over the "
                      f"{f0['speakers_with_pitch']} of {len(f0['points'])} speakers where both have at least 10 "
                      f"voiced frames: Pearson r = **{f0['pearson_r']:.2f}** (on log F0: {f0['pearson_r_log']:.2f}).", "",
                      f"Voiced frames, median over speakers: {real_voiced:.0%} of the real recordings, "
                      f"{gen_voiced:.0%} of the generated audio; the n-gram samples (noise with the data's "
                      f"spectrum, a control) have {f0['ngram_voiced']:.1%}.", "",
                      *([f"![F0 per speaker](quality/{r['pictures']['f0']})", ""] if "f0" in r["pictures"] else []),
                      "<details><summary>every speaker</summary>", "",
                      "| speaker | real F0 (Hz) | generated F0 (Hz) | real voiced | generated voiced |",
                      "|---|---:|---:|---:|---:|"]  # fmt: skip
            lines += [f"| {p['speaker']} | {hz(p['real_f0'])} | {hz(p['generated_f0'])} | {p['real_voiced']:.0%} "
                      f"| {p['generated_voiced']:.0%} |" for p in f0["points"]]  # fmt: skip
            lines += ["", "</details>"]
        lines += ["", "### Pictures", ""]
        if "curves" in r["pictures"]:
            lines += [f"![training curves](quality/{r['pictures']['curves']})", "",
                      "Validation is drawn per stage: a stage may validate on other crops or another share of "
                      "the held-out set, so compare it within a stage; the held-out table above compares models.", ""]  # fmt: skip
        lines += [f"![spectrograms](quality/{r['pictures']['spectrograms']})", "",
                  f"Samples: `docs/samples/{name}-*.wav` (3 s each).", ""]  # fmt: skip
    lines.append(END)
    return "\n".join(lines) + "\n"


def run(render_only: bool = False) -> None:
    """Measure (unless ``render_only``) and write the section into QUALITY.md."""
    results = read_json(JSON) if render_only else measure()
    write_section(render(results), BEGIN, END)
