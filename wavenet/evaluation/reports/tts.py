"""The text-to-speech part of docs/QUALITY.md, its picture and samples: alignment, prosody, intelligibility, voices.

    python -m wavenet.evaluation.reports tts [--prompts 60] [--extra 40] [--voices all]

Needs the tts recipe's prepared data (recipes/tts), pocketsphinx (`pip install -e '.[dev]'`),
espeak-ng (its reading of the same texts) and Debian's fortunes (the corpus's sentences). Every
figure is computed here:

- **Held-out sentences**: the 60 transcribed en_US_f_Allison prompts of the recipe's test split
  (chosen at random with a fixed seed before training, never trained on) and ``--extra``
  sentences of Debian's fortunes (up to 80 characters: the corpus's own filter, shorter) that no
  voice of the corpus read, chosen at random with seed 0. How many of them have the text of a
  file that was trained on (or validated on) is counted, not assumed.
- **Alignment** (how the training frames are timed): espeak-ng's own phone times when other
  voices of it (en-us+f3 at its rate, en-us+m7 at 130 words a minute, en-us+f2 at 220) read 20
  held-out texts, against those found by aligning that audio to the en-us reading.
- **Prosody**: the plan for each held-out prompt in Allison's voice against her recording
  (aligned): phone duration RMSE (ms) and F0 RMSE on frames voiced in both (cents), for the
  trained models, the rescaled prosody and espeak-ng's unscaled.
- **Intelligibility**: pocketsphinx's word error rate on every held-out sentence, spoken by the
  model in each of ``--voices`` (by default Allison and one voice of each synthetic engine; or all), beside
  espeak-ng reading the same texts and, for the prompts, her recordings.
- **Voices**: each voice's median F0 and share of voiced frames in what the model said, against
  10 of its training recordings.
"""

from __future__ import annotations

import importlib.util
import random
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from wavenet import mulaw
from wavenet.data.audio import AudioOptions, load_audio
from wavenet.data.manifest import read_manifest
from wavenet.evaluation.intelligibility import word_error_rate
from wavenet.evaluation.quality import median_f0, voiced_share
from wavenet.evaluation.reports.common import (
    F0_THRESHOLD,
    PICTURES,
    ROOT,
    espeak,
    machine,
    plt,
    read_json,
    recognise_all,
    resynthesise,
    save,
    write_json,
    write_section,
)
from wavenet.release import Checkpoint, load_release
from wavenet.speech import sentence_frames
from wavenet.synthesizer import text_frames
from wavenet.text.align import Segment, align, boundary_errors
from wavenet.text.espeak import PAUSE
from wavenet.text.espeak import render as espeak_reading
from wavenet.text.normalize import normalize
from wavenet.text.prosody import Voice, accuracy, plan

BEGIN, END = "<!-- text to speech: python -m wavenet.evaluation.reports tts -->", "<!-- end of text to speech -->"
JSON = PICTURES / "tts.json"
ALLISON = "asterisk-en_US_f_Allison"
# Her (the recorded voice), and one voice of each synthetic engine: pocketsphinx runs at about real
# time on what the model says now, so the 37 voices' 100 sentences would take 2 to 3 hours here.
VOICES = (ALLISON, "mbrola-mb-us2", "flite-slt", "espeak-en-us-m1")
MAX_CHARS = 80


