import io
import wave

from wavenet_service.wav import wav_header, wav_size


def test_header_states_the_exact_sizes():
    samples = 12345
    data = wav_header(samples, 16000) + b"\x01\x00" * samples
    assert len(data) == wav_size(samples) == 44 + 2 * samples
    assert int.from_bytes(data[4:8], "little") == len(data) - 8
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 16000, samples)
