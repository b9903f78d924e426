"""docs/QUALITY.md, section by section, from the bundled models: every figure measured, every conclusion computed.

    python -m wavenet.evaluation.reports [all|unconditioned|conditioned|tts|tts-voices] [--render-only]   # make quality-report

| module           | its section                                                          | its figures          |
|------------------|----------------------------------------------------------------------|----------------------|
| ``unconditioned``| speech-small and piano-small: held-out bits, generated audio, pitch   | quality/report.json  |
| ``conditioned``  | mel-vocoder (resynthesis, word error rate) and midi-piano (onsets)    | quality/conditioned.json |
| ``tts``          | tts-acoustic beside tts-small: alignment, prosody, word error rate, voices | quality/tts.json |
| ``tts_voices``   | tts-acoustic in every voice, over several runs (``--minutes``)        | quality/tts-voices.json |

Each measures into its JSON file, then renders its section of QUALITY.md from that file alone
(``--render-only`` skips the measuring). Needs the ``[dev]`` extra (matplotlib, pocketsphinx,
mir_eval), the recipes' prepared data under work/ (``make quality-report`` builds it) and, for
the baselines, Debian's espeak-ng.
"""