def _corpus_module():
    """recipes/speech_offline/build_corpus.py, which knows the corpus's candidate sentences."""
    path = ROOT / "recipes" / "speech_offline" / "build_corpus.py"
    spec = importlib.util.spec_from_file_location("build_corpus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_in_training(texts: list[str], data: Path) -> int:
    """How many of ``texts`` (normalised) are the text of a file of the prepared data's train or valid split."""
    seen = set()
    for split in ("train", "valid"):
        for u in read_manifest(data / f"{split}.tsv"):
            seen.add(normalize(u.path.with_suffix(".txt").read_text(encoding="utf-8")))
    return sum(normalize(t) in seen for t in texts)


def unread_sentences(data: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` of the corpus's candidate sentences (Debian's fortunes) that no file of the prepared data reads."""
    candidates = _corpus_module().sentences

    read = set()
    for split in ("train", "valid", "test"):
        for u in read_manifest(data / f"{split}.tsv"):
            read.add(" ".join(u.path.with_suffix(".txt").read_text(encoding="utf-8").split()))
    unread = [s for s in candidates() if s not in read and len(s) <= MAX_CHARS]
    return random.Random(seed).sample(unread, min(n, len(unread)))


def speak(ckpt: Checkpoint, jobs: list[tuple[str, str]]) -> list[np.ndarray]:
    """The model's audio for each (voice, text), every sentence of it; stream i seeded with i, 16 at a time.

    A two-stage release's vocoder speaks its acoustic model's frames, as synthesis does (:mod:`wavenet.speech`)."""
    stage = ckpt.acoustic
    frames, speakers = [], []
    for v, t in jobs:
        planned = text_frames(ckpt, t, ckpt.speakers[v])
        if stage is None:
            frames.append(np.concatenate(planned))
            speakers.append(ckpt.speakers[v])
        else:
            f0 = ckpt.metadata.get("f0", "model")
            frames.append(np.concatenate([sentence_frames(stage, f, ckpt.speakers[v], f0) for f in planned]))
            speakers.append(stage.vocoder_speaker(v))
    return resynthesise(ckpt, frames, speakers, batch=16)


def alignment_accuracy(texts: list[str]) -> dict:
    rows = {}
    for voice, rate in (("en-us+f3", None), ("en-us+m7", 130), ("en-us+f2", 220)):
        errors = []
        for text in texts:
            truth = espeak_reading(text, voice=voice, rate=rate)
            found = align(truth.audio, truth.sample_rate, text)
            try:
                errors.append(boundary_errors(found, [Segment(*s) for s in truth.segments()]))
            except ValueError:
                continue
        e = np.concatenate(errors)
        rows[f"{voice} at {rate or 175} wpm"] = {
            "phones": len(e), "mean_ms": 1000 * e.mean(), "median_ms": 1000 * np.median(e),
            "within_20ms": float(np.mean(e <= 0.02)),
        }  # fmt: skip
    return rows


def voice_figures(spoken: dict[str, list[np.ndarray]], data: Path, options: AudioOptions) -> dict:
    """Per voice: median F0 and voiced share of what the model said, and of 10 of the voice's training files."""
    train = read_manifest(data / "train.tsv")
    out = {}
    for name, audio in spoken.items():
        theirs = [load_audio(u.path, options) for u in [u for u in train if u.speaker == name][:10]]
        said, real = np.concatenate(audio), np.concatenate(theirs)
        out[name] = {"median_f0": median_f0(said, threshold=F0_THRESHOLD),
                     "recordings_median_f0": median_f0(real, threshold=F0_THRESHOLD),
                     "voiced": voiced_share(said, threshold=F0_THRESHOLD),
                     "recordings_voiced": voiced_share(real, threshold=F0_THRESHOLD)}  # fmt: skip
    return out


def alignment_picture(ckpt: Checkpoint, name: str, text: str, recording: np.ndarray, said: np.ndarray,
                      pictures: Path) -> str:  # fmt: skip
    """Her recording with its aligned phones, and the model's speech with the phones it was told."""
    voice = Voice.from_dict(ckpt.metadata.get("prosody", {}).get(ALLISON, {}))
    told = plan(text, voice, ckpt.config.cond_hop, 16000).segments
    found = align(recording, 16000, text)
    fig, axes = plt().subplots(2, 1, figsize=(11, 6))
    for ax, audio, segments, title in ((axes[0], recording, found, "her recording, phones aligned"),
                                       (axes[1], said, told, f"{name} in her voice, phones it was told")):  # fmt: skip
        ax.specgram(audio + 1e-7, NFFT=512, Fs=16000, noverlap=384, cmap="magma", vmin=-120)
        for s in segments:
            ax.axvline(s.start, color="white", lw=0.6, alpha=0.7)
            if s.phone != PAUSE:
                ax.text((s.start + s.end) / 2, 7300, s.phone, color="white", ha="center", va="top", fontsize=7)
        ax.set(title=f'"{text}": {title}', ylabel="Hz", xlim=(0, max(len(audio) / 16000, segments[-1].end)))
    axes[1].set_xlabel("seconds")
    return save(fig, "tts-alignment.png", pictures)


MODELS = (ROOT / "checkpoints" / "tts-acoustic", ROOT / "checkpoints" / "tts-small")


def card(ckpt: Checkpoint) -> dict:
    """What a row of the report names: the model's kind, size and training."""
    if ckpt.acoustic is not None:
        stage = ckpt.acoustic
        return {"kind": "two stages", "vocoder": stage.path, "parameters": stage.model.parameter_count(),
                "vocoder_parameters": ckpt.model.parameter_count(), "steps": ckpt.metadata.get("steps", "?"),
                "f0": ckpt.metadata.get("f0", "model")}  # fmt: skip
    return {"kind": "direct", "parameters": ckpt.model.parameter_count(),
            "receptive_field_ms": ckpt.config.receptive_field_ms, "steps": ckpt.metadata.get("steps", "?")}  # fmt: skip


def measure(models: tuple[Path, ...] = MODELS, data: Path = ROOT / "work" / "tts" / "data", prompts: int = 60,
            extra: int = 40, voices: str = ",".join(VOICES), json_path: Path = JSON) -> dict:  # fmt: skip
    """Every figure of the section, into ``json_path`` (docs/quality/tts.json): each of ``models`` on the same
    sentences in the same voices; the first (the bundled default) also gives the prosody, picture and samples."""
    start = time.time()
    pictures, samples_dir = json_path.parent, json_path.parent.parent / "samples"
    ckpts = {Path(m).name: load_release(Path(m)) for m in models}
    ckpt = next(iter(ckpts.values()))
    options = ckpt.audio
    test = read_manifest(data / "test.tsv")[:prompts]
    held_out = [u.path.with_suffix(".txt").read_text(encoding="utf-8").strip() for u in test]
    recordings = [load_audio(u.path, options) for u in test]
    refs = held_out + unread_sentences(data, extra)
    texts = [normalize(r) for r in refs]
    n = len(held_out)
    print(f"[tts] {n} held-out prompts and {len(refs) - n} unread sentences", flush=True)
    results: dict = {
        "command": _command(models, prompts, extra, voices),
        "machine": machine(),
        "sentences": {"prompts": n, "unread": len(refs) - n, "read_in_training": read_in_training(refs, data)},
        "texts": refs,
    }
    results["alignment"] = alignment_accuracy(texts[:20])
    print("[tts] alignment measured", flush=True)
    voice = Voice.from_dict(ckpt.metadata.get("prosody", {}).get(ALLISON, {}))
    results["prosody"] = accuracy(
        [(a, 16000, t) for a, t in zip(recordings, texts, strict=False)],
        {"trained models": voice, "rescaled": voice.rescaled(), "espeak-ng unscaled": Voice()},
    )
    results["prosody_choice"] = ckpt.metadata.get("prosody_choice", {})
    print("[tts] prosody measured", flush=True)
    reading = recognise_all([espeak(t) for t in refs])
    results["baselines"] = {
        "recordings": {"prompts": word_error_rate(list(zip(held_out, recognise_all(recordings), strict=True)))},
        "espeak-ng en-us": {"all": word_error_rate(list(zip(refs, reading, strict=True))),
                            "prompts": word_error_rate(list(zip(refs[:n], reading[:n], strict=True)))},
    }  # fmt: skip
    names = sorted(ckpt.speakers) if voices == "all" else voices.split(",")
    results["models"], first_spoken = {}, None
    for model_name, model in ckpts.items():
        audio = speak(model, [(v, t) for v in names for t in texts])
        print(f"[tts] {model_name} spoke {len(refs)} sentences in each of {len(names)} voices", flush=True)
        spoken = {v: audio[i * len(refs) : (i + 1) * len(refs)] for i, v in enumerate(names)}
        first_spoken = first_spoken or spoken
        wer = {}
        everything = recognise_all(audio)
        for i, v in enumerate(spoken):
            heard = everything[i * len(refs) : (i + 1) * len(refs)]
            wer[v] = {"all": word_error_rate(list(zip(refs, heard, strict=True))),
                      "prompts": word_error_rate(list(zip(refs[:n], heard[:n], strict=True)))}  # fmt: skip
        print(f"[tts] {model_name} recognised", flush=True)
        results["models"][model_name] = {"card": card(model), "wer": wer,
                                         "voices": voice_figures(spoken, data, options)}  # fmt: skip
    spoken, first = first_spoken, next(iter(ckpts))
    pick = max(range(n), key=lambda i: (len(held_out[i]) <= 60, len(held_out[i])))  # the longest of up to 60 characters
    results["picture"] = (
        alignment_picture(ckpt, first, texts[pick], recordings[pick], spoken[ALLISON][pick], pictures)
        if ALLISON in spoken
        else None
    )
    results["samples"] = []
    samples_dir.mkdir(parents=True, exist_ok=True)
    for i, (v, k) in enumerate([(ALLISON, pick), (ALLISON, n), *[(v, n + 1) for v in ("mbrola-mb-us2", "flite-slt")]]):
        if v in spoken and k < len(refs):
            name = f"tts-{i}-{v}.wav"
            sf.write(samples_dir / name, mulaw.to_pcm16(spoken[v][k][: 8 * 16000]), 16000, subtype="PCM_16")
            results["samples"].append({"file": name, "model": first, "text": refs[k]})
    results["seconds"] = time.time() - start
    write_json(json_path, results)
    return results


def _command(models: tuple[Path, ...], prompts: int, extra: int, voices: str) -> str:
    options = (f" --prompts {prompts}" if prompts != 60 else "") + (f" --extra {extra}" if extra != 40 else "")
    if tuple(map(Path, models)) != MODELS:
        options += " --models " + ",".join(str(m) for m in models)
    return (
        "python -m wavenet.evaluation.reports tts"
        + options
        + (f" --voices {voices}" if voices != ",".join(VOICES) else "")
    )


def render(r: dict) -> str:
    """The section, from the JSON that :func:`measure` wrote."""
    s = r["sentences"]
    read = s.get("read_in_training")
    if read is None:
        overlap = "Whether any of them is the text of a training file was not counted in this run."
    elif read == 0:
        overlap = "None of them is the text of a file of the training or validation split, in any voice."
    else:
        overlap = (f"**{read} of them have the text of a file of the training or validation split**, so they are "
                   "not wholly unseen.")  # fmt: skip
    lines = [BEGIN, "", "## Text to speech", "", f"Regenerated by `{r['command']}` ({r['seconds'] / 60:.0f} minutes on "
             f"{r['machine']}).", "", "The models, side by side on the same sentences and voices:", ""]  # fmt: skip
    for name, m in r["models"].items():
        c = m["card"]
        if c["kind"] == "two stages":
            lines.append(f"- **{name}** (two stages): an acoustic model of {c['parameters']:,} parameters "
                         f"({c['steps']} training steps) predicts log-mel and F0 (from the {c['f0']}) per frame; the "
                         f"mel vocoder `{c['vocoder']}` ({c['vocoder_parameters']:,} parameters) speaks them.")  # fmt: skip
        else:
            lines.append(f"- **{name}** (direct): a WaveNet of {c['parameters']:,} parameters, receptive field "
                         f"{c['receptive_field_ms']:.0f} ms, {c['steps']} training steps, reads the linguistic frames.")  # fmt: skip
    lines += ["", f"**Held-out sentences**: the {s['prompts']} en_US_f_Allison prompts of the recipe's test split "
             "(chosen at random with a fixed seed before training) and "
             f"{s['unread']} sentences of Debian's fortunes of at most {MAX_CHARS} characters that no voice of the "
             f"corpus read (chosen at random, seed 0). {overlap}", "",
             "**Alignment** (how the training frames are timed): espeak-ng's own phone start times when other "
             "voices of it read 20 held-out texts, against the times found by warping the en-us reading onto "
             "that audio.", "", "| reader | phones | mean error | median | within 20 ms |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, a in r["alignment"].items():
        lines.append(
            f"| {name} | {a['phones']} | {a['mean_ms']:.1f} ms | {a['median_ms']:.1f} ms | {a['within_20ms']:.0%} |"
        )
    choice = r.get("prosody_choice") or {}
    lines += ["", f"**Prosody** of the plan for each of the {s['prompts']} held-out Allison prompts against her "
              "recording (aligned the same way): phone durations and F0 on frames voiced in both. Trained models: "
              "per-voice ridge regressions over each phone's context correcting the rescaled prosody "
              "(wavenet/text/prosody.py).", "",
              "| prosody | phones | duration RMSE | F0 RMSE |", "|---|---:|---:|---:|"]  # fmt: skip
    for name, p in r["prosody"].items():
        lines.append(f"| {name} | {p['phones']} | {p['duration_rmse_ms']:.0f} ms | {p['f0_rmse_cents']:.0f} cents |")
    if "held_out" in choice:
        h = choice["held_out"]
        lines += ["", f"The release uses the trained duration model: **{choice['duration'] == 'trained'}**, the "
                  f"trained F0 model: **{choice['f0'] == 'trained'}**, as recipes/tts/voices.py chose on every voice's "
                  f"held-out files ({h['trained']['files']}, valid and test splits pooled): durations "
                  f"{h['trained']['duration_rmse_ms']:.1f} ms trained against {h['rescaled']['duration_rmse_ms']:.1f} ms "
                  f"rescaled, F0 {h['trained']['f0_rmse_cents']:.0f} against {h['rescaled']['f0_rmse_cents']:.0f} cents."]  # fmt: skip
    b = r["baselines"]
    lines += ["", f"**Intelligibility**: pocketsphinx word error rate on all {s['prompts'] + s['unread']} held-out "
              f"sentences and on the {s['prompts']} prompts alone, with **Voices**: median F0 and share of voiced "
              "frames (YIN, as the rest of this report) of what the model said, against 10 of the voice's "
              "training recordings.", "",
              "| speech | WER, all | WER, prompts | median F0 said | recordings | voiced said | recordings |",
              "|---|---:|---:|---:|---:|---:|---:|",
              f"| Allison's recordings | | {b['recordings']['prompts']:.0%} | | | | |",
              f"| espeak-ng en-us | {b['espeak-ng en-us']['all']:.0%} | {b['espeak-ng en-us']['prompts']:.0%} | | | | |"]  # fmt: skip
    espeak_all = b["espeak-ng en-us"]["all"]
    verdicts = []
    for model, m in r["models"].items():
        for name, w in m["wer"].items():
            x = m["voices"][name]
            lines.append(f"| {model} as {name} | {w['all']:.0%} | {w['prompts']:.0%} | {x['median_f0']:.0f} Hz | "
                         f"{x['recordings_median_f0']:.0f} Hz | {x['voiced']:.0%} | {x['recordings_voiced']:.0%} |")  # fmt: skip
        beaten = [name for name, w in m["wer"].items() if w["all"] < espeak_all]
        verdict = (f"{model}: voices whose word error rate is below espeak-ng's {espeak_all:.0%}: "
                   + (", ".join(beaten) if beaten else "none") + ".")  # fmt: skip
        a = [x["median_f0"] for x in m["voices"].values()]
        c = [x["recordings_median_f0"] for x in m["voices"].values()]
        if len(a) >= 3 and np.isfinite(a).all():
            verdict += f" Across these {len(a)} voices, r = {np.corrcoef(a, c)[0, 1]:.2f} between the two median F0s."
        else:
            verdict += " The median F0s cannot be correlated: some voices' speech has too few voiced frames for one."
        verdicts.append(verdict)
    lines += ["", *[f"- {v}" for v in verdicts]]
    if r.get("picture"):
        lines += [
            "",
            f"![A held-out prompt: her recording and {next(iter(r['models']))}'s speech, phones drawn]"
            f"(quality/{r['picture']})",
        ]
    if r["samples"]:
        lines += ["", f"Samples of {next(iter(r['models']))} (held-out sentences): " + ", ".join(
            f"[{x['file']}](samples/{x['file']}) (\"{x['text']}\")" for x in r["samples"]) + "."]  # fmt: skip
    lines += ["", END]
    return "\n".join(lines) + "\n"


def run(render_only: bool = False, **options) -> None:
    """Measure (unless ``render_only``) and write the section into QUALITY.md."""
    results = read_json(JSON) if render_only else measure(**options)
    write_section(render(results), BEGIN, END)
