"""Text for text to speech: normalisation into words a reader says (:mod:`.normalize`), sentences,
and phonemes with stress and word boundaries from espeak-ng (:mod:`.espeak`)."""
