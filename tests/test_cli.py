import json
import subprocess
import sys
import wave

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import SHAPES, conditioned_release, random_model
from wavenet.cli import main
from wavenet.release import save_release


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "ckpt"
    save_release(random_model(SHAPES["k3-2stacks"]), path, speakers={"alice": 0, "bob": 1, "carol": 2})
    return path


def wavenet(*args: str) -> subprocess.CompletedProcess:
    """The command as a user runs it: its own process, exit status and stderr (a few seconds each: torch's import)."""
    return subprocess.run([sys.executable, "-m", "wavenet", *args], capture_output=True, text=True, timeout=120)


def in_process(capsys, *args: str) -> tuple[int, str]:
    """The command's exit status and stderr without a process of its own (test_missing_checkpoint_... checks
    that a real process says the same)."""
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("seconds,samples", [(0.25, 4000), (0.3, 4800), (1 / 16000, 1), (0.10003, 1600)])
def test_generate_writes_exactly_the_requested_length(tmp_path, checkpoint, seconds, samples):
    out = tmp_path / "out.wav"
    assert (
        main(
            ["generate", str(checkpoint), "-o", str(out), "--seconds", str(seconds), "--speaker", "bob", "--seed", "1"]
        )
        == 0
    )
    audio, rate = sf.read(out, dtype="int16")
    assert rate == 16000 and audio.ndim == 1 and len(audio) == samples
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 16000, samples)
        assert np.array_equal(np.frombuffer(w.readframes(samples), dtype="<i2"), audio)
    assert not list(tmp_path.glob(".out.wav.*"))  # no temporary file left behind


def test_same_seed_same_file(tmp_path, checkpoint):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    for path in (a, b):
        main(["generate", str(checkpoint), "-o", str(path), "--seconds", "0.05", "--seed", "7", "--temperature", "0.9"])
    assert a.read_bytes() == b.read_bytes()


def test_generate_from_a_preset_says_it_is_untrained(tmp_path):
    result = wavenet("generate", "debug", "-o", str(tmp_path / "x.wav"), "--seconds", "0.01")
    assert result.returncode == 0, result.stderr
    assert "untrained" in result.stderr
    assert len(sf.read(tmp_path / "x.wav")[0]) == 160


