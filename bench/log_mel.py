"""Log-mel frames with torch (what wavenet uses) against librosa computing the same thing: time and agreement.

    pip install librosa   # not a dependency of the library; [dev] has it for this and tests/test_dsp.py
    python bench/log_mel.py [--seconds 60] [--repeats 5] [--json bench/log_mel.json]

Why torch: it is already a dependency, and librosa brings numba and llvmlite (about 150 MB) for
a function of ten lines. This script shows that the choice costs nothing: the same frames (both
use a centred, reflection-padded Hann STFT of 1024 points and HTK mel filters without area
normalisation), timed side by side on the same noise-and-tones signal.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from wavenet.dsp import MelSpec, log_mel


def signal(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.1 * np.sin(t))) + 0.05 * rng.standard_normal(len(t))).astype(
        np.float32
    )


def librosa_log_mel(audio: np.ndarray, rate: int, options: MelSpec) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(
        y=audio,
        sr=rate,
        n_fft=options.n_fft,
        hop_length=options.hop,
        win_length=options.win,
        window="hann",
        center=True,
        pad_mode="reflect",
        power=1.0,
        n_mels=options.n_mels,
        fmin=options.fmin,
        fmax=options.fmax,
        htk=True,
        norm=None,
    )[:, : options.frames_for(len(audio))]
    return np.log(np.maximum(mel, 1e-5)).T.astype(np.float32)


def timed(function, repeats: int) -> tuple[float, np.ndarray]:
    result = function()  # warm-up (librosa compiles with numba on first use)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    options, rate = MelSpec(), 16000
    audio = signal(args.seconds, rate)
    ours_s, ours = timed(lambda: log_mel(audio, rate, options), args.repeats)
    theirs_s, theirs = timed(lambda: librosa_log_mel(audio, rate, options), args.repeats)
    import librosa

    report = {
        "seconds_of_audio": args.seconds,
        "frames": len(ours),
        "torch_s": ours_s,
        "librosa_s": theirs_s,
        "librosa_over_torch": theirs_s / ours_s,
        "max_abs_difference": float(np.abs(ours - theirs).max()),
        "versions": {"torch": torch.__version__, "librosa": librosa.__version__},
        "torch_threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
    }
    print(
        f"{args.seconds:g} s of audio, {len(ours)} frames: torch {1000 * ours_s:.1f} ms, librosa {1000 * theirs_s:.1f} ms "
        f"(librosa/torch {theirs_s / ours_s:.2f}); largest difference {report['max_abs_difference']:.2e} (natural log)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
