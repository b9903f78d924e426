"""The offline recipes, every stage, building small versions of their corpora from Debian packages;
the conditioned recipes (mel_vocoder, tts, midi_piano) run on the corpus each builds."""

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.recipes.conftest import TINY, require_tools, run_recipe
from wavenet.data.dataset import PreparedData
from wavenet.data.features import vocoder_frames
from wavenet.evaluation.reports import conditioned, tts_voices, unconditioned
from wavenet.evaluation.reports import tts as tts_report
from wavenet.release import load_release

pytestmark = pytest.mark.recipes  # minutes each: `make test-recipes` and CI run them, `make test` does not

CONDITIONED = TINY + " data.crop_seconds=0.05"  # a crop spans whole frames (hop 200)


def test_speech_offline_mel_vocoder_and_tts_recipes(tmp_path):
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

    vocoder = tmp_path / "mel_vocoder"
    run_recipe("mel_vocoder", vocoder, CORPUS=str(work / "corpus"), TRAIN_OVERRIDES=CONDITIONED, GENERATE_FILES="2")
    data = PreparedData(vocoder / "data")
    held_out = {name for name, sid in data.speakers.items() if sid in set(data.split("test").index[:, 2].tolist())}
    assert {"asterisk-it_IT_m_Carlo", "mbrola-mb-us2", "flite-awb"} < held_out  # whole voices, and Allison's prompts
    ckpt = load_release(vocoder / "model")
    assert ckpt.features.kind == "mel" and ckpt.default_speaker == ckpt.speakers["any"]
    samples = sorted((vocoder / "samples").glob("*.wav"))
    assert len(samples) == 2
    inputs = [Path(line.split("\t")[0]) for line in (vocoder / "data" / "test.tsv").read_text().splitlines()[1:3]]
    for path in inputs:  # each test file resynthesised, exactly as long as the recording (its timing kept)
        made = vocoder / "samples" / f"{path.parent.name}-{path.name}"
        assert sf.info(made).frames == round(sf.info(path).duration * 16000) and sf.info(made).samplerate == 16000

    tts = tmp_path / "tts"  # text to speech: the English voices, each file's text aligned to it
    overrides = CONDITIONED + " model.layers_per_stack=4"  # the config names 11 layers; the debug model has 4
    acoustic = "train.steps=4 train.eval_every=2 train.checkpoint_every=2 model.hidden=16 model.layers=2"
    run_recipe("tts", tts, CORPUS=str(work / "corpus"), TRAIN_OVERRIDES=overrides, VOICE_FILES="2", SAY_TEXT="Hello.",
               ACOUSTIC_OVERRIDES=acoustic, VOCODER=str(vocoder / "model"))  # fmt: skip
    data = PreparedData(tts / "data")
    assert data.features.kind == "linguistic" and data.mel.n_mels == 80
    assert all(not name.startswith("asterisk-") or name == "asterisk-en_US_f_Allison" for name in data.speakers)
    for model in ("model", "acoustic"):
        ckpt = load_release(tts / model)
        assert set(ckpt.metadata["prosody"]) == set(ckpt.speakers)  # every voice measured
    assert ckpt.acoustic is not None and ckpt.acoustic.vocoder.name == "model"  # the two-stage release, its vocoder
    said = sorted(p.stem for p in (tts / "samples").glob("*.wav"))
    assert said == ["asterisk-en_US_f_Allison", "direct-asterisk-en_US_f_Allison", "direct-espeak-en-us-m1",
                    "espeak-en-us-m1"]  # fmt: skip
    assert all(len(sf.read(p)[0]) % 200 == 0 for p in (tts / "samples").glob("*.wav"))
    # The stage no default runs: the vocoder fine-tuned on the acoustic model's frames at the recordings' timing.
    run_recipe("tts", tts, "vocoder", CORPUS=str(work / "corpus"), VOICE_FILES="2", VOCODER=str(vocoder / "model"),
               VOCODER_OVERRIDES=CONDITIONED, ENVELOPE="recorded")  # fmt: skip
    ckpt = load_release(tts / "acoustic")
    assert ckpt.acoustic.vocoder.name == "vocoder" and set(ckpt.metadata["prosody"]) == set(ckpt.speakers)
    predicted = PreparedData(tts / "predicted")
    assert predicted.features == load_release(vocoder / "model").features and predicted.speakers == data.speakers
    assert len(predicted.split("train").feats) == len(data.split("train").feats)
    assert len(ckpt.acoustic.vocoder.metadata["stages"]) == 2  # the mel vocoder's training, then the fine-tuning
    assert set(ckpt.acoustic.vocoder.speakers) == {*data.speakers, "any"}
    first, count = (int(x) for x in data.split("train").frames[0])  # its envelope: the recording's mel's
    recorded = vocoder_frames(np.asarray(data.split("train").mel[first : first + count], np.float32), None, 16000,
                              replace(predicted.features, f0=False))  # fmt: skip
    made = np.asarray(predicted.split("train").utterance_frames(0), np.float32)
    assert np.allclose(made[:, 80:96], recorded[:, 80:96], atol=2e-3)
    assert not np.allclose(made[:, :80], recorded[:, :80])  # the mel: the acoustic model's

    # The quality reports end to end, small, on what the recipes made (their figures, pictures and samples in tmp_path).
    quality, none = tmp_path / "docs" / "quality", tmp_path / "none"
    results = unconditioned.measure(speech=work / "model", piano=none, speech_work=work, seconds=0.2,
                                    ngram_seconds=0.2, json_path=quality / "report.json")  # fmt: skip
    assert f"**{results[0]['bits_per_sample']['model_bits']:.3f}**" in unconditioned.render(results)
    assert (quality / "speech-spectrograms.png").is_file() and (quality / "speech-curves.png").is_file()
    figures = conditioned.measure(vocoder=vocoder / "model", piano=none, vocoder_data=vocoder / "data", limit=1,
                                  json_path=quality / "conditioned.json")  # fmt: skip
    assert "Does the vocoder use its frames?" in conditioned.render(figures)
    allison = figures["vocoder"]["groups"]["asterisk-en_US_f_Allison"]
    assert {"wer", "stoi", "pesq", "dnsmos"} <= set(allison[conditioned.OWN]) and "wer" in allison["Griffin-Lim"]
    assert "against Griffin-Lim's" in conditioned.render(figures)
    spoken = tts_report.measure(models=(tts / "acoustic", tts / "model"), data=tts / "data", prompts=2, extra=2,
                                voices="asterisk-en_US_f_Allison", json_path=quality / "tts.json")  # fmt: skip
    rendered = tts_report.render(spoken)
    assert (
        "| acoustic as asterisk-en_US_f_Allison |" in rendered and "| model as asterisk-en_US_f_Allison |" in rendered
    )
    assert spoken["sentences"]["read_in_training"] >= 0 and (quality / "tts-alignment.png").is_file()
    voices = [tts_voices.measure(models=(tts / "acoustic",), data=tts / "data", sentences=2, minutes=0,
                                 json_path=quality / "tts-voices.json") for _ in range(2)]  # fmt: skip
    first, second = (v["tables"]["2"]["models"]["acoustic"]["voices"] for v in voices)
    name = next(iter(first))  # each run measures one voice more (minutes=0), keeping what the last measured
    assert len(first) == 1 and len(second) == 2 and second[name]["seconds"] == first[name]["seconds"]
    assert "acoustic: 2 voices measured" in tts_voices.render(voices[1])


