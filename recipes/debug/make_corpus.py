"""A tiny synthetic multi-speaker corpus for the debug recipe: no downloads, no packages.

Each "speaker" hums harmonic tones around its own pitch, with glides and syllable-like
envelopes, at 22.05 kHz (one speaker in stereo), so preparation exercises resampling and
mixdown and a model can learn something speaker-dependent in a minute.

    python recipes/debug/make_corpus.py OUT_DIR [--speakers 4] [--utterances 8]
"""

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 22050


def utterance(rng: np.random.Generator, f0: float, seconds: float) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    glide = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t + rng.uniform(0, 6.3)))
    phase = 2 * np.pi * np.cumsum(glide) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    syllables = np.clip(np.sin(np.pi * rng.uniform(2, 5) * t) ** 2, 0, 1)
    audio = 0.25 * voice * syllables + 0.003 * rng.standard_normal(n)
    return audio.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--speakers", type=int, default=4)
    parser.add_argument("--utterances", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for s in range(args.speakers):
        f0 = 110 * 1.5**s
        folder = args.out_dir / f"voice{s}"
        folder.mkdir(parents=True, exist_ok=True)
        for u in range(args.utterances):
            audio = utterance(rng, f0, rng.uniform(0.6, 1.2))
            if s == 0:
                audio = np.stack([audio, 0.9 * audio], axis=1)  # stereo: preparation mixes it down
            sf.write(folder / f"{u:03d}.wav", audio, RATE, subtype="PCM_16")
    print(f"wrote {args.speakers * args.utterances} files to {args.out_dir}")


if __name__ == "__main__":
    main()