def test_info(checkpoint, capsys):
    assert main(["info", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "receptive field: 31 samples (1.9 ms at 16000 Hz)" in out
    assert "alice (0), bob (1), carol (2)" in out
    assert main(["info", str(checkpoint), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["receptive_field_samples"] == 31
    assert info["parameters"] == random_model(SHAPES["k3-2stacks"]).parameter_count()


def test_info_on_a_preset(capsys):
    assert main(["info", "ref20"]) == 0
    out = capsys.readouterr().out
    assert "untrained" in out
    assert "receptive field: 2048 samples (128.0 ms at 16000 Hz)" in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--speaker", "dave"], "speaker: unknown speaker 'dave'; speakers: alice (0), bob (1), carol (2)"),
        (["--seconds", "-1"], "seconds: must be a positive number, got -1.0"),
        (["--seconds", "nan"], "seconds: must be a positive number, got nan"),
        (["--temperature", "0"], "temperature: must be a positive number, got 0.0"),
        (["--temperature=-inf"], "temperature: must be a positive number, got -inf"),
        (["--seconds", "0.00001"], "seconds: 1e-05 s is shorter than one sample at 16000 Hz"),
    ],
)
def test_bad_generate_arguments_give_one_line(tmp_path, checkpoint, args, message, capsys):
    assert in_process(capsys, "generate", str(checkpoint), "-o", str(tmp_path / "x.wav"), *args) == (
        2,
        f"wavenet: error: {message}",
    )
    assert not (tmp_path / "x.wav").exists()


def test_missing_checkpoint_and_directory_give_one_line(tmp_path, checkpoint, capsys):
    result = wavenet("generate", str(tmp_path / "none"), "-o", str(tmp_path / "x.wav"))
    assert result.returncode == 2
    assert result.stderr.startswith("wavenet: error: no checkpoint directory at")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    code, stderr = in_process(capsys, "generate", str(checkpoint), "-o", str(tmp_path / "no" / "x.wav"))
    assert code == 2 and "directory" in stderr and len(stderr.splitlines()) == 1


def test_corrupt_checkpoint_gives_one_line(checkpoint, capsys):
    (checkpoint / "model.safetensors").write_bytes(b"junk")
    code, stderr = in_process(capsys, "info", str(checkpoint))
    assert code == 2 and "model.safetensors: not a readable safetensors file" in stderr
    assert len(stderr.splitlines()) == 1


def test_bench_runs_every_backend(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(
            [
                "bench",
                "--model",
                "debug",
                "--batch",
                "1,2",
                "--seconds",
                "0.002",
                "--repeats",
                "1",
                "--naive-steps",
                "2",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "| torch | 1 |" in table and "| naive | 2 |" in table and "| native-f16 | 2 |" in table
    report = json.loads(out.read_text())
    backends = ("naive", "torch", "native", "native-f16")
    assert {(r["backend"], r["batch"]) for r in report["results"]} == {(b, n) for b in backends for n in (1, 2)}
    assert all(r["samples_per_s"] > 0 for r in report["results"])
    assert report["machine"]["cpu_cores"] >= 1


def test_vocode_and_render_write_frames_times_hop_samples(tmp_path):
    from tests.conftest import write_midi, write_tone

    vocoder = conditioned_release(tmp_path / "vocoder", "mel")
    tone = write_tone(tmp_path / "in.wav", seconds=0.23, rate=22050)  # resampled to 16 kHz: 3680 samples
    assert main(["vocode", str(vocoder), str(tone), "-o", str(tmp_path / "out.wav"), "--seed", "3"]) == 0
    assert sf.info(str(tmp_path / "out.wav")).frames == 92 * 40  # ceil(3680 / 40) frames
    piano = conditioned_release(tmp_path / "piano", "pianoroll")
    write_midi(tmp_path / "song.mid", [(60, 0.0, 0.2, 90), (64, 0.1, 0.3, 60)])
    assert main(["render", str(piano), str(tmp_path / "song.mid"), "-o", str(tmp_path / "song.wav")]) == 0
    assert sf.info(str(tmp_path / "song.wav")).frames == 520 * 40  # 0.3 s + 1 s of tail = 520 frames


@pytest.mark.parametrize(
    "command,make_input,message",
    [
        ("vocode", lambda p: p.write_bytes(b"not audio at all"), "in.bin: not audio that soundfile can read"),
        ("vocode", lambda p: p.write_bytes(b""), "in.bin: not audio that soundfile can read"),
        ("render", lambda p: p.write_bytes(b"MThd"), "in.bin: not a readable MIDI file"),
        ("render", None, "in.bin: no such file"),
    ],
)
def test_bad_inputs_give_one_line(tmp_path, capsys, command, make_input, message):
    release = conditioned_release(tmp_path / "m", "mel" if command == "vocode" else "pianoroll")
    if make_input:
        make_input(tmp_path / "in.bin")
    assert main([command, str(release), str(tmp_path / "in.bin"), "-o", str(tmp_path / "o.wav")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"wavenet: error: {tmp_path}/{message}") and len(error.splitlines()) == 1
    assert not (tmp_path / "o.wav").exists()


def test_vocode_needs_a_vocoder(tmp_path, capsys, checkpoint):
    assert main(["vocode", str(checkpoint), str(tmp_path / "x.wav"), "-o", str(tmp_path / "o.wav")]) == 2
    assert "recording: model ckpt takes no recording: it makes audio of a given length" in capsys.readouterr().err


def test_say_speaks_each_sentence_in_the_speakers_voice(tmp_path):
    """A text-to-speech model (random weights): the frames of every sentence, timed by prosody."""
    from wavenet.release import load_release
    from wavenet.synthesizer import text_frames

    tts = conditioned_release(tmp_path / "tts", "linguistic")
    ckpt = load_release(tts)
    sentences = text_frames(ckpt, "Hello there. Dr. Smith paid $12.50!", speaker=0)
    assert len(sentences) == 2
    frames = sum(len(f) for f in sentences)
    assert (
        main(["say", str(tts), "Hello there. Dr. Smith paid $12.50!", "-o", str(tmp_path / "o.wav"), "--seed", "1"])
        == 0
    )
    assert sf.info(str(tmp_path / "o.wav")).frames == frames * 40
    faster = sum(len(f) for f in text_frames(ckpt, "Hello there. Dr. Smith paid $12.50!", rate=2.0))
    assert faster == pytest.approx(frames / 2, rel=0.1)


@pytest.mark.parametrize(
    ("text", "extra", "message"),
    [
        ("", [], "text: empty"),
        ("?! ...", [], "text: nothing speakable in it"),
        ("hello", ["--rate", "0"], "rate: must be a positive number, got 0.0"),
    ],
)
def test_say_errors_name_the_field(tmp_path, capsys, text, extra, message):
    tts = conditioned_release(tmp_path / "tts", "linguistic")
    code, error = in_process(capsys, "say", str(tts), text, "-o", str(tmp_path / "o.wav"), *extra)
    assert code == 2 and message in error and len(error.splitlines()) == 1
    assert not (tmp_path / "o.wav").exists()


def test_say_needs_a_text_to_speech_model(tmp_path, capsys, checkpoint):
    code, error = in_process(capsys, "say", str(checkpoint), "hello", "-o", str(tmp_path / "o.wav"))
    assert code == 2 and "text: model ckpt takes no text: it makes audio of a given length" in error
