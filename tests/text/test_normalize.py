"""Text normalisation: what a reader says for numbers, money, times, abbreviations and symbols; sentences."""

import pytest

from wavenet.text.normalize import cardinal, normalize, ordinal, sentences, year


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (99, "ninety-nine"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (1234, "one thousand two hundred thirty-four"),
        (1_000_000, "one million"),
        (2_000_300_017, "two billion three hundred thousand seventeen"),
        (-7, "minus seven"),
    ],
)
def test_cardinals(n, words):
    assert cardinal(n) == words


def test_ordinals_and_years():
    assert [ordinal(n) for n in (1, 2, 3, 5, 12, 20, 21, 100, 1003)] == [
        "first", "second", "third", "fifth", "twelfth", "twentieth", "twenty-first", "one hundredth",
        "one thousand third",
    ]  # fmt: skip
    assert [year(n) for n in (1999, 1905, 1900, 2000, 2007, 2019)] == [
        "nineteen ninety-nine", "nineteen oh five", "nineteen hundred", "two thousand", "two thousand seven",
        "twenty nineteen",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Dr. Smith paid $12.50 on Jan. 3rd, 1999.",
         "doctor smith paid twelve dollars and fifty cents on january third, nineteen ninety nine."),
        ("It costs $1 or €3.01, not £2.5 million.",
         "it costs one dollar or three euros and one cent, not two point five million pounds."),
        ("Meet at 3:05 pm, not 12:00.", "meet at three oh five p m, not twelve o'clock."),
        ("45% of 1,234 people agree!", "forty five percent of one thousand two hundred thirty four people agree!"),
        ("Call 555-0123 or dial 007.", "call five five five, zero one two three, or dial zero zero seven."),
        ("St. Louis is on 5th St. in the U.S. today", "saint louis is on fifth street in the u s today"),
        ("The 1990s (and the 80s) were... odd — right?", "the nineteen nineties, and the eighties, were, odd, right?"),
        ("Pages 3-5 & a 5km run: -2.5 degrees.", "pages three to five and a five km run: minus two point five degrees."),
        ("Mr. and Mrs. O'Neil said \"hi\" to No. 7.", "mister and missus o'neil said hi to number seven."),
        ("and/or well-known", "and or well known"),
    ],
)  # fmt: skip
def test_text_is_said_as_a_reader_says_it(text, said):
    assert normalize(text) == said


@pytest.mark.parametrize("text", ["", "   ", "?!...", "—", "$#*", '"()"'])
def test_nothing_speakable_is_empty(text):
    assert normalize(text) == ""


def test_sentences_end_at_marks_but_not_after_abbreviations_or_initials():
    text = 'Dr. Smith met J. S. Bach in St. Louis. They talked! Did they? "Yes." 3 dogs ran.\n\nA new paragraph'
    assert sentences(text) == [
        "Dr. Smith met J. S. Bach in St. Louis.", "They talked!", "Did they?", '"Yes."', "3 dogs ran.",
        "A new paragraph",
    ]  # fmt: skip


def test_long_sentences_are_cut_at_clauses_then_between_words():
    clause = "a few words here and there"
    long = ", ".join([clause] * 20) + "."
    pieces = sentences(long, max_chars=80)
    assert all(len(p) <= 80 for p in pieces) and " ".join(pieces) == long
    assert all(p.endswith((",", ".")) for p in pieces)
    words = " ".join(["word"] * 100)
    assert " ".join(sentences(words, max_chars=50)) == words
