"""Two-stage text to speech: prepared linguistic frames with their log-mel, the acoustic task in the trainer's
machinery (resumed exactly, exported beside its vocoder), and synthesis that makes each sentence's frames as
the vocoder reaches them and gives the same audio as the frames made all at once."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import random_model
from wavenet.acoustic import AcousticConfig, AcousticModel
from wavenet.data.audio import AudioOptions, load_audio
from wavenet.data.dataset import PreparedData
from wavenet.data.features import FeatureOptions, mel_frames, vocoder_frames
from wavenet.data.manifest import Utterance, write_manifest
from wavenet.data.prepare import prepare
from wavenet.errors import WavenetError
from wavenet.generation.registry import make_generator
from wavenet.model_config import WaveNetConfig
from wavenet.release import load_release, save_release, update_metadata
from wavenet.synthesizer import Request, Synthesizer, text_frames
from wavenet.text.espeak import render
from wavenet.text.normalize import normalize
from wavenet.training.export import export
from wavenet.training.run_config import load_run_config
from wavenet.training.trainer import train

TEXTS = ["Please call me back after six.", "The weather will be cloudy tomorrow.", "We will return your call."]
CONFIG = """
task: acoustic
model: {{hidden: 16, layers: 2, kernel_size: 3, max_dilation: 2}}
data: {{dir: {data}, crop_seconds: 0.5, batch_size: 2, valid_crops: 2, skip_context: false}}
optim: {{lr: 0.003, warmup_steps: 2, schedule: constant}}
train: {{steps: 6, ema_decay: 0.5, threads: 1, log_every: 2, eval_every: 2, checkpoint_every: 2, keep_last: 5,
         eval_audio_seconds: 0}}
"""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Six readings by two espeak-ng voices, prepared with linguistic frames (one of each voice held out)."""
    root = tmp_path_factory.mktemp("speech")
    utterances = []
    for voice in ("en-us", "en-us+f3"):
        for i, text in enumerate(TEXTS):
            spoken = render(normalize(text), voice=voice)
            path = root / voice / f"{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, spoken.audio, spoken.sample_rate)
            path.with_suffix(".txt").write_text(text)
            utterances.append(Utterance(path, voice, len(spoken.audio) / spoken.sample_rate, "valid" if i == 2 else ""))
    write_manifest(root / "manifest.tsv", utterances)
    audio = AudioOptions(trim_silence=True, normalize=True)
    prepare(root / "manifest.tsv", root / "data", audio, workers=1, features=FeatureOptions("linguistic", hop=200))
    return root / "data"