def test_piano_offline_and_midi_piano_recipes(tmp_path):
    require_tools("fluidsynth", "/usr/share/sounds/sf2/FluidR3_GM.sf2")
    work = tmp_path / "work"
    run_recipe(
        "piano_offline", work, MAX_HOURS="0.01", UNSEEN_HOURS="0.01", TRAIN_OVERRIDES=TINY, GENERATE_SECONDS="0.05"
    )
    pieces = [line.split("\t") for line in (work / "corpus" / "pieces.tsv").read_text().splitlines()[1:]]
    assert pieces[0][0].startswith("mozart_k545") and pieces[0][3] == "piano" and pieces[-1][3] == "unseen"
    unseen = {p[0] for p in pieces if p[3] == "unseen"}
    assert unseen == {p.stem for p in (work / "corpus" / "unseen").glob("*.mid")}
    assert not unseen & {p.stem for p in (work / "corpus" / "piano").glob("*.wav")}  # never trained on
    data = PreparedData(work / "data")
    assert data.speakers == {"piano": 0}
    assert (work / "samples" / "speaker-piano.wav").is_file()

    piano = tmp_path / "midi_piano"  # its generate stage renders whole pieces: test_cli renders a short one
    stages = ("corpus", "manifest", "prepare", "train", "eval")
    run_recipe("midi_piano", piano, *stages, CORPUS=str(work / "corpus"), TRAIN_OVERRIDES=CONDITIONED)
    ckpt = load_release(piano / "model")
    assert ckpt.features.kind == "pianoroll" and ckpt.config.cond_channels == 264
    assert "3-gram" in (piano / "eval.md").read_text()  # scored with each file's frames

    quality = tmp_path / "docs" / "quality"  # the report's piano part, end to end, small
    figures = conditioned.measure(vocoder=tmp_path / "none", piano=piano / "model", piano_data=piano / "data", limit=1,
                                  json_path=quality / "conditioned.json", piano_unseen_dir=work / "corpus" / "unseen")  # fmt: skip
    assert "onset F-measure is" in conditioned.render(figures) and (quality / "midi-piano-roll.png").is_file()
    assert "neither trained nor chose the checkpoint" in conditioned.render(figures)
    assert len(figures["piano"]["unseen"]["excerpts"]) == len(unseen)  # one short stretch of each, quickly
