"""Training a locally conditioned model: features prepared once, crops with their frames, exact resume, export."""

import numpy as np
import pytest
import torch

from tests.conftest import write_midi, write_tone
from tests.training.test_trainer import assert_same_state, final_state, losses, run
from wavenet.data.dataset import PreparedData
from wavenet.data.features import FeatureOptions
from wavenet.data.manifest import Utterance, write_manifest
from wavenet.data.prepare import prepare
from wavenet.errors import WavenetError
from wavenet.generation.registry import make_generator
from wavenet.release import load_release
from wavenet.training.export import export

CONFIG = """
model:
  preset: debug
  cond_layers: 1
  cond_hidden: 6
data:
  dir: {data}
  crop_seconds: 0.01
  batch_size: 2
  valid_crops: 4
optim:
  lr: 0.003
  warmup_steps: 2
  schedule: constant
train:
  steps: 8
  ema_decay: 0.5
  threads: 1
  log_every: 2
  eval_every: 4
  checkpoint_every: 2
  keep_last: 2
  eval_audio_seconds: 0.01
"""


@pytest.fixture(scope="module", params=["mel", "pianoroll"])
def prepared(request, tmp_path_factory):
    """Tones with their MIDI files (each tone is its note), prepared with features of the given kind."""
    root = tmp_path_factory.mktemp("corpus")
    utterances = []
    for s, name in enumerate(("ann", "ben")):
        for i in range(3):
            key = 45 + 12 * s + i
            path = write_tone(root / name / f"{i}.wav", seconds=0.3, f0=440 * 2 ** ((key - 69) / 12))
            write_midi(path.with_suffix(".mid"), [(key, 0.0, 0.3, 60 + 10 * i)])
            utterances.append(Utterance(path, name, 0.3))
    write_manifest(root / "manifest.tsv", utterances)
    options = FeatureOptions(request.param, hop=40, n_mels=12, n_fft=256, win=200)
    prepare(root / "manifest.tsv", root / "data", features=options, workers=1)
    return root / "data"


def test_prepared_frames_and_their_statistics(prepared):
    data = PreparedData(prepared)
    split = data.split("train")
    assert split.feats.dtype == np.float16 and split.feats.shape[1] == data.features.channels
    for i, length in enumerate(split.index[:, 1]):
        assert split.frames[i, 1] == -(-length // data.features.hop)  # ceil(samples / hop) frames each
    assert len(data.feature_stats["mean"]) == len(data.feature_stats["std"]) == data.features.channels
    assert min(data.feature_stats["std"]) >= 0.05


def test_conditioned_runs_resume_exactly_and_export_what_generation_needs(tmp_path, prepared):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(data=prepared))
    run(config, tmp_path / "straight")
    run(config, tmp_path / "resumed", "train.steps=4")
    run(config, tmp_path / "resumed", resume=True)
    assert_same_state(final_state(tmp_path / "straight"), final_state(tmp_path / "resumed"))
    assert losses(tmp_path / "straight") == losses(tmp_path / "resumed")

    export(tmp_path / "straight", tmp_path / "release")
    ckpt = load_release(tmp_path / "release")
    data = PreparedData(prepared)
    assert ckpt.features == data.features and ckpt.config.conditioned
    assert ckpt.config.cond_channels == data.features.channels and ckpt.config.cond_layers == 1
    stats = ckpt.model.conditioner
    torch.testing.assert_close(stats.mean, torch.tensor(data.feature_stats["mean"]))  # saved with the weights
    torch.testing.assert_close(stats.std, torch.tensor(data.feature_stats["std"]))
    frames = np.asarray(data.split("train").utterance_frames(0), dtype=np.float32)
    generator = make_generator(ckpt.model, 1)
    generator.reset(0, frames=frames)
    assert generator.generate(generator.samples_ready(0)).shape == (1, len(frames) * data.features.hop)


def test_the_model_must_fit_the_data(tmp_path, prepared):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(data=prepared))
    with pytest.raises(WavenetError, match="differ from the data's features"):
        run(config, tmp_path / "run", "model.cond_hop=7")


