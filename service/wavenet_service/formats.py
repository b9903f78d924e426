"""The audio formats a response can take: what each is, how it streams, and how exact its length is.

- ``wav`` (the default of our own routes): 16-bit PCM in RIFF/WAVE. Streams as it is generated;
  the header states the exact length before any audio exists (:mod:`wavenet_service.wav`).
- ``pcm``: the same samples with no header, 16-bit little-endian mono at the model's rate (the
  ``X-Sample-Rate`` header says which): what low-latency players want. Streams as generated;
  Content-Length is exactly 2 bytes a sample.
- ``flac``: lossless; decodes to exactly the generated samples (its STREAMINFO states the count).
- ``opus`` (Ogg Opus) and ``mp3``: lossy. libsndfile's reader gives back exactly the generated
  number of samples (tested here); other decoders may add the encoder's delay and padding.

The compressed formats are encoded by libsndfile (PyPI's soundfile wheels bundle it) once the
audio is complete, then sent: they do not stream. Which of them this machine's libsndfile writes
is found at import (:data:`AVAILABLE`); a request for one it cannot write is a 4xx naming the field.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from wavenet_service.wav import wav_header, wav_size


@dataclass(frozen=True)
class AudioFormat:
    name: str
    media_type: str
    streams: bool  # sent as generated (else encoded once complete)
    container: str = ""  # libsndfile's format and subtype, for the encoded ones
    subtype: str = ""

    def header(self, samples: int, sample_rate: int) -> bytes:
        """What precedes a streamed format's samples."""
        return wav_header(samples, sample_rate) if self.name == "wav" else b""

    def size(self, samples: int) -> int | None:
        """The exact size in bytes of a streamed format's response; None for an encoded one."""
        if self.name == "wav":
            return wav_size(samples)
        return 2 * samples if self.name == "pcm" else None

    def encode(self, pcm: bytes, sample_rate: int) -> bytes:
        """An encoded format's file of the complete 16-bit little-endian samples."""
        out = io.BytesIO()
        sf.write(out, np.frombuffer(pcm, dtype="<i2"), sample_rate, format=self.container, subtype=self.subtype)
        return out.getvalue()


ALL = {
    f.name: f
    for f in (
        AudioFormat("wav", "audio/wav", streams=True),
        AudioFormat("pcm", "audio/pcm", streams=True),
        AudioFormat("flac", "audio/flac", streams=False, container="FLAC", subtype="PCM_16"),
        AudioFormat("opus", "audio/ogg", streams=False, container="OGG", subtype="OPUS"),
        AudioFormat("mp3", "audio/mpeg", streams=False, container="MP3", subtype="MPEG_LAYER_III"),
    )
}


def _writable(fmt: AudioFormat) -> bool:
    if fmt.streams:
        return True
    return fmt.container in sf.available_formats() and fmt.subtype in sf.available_subtypes(fmt.container)


AVAILABLE: dict[str, AudioFormat] = {name: fmt for name, fmt in ALL.items() if _writable(fmt)}


def audio_format(name: str, field: str = "format") -> AudioFormat:
    """The format called ``name``; a ValueError naming ``field`` when it is unknown or cannot be written here."""
    if name in AVAILABLE:
        return AVAILABLE[name]
    if name in ALL:
        raise ValueError(
            f"{field}: {name} cannot be written by this server's libsndfile; formats: {', '.join(AVAILABLE)}"
        )
    raise ValueError(f"{field}: unknown format {name!r}; formats: {', '.join(AVAILABLE)}")
