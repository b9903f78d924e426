import pytest

from wavenet.data.manifest import Utterance, read_manifest, write_manifest
from wavenet.errors import WavenetError


def test_round_trip_with_relative_paths(tmp_path):
    utterances = [
        Utterance(tmp_path / "a" / "1.wav", "alice", 1.5),
        Utterance(tmp_path / "b" / "2.wav", "bob", 2.0),
    ]
    write_manifest(tmp_path / "m.tsv", utterances)
    text = (tmp_path / "m.tsv").read_text()
    assert text.splitlines()[0] == "path\tspeaker\tduration"
    assert "a/1.wav\talice\t1.500" in text
    assert read_manifest(tmp_path / "m.tsv") == utterances


def test_split_column_round_trips(tmp_path):
    utterances = [Utterance(tmp_path / "x.wav", "piano", 3.0, "test")]
    write_manifest(tmp_path / "m.tsv", utterances)
    assert read_manifest(tmp_path / "m.tsv") == utterances


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "m.tsv:1: empty manifest"),
        ("file\tspeaker\tduration\n", "m.tsv:1: header must be"),
        ("path\tspeaker\tduration\na.wav\tx\n", "m.tsv:2: expected 3 tab-separated fields, got 2"),
        ("path\tspeaker\tduration\na.wav\tx\t1\nb.wav\ty\tlong\n", "m.tsv:3: duration must be a non-negative number"),
        ("path\tspeaker\tduration\na.wav\tx\t-1\n", "m.tsv:2: duration"),
        ("path\tspeaker\tduration\tsplit\na.wav\tx\t1\tdev\n", "m.tsv:2: split must be one of train, valid, test"),
        ("path\tspeaker\tduration\n\ty\t1\n", "m.tsv:2: path and speaker must not be empty"),
        ("path\tspeaker\tduration\n", "m.tsv: no utterances listed"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, message):
    (tmp_path / "m.tsv").write_text(text)
    with pytest.raises(WavenetError, match=message):
        read_manifest(tmp_path / "m.tsv")


def test_missing_manifest(tmp_path):
    with pytest.raises(WavenetError, match="cannot read manifest"):
        read_manifest(tmp_path / "none.tsv")
