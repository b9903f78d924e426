"""The offline recipes, every stage, building small versions of their corpora from Debian packages."""

import csv

from tests.recipes.conftest import TINY, require_tools, run_recipe
from wavenet.checkpoint import load_release
from wavenet.data.dataset import PreparedData


def test_speech_offline_recipe(tmp_path):
    require_tools("espeak-ng", "flite", "/usr/share/asterisk/sounds/en_US_f_Allison")
    work = tmp_path / "work"
    run_recipe(
        "speech_offline",
        work,
        SYNTHETIC_MINUTES="0.03",
        ASTERISK_MINUTES="0.1",
        TRAIN_OVERRIDES=TINY,
        GENERATE_SECONDS="0.05",
    )
    with open(work / "corpus" / "voices.tsv") as f:
        voices = list(csv.DictReader(f, delimiter="\t"))
    kinds = {v["kind"] for v in voices}
    assert len(voices) >= 30 and kinds == {"recorded", "synthetic"}
    assert sum(v["engine"] == "asterisk" for v in voices) == 5
    data = PreparedData(work / "data")
    assert len(data.speakers) == len(voices)
    assert data.meta["audio"]["trim_silence"] and data.meta["audio"]["normalize"]
    assert load_release(work / "model").config.n_speakers == len(voices)
    assert "CC BY-SA 3.0" in (work / "corpus" / "ATTRIBUTION.md").read_text()
    assert len(list((work / "samples").glob("*.wav"))) == 4


def test_piano_offline_recipe(tmp_path):
    require_tools("fluidsynth", "/usr/share/sounds/sf2/FluidR3_GM.sf2")
    work = tmp_path / "work"
    run_recipe("piano_offline", work, MAX_HOURS="0.01", TRAIN_OVERRIDES=TINY, GENERATE_SECONDS="0.05")
    pieces = (work / "corpus" / "pieces.tsv").read_text().splitlines()[1:]
    assert pieces and pieces[0].startswith("mozart_k545")
    data = PreparedData(work / "data")
    assert data.speakers == {"piano": 0}
    assert (work / "samples" / "speaker-piano.wav").is_file()
