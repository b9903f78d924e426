"""Evaluation: how good a model and its audio are, in numbers.

| module        | what it holds                                                                  |
|---------------|--------------------------------------------------------------------------------|
| ``likelihood``| ``wavenet eval``: bits per sample over whole files, beside unigram and n-gram   |
| ``ngram``     | the baselines: a μ-law unigram and an interpolated Kneser-Ney n-gram over codes |
| ``quality``   | generated audio measured without ears: level, spectrum, pitch, Fréchet distance; |
|               | against a reference: F0 and voicing errors, log-mel distance, chroma, onsets    |
| ``intelligibility`` | word error rate of a recogniser's transcript against a text               |
"""
