"""What every section of docs/QUALITY.md shares: where things go, pictures, batched generation, recognition.

Each report module (:mod:`.unconditioned`, :mod:`.conditioned`, :mod:`.tts`) has two halves:
``measure`` runs the models and writes every figure into a JSON file under docs/quality/, and
``render`` turns that JSON, and nothing else, into the section's markdown, so that every number
and every conclusion in QUALITY.md is computed, never typed: a test renders the committed JSON
and compares it with QUALITY.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from wavenet import mulaw
from wavenet.data.audio import decoded
from wavenet.generation.registry import make_generator
from wavenet.machine import machine_description
from wavenet.release import Checkpoint

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
QUALITY = DOCS / "QUALITY.md"
PICTURES = DOCS / "quality"
SAMPLES = DOCS / "samples"
RATE = 16000
# YIN's aperiodicity threshold for the pitch comparisons. The paper's 0.1-0.15 finds almost no
# voiced frames in the small models' breathy output; at 0.35 a tone 3 dB above white noise is
# found while noise alone is not (tests/evaluation/test_quality.py), and the report prints the
# voiced share of the n-gram samples as a control.
F0_THRESHOLD = 0.35


def plt():
    """matplotlib's pyplot, drawing to files (the Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def save(fig, filename: str, pictures: Path = PICTURES) -> str:
    """Write a picture into docs/quality and return its name, for the report's links."""
    fig.tight_layout()
    pictures.mkdir(parents=True, exist_ok=True)
    fig.savefig(pictures / filename, dpi=110)
    plt().close(fig)
    return filename


def curves(metrics_path: Path, name: str, pictures: Path = PICTURES) -> str:
    """Training and validation curves over every stage of the model's training (see export).

    With the samples seen on each row, the x axis is samples, so stages of different batch sizes
    line up; each stage's validation is its own line, since stages may validate on other crops.
    """
    metrics = [json.loads(line) for line in metrics_path.read_text().splitlines()]
    by_samples = all("samples" in m for m in metrics)
    x = (lambda m: m["samples"] / 1e6) if by_samples else (lambda m: m["step"])
    fig, ax = plt().subplots(figsize=(7, 3.5))
    train = [m for m in metrics if m["kind"] == "train"]
    ax.plot([x(m) for m in train], [m["bits_per_sample"] for m in train], label="training (running mean)", lw=1)
    stages = sorted({m.get("stage", 0) for m in metrics})
    for stage in stages:
        valid = [m for m in metrics if m["kind"] == "valid" and m.get("stage", 0) == stage]
        label = "validation (EMA weights)" + (f", stage {stage + 1}" if len(stages) > 1 else "")
        ax.plot([x(m) for m in valid], [m["bits_per_sample"] for m in valid], "o-", label=label, ms=3)
        if stage > 0:
            ax.axvline(max(x(m) for m in metrics if m.get("stage", 0) < stage), color="grey", ls=":", lw=1)
    xlabel = "million samples seen (stages split by dotted lines)" if by_samples else "step"
    ax.set(xlabel=xlabel, ylabel="bits per sample", title=f"{name}: training curves")
    bits = [m["bits_per_sample"] for m in metrics if m["kind"] in ("train", "valid")]
    ax.set_ylim(min(bits) - 0.1, np.percentile(bits, 95) + 0.3)  # the first steps' 8 bits would flatten the rest
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, f"{name}-curves.png", pictures)


def resynthesise(ckpt: Checkpoint, frames: list[np.ndarray], speakers: list[int], batch: int = 8,
                 temperature: float | None = None, voiced_scale: float | None = None) -> list[np.ndarray]:  # fmt: skip
    """Each stream's audio from its frames (frames × hop samples), ``batch`` streams of similar length at a time,
    at ``temperature`` and ``voiced_scale`` (defaults: the release's).

    Stream i is seeded with i. Many streams at once are several times faster than one at a time
    on the same cores, which is what makes a report over hundreds of files affordable.
    """
    hop = ckpt.config.cond_hop
    order = sorted(range(len(frames)), key=lambda i: len(frames[i]))
    out: list[np.ndarray | None] = [None] * len(frames)
    for start in range(0, len(order), batch):
        part = order[start : start + batch]
        generator = make_generator(ckpt.model, len(part))
        for slot, i in enumerate(part):
            generator.reset(
                slot, speaker=speakers[i], seed=i, frames=frames[i], temperature=temperature or ckpt.default_temperature,
                voiced_scale=voiced_scale or ckpt.voiced_scale,
            )  # fmt: skip
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
            out[i] = decoded(np.concatenate(codes[slot]), ckpt.config.mu, ckpt.audio.preemphasis)
        print(f"  generated {min(start + batch, len(frames))} of {len(frames)}", flush=True)
    return out


_decoders: dict = {}


def recognise(audio: np.ndarray, rate: int = RATE) -> str:
    """pocketsphinx's English hypothesis; one decoder for all calls (loading its model takes seconds)."""
    from pocketsphinx import Decoder

    if rate not in _decoders:
        _decoders[rate] = Decoder(samprate=rate, loglevel="FATAL")
    decoder = _decoders[rate]
    decoder.start_utt()
    decoder.process_raw(mulaw.to_pcm16(audio).tobytes(), full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() else ""


def recognise_all(audio: list[np.ndarray], processes: int = 2) -> list[str]:
    """pocketsphinx's hypotheses in ``processes`` processes: it runs near real time on noise, the reports' cost."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return pool.map(recognise, audio, chunksize=2)


def espeak(text: str, rate: int = RATE) -> np.ndarray:
    """espeak-ng's en-us voice reading ``text`` (Debian's espeak-ng command), at ``rate``."""
    import soundfile as sf
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "e.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True, capture_output=True)
        audio, native = sf.read(path, dtype="float32")
    return soxr.resample(audio, native, rate).astype(np.float32)


def machine() -> str:
    """The machine a report ran on, in words, for the section's first line."""
    import torch

    m = machine_description(torch.device("cpu"))
    return f"{m['cpu']}, {m['cpu_cores']} cores, torch {m['torch']}"


def duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def percent(x: float) -> str:
    return f"{x:.0%}"


def write_json(path: Path, results: dict | list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict | list:
    return json.loads(path.read_text(encoding="utf-8"))


def section(text: str, begin: str, end: str) -> str:
    """The part of ``text`` from the line ``begin`` to the line ``end``, both included; '' when absent."""
    match = re.search(re.escape(begin) + ".*?" + re.escape(end) + "\n", text, re.S)
    return match.group(0) if match else ""


def write_section(rendered: str, begin: str, end: str, quality: Path = QUALITY) -> None:
    """Replace a section of QUALITY.md (from ``begin`` to ``end``), or add it at the end."""
    current = quality.read_text(encoding="utf-8") if quality.exists() else ""
    if section(current, begin, end):
        updated = current.replace(section(current, begin, end), rendered)
    else:
        updated = current.rstrip() + ("\n\n" if current.strip() else "") + rendered
    quality.write_text(updated, encoding="utf-8")
