import numpy as np
import pytest
import soundfile as sf

from tests.conftest import write_tone
from wavenet import mulaw
from wavenet.data.audio import AudioOptions, frame_rms_db, load_audio, normalize_level, trim_silence
from wavenet.errors import WavenetError


def test_resamples_and_mixes_down(tmp_path):
    path = write_tone(tmp_path / "x.wav", seconds=1.0, rate=44100, f0=440, channels=2)
    audio = load_audio(path, AudioOptions(sample_rate=16000))
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * 16000 / len(audio) - 440) < 2  # the tone survives resampling


@pytest.mark.parametrize("fmt", ["FLAC", "OGG"])
def test_other_formats(tmp_path, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, 0.2 * np.sin(np.arange(8000) / 5), 8000, format=fmt)
    assert len(load_audio(path, AudioOptions())) == 16000


def test_bad_files_are_named(tmp_path):
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(WavenetError, match="corrupt.wav: not audio that soundfile can read"):
        load_audio(tmp_path / "corrupt.wav", AudioOptions())
    sf.write(tmp_path / "empty.wav", np.zeros(0), 16000)
    with pytest.raises(WavenetError, match="empty.wav: empty audio"):
        load_audio(tmp_path / "empty.wav", AudioOptions())
    sf.write(tmp_path / "silent.wav", np.zeros(1000), 16000)
    with pytest.raises(WavenetError, match="silent.wav: audio is silent"):
        load_audio(tmp_path / "silent.wav", AudioOptions())


def test_trim_keeps_the_sound_and_a_margin():
    rate = 16000
    audio = np.concatenate([np.zeros(rate), 0.5 * np.sin(np.arange(rate) / 3), np.zeros(rate)]).astype(np.float32)
    trimmed = trim_silence(audio, rate, threshold_db=40, margin_ms=50)
    assert rate <= len(trimmed) <= rate + 2 * 800 + 2 * 320
    assert np.abs(trimmed).max() == np.abs(audio).max()


def test_normalize_reaches_target_without_clipping():
    audio = (0.01 * np.sin(np.arange(16000) / 7)).astype(np.float32)
    out = normalize_level(audio, -20.0)
    assert abs(frame_rms_db(out, len(out))[0] + 20.0) < 0.1
    spiky = np.zeros(16000, dtype=np.float32)
    spiky[::1000] = 0.5
    assert np.abs(normalize_level(spiky, -3.0)).max() <= 0.999


def test_preemphasis_is_undone_by_deemphasis_piece_by_piece(tmp_path):
    """LPCNet's pre-emphasis: a model's codes are of x[t] - α x[t-1] of the level-normalised file; de-emphasis,
    fed in any pieces, gives the audio back to float32 rounding."""
    from wavenet.data.audio import Deemphasis, decoded, deemphasise, emphasise, model_codes

    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, 3000).astype(np.float32)
    e = emphasise(x, 0.85)
    assert e[0] == x[0] and np.isclose(e[5], x[5] - 0.85 * x[4])
    assert np.abs(deemphasise(e, 0.85) - x).max() < 1e-6
    stream = Deemphasis(0.85)
    pieces = [stream(e[a:b]) for a, b in ((0, 1), (1, 300), (300, 301), (301, 3000))]
    assert np.array_equal(np.concatenate(pieces), deemphasise(e, 0.85))
    assert emphasise(x, 0.0) is x and deemphasise(x, 0.0) is x
    path = write_tone(tmp_path / "t.wav", seconds=0.5, rate=16000)
    options = AudioOptions(normalize=True, preemphasis=0.85)
    plain = load_audio(path, options)  # the recording as heard: loading does not emphasise
    assert np.array_equal(plain, load_audio(path, AudioOptions(normalize=True)))
    assert np.array_equal(model_codes(plain, options, 255), mulaw.encode(emphasise(plain, 0.85)))
    codes = np.array([0, 100, 128, 200, 255])
    assert np.allclose(decoded(codes, 255, 0.85), deemphasise(decoded(codes, 255), 0.85))


@pytest.mark.parametrize("alpha", [1.0, -0.1, "0.85", True])
def test_a_preemphasis_outside_0_to_1_is_refused(alpha):
    with pytest.raises(WavenetError, match="audio.preemphasis: from 0 to below 1"):
        AudioOptions(preemphasis=alpha)
