"""Every voice of the text-to-speech models, measured over as many runs as it takes: docs/QUALITY.md's table.

    python -m wavenet.evaluation.reports tts-voices [--models A,B] [--sentences 100] [--minutes M]

The tts section (:mod:`.tts`) measures four voices; this one measures all 37, voice by voice, on the
same held-out sentences (its 60 Allison prompts and 40 unread fortunes, or ``--sentences`` of them
spread evenly over both). pocketsphinx runs at about real time on what the models say, so 100
sentences in 37 voices take hours on 2 cores. Each run therefore goes on from the voices already
measured (docs/quality/tts-voices.json keeps them, with the sentences and a fingerprint of each
model: a changed model or sentence list starts over) and, having measured at least one voice,
starts no more after ``--minutes``. The JSON is written after every voice, the table when the run
ends (``--render-only`` renders what an interrupted run measured). Per voice: pocketsphinx's word
error rate beside espeak-ng en-us reading the same sentences, and the median F0 and voiced share
of what the model said beside 10 of the voice's training recordings (:func:`.tts.voice_figures`).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from wavenet.data.manifest import read_manifest
from wavenet.evaluation.intelligibility import word_error_rate
from wavenet.evaluation.reports.common import (
    PICTURES,
    ROOT,
    espeak,
    machine,
    read_json,
    recognise_all,
    write_json,
    write_section,
)
from wavenet.evaluation.reports.tts import MODELS, speak, unread_sentences, voice_figures
from wavenet.release import Checkpoint, load_release
from wavenet.text.normalize import normalize

BEGIN, END = "<!-- every voice: python -m wavenet.evaluation.reports tts-voices -->", "<!-- end of every voice -->"
JSON = PICTURES / "tts-voices.json"
DATA = ROOT / "work" / "tts" / "data"


def held_out_sentences(data: Path, count: int) -> tuple[list[str], int]:
    """``count`` of the tts report's 100 held-out sentences, evenly spread; and how many of them are prompts."""
    prompts = [u.path.with_suffix(".txt").read_text(encoding="utf-8").strip() for u in read_manifest(data / "test.tsv")]
    refs = prompts[:60] + unread_sentences(data, 40)
    picked = sorted({int(i) for i in np.linspace(0, len(refs) - 1, min(count, len(refs))).round()})
    return [refs[i] for i in picked], sum(i < len(prompts[:60]) for i in picked)


def fingerprint(model: Path, ckpt: Checkpoint) -> str:
    """What identifies a release's measured figures: its config (and its vocoder's, for two stages)."""
    digest = hashlib.sha256((model / "config.json").read_bytes())
    if ckpt.acoustic is not None:
        digest.update(((model / ckpt.acoustic.path).resolve() / "config.json").read_bytes())
    return digest.hexdigest()[:16]


