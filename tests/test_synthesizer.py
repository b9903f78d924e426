"""The one path from a request to audio: its rules, and the same samples from the command line and the server."""

import io
import wave
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from wavenet_service.app import create_app
from wavenet_service.settings import Settings

from tests.conftest import conditioned_release, random_model, write_midi, write_tone
from wavenet import PRESETS, Limits, Request, RequestError, Synthesizer, WavenetError, load_release, save_release
from wavenet.cli import main
from wavenet.generation.sampling import RANDOM_SEED_BITS


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One model of each input kind (random weights), as release directories."""
    root = tmp_path_factory.mktemp("synth")
    return {
        "text": conditioned_release(root / "tts", "linguistic"),
        "recording": conditioned_release(root / "vocoder", "mel"),
        "midi": conditioned_release(root / "piano", "pianoroll"),
    }


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny unconditioned model with named speakers."""
    path = tmp_path_factory.mktemp("plain") / "plain"
    save_release(random_model(PRESETS["debug"]), path, speakers={"alice": 0, "bob": 1})
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    write_midi(root / "song.mid", [(60, 0.0, 0.2, 100), (64, 0.1, 0.3, 80)])
    return {
        "seconds": 0.3,
        "text": "Hello there. Call me at six!",
        "recording": write_tone(root / "tone.wav", seconds=0.4, rate=22050),
        "midi": root / "song.mid",
    }


def test_the_length_is_known_before_the_first_chunk_and_every_sample_comes(checkpoint):
    synth = Synthesizer.load(checkpoint)
    audio = synth.synthesize(Request(seconds=0.33, seed=3))
    assert audio.samples == round(0.33 * 16000) and audio.seed == 3
    chunks = list(audio)
    assert sum(len(c) for c in chunks) == audio.samples and all(c.dtype == np.int16 for c in chunks)
    with pytest.raises(Exception, match="read already"):
        list(audio)
    again = np.concatenate(list(synth.synthesize(Request(seconds=0.33, seed=3))))
    assert np.array_equal(again, np.concatenate(chunks))  # same request, same seed, same samples


def test_one_rule_for_speakers_seeds_and_temperatures(tmp_path):
    synth = Synthesizer(load_release(conditioned_release(tmp_path / "v", "mel")))
    tone = write_tone(tmp_path / "t.wav")
    assert synth.check(Request(recording=tone)).speaker == 1  # the model's "any"
    assert synth.check(Request(recording=tone, speaker="ann")).speaker == 0
    assert synth.check(Request(recording=tone, speaker="1")).speaker == 1
    seeds = {synth.check(Request(recording=tone)).seed for _ in range(20)}
    assert len(seeds) == 20 and all(0 <= s < 2**RANDOM_SEED_BITS for s in seeds)
    cases = [
        (Request(recording=tone, speaker="zed"), "speaker", "unknown speaker 'zed'"),
        (Request(recording=tone, temperature=0), "temperature", "must be a positive number"),
        (Request(recording=tone, temperature=float("nan")), "temperature", "must be a positive number"),
        (Request(recording=tone, temperature=3), "temperature", "less than or equal to 2"),
        (Request(recording=tone, seed=-1), "seed", "from 0 to 2**63 - 1"),
        (Request(recording=tone, seed=2**63), "seed", "from 0 to 2**63 - 1"),
        (Request(seconds=1), "seconds", "model v takes no seconds: it makes audio from a recording's mel frames"),
        (Request(), "recording", "Field required"),
        (Request(recording=tmp_path / "nope.wav"), "recording", "no such file"),
    ]
    for request, field, message in cases:
        with pytest.raises(WavenetError) as caught:
            synth.plan(request, Limits(max_temperature=2))
        assert message in str(caught.value), (request, caught.value)
        if isinstance(caught.value, RequestError):
            assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")


