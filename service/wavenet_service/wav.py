"""A WAV header that states the final sizes before any audio exists.

Streaming WAV servers often write 0 or 0xFFFFFFFF as sizes; several readers then see no audio.
Our length is known when the request arrives, so the header carries the exact sizes.
"""

from __future__ import annotations

import struct


def wav_header(samples: int, sample_rate: int, channels: int = 1, bits: int = 16) -> bytes:
    """The 44-byte RIFF/WAVE header of ``samples`` frames of 16-bit PCM."""
    block = channels * bits // 8
    data_bytes = samples * block
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block, block, bits)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def wav_size(samples: int, channels: int = 1, bits: int = 16) -> int:
    return 44 + samples * channels * bits // 8
