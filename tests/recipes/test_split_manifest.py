"""recipes/speech_offline/split_manifest.py: the held-out prompts, and no held-out text left in training."""

import subprocess
import sys

import numpy as np
import soundfile as sf

from tests.recipes.conftest import ROOT

ALLISON = "asterisk-en_US_f_Allison"


def say(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / f"{name}.wav", np.full(1600, 0.1, dtype=np.float32), 16000)
    (folder / f"{name}.txt").write_text(text)


def words(path) -> str:
    return " ".join(path.with_suffix(".txt").read_text().lower().replace(",", " ").strip(" .!").split())


def test_every_file_saying_a_held_out_text_is_left_out_of_training(tmp_path):
    """Her 12 prompts say 6 sentences twice each (written differently); another voice reads the 6 too."""
    corpus = tmp_path / "corpus"
    for i in range(6):
        say(corpus / ALLISON, f"{i:04d}", f"Sentence number {i}.")
        say(corpus / ALLISON, f"{i + 10:04d}", f"SENTENCE, number {i}")
        say(corpus / "flite-slt", f"{i:04d}", f"sentence number {i}!")
    say(corpus / "flite-awb", "0000", "Sentence number 0.")  # a voice held out whole: stays, as test
    out = tmp_path / "manifest.tsv"
    script = ROOT / "recipes/speech_offline/split_manifest.py"
    subprocess.run([sys.executable, str(script), str(corpus), str(out), "--held-out-speakers", "flite-awb"], check=True)
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    split = {corpus / r[1] / r[0].rsplit("/", 1)[1]: r[3] for r in rows}
    held = [path for path, s in split.items() if s == "test" and path.parent.name == ALLISON]
    assert len(held) == 6  # half of her prompts
    held_texts = {words(path) for path in held}
    for path, s in split.items():
        assert s == "test" or words(path) not in held_texts, path  # nothing trained says a held-out text
    for i in range(6):
        reading = corpus / "flite-slt" / f"{i:04d}.wav"
        assert (reading in split) == (words(reading) not in held_texts)  # left out exactly when its text is held
    assert split[corpus / "flite-awb/0000.wav"] == "test"
    allison = [corpus / ALLISON / f"{i:04d}.wav" for i in [*range(6), *range(10, 16)]]
    absent = {path for path in allison if path not in split}
    assert absent == {path for path in allison if path not in held and words(path) in held_texts}