def test_limits_bound_what_a_request_may_cost(tmp_path, checkpoint):
    synth = Synthesizer.load(checkpoint)
    with pytest.raises(RequestError, match="seconds: Input should be less than or equal to 2"):
        synth.plan(Request(seconds=3), Limits(max_seconds=2))
    vocoder = Synthesizer(load_release(conditioned_release(tmp_path / "v", "mel")))
    with pytest.raises(Exception, match="3.0 s long, more than the 2 s allowed"):
        vocoder.plan(Request(recording=write_tone(tmp_path / "long.wav", seconds=3.0)), Limits(max_seconds=2))


def pcm_of_wav(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


@pytest.mark.parametrize("kind", ["seconds", "text", "recording", "midi"])
def test_the_command_line_and_the_server_make_the_same_samples(kind, models, inputs, checkpoint, tmp_path):
    """Same request, same seed: ``wavenet generate|say|vocode|render`` and the server agree to the sample.

    The server generates in a batch of 16 slots beside other streams; the command line one stream alone.
    """
    path = checkpoint if kind == "seconds" else models[kind]
    command = {"seconds": "generate", "text": "say", "recording": "vocode", "midi": "render"}[kind]
    given = [] if kind == "seconds" else [str(inputs[kind])]
    extra = ["--seconds", "0.3"] if kind == "seconds" else []
    out = tmp_path / "cli.wav"
    assert main([command, str(path), *given, "-o", str(out), "--seed", "77", *extra]) == 0
    cli, rate = sf.read(out, dtype="int16")
    assert rate == 16000 and len(cli) > 1000

    def post(client, seed):
        if kind in ("seconds", "text"):
            body = {"seconds": 0.3} if kind == "seconds" else {"text": inputs["text"]}
            return client.post("/synthesize", json={**body, "seed": seed})
        route = "/vocode" if kind == "recording" else "/render"
        return client.post(f"{route}?seed={seed}", content=inputs[kind].read_bytes())

    with TestClient(create_app(Settings(max_batch=16), [load_release(path)])) as client:
        with ThreadPoolExecutor(3) as pool:  # beside two other streams, in the same batch
            responses = list(pool.map(lambda seed: post(client, seed), [77, 1, 2]))
    assert [r.status_code for r in responses] == [200, 200, 200], responses[0].text
    assert np.array_equal(pcm_of_wav(responses[0].content), cli)
    assert not np.array_equal(pcm_of_wav(responses[1].content), cli)


def test_a_vocoder_keeps_the_recordings_timing_and_level(tmp_path):
    """Silence at both ends stays, the length is the recording's to the sample, and the level is its own."""
    made = load_release(conditioned_release(tmp_path / "v", "mel"))
    trained_on = {"sample_rate": 16000, "trim_silence": True, "normalize": True, "target_dbfs": -20.0}
    save_release(made.model, tmp_path / "v", made.speakers, {"audio": trained_on}, made.features)
    vocoder = Synthesizer(load_release(tmp_path / "v"))
    t = np.arange(12_345) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    padded = np.concatenate([np.zeros(16000), tone, np.zeros(16000)])  # a second of silence each side
    outputs = {}
    for level in (1.0, 0.1):  # the same recording, 20 dB quieter
        path = tmp_path / f"r{level}.wav"
        sf.write(path, (level * padded).astype(np.float32), 16000, subtype="FLOAT")
        audio = vocoder.synthesize(Request(recording=path, seed=3))
        assert audio.samples == len(padded)  # not trimmed, not rounded up to a frame
        outputs[level] = np.concatenate(list(audio)).astype(np.float64)
        assert len(outputs[level]) == len(padded)
    # Both are heard at the training level (same frames, same samples), then given back at their own
    # (where the louder one does not clip: this untrained model's noise reaches full scale).
    unclipped = np.abs(outputs[1.0]) < 32000
    assert unclipped.mean() > 0.9
    np.testing.assert_allclose(outputs[0.1][unclipped] * 10, outputs[1.0][unclipped], atol=10.0)


def test_a_release_names_its_default_temperature(tmp_path):
    """metadata.temperature (wavenet export --temperature): what a request without one samples at,
    from the API, the command line and the server alike; a bad one stops the load, naming the file."""
    path = tmp_path / "cool"
    save_release(random_model(PRESETS["debug"]), path, metadata={"temperature": 0.5})
    synth = Synthesizer.load(path)
    assert synth.checkpoint.default_temperature == 0.5 and synth.check(Request(seconds=0.1)).temperature == 0.5
    assert synth.check(Request(seconds=0.1, temperature=1.0)).temperature == 1.0  # a request's own wins

    def samples(request):
        return np.concatenate(list(synth.synthesize(request)))

    default, half = samples(Request(seconds=0.1, seed=5)), samples(Request(seconds=0.1, seed=5, temperature=0.5))
    assert np.array_equal(default, half) and not np.array_equal(
        default, samples(Request(seconds=0.1, seed=5, temperature=1.0))
    )
    assert main(["generate", str(path), "-o", str(tmp_path / "cli.wav"), "--seconds", "0.1", "--seed", "5"]) == 0
    assert np.array_equal(sf.read(tmp_path / "cli.wav", dtype="int16")[0], default)
    with TestClient(create_app(Settings(), [load_release(path)])) as client:
        response = client.post("/synthesize", json={"seconds": 0.1, "seed": 5})
        assert response.status_code == 200, response.text
        assert np.array_equal(pcm_of_wav(response.content), default)
    for bad in (0, -1, "warm", True):
        save_release(random_model(PRESETS["debug"]), tmp_path / "bad", metadata={"temperature": bad})
        with pytest.raises(WavenetError, match=r"config.json: metadata.temperature: must be a positive number"):
            load_release(tmp_path / "bad")


def test_a_pre_emphasised_vocoder_hears_emphasised_frames_and_gives_back_de_emphasised_audio(tmp_path, inputs):
    """A release trained on pre-emphasised audio (wavenet prepare --preemphasis): its frames are computed as
    prepared (the levelled recording; the envelope of it pre-emphasised), its samples are de-emphasised across
    chunks, the same from the API and the server; a broken metadata.audio stops the load, naming the file."""
    from wavenet.data.audio import AudioOptions, Deemphasis, load_audio
    from wavenet.data.features import mel_frames
    from wavenet.generation.registry import make_generator
    from wavenet.mulaw import decode, to_pcm16

    made = load_release(conditioned_release(tmp_path / "v", "mel"))
    audio = {"sample_rate": 16000, "normalize": True, "target_dbfs": -20.0, "preemphasis": 0.85}
    save_release(made.model, tmp_path / "v", made.speakers, {"audio": audio}, made.features)
    release = load_release(tmp_path / "v")
    assert release.audio.preemphasis == 0.85
    plan = Synthesizer(release).plan(Request(recording=inputs["recording"], seed=5))
    recording = load_audio(inputs["recording"], AudioOptions())
    gain = 1 / plan.gain
    expected_frames = mel_frames(recording * gain, 16000, release.features, preemphasis=0.85)
    np.testing.assert_allclose(plan.frames, expected_frames.astype(np.float16).astype(np.float32))
    generator = make_generator(release.model, 1)
    generator.reset(0, speaker=plan.speaker, temperature=plan.temperature, seed=5, frames=plan.frames)
    codes = generator.generate(plan.samples)[0]
    expected = to_pcm16(Deemphasis(0.85)(decode(codes, 255)) * plan.gain)
    pcm = np.concatenate(list(Synthesizer(release).stream(plan)))
    assert np.array_equal(pcm, expected)
    assert not np.array_equal(pcm, to_pcm16(decode(codes, 255) * plan.gain))  # it is de-emphasised
    with TestClient(create_app(Settings(max_batch=4), [release])) as client:
        response = client.post("/vocode?seed=5", content=inputs["recording"].read_bytes())
    assert response.status_code == 200 and np.array_equal(pcm_of_wav(response.content), pcm)
    save_release(made.model, tmp_path / "bad", made.speakers, {"audio": {**audio, "preemphasis": 1.5}}, made.features)
    with pytest.raises(WavenetError, match=r"bad/config.json: metadata.audio.preemphasis: from 0 to below 1"):
        load_release(tmp_path / "bad")