def test_speaker_dropout_trains_an_extra_speaker_for_any_voice(tmp_path, prepared):
    from wavenet.data.dataset import CropSampler

    split = PreparedData(prepared).split("train")
    sampler = CropSampler(split, 40, 10, 255, seed=0, hop=40, context=1, speaker_dropout=0.5, any_speaker=2)
    plain = CropSampler(split, 40, 10, 255, seed=0, hop=40, context=1)
    dropped, kept = sampler.batch(0, 200), plain.batch(0, 200)
    assert torch.equal(dropped.inputs, kept.inputs)  # the same crops, only some speakers changed
    changed = dropped.speakers != kept.speakers
    assert (dropped.speakers[changed] == 2).all() and 60 < changed.sum() < 140
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(data=prepared))
    run(config, tmp_path / "run", "data.speaker_dropout=0.5", "train.steps=2")
    export(tmp_path / "run", tmp_path / "release")
    ckpt = load_release(tmp_path / "release")
    assert ckpt.speakers == {"ann": 0, "ben": 1, "any": 2} and ckpt.config.n_speakers == 3


def test_likelihood_of_a_conditioned_model_reads_each_files_frames(tmp_path, prepared):
    from wavenet.data.audio import load_audio
    from wavenet.data.features import features_for
    from wavenet.evaluation.likelihood import evaluate, model_log2_probs
    from wavenet.mulaw import encode

    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(data=prepared))
    run(config, tmp_path / "run", "train.steps=2")
    export(tmp_path / "run", tmp_path / "release")
    ckpt = load_release(tmp_path / "release")
    wav = next(iter((prepared.parent / "ann").glob("*.wav")))
    audio = load_audio(wav, ckpt.audio)
    frames = features_for(audio, 16000, ckpt.features, wav)
    codes = encode(audio)
    whole = model_log2_probs(ckpt.model, codes, 0, frames=frames)
    chunked = model_log2_probs(ckpt.model, codes, 0, chunk=333, frames=frames)  # windows cut anywhere
    np.testing.assert_allclose(whole, chunked, atol=1e-4)
    report = evaluate(ckpt, [str(wav)], baseline_data=str(prepared))
    assert report.files[0].samples == len(codes) and np.isfinite(report.files[0].model_bits)


def test_training_learns_what_the_textbook_computation_learns(tmp_path, prepared, monkeypatch):
    """The same config from the same seed, trained with the model's fast path and with the plain
    layer-by-layer computation of every position (tests/conftest.py): the same validation bits
    after the same samples (within 0.02 bits; in practice within rounding)."""
    import torch.nn.functional as F

    from tests.conftest import textbook_forward
    from wavenet.data.dataset import IGNORE
    from wavenet.training.tasks import WaveNetTask

    def textbook_loss_sum(model, batch):
        model = getattr(model, "module", model)
        logits = textbook_forward(model, batch.inputs, batch.speakers, batch.frames)  # every position
        total = F.cross_entropy(logits.float(), batch.targets, ignore_index=IGNORE, reduction="sum")
        return total, (batch.targets != IGNORE).sum()

    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(data=prepared))
    crops = ["data.crop_seconds=0.1", "train.steps=24", "train.eval_every=12", "optim.lr=0.01"]  # 1600 > RF 64+
    run(config, tmp_path / "fast", *crops)
    monkeypatch.setattr(WaveNetTask, "loss_sum", staticmethod(textbook_loss_sum))
    run(config, tmp_path / "textbook", *crops)
    fast, textbook = (
        [loss for _, kind, loss in losses(tmp_path / name) if kind == "valid"] for name in ("fast", "textbook")
    )
    assert len(fast) == len(textbook) == 2
    assert fast[0] != pytest.approx(fast[1], abs=1e-3)  # it trained
    for a, b in zip(fast, textbook, strict=True):
        assert abs(a - b) / np.log(2) < 0.02


