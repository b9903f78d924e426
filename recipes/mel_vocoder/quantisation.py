"""What 8-bit μ-law costs a recording, and what pre-emphasis gives back: the ceiling of the pre-emphasis lever.

LPCNet models a pre-emphasised signal (x_t - α x_{t-1}, α = 0.85) and de-emphasises its output, so
that μ-law's quantisation noise, white in the modelled signal, comes out shaped like speech (less
of it at high frequencies, where speech has little energy). Whatever else pre-emphasis may do
for a network, that is what it does to the 256 levels: this script measures it on the held-out
recordings themselves, no network involved. The same first N held-out en_US_f_Allison prompts
as recipes/mel_vocoder/compare.py, read from their files with the prepared data's audio options,
are measured as the quality report measures a resynthesis against the float recordings (WER,
log-mel distance, F0, voicing, STOI, PESQ, DNSMOS):

- the float recordings themselves (the measures' own ceiling),
- 8-bit μ-law (what every model here is trained on and generates),
- 8-bit μ-law of the pre-emphasised signal, de-emphasised (LPCNet's).

One JSON line per variant is appended to --out (docs/quality/vocoder-levers.jsonl).

    python recipes/mel_vocoder/quantisation.py DATA_DIR [--prompts 36] [--alpha 0.85]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from wavenet import mulaw
from wavenet.data.audio import load_audio
from wavenet.data.dataset import PreparedData
from wavenet.evaluation.reports.conditioned import TRANSCRIBED, measured


def mulaw_8bit(audio: np.ndarray, mu: int, alpha: float = 0.0) -> np.ndarray:
    """``audio`` through μ-law codes and back; with ``alpha``, pre-emphasised before and de-emphasised after."""
    emphasised = lfilter([1.0, -alpha], [1.0], audio) if alpha else audio
    decoded = mulaw.decode(mulaw.encode(np.clip(emphasised, -1, 1), mu), mu).astype(np.float64)
    return (lfilter([1.0], [1.0, -alpha], decoded) if alpha else decoded).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--prompts", type=int, default=36, help="how many held-out prompts (default 36)")
    parser.add_argument("--alpha", type=float, default=0.85, help="the pre-emphasis coefficient (LPCNet's 0.85)")
    parser.add_argument("--out", type=Path, default=Path("docs/quality/vocoder-levers.jsonl"))
    args = parser.parse_args()
    data = PreparedData(args.data)
    rows = (data.directory / "test.tsv").read_text().splitlines()[1:]
    files = [Path(row.split("\t")[0]) for row in rows if row.split("\t")[1] == TRANSCRIBED][: args.prompts]
    recordings = [load_audio(path, data.audio) for path in files]
    texts = [path.with_suffix(".txt").read_text().strip() for path in files]
    variants = {
        "the float recordings": recordings,
        "the recordings in 8-bit mu-law": [mulaw_8bit(r, data.mu) for r in recordings],
        f"the recordings in 8-bit mu-law, pre-emphasised ({args.alpha}) and de-emphasised": [
            mulaw_8bit(r, data.mu, args.alpha) for r in recordings
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for label, audio in variants.items():
        row = {"label": f"quantisation, no network: {label}", "release": None} | measured(recordings, audio, texts)
        print(json.dumps(row), flush=True)
        with args.out.open("a") as out:
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