def measure(models: tuple[Path, ...] = MODELS[:1], data: Path = DATA, sentences: int = 100,
            minutes: float | None = None, json_path: Path = JSON) -> dict:  # fmt: skip
    """Measure the voices not yet measured on ``sentences`` sentences, model by model, until done or ``minutes``
    have passed. The JSON keeps one table per number of sentences (a quick table and the full one side by side)."""
    start = time.time()
    refs, prompts = held_out_sentences(data, sentences)
    texts = [normalize(r) for r in refs]
    document = read_json(json_path) if json_path.exists() else {"tables": {}}
    saved = document["tables"].get(str(len(refs)), {})
    if saved.get("texts") != refs:
        saved = {}  # other sentences: nothing measured applies
    table = {
        "command": "python -m wavenet.evaluation.reports tts-voices"
        + (f" --sentences {sentences}" if sentences != 100 else "")
        + (f" --models {','.join(map(str, models))}" if tuple(map(Path, models)) != MODELS[:1] else ""),
        "machine": machine(),
        "sentences": {"count": len(refs), "prompts": prompts, "unread": len(refs) - prompts},
        "texts": refs,
        "seconds": saved.get("seconds", 0.0),
        "espeak": saved.get("espeak"),
        "models": {},
    }
    document["tables"][str(len(refs))] = table
    if table["espeak"] is None:
        heard = recognise_all([espeak(r) for r in refs])
        table["espeak"] = {"wer": word_error_rate(list(zip(refs, heard, strict=True)))}
    options, measured = None, 0  # every run measures at least one voice
    for model in map(Path, models):
        ckpt = load_release(model)
        options = options or ckpt.audio
        mark = fingerprint(model, ckpt)
        before = saved.get("models", {}).get(model.name, {})
        entry = {"fingerprint": mark, "voices": before.get("voices", {}) if before.get("fingerprint") == mark else {}}
        table["models"][model.name] = entry
        for voice in sorted(ckpt.speakers):
            if voice in entry["voices"]:
                continue
            if minutes is not None and measured and time.time() - start > 60 * minutes:
                break
            measured += 1
            began = time.time()
            audio = speak(ckpt, [(voice, t) for t in texts])
            heard = recognise_all(audio)
            figures = voice_figures({voice: audio}, data, options)[voice]
            entry["voices"][voice] = {"wer": word_error_rate(list(zip(refs, heard, strict=True))), **figures,
                                      "seconds": round(time.time() - began, 1)}  # fmt: skip
            table["seconds"] = saved.get("seconds", 0.0) + time.time() - start
            write_json(json_path, document)  # a run stopped here loses nothing: `--render-only` renders it
            print(f"[tts-voices] {model.name} as {voice}: {entry['voices'][voice]['wer']:.0%} WER "
                  f"({len(entry['voices'])} of {len(ckpt.speakers)} voices)", flush=True)  # fmt: skip
    table["seconds"] = saved.get("seconds", 0.0) + time.time() - start
    write_json(json_path, document)
    return document


def _share(x: float) -> str:
    return f"{x:.0%}" if np.isfinite(x) else "n/a"


def render(document: dict) -> str:
    """The section, from the JSON that :func:`measure` wrote: a table per number of sentences, the most first."""
    lines = [BEGIN, "", "### Every voice", ""]
    for _, r in sorted(document["tables"].items(), key=lambda kv: -int(kv[0])):
        lines += _table(r)
    lines.append(END)
    return "\n".join(lines) + "\n"


def _table(r: dict) -> list[str]:
    """Each voice measured so far on one set of sentences, and what they add up to."""
    s, baseline = r["sentences"], r["espeak"]["wer"]
    lines = [f"**{s['count']} sentences** per voice, measured by `{r['command']}` (so far {r['seconds'] / 60:.0f} "
             f"minutes on {r['machine']}, over one or more runs): {s['prompts']} of the Allison prompts and "
             f"{s['unread']} of the unread fortunes above, evenly spread over them. espeak-ng en-us reading the same "
             f"sentences: **{baseline:.0%}** WER.", ""]  # fmt: skip
    for name, m in r["models"].items():
        voices = m["voices"]
        if not voices:
            continue
        below = [v for v, x in voices.items() if x["wer"] < baseline]
        close = [v for v, x in voices.items() if abs(x["voiced"] - x["recordings_voiced"]) <= 0.10]
        said = [x["median_f0"] for x in voices.values()]
        real = [x["recordings_median_f0"] for x in voices.values()]
        corr = (f"r = {np.corrcoef(said, real)[0, 1]:.2f}" if len(said) >= 3 and np.isfinite(said).all()
                else "not computable (too few voices, or one with too few voiced frames)")  # fmt: skip
        lines += [f"{name}: {len(voices)} voices measured; WER below espeak-ng's in **{len(below)}**; voiced share "
                  f"within 10 points of the recordings' in **{len(close)}**; median F0 against the recordings' "
                  f"{corr}.", "", "| voice | WER | voiced said | recordings | median F0 said | recordings |",
                  "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        for v, x in sorted(voices.items()):
            lines.append(f"| {v} | {x['wer']:.0%} | {_share(x['voiced'])} | {_share(x['recordings_voiced'])} | "
                         f"{x['median_f0']:.0f} Hz | {x['recordings_median_f0']:.0f} Hz |")  # fmt: skip
        lines.append("")
    return lines


def run(render_only: bool = False, **options) -> None:
    """Measure what is not yet measured (unless ``render_only``) and write the table into QUALITY.md."""
    results = read_json(JSON) if render_only else measure(**options)
    write_section(render(results), BEGIN, END)
