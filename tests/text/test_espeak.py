"""Phonemes from espeak-ng's library (the espeakng-loader wheel: no apt-get)."""

import pytest

from wavenet.errors import WavenetError
from wavenet.text.espeak import Phone, parse_word, phonemize


def test_words_phonemes_stress_and_clause_marks():
    clauses = phonemize("hello there, my friend. really?")
    assert [c.end for c in clauses] == [",", ".", "?"]
    assert [str(c) for c in clauses] == ["h_@_l_'oU D_'e@,", "m_aI f_r_'E_n_d.", "r_'i@_l_i?"]
    hello = clauses[0].words[0]
    assert [p.vowel for p in hello] == [False, True, False, True]
    assert [p.stress for p in hello if p.vowel] == [0, 2]


def test_the_same_text_gives_the_same_phonemes_and_unpunctuated_text_ends_plainly():
    assert phonemize("nineteen ninety nine") == phonemize("nineteen ninety nine")
    (clause,) = phonemize("nineteen ninety nine")
    assert clause.end == "" and len(clause.words) == 3
    assert phonemize("") == [] and phonemize(" , . ") == []


def test_marks_are_not_phonemes():
    assert parse_word(",O2_n") == (Phone("O2", 1), Phone("n"))
    assert parse_word("d_'0_l_3_z_:_:") == (Phone("d"), Phone("0", 2), Phone("l"), Phone("3"), Phone("z"))
    assert parse_word("%!w_'Vn") == (Phone("w"), Phone("Vn", 2))


def test_an_unknown_voice_is_an_error():
    with pytest.raises(WavenetError, match="no voice 'xx-nowhere'"):
        phonemize("hello", voice="xx-nowhere")


def test_a_rendering_times_the_phonemes_that_phonemize_gives():
    from wavenet.text.espeak import PAUSE, render

    text = "doctor smith paid twelve dollars, on january third. really?"
    rendering = render(text)
    spoken = [name for name, _ in rendering.phones if name != PAUSE]
    assert spoken == [p.name for clause in phonemize(text) for word in clause.words for p in word]
    starts = [start for _, start in rendering.phones]
    assert starts == sorted(starts) and 0 <= starts[0] < 0.1
    duration = len(rendering.audio) / rendering.sample_rate
    assert rendering.segments()[-1][2] == duration and 2.0 < duration < 6.0
    assert abs(rendering.audio).max() > 0.1  # speech, not silence
    faster = render(text, rate=350)
    assert len(faster.audio) < 0.7 * len(rendering.audio)
    again = render(text)  # the rate does not stick (times agree to espeak-ng's millisecond events)
    assert [n for n, _ in again.phones] == [n for n, _ in rendering.phones]
    assert max(abs(a[1] - b[1]) for a, b in zip(again.phones, rendering.phones, strict=True)) <= 0.005