@pytest.fixture(scope="module")
def vocoder(tmp_path_factory):
    """A tiny source-filter mel vocoder with a periodic source (random weights): 80 bands every 200 samples."""
    features = FeatureOptions("mel", hop=200, lpc_order=4, f0=True)
    config = WaveNetConfig(
        layers_per_stack=3, stacks=1, residual_channels=4, gate_channels=8, skip_channels=4, n_speakers=3,
        cond_channels=features.channels, cond_hop=200, cond_layers=1, cond_hidden=4, lpc_order=4, source_harmonics=2,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("vocoder") / "mel-vocoder"
    save_release(random_model(config), path, speakers={"en-us": 0, "other": 1, "any": 2}, features=features)
    return path


@pytest.fixture(scope="module")
def released(tmp_path_factory, prepared, vocoder):
    root = tmp_path_factory.mktemp("acoustic")
    (root / "config.yaml").write_text(CONFIG.format(data=prepared))
    train(load_run_config(root / "config.yaml", [f"run_dir={root / 'run'}"]))
    export(root / "run", root / "model", "latest", vocoder=vocoder)
    return root


def test_prepare_stores_each_recordings_log_mel_beside_its_linguistic_frames(prepared):
    data = PreparedData(prepared)
    split = data.split("train")
    assert data.mel == FeatureOptions("mel", hop=200) and len(data.mel_stats["mean"]) == 80
    assert split.mel.shape == (len(split.feats), 80)
    u = 1
    offset, count = split.frames[u]
    path = split_paths(prepared, "train")[u]
    audio = load_audio(path, data.audio)
    expected = mel_frames(audio, 16000, FeatureOptions("mel", hop=200))
    assert count == len(expected)
    np.testing.assert_allclose(split.mel[offset : offset + count], expected, atol=0.02)


def split_paths(prepared, split):
    lines = (prepared / f"{split}.tsv").read_text().splitlines()[1:]
    return [line.split("\t")[0] for line in lines]


def test_an_acoustic_run_resumed_at_any_checkpoint_reaches_the_same_weights(tmp_path, prepared, released):
    (tmp_path / "config.yaml").write_text(CONFIG.format(data=prepared))
    stopped = load_run_config(tmp_path / "config.yaml", [f"run_dir={tmp_path / 'run'}", "train.steps=4"])
    train(stopped)
    train(load_run_config(tmp_path / "config.yaml", [f"run_dir={tmp_path / 'run'}"]), resume=True)
    whole = torch.load(released / "run" / "checkpoints" / "step-00000006.pt", weights_only=True)
    resumed = torch.load(tmp_path / "run" / "checkpoints" / "step-00000006.pt", weights_only=True)
    assert resumed["task"] == "acoustic"
    for name, tensor in whole["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    with pytest.raises(WavenetError, match="model.preset is not a model setting"):
        load_run_config(tmp_path / "config.yaml", ["run_dir=x", "model.preset=debug"])


def test_a_two_stage_release_loads_its_vocoder_and_fits_it(released, vocoder, tmp_path):
    ckpt = load_release(released / "model")
    assert ckpt.acoustic is not None and ckpt.model.config == load_release(vocoder).config
    assert ckpt.features.kind == "linguistic" and set(ckpt.speakers) == {"en-us", "en-us+f3"}
    assert ckpt.acoustic.vocoder_speaker("en-us") == 0 and ckpt.acoustic.vocoder_speaker("en-us+f3") == 2  # any
    assert ckpt.speaker_id(1) == 1
    update_metadata(released / "model", {"vocoder_unheard": ["en-us"]})  # a voice the vocoder held out: its any
    assert load_release(released / "model").acoustic.vocoder_speaker("en-us") == 2
    update_metadata(released / "model", {"vocoder_unheard": []})
    with pytest.raises(WavenetError, match="metadata.vocoder_unheard: must be a list of the model's speakers"):
        update_metadata(released / "model", {"vocoder_unheard": ["nobody"]})
    with pytest.raises(WavenetError, match="unknown speaker 2"):
        ckpt.speaker_id(2)
    with pytest.raises(WavenetError, match="--vocoder: an acoustic release names"):
        export(released / "run", tmp_path / "none", "latest")
    for config in (AcousticConfig(), AcousticConfig(n_speakers=3, hidden=8, layers=2, kernel_size=3)):
        assert config.parameters == AcousticModel(config).parameter_count()
    for name, change, message in (
        ("looped", {"vocoder": "."}, "metadata.vocoder: .* is another two-stage release"),  # names itself
        ("odd", {"f0": "guess"}, "metadata.f0: must be one of model, prosody, got 'guess'"),
    ):
        bad = tmp_path / name
        shutil.copytree(released / "model", bad)
        raw = json.loads((bad / "config.json").read_text())
        (bad / "config.json").write_text(json.dumps({**raw, "metadata": {**raw["metadata"], **change}}))
        with pytest.raises(WavenetError, match=f"{name}/config.json: {message}"):
            load_release(bad)
    huge = tmp_path / "huge"
    shutil.copytree(released / "model", huge)
    (huge / "config.json").write_text((huge / "config.json").read_text().replace('"hidden": 16', '"hidden": 2048'))
    (huge / "config.json").write_text((huge / "config.json").read_text().replace('"layers": 2', '"layers": 32'))
    (huge / "config.json").write_text(
        (huge / "config.json").read_text().replace('"kernel_size": 3', '"kernel_size": 31')
    )
    with pytest.raises(WavenetError, match="huge/config.json: model: its sizes make .* more than the limit"):
        load_release(huge)
    shutil.copytree(released / "model", tmp_path / "deeper" / "moved")  # its vocoder is not where it says
    with pytest.raises(WavenetError, match="moved/config.json: metadata.vocoder: checkpoint .*mel-vocoder: not a dir"):
        load_release(tmp_path / "deeper" / "moved")


def test_speech_is_made_sentence_by_sentence_and_sounds_as_if_made_at_once(released):
    """The feed makes the next sentence's frames only when generation nears them, and the audio equals the
    vocoder's on all the frames made first: the acoustic model's, with the reflection coefficients and F0."""
    synth = Synthesizer.load(released / "model", backend="native")
    ckpt = synth.checkpoint
    text = "Hello there. Call me back. Thank you!"
    audio = synth.synthesize(Request(text=text, speaker="en-us", seed=3, temperature=0.8))
    feed = audio.plan.frames
    planned = feed.sentences
    assert len(planned) == len(text_frames(ckpt, text, 0)) == 3 and audio.samples == sum(len(f) for f in planned) * 200
    chunks = iter(audio)
    first = next(chunks)
    assert feed.available == len(planned[0]) and not feed.closed  # one sentence made: the audio has begun
    rest = list(chunks)
    assert feed.closed and feed.available == sum(len(f) for f in planned)
    made = []
    for frames in planned:
        mel, f0 = ckpt.acoustic.model.predict(frames, 0)
        made.append(vocoder_frames(mel, f0, 16000, ckpt.acoustic.vocoder.features).astype(np.float16))
    whole = np.concatenate(made).astype(np.float32)
    generator = make_generator(ckpt.model, 1, "native")
    generator.reset(0, speaker=0, temperature=0.8, seed=3, frames=whole)
    from wavenet.synthesizer import Playback

    expected = Playback(ckpt.config.mu, audio.plan)(generator.generate(audio.samples)[0])
    np.testing.assert_array_equal(np.concatenate([first, *rest]), expected)


def test_the_acoustic_model_predicts_mel_and_f0_and_ignores_the_frames_own_f0():
    torch.manual_seed(0)
    model = AcousticModel(AcousticConfig(n_speakers=2, hidden=8, layers=2, kernel_size=3)).eval()
    frames = np.random.default_rng(0).normal(size=(30, 208)).astype(np.float32)
    mel, f0 = model.predict(frames, 1)
    assert mel.shape == (30, 80) and f0.shape == (30,) and (f0 >= 0).all()
    moved = frames.copy()
    moved[:, -2:] += 5  # the prosody's own log F0 and voicing are not inputs
    np.testing.assert_array_equal(model.predict(moved, 1)[0], mel)
    with pytest.raises(WavenetError, match="model.kernel_size: must be odd"):
        AcousticConfig(kernel_size=4)


def test_the_server_speaks_a_two_stage_release_with_the_exact_length_in_its_header(released):
    """Through the batched loop: the WAV header states the planned length, the audio is the API's."""
    import io
    import wave

    from fastapi.testclient import TestClient
    from wavenet_service.app import create_app
    from wavenet_service.settings import Settings

    ckpt = load_release(released / "model")
    text = "Hello there. Call me back."
    with TestClient(create_app(Settings(backend="native"), [ckpt])) as client:
        response = client.post("/synthesize", json={"model": "model", "text": text, "speaker": "en-us+f3", "seed": 5})
        assert response.status_code == 200, response.text
        with wave.open(io.BytesIO(response.content)) as w:
            assert w.getnframes() == sum(len(f) for f in text_frames(ckpt, text, 1)) * 200
        info = client.get("/models").json()["models"][0]
        assert [s["name"] for s in info["speakers"]] == ["en-us", "en-us+f3"]
        assert info["conditioning"]["kind"] == "linguistic" and info["conditioning"]["channels"] == 208
    synth = Synthesizer(ckpt, "native")
    audio = synth.synthesize(Request(text=text, speaker="en-us+f3", seed=5))
    assert response.content[44:] == np.concatenate(list(audio)).astype("<i2").tobytes()


def test_info_describes_both_stages_and_eval_refuses_a_two_stage_release(released, capsys):
    from wavenet.cli import main

    assert main(["info", str(released / "model")]) == 0
    out = capsys.readouterr().out
    assert "two stages: an acoustic model of" in out and "mel-vocoder speaks them" in out
    assert main(["eval", str(released / "model"), str(released)]) == 2
    assert "a two-stage text-to-speech release gives no likelihood of audio" in capsys.readouterr().err


def test_an_acoustic_run_can_start_from_an_acoustic_release(tmp_path, prepared, released, vocoder):
    from wavenet.training.trainer import Trainer

    (tmp_path / "config.yaml").write_text(CONFIG.format(data=prepared))
    config = load_run_config(
        tmp_path / "config.yaml", [f"run_dir={tmp_path / 'run'}", f"train.init_from={released / 'model'}"]
    )
    started = Trainer(config).model.state_dict()
    shipped = load_release(released / "model").acoustic.model.state_dict()
    assert all(torch.equal(started[name], shipped[name]) for name in shipped)  # the same data: the same statistics too
    wrong = load_run_config(tmp_path / "config.yaml", [f"run_dir={tmp_path / 'run'}", f"train.init_from={vocoder}"])
    with pytest.raises(WavenetError, match="task acoustic starts from a two-stage"):
        Trainer(wrong)
