"""``wavenet eval``: negative log-likelihood in bits per sample, beside two baselines.

Every sample of every file is scored with its full receptive field of context (the file is
processed in overlapping chunks), the first one predicted from silence as in generation. The
baselines, a μ-law unigram and a Kneser-Ney n-gram, are fitted on the checkpoint's training
data (recorded in its metadata) or on a given manifest or prepared-data directory, and score
the same codes. Audio is read with the checkpoint's own preparation options.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from wavenet import mulaw
from wavenet.data.audio import AudioOptions, load_audio, model_codes
from wavenet.data.corpora import directory_manifest
from wavenet.data.dataset import PreparedData
from wavenet.data.features import features_for
from wavenet.data.manifest import read_manifest
from wavenet.errors import WavenetError
from wavenet.evaluation.ngram import KneserNey, Unigram
from wavenet.excitation import crop_source, frame_filters, periodic_source
from wavenet.model import frame_span, frame_window
from wavenet.release import Checkpoint

log = logging.getLogger(__name__)


@dataclass
class FileScore:
    path: str
    speaker: int
    samples: int
    model_bits: float  # per sample
    unigram_bits: float
    ngram_bits: float


@dataclass
class Report:
    checkpoint: str
    ngram_order: int
    baseline_data: str
    files: list[FileScore] = field(default_factory=list)

    def total(self, key: str) -> float:
        samples = sum(f.samples for f in self.files)
        return sum(getattr(f, key) * f.samples for f in self.files) / samples

    def as_dict(self) -> dict:
        totals = {k: self.total(k) for k in ("model_bits", "unigram_bits", "ngram_bits")}
        return {**asdict(self), "samples": sum(f.samples for f in self.files), "bits_per_sample": totals}


def collect_inputs(inputs: list[str]) -> list[tuple[Path, str | None]]:
    """Audio files, directories (searched recursively) and manifests (.tsv), as (path, speaker name)."""
    found: list[tuple[Path, str | None]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += [(u.path, None) for u in directory_manifest(path)]
        elif path.suffix == ".tsv":
            found += [(u.path, u.speaker) for u in read_manifest(path)]
        elif path.is_file():
            found.append((path, None))
        else:
            raise WavenetError(f"{item}: no such file or directory")
    return found


@torch.no_grad()
def model_log2_probs(
    model: torch.nn.Module, codes: np.ndarray, speaker: int, chunk: int = 32000, frames: np.ndarray | None = None
) -> np.ndarray:
    """log2 P(code_t | silence, codes before t[, frames]) for every code, each with full context.

    A conditioned model also takes the file's frames, (frames, channels); each chunk reads its window.
    A source-filter model's are the probabilities of each sample's excitation code, given its
    prediction (:mod:`wavenet.excitation`): what it is trained on.
    """
    device = next(model.parameters()).device
    cfg = model.config
    rf = cfg.receptive_field
    silence = mulaw.silence_code(cfg.mu)
    inputs = torch.from_numpy(np.concatenate([[silence], codes[:-1]]).astype(np.int64)).to(device)
    targets = torch.from_numpy(codes.astype(np.int64)).to(device)
    source, sines = None, None
    if cfg.lpc_order:
        filters = frame_filters(frames, cfg.lpc_order, f0=cfg.f0_channel)
        predicted, last, excitation = crop_source(codes, 0, len(codes), filters, cfg.cond_hop, cfg.mu)
        source = (torch.from_numpy(predicted).to(device), torch.from_numpy(last).to(device))
        targets = torch.from_numpy(excitation).to(device)
    if cfg.source_harmonics:
        periodic = periodic_source(frames, np.arange(len(codes)), cfg)
        sines = torch.from_numpy(periodic.T.copy()).to(device)  # (harmonics, samples)
    spk = torch.tensor([speaker], device=device)
    out = []
    for start in range(0, len(codes), chunk):
        end = min(start + chunk, len(codes))
        context = max(0, start - (rf - 1))
        window, offset = None, 0
        if frames is not None:
            hop = model.config.cond_hop
            a, b = frame_span(context, end, hop)
            index = frame_window(len(frames), a, b, model.config.cond_layers).numpy()
            window = torch.from_numpy(np.ascontiguousarray(frames[index].T, dtype=np.float32))[None].to(device)
            offset = context - a * hop
        part = None if source is None else (source[0][None, context:end], source[1][None, context:end])
        heard = None if sines is None else sines[None, :, context:end]
        logits = model(inputs[None, context:end], spk, window, offset, source=part, sines=heard)[
            0, :, start - context :
        ]
        out.append(-F.cross_entropy(logits.t(), targets[start:end], reduction="none") / math.log(2))
    return torch.cat(out).cpu().numpy()


def baseline_sequences(source: str, options: AudioOptions, mu: int) -> list[np.ndarray]:
    """Training codes for the baselines: a prepared-data directory's train split, or a manifest's audio."""
    path = Path(source)
    if path.is_dir() and (path / "dataset.json").exists():
        split = PreparedData(path).split("train")
        return [np.asarray(split.utterance(i)) for i in range(len(split.index))]
    if path.is_file():
        rows = read_manifest(path)
        train = [u for u in rows if u.split in ("", "train")]
        return [model_codes(load_audio(u.path, options), options, mu) for u in train]
    raise WavenetError(
        f"{source}: no prepared data or manifest there to fit the baselines on; "
        "pass --baseline-data with the training data (a prepared-data directory or a manifest)"
    )


def evaluate(
    checkpoint: Checkpoint,
    inputs: list[str],
    ngram_order: int = 3,
    baseline_data: str | None = None,
    speaker: int | None = None,
) -> Report:
    if checkpoint.acoustic is not None:
        raise WavenetError(
            f"{checkpoint.name}: a two-stage text-to-speech release gives no likelihood of audio; evaluate its vocoder "
            f"({checkpoint.acoustic.path}), or measure its speech (python -m wavenet.evaluation.reports tts)"
        )
    options = checkpoint.audio
    mu = checkpoint.config.mu
    files = collect_inputs(inputs)
    source = baseline_data or checkpoint.metadata.get("data_dir")
    if not source:
        raise WavenetError(
            "no data to fit the baselines on: this checkpoint records no training data; pass --baseline-data"
        )
    log.info("fitting the unigram and %d-gram baselines on %s", ngram_order, source)
    train = baseline_sequences(source, options, mu)
    unigram = Unigram(checkpoint.config.classes).fit(train)
    ngram = KneserNey(ngram_order, checkpoint.config.classes, mulaw.silence_code(mu)).fit(train)
    report = Report(checkpoint=checkpoint.name, ngram_order=ngram_order, baseline_data=str(source))
    for path, name in files:
        if name is not None and name in checkpoint.speakers:
            sid = checkpoint.speakers[name]
        else:
            sid = speaker if speaker is not None else checkpoint.default_speaker
        audio = load_audio(path, options)
        codes = model_codes(audio, options, mu)
        frames = None
        if checkpoint.features is not None:  # a conditioned model is scored given the file's own frames
            frames = features_for(audio, options.sample_rate, checkpoint.features, path, options.preemphasis)
        report.files.append(
            FileScore(
                path=str(path),
                speaker=sid,
                samples=len(codes),
                model_bits=float(-model_log2_probs(checkpoint.model, codes, sid, frames=frames).mean()),
                unigram_bits=float(-unigram.log2_probs(codes).mean()),
                ngram_bits=float(-ngram.log2_probs(codes).mean()),
            )
        )
    return report


def format_report(report: Report, per_file: bool = True) -> str:
    """A Markdown table of bits per sample (lower is better), per file and over all samples."""
    lines = [
        f"| file | speaker | samples | WaveNet | unigram | {report.ngram_order}-gram |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    if per_file:
        for f in report.files:
            lines.append(
                f"| {Path(f.path).name} | {f.speaker} | {f.samples} "
                f"| {f.model_bits:.3f} | {f.unigram_bits:.3f} | {f.ngram_bits:.3f} |"
            )
    samples = sum(f.samples for f in report.files)
    lines.append(
        f"| all {len(report.files)} files | | {samples} | {report.total('model_bits'):.3f} "
        f"| {report.total('unigram_bits'):.3f} | {report.total('ngram_bits'):.3f} |"
    )
    return "\n".join(lines)