@pytest.mark.parametrize("f0,phase", [(False, "frames"), (True, "frames"), (True, "recording")])
def test_a_source_filter_vocoder_trains_resumes_and_vocodes(tmp_path, f0, phase):
    """Mel frames with their envelope's reflection coefficients (prepare --lpc-order), and F0 for a periodic
    source (prepare --f0), whose sines training may read at the recording's phase: a model that predicts
    the excitation trains, resumes exactly, exports, and vocodes through the synthesis API."""
    from wavenet.synthesizer import Request, Synthesizer

    root = tmp_path / "corpus"
    utterances = []
    for i in range(4):
        path = write_tone(root / "ann" / f"{i}.wav", seconds=0.3, f0=150 + 40 * i)
        utterances.append(Utterance(path, "ann", 0.3))
    write_manifest(root / "manifest.tsv", utterances)
    features = FeatureOptions("mel", hop=40, n_mels=12, n_fft=256, win=200, lpc_order=8, f0=f0)
    prepare(root / "manifest.tsv", root / "data", features=features, workers=1)
    data = PreparedData(root / "data")
    assert data.features.channels == 20 + f0 and data.features.lpc_order == 8 and data.features.f0 == f0
    if f0:  # the tones' pitch, in the last channel, where YIN finds them voiced
        pitch = np.concatenate([data.split(name).utterance_frames(0)[:, -1] for name in data.split_names])
        voiced = pitch[pitch > 0].astype(np.float64)
        assert len(voiced) > 5 and all(np.min(np.abs(voiced[:, None] - [150, 190, 230, 270]), axis=1) < 3)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(data=root / "data"))
    crops = ["data.crop_seconds=0.05", f"data.sine_phase={phase}"]
    run(config, tmp_path / "straight", "train.steps=8", *crops)
    run(config, tmp_path / "resumed", "train.steps=4", *crops)
    run(config, tmp_path / "resumed", "train.steps=8", *crops, resume=True)
    assert_same_state(final_state(tmp_path / "straight"), final_state(tmp_path / "resumed"))
    if not f0:
        with pytest.raises(WavenetError, match="--voiced-scale: only a model with a periodic source"):
            export(tmp_path / "straight", tmp_path / "model", "latest", voiced_scale=0.5)
    export(tmp_path / "straight", tmp_path / "model", "latest", temperature=0.7, voiced_scale=0.5 if f0 else None)
    synth = Synthesizer.load(tmp_path / "model")
    assert synth.checkpoint.default_temperature == 0.7 and synth.checkpoint.voiced_scale == (0.5 if f0 else 1.0)
    assert synth.checkpoint.config.lpc_order == 8 and synth.backend == "native-f16"  # auto on a CPU
    assert synth.checkpoint.config.source_harmonics == (8 if f0 else 0)
    audio = synth.synthesize(Request(recording=utterances[0].path, seed=1))
    assert audio.samples == 4800 and sum(len(c) for c in audio) == 4800


def test_a_piano_model_with_sines_at_its_keys_trains_resumes_and_renders(tmp_path, prepared):
    """model.source_harmonics on piano-roll data: the source is the sounding keys' sines (source_keys, set
    from the data), trained, resumed exactly, exported and rendered from a MIDI file by the synthesis API."""
    from wavenet.synthesizer import Request, Synthesizer

    if PreparedData(prepared).features.kind != "pianoroll":
        pytest.skip("a piano roll's keys")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(data=prepared))
    sines = ["model.source_harmonics=3", "data.crop_seconds=0.05"]
    run(config, tmp_path / "straight", *sines)
    run(config, tmp_path / "resumed", "train.steps=4", *sines)
    run(config, tmp_path / "resumed", *sines, resume=True)
    assert_same_state(final_state(tmp_path / "straight"), final_state(tmp_path / "resumed"))
    with pytest.raises(WavenetError, match="no recording phase"):
        run(config, tmp_path / "phase", *sines, "data.sine_phase=recording")
    with pytest.raises(WavenetError, match="--voiced-scale: only a model with a periodic source"):
        export(tmp_path / "straight", tmp_path / "model", "latest", voiced_scale=0.5)
    export(tmp_path / "straight", tmp_path / "model", "latest")
    synth = Synthesizer.load(tmp_path / "model")
    assert (synth.checkpoint.config.source_harmonics, synth.checkpoint.config.source_keys) == (3, 1)
    midi = next(iter((prepared.parent / "ann").glob("*.mid")))
    audio = synth.synthesize(Request(midi=midi, seed=1))
    assert audio.samples > 0 and sum(len(c) for c in audio) == audio.samples
