"""The quality reports: QUALITY.md is exactly what they render from the committed figures, and their verdicts follow the figures.

Each report also runs end to end, at a small size, on the recipes' own outputs in the recipe tests
(tests/recipes/test_offline_recipes.py), where the prepared data and Debian's tools are at hand.
"""

import copy

import pytest

from wavenet.evaluation.reports import common, conditioned, tts, tts_voices, unconditioned

SECTIONS = [unconditioned, conditioned, tts, tts_voices]


@pytest.mark.parametrize("report", SECTIONS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_quality_md_is_what_the_report_renders_from_its_committed_figures(report):
    """No figure or conclusion in QUALITY.md is typed by hand: each section is the rendering of its JSON."""
    quality = common.QUALITY.read_text(encoding="utf-8")
    section = common.section(quality, report.BEGIN, report.END)
    assert section, f"QUALITY.md has no section between {report.BEGIN} and {report.END}"
    assert section == report.render(common.read_json(report.JSON)), (
        f"QUALITY.md's section differs from what {report.__name__} renders from {report.JSON.name}: "
        "run `python -m wavenet.evaluation.reports --render-only`"
    )


def test_verdicts_follow_the_figures():
    figures = copy.deepcopy(common.read_json(conditioned.JSON))
    figures["piano"]["onset_f"] = {"fluidsynth": 0.9, "model": 0.6}
    assert "of fluidsynth's (target: 90%: missed)" in conditioned.render(figures)
    figures["piano"]["onset_f"]["model"] = 0.89
    assert "(target: 90%: met)" in conditioned.render(figures)
    ablation = figures["vocoder"]["frames_ablation"]
    ablation.update(own=4.50, constant=4.52)
    assert "It hardly uses them" in conditioned.render(figures)
    ablation.update(own=3.0, constant=4.0)
    assert "It uses them: the right frames are worth 1.00 bits" in conditioned.render(figures)
    allison = figures["vocoder"]["groups"][conditioned.TRANSCRIBED]
    allison["Griffin-Lim"].update(wer=0.30, dnsmos=2.0)
    allison[conditioned.OWN].update(wer=0.34, voicing_error=0.12, f0_rmse_cents=40.0, dnsmos=2.1)
    rendered = conditioned.render(figures)
    assert (
        "WER 34.0% against Griffin-Lim's 30.0% on the same prompts (target: at most 3 points above: missed)" in rendered
    )
    assert "voicing error 12.0% (target 10%: missed), F0 RMSE 40 cents (target 50: met;" in rendered
    allison[conditioned.OWN].update(f0_gross_error=0.02, f0_fine_rmse_cents=30.0)
    assert "2.0% of the frames voiced in both are gross errors, more than 20% off, and the rest have an RMSE of 30 cents" in conditioned.render(figures)  # fmt: skip
    unseen = figures["piano"]["unseen"]
    unseen.update(onset_f={"fluidsynth": 0.9, "model": 0.8}, chroma_similarity=0.86)
    assert "**89%** (target 90%: missed); chroma similarity **0.860** (target 0.85: met)" in conditioned.render(figures)
    assert "DNSMOS 2.10 against Griffin-Lim's 2.00 (target: at least as high: met)" in rendered
    allison[conditioned.OWN].update(wer=0.33)
    assert "(target: at most 3 points above: met)" in conditioned.render(figures)

    spoken = copy.deepcopy(common.read_json(tts.JSON))
    spoken["sentences"]["read_in_training"] = 0
    assert "None of them is the text of a file of the training" in tts.render(spoken)
    model = next(iter(spoken["models"]))
    for voice, wer in spoken["models"][model]["wer"].items():
        wer["all"] = 0.3 if voice == "asterisk-en_US_f_Allison" else 0.95
    assert f"{model}: voices whose word error rate is below espeak-ng's 89%: asterisk-en_US_f_Allison." in tts.render(
        spoken
    )
    two = {"kind": "two stages", "vocoder": "../mel-vocoder", "parameters": 10, "vocoder_parameters": 20, "steps": 5,
           "f0": "model"}  # fmt: skip
    spoken["models"] = {"two": {**spoken["models"][model], "card": two}, **spoken["models"]}
    rendered = tts.render(spoken)
    assert "- **two** (two stages): an acoustic model of 10 parameters (5 training steps)" in rendered
    assert (
        "| two as asterisk-en_US_f_Allison | 30% |" in rendered and f"| {model} as asterisk-en_US_f_Allison" in rendered
    )


def test_every_voice_table_counts_what_its_figures_say():
    voice = {"wer": 0.5, "median_f0": 200.0, "recordings_median_f0": 190.0, "voiced": 0.7, "recordings_voiced": 0.75}
    table = {"command": "c", "machine": "m", "seconds": 120.0, "texts": ["a"], "espeak": {"wer": 0.9},
             "sentences": {"count": 1, "prompts": 1, "unread": 0},
             "models": {"two": {"fingerprint": "f", "voices": {
                 "a": voice, "b": {**voice, "wer": 0.95, "median_f0": 100.0, "recordings_median_f0": 105.0},
                 "c": {**voice, "voiced": 0.2, "median_f0": 150.0, "recordings_median_f0": 150.0}}}}}  # fmt: skip
    figures = {"tables": {"1": table, "3": {**table, "sentences": {"count": 3, "prompts": 2, "unread": 1}}}}
    rendered = tts_voices.render(figures)
    assert "espeak-ng en-us reading the same sentences: **90%** WER" in rendered
    assert "two: 3 voices measured; WER below espeak-ng's in **2**; voiced share within 10 points" in rendered
    assert "of the recordings' in **2**; median F0 against the recordings' r = 1.00." in rendered
    assert "| b | 95% | 70% | 75% | 100 Hz | 105 Hz |" in rendered
    assert rendered.index("**3 sentences** per voice") < rendered.index("**1 sentences** per voice")  # the most first
    table["models"]["two"]["voices"]["c"]["median_f0"] = float("nan")
    assert "not computable" in tts_voices.render(figures)


def test_write_section_replaces_only_its_own_section(tmp_path):
    quality = tmp_path / "QUALITY.md"
    quality.write_text("# title\n\n<!-- a -->\nold\n<!-- end a -->\n\n<!-- b -->\nkept\n<!-- end b -->\n")
    common.write_section("<!-- a -->\nnew\n<!-- end a -->\n", "<!-- a -->", "<!-- end a -->", quality)
    assert quality.read_text() == "# title\n\n<!-- a -->\nnew\n<!-- end a -->\n\n<!-- b -->\nkept\n<!-- end b -->\n"
    common.write_section("<!-- c -->\nadded\n<!-- end c -->\n", "<!-- c -->", "<!-- end c -->", quality)
    assert quality.read_text().endswith("<!-- end b -->\n\n<!-- c -->\nadded\n<!-- end c -->\n")
