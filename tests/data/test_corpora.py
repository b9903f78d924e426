"""The public-corpus manifests, on small fake corpora laid out like the real ones."""

import pytest

from tests.conftest import write_tone
from wavenet.data.corpora import directory_manifest, maestro_manifest, vctk_manifest
from wavenet.errors import WavenetError


def test_vctk_092_layout_uses_one_microphone(tmp_path):
    root = tmp_path / "VCTK-Corpus-0.92"
    for spk in ("p225", "p226"):
        for i in (1, 2):
            for mic in (1, 2):
                write_tone(root / "wav48_silence_trimmed" / spk / f"{spk}_00{i}_mic{mic}.flac", 0.1, 48000)
    (root / "speaker-info.txt").write_text("ID AGE GENDER ACCENTS\n")
    utterances = vctk_manifest(tmp_path)  # the parent folder works too
    assert len(utterances) == 4
    assert {u.speaker for u in utterances} == {"p225", "p226"}
    assert all(u.path.name.endswith("_mic1.flac") and abs(u.duration - 0.1) < 1e-3 for u in utterances)
    assert all(u.path.name.endswith("_mic2.flac") for u in vctk_manifest(root, mic=2))


def test_vctk_080_layout(tmp_path):
    root = tmp_path / "VCTK-Corpus"
    write_tone(root / "wav48" / "p300" / "p300_001.wav", 0.1, 48000)
    [u] = vctk_manifest(root)
    assert u.speaker == "p300"


def test_vctk_errors(tmp_path):
    with pytest.raises(WavenetError, match="no wav48_silence_trimmed"):
        vctk_manifest(tmp_path)
    with pytest.raises(WavenetError, match="not a directory"):
        vctk_manifest(tmp_path / "none")


def test_maestro_keeps_its_split(tmp_path):
    root = tmp_path / "maestro-v3.0.0"
    rows = ["canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration"]
    for i, split in enumerate(["train", "validation", "test"]):
        write_tone(root / "2018" / f"piece{i}.wav", 0.1, 44100)
        rows.append(f'Bach,"Prelude, No. {i}",{split},2018,2018/piece{i}.midi,2018/piece{i}.wav,0.1')
    (root / "maestro-v3.0.0.csv").write_text("\n".join(rows) + "\n")
    utterances = maestro_manifest(root)
    assert [u.split for u in utterances] == ["train", "valid", "test"]
    assert all(u.speaker == "piano" and u.path.exists() for u in utterances)


def test_maestro_errors(tmp_path):
    with pytest.raises(WavenetError, match="no maestro-v"):
        maestro_manifest(tmp_path)
    (tmp_path / "maestro-v3.0.0.csv").write_text("split,duration\ntrain,1\n")
    with pytest.raises(WavenetError, match=r"maestro-v3.0.0.csv:1: missing column\(s\) audio_filename"):
        maestro_manifest(tmp_path)
    (tmp_path / "maestro-v3.0.0.csv").write_text("audio_filename,split,duration\na.wav,dev,1\n")
    with pytest.raises(WavenetError, match="maestro-v3.0.0.csv:2: unknown split 'dev'"):
        maestro_manifest(tmp_path)


def test_directory_speakers_from_folders(tmp_path):
    write_tone(tmp_path / "alice" / "x.wav", 0.1)
    write_tone(tmp_path / "bob" / "sub" / "y.flac", 0.1)
    (tmp_path / "notes.txt").write_text("not audio")
    utterances = directory_manifest(tmp_path)
    assert [(u.path.name, u.speaker) for u in utterances] == [("x.wav", "alice"), ("y.flac", "bob")]
    assert {u.speaker for u in directory_manifest(tmp_path, speaker="solo")} == {"solo"}
    (tmp_path / "empty").mkdir()
    with pytest.raises(WavenetError, match="no audio files"):
        directory_manifest(tmp_path / "empty")
    with pytest.raises(WavenetError, match="not a directory"):
        directory_manifest(tmp_path / "missing")
