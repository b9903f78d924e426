"""Word error rate: how much of a reference text a recogniser's transcript of some audio gets wrong.

Both texts are normalised the same way first (lower case, no punctuation, numbers 0 to 99 spelled
out as a reader says them), since a recogniser writes "one" where a prompt's text writes "1".
The recogniser itself is the caller's (the reports use PyPI's pocketsphinx, a development extra).
"""

from __future__ import annotations

import re

from wavenet.text.normalize import cardinal, digits


def spell_number(n: int) -> str:
    """0 to 99 in words; larger numbers digit by digit (as telephone prompts read them)."""
    return cardinal(n).replace("-", " ") if n < 100 else digits(str(n))


def normalize_words(text: str) -> list[str]:
    """Lower-case words without punctuation, numbers spelled out."""
    text = re.sub(r"\d+", lambda m: f" {spell_number(int(m.group()))} ", text.lower())
    text = re.sub(r"[^a-z' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, words in the reference), by Levenshtein alignment of words."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1], len(ref)


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Errors over reference words, pooled over (reference, hypothesis) pairs."""
    errors = words = 0
    for reference, hypothesis in pairs:
        e, n = word_errors(reference, hypothesis)
        errors, words = errors + e, words + n
    return errors / words if words else float("nan")
