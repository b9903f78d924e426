"""The VCTK and MAESTRO recipes, every stage, on small fake corpora laid out like the real ones."""

import json

import pytest
import soundfile as sf

from tests.conftest import write_tone
from tests.recipes.conftest import TINY, run_recipe
from wavenet.data.dataset import PreparedData
from wavenet.release import load_release

pytestmark = pytest.mark.recipes  # about a minute together: `make test-recipes` and CI run them, `make test` does not


def test_vctk_recipe_on_a_fake_corpus(tmp_path):
    root = tmp_path / "VCTK-Corpus-0.92"
    for s, speaker in enumerate(("p225", "p226", "p227", "p228")):
        for i in range(1, 6):
            for mic in (1, 2):
                write_tone(
                    root / "wav48_silence_trimmed" / speaker / f"{speaker}_{i:03d}_mic{mic}.flac",
                    0.3,
                    48000,
                    100 + 40 * s,
                )
    work = tmp_path / "work"
    run_recipe("speech_vctk", work, VCTK_ROOT=str(root), TRAIN_OVERRIDES=TINY, GENERATE_SECONDS="0.05")
    data = PreparedData(work / "data")
    assert data.speakers == {"p225": 0, "p226": 1, "p227": 2, "p228": 3}
    assert sum(data.meta["splits"][s]["utterances"] for s in data.split_names) == 20  # mic1 only
    assert load_release(work / "model").speakers == data.speakers
    assert "3-gram" in (work / "eval.md").read_text()
    for speaker in ("p225", "p226", "p227", "p228"):
        assert len(sf.read(work / "samples" / f"speaker-{speaker}.wav")[0]) == 800


def test_maestro_recipe_keeps_the_official_split(tmp_path):
    root = tmp_path / "maestro-v3.0.0"
    rows = ["canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration"]
    for i, split in enumerate(["train"] * 4 + ["validation", "test"]):
        write_tone(root / "2004" / f"p{i}.wav", 0.4, 44100, 220 + 30 * i, channels=2)
        rows.append(f"Chopin,Etude {i},{split},2004,2004/p{i}.midi,2004/p{i}.wav,0.4")
    (root / "maestro-v3.0.0.csv").write_text("\n".join(rows) + "\n")
    work = tmp_path / "work"
    run_recipe(
        "piano_maestro", work, MAESTRO_ROOT=str(root), TRAIN_OVERRIDES=TINY, GENERATE_SECONDS="0.05", EVAL_SPLIT="test"
    )
    splits = PreparedData(work / "data").meta["splits"]
    assert {k: v["utterances"] for k, v in splits.items()} == {"train": 4, "valid": 1, "test": 1}
    report = json.loads((work / "eval.json").read_text())
    assert [f["path"].rsplit("/", 1)[1] for f in report["files"]] == ["p5.wav"]  # scored on MAESTRO's test piece


def test_public_recipes_say_what_is_missing(tmp_path):
    import subprocess

    from tests.recipes.conftest import ROOT

    result = subprocess.run(
        ["bash", str(ROOT / "recipes/speech_vctk/run.sh"), "manifest"],
        env={"PATH": "/usr/bin:/bin", "WORK": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "set VCTK_ROOT" in result.stderr
