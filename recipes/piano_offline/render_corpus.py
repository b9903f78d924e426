"""Render a solo-piano corpus offline: music21's bundled scores through fluidsynth.

Scores come with the music21 package (keyboard works by Mozart, Clara Schumann, Schoenberg,
Beach, Joplin and C. P. E. Bach; Bach's chorales; string quartets by Haydn, Mozart and
Beethoven). Each is written to MIDI, every part is given the acoustic grand piano (program 0)
and a gently varied velocity, and fluidsynth renders it at 16 kHz with a General MIDI
soundfont. Scores that fail to convert are reported and skipped.

    python recipes/piano_offline/render_corpus.py OUT_DIR [--max-hours 6] [--unseen-hours 0] [--soundfont FILE]

Writes OUT_DIR/piano/NAME.wav, with OUT_DIR/piano/NAME.mid beside it (the MIDI file rendered: a
piano-roll model reads it), OUT_DIR/pieces.tsv (name, source score, seconds, folder) and
OUT_DIR/ATTRIBUTION.md. With --unseen-hours H, the next H hours of pieces after the first
--max-hours go to OUT_DIR/unseen/ instead: pieces that a model trained on piano/ never heard, for
measuring it as a new user's MIDI files would (recipes/midi_piano/compare.py).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SOUNDFONTS = ["/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2"]
KEYBOARD = ["mozart/k545", "schumann_clara", "schoenberg/opus19", "beach", "joplin", "cpebach"]
ENSEMBLE = ["bach/bwv", "haydn", "mozart/k", "beethoven/opus18", "beethoven/opus59", "beethoven/opus74"]


def log(message: str) -> None:
    print(f"[piano] {message}", file=sys.stderr, flush=True)


def select_scores() -> list[str]:
    """Keyboard works first, then chorales and quartets; .mxl/.xml/.krn preferring one file per work."""
    from music21 import corpus

    paths = [str(p).split("/corpus/", 1)[1] for p in corpus.getCorePaths()]
    chosen, seen = [], set()
    for prefix in KEYBOARD + ENSEMBLE:
        for path in sorted(paths):
            stem = path.rsplit(".", 1)[0]
            if path.startswith(prefix) and stem not in seen and path.endswith((".mxl", ".xml", ".musicxml", ".krn")):
                chosen.append(path)
                seen.add(stem)
    return chosen


def render(job: tuple[str, Path, str, int]) -> tuple[str, str, float, str]:
    score_path, out_dir, soundfont, seed = job  # out_dir: the folder the WAV and MIDI files go to
    import mido
    import soundfile as sf
    from music21 import corpus

    name = score_path.rsplit(".", 1)[0].replace("/", "_")
    wav = out_dir / f"{name}.wav"
    try:
        score = corpus.parse(score_path)
        with tempfile.TemporaryDirectory() as tmp:
            midi_path = Path(tmp) / "score.mid"
            score.write("midi", fp=str(midi_path))
            midi = mido.MidiFile(str(midi_path))
            rng = random.Random(seed)
            base = rng.randint(60, 95)
            for track in midi.tracks:
                for i, msg in enumerate(track):
                    if msg.type == "program_change":
                        track[i] = msg.copy(program=0)
                    elif msg.type == "note_on" and msg.velocity > 0:
                        track[i] = msg.copy(velocity=max(20, min(127, round(rng.gauss(base, 10)))))
                track.insert(0, mido.Message("program_change", program=0, channel=0))
            for track in midi.tracks:  # the same piano on every channel, no drums
                track[:] = [m for m in track if not (hasattr(m, "channel") and m.channel == 9)]
                for ch in range(16):
                    if ch != 9:
                        track.insert(0, mido.Message("program_change", program=0, channel=ch))
            piano_midi = out_dir / f"{name}.mid"
            midi.save(str(piano_midi))
            command = ["fluidsynth", "-ni", "-q", "-R", "1", "-C", "0", "-g", "0.5", "-r", "16000"]
            command += ["-T", "wav", "-O", "s16", "-F", str(wav), soundfont, str(piano_midi)]
            subprocess.run(command, check=True, capture_output=True, timeout=600)
        return name, score_path, sf.info(str(wav)).duration, ""
    except Exception as err:  # music21 raises many kinds for a score it cannot convert
        wav.unlink(missing_ok=True)
        wav.with_suffix(".mid").unlink(missing_ok=True)
        return name, score_path, 0.0, f"{type(err).__name__}: {err}"[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--max-hours", type=float, default=6.0, help="stop once this much audio is rendered")
    parser.add_argument("--unseen-hours", type=float, default=0.0, help="then this much more, into OUT_DIR/unseen")
    parser.add_argument("--soundfont", default=None, help="a .sf2 file (default: FluidR3_GM)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    soundfont = args.soundfont or next((f for f in SOUNDFONTS if Path(f).exists()), None)
    if soundfont is None:
        sys.exit("no soundfont found: apt-get install fluid-soundfont-gm, or pass --soundfont")
    for folder in ("piano", "unseen"):
        (args.out_dir / folder).mkdir(parents=True, exist_ok=True)
    scores = select_scores()
    log(f"{len(scores)} scores selected; rendering with {soundfont}")
    rows, total = ["name\tscore\tseconds\tfolder"], {"piano": 0.0, "unseen": 0.0}
    with ProcessPoolExecutor(args.jobs) as pool:
        for start in range(0, len(scores), 2 * args.jobs):  # a few at a time, to stop at --max-hours
            folder = "piano" if total["piano"] < 3600 * args.max_hours else "unseen"
            if folder == "unseen" and total["unseen"] >= 3600 * args.unseen_hours:
                break
            jobs = [
                (s, args.out_dir / folder, soundfont, start + i)
                for i, s in enumerate(scores[start : start + 2 * args.jobs])
            ]
            for name, score, seconds, error in pool.map(render, jobs):
                if error:
                    log(f"skipped {score}: {error}")
                    continue
                rows.append(f"{name}\t{score}\t{seconds:.2f}\t{folder}")
                total[folder] += seconds
                log(f"{folder}/{name}: {seconds:.0f} s (total {total[folder] / 3600:.2f} h)")
    (args.out_dir / "pieces.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (args.out_dir / "ATTRIBUTION.md").write_text(ATTRIBUTION, encoding="utf-8")
    hours = {k: f"{v / 3600:.2f} h" for k, v in total.items()}
    log(f"{len(rows) - 1} pieces in {args.out_dir}: piano/ {hours['piano']}, unseen/ {hours['unseen']}")


ATTRIBUTION = """# Sources of this corpus

- Scores: the corpus bundled with music21 (BSD licence for the software; the scores are public
  domain works, encoded by the music21 project, the Center for Computer Assisted Research in
  the Humanities (Humdrum/KernScores) and others; see music21's corpus documentation).
- Sound: rendered with fluidsynth (LGPL-2.1) and the FluidR3_GM soundfont by Frank Wen
  (MIT licence), Debian package fluid-soundfont-gm.
"""


if __name__ == "__main__":
    main()
