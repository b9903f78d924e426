"""Two-stage text to speech at synthesis: each sentence's acoustic frames, made as the vocoder reaches them.

A two-stage release (:class:`wavenet.release.AcousticStage`) speaks a text in three steps: the
prosody model times every sentence and gives it a melody (linguistic frames,
:func:`wavenet.synthesizer.text_frames`); the acoustic model (:mod:`wavenet.acoustic`) turns one
sentence's linguistic frames into log-mel and F0; the mel vocoder speaks them. The first step is
done for the whole text before any audio, because it fixes the stream's exact length (what a WAV
header states); it costs espeak-ng tens of milliseconds a sentence. The acoustic model runs
sentence by sentence inside the vocoder's frame feed (:class:`SpeechFeed`): only when generation
is within :data:`AHEAD_SECONDS` of the frames made so far is the next sentence's turn, so the
first audio waits for the first sentence alone, in the API and in the server's shared loop.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from wavenet.acoustic import F0_SOURCES
from wavenet.data.features import vocoder_frames
from wavenet.errors import WavenetError
from wavenet.generation.conditioning import FrameFeed
from wavenet.release import AcousticStage
from wavenet.text import linguistic

AHEAD_SECONDS = 0.5  # the next sentence's frames are made when generation comes this close to the last frame made


class SpeechFeed(FrameFeed):
    """A vocoder's frame feed that fills itself: one sentence's acoustic frames at a time, closed after the last."""

    def __init__(self, stage: AcousticStage, sentences: list[np.ndarray], speaker: int, f0: str = "model") -> None:
        """``sentences``: each sentence's linguistic frames (frames, channels); ``speaker``: the acoustic model's id."""
        vocoder = stage.vocoder
        super().__init__(vocoder.features.channels)
        if f0 not in F0_SOURCES:
            raise WavenetError(f"metadata.f0: must be one of {', '.join(F0_SOURCES)}, got {f0!r}")
        self._stage, self._speaker, self._f0 = stage, speaker, f0
        self.sentences = list(sentences)  # what the feed speaks, as planned
        self._pending = deque(sentences)
        self._ahead = round(AHEAD_SECONDS * vocoder.config.sample_rate)
        self.frames_total = sum(len(s) for s in sentences)

    def samples_ready(self, position: int, hop: int, lookahead: int) -> int:
        while self._pending and super().samples_ready(position, hop, lookahead) < self._ahead:
            self._next_sentence()
        return super().samples_ready(position, hop, lookahead)

    def _next_sentence(self) -> None:
        self.extend(sentence_frames(self._stage, self._pending.popleft(), self._speaker, self._f0))
        if not self._pending:
            self.close()


def sentence_frames(stage: AcousticStage, frames: np.ndarray, speaker: int, f0: str = "model") -> np.ndarray:
    """One sentence's vocoder frames (frames, vocoder channels) from its linguistic frames, in the acoustic model's
    voice ``speaker``: its log-mel, the reflection coefficients that mel implies, and F0 from the acoustic model
    (``f0="model"``) or the prosody model that made the linguistic frames (``"prosody"``)."""
    mel, predicted = stage.model.predict(frames, speaker)
    if f0 == "prosody":
        predicted = np.where(frames[:, -1] > 0.5, linguistic.F0_REFERENCE * np.exp2(frames[:, -2]), 0.0)
    vocoder = stage.vocoder
    out = vocoder_frames(mel, predicted, vocoder.config.sample_rate, vocoder.features, vocoder.audio.preemphasis)
    return out.astype(np.float16).astype(np.float32)  # as the vocoder's training frames were stored
