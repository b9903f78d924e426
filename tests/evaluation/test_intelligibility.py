import pytest

from wavenet.evaluation.intelligibility import normalize_words, spell_number, word_error_rate, word_errors


def test_normalisation_spells_numbers_and_drops_punctuation():
    assert normalize_words("Press 1, or 42; then 'Goodbye!'") == "press one or forty two then goodbye".split()
    assert normalize_words("Don't  hang-up.") == ["don't", "hang", "up"]
    assert spell_number(19) == "nineteen" and spell_number(70) == "seventy" and spell_number(305) == "three zero five"


@pytest.mark.parametrize(
    "reference,hypothesis,errors",
    [
        ("agent logged in", "agent logged in", 0),
        ("agent logged in", "they didn't log in", 3),  # two substitutions and an insertion
        ("press one", "", 2),
        ("", "hello", 1),
    ],
)
def test_word_errors(reference, hypothesis, errors):
    assert word_errors(reference, hypothesis)[0] == errors


def test_word_error_rate_pools_over_utterances():
    assert word_error_rate([("a b c d", "a b c d"), ("e f", "e x")]) == pytest.approx(1 / 6)
