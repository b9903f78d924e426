"""Phonemes with stress and word boundaries from espeak-ng's library, which PyPI's espeakng-loader ships.

The server must not need apt-get, so espeak-ng is not run as a program: its library and data come
from the ``espeakng-loader`` wheel and are called through ctypes. Text goes in already normalised
(:func:`wavenet.text.normalize.normalize`) and is cut into clauses at its punctuation here, so each
clause keeps the mark that ends it (its intonation: a comma's continuation, a question's rise).

Phonemes are espeak-ng's ASCII names for the voice's language (``aI``, ``t``, ``@``, ``3:``), the
same set whatever reads them: the phone set of training and of synthesis is this one.
"""

from __future__ import annotations

import ctypes
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wavenet.errors import WavenetError
from wavenet.text.normalize import CLAUSE_PUNCTUATION

VOWEL_START = set("aeiouAEIOUV@03")  # espeak-ng's English vowel names begin with one of these
STRESS_MARKS = {"'": 2, ",": 1}  # primary, secondary; written before the stressed vowel
AUDIO_OUTPUT_SYNCHRONOUS = 2
CHARS_UTF8 = 1
PHONEME_EVENTS = 0x0001
DONT_EXIT = 0x8000
EVENT_PHONEME = 7
POS_CHARACTER = 1
ESPEAK_RATE, DEFAULT_RATE = 1, 175  # words per minute
PAUSE = "_"


@dataclass(frozen=True)
class Phone:
    name: str  # espeak-ng's ASCII name
    stress: int = 0  # 2 primary, 1 secondary, 0 none (consonants are 0)

    @property
    def vowel(self) -> bool:
        return self.name[0] in VOWEL_START


@dataclass(frozen=True)
class Clause:
    words: tuple[tuple[Phone, ...], ...]
    end: str  # the punctuation that ends it (one of , ; : . ? !), or "" at the end of unpunctuated text

    def __str__(self) -> str:
        return " ".join("_".join(("'" if p.stress == 2 else "," if p.stress == 1 else "") + p.name for p in w)
                        for w in self.words) + self.end  # fmt: skip


@dataclass(frozen=True)
class Rendering:
    """espeak-ng's own speech for a text, with the time each phoneme starts: alignment's reference."""

    audio: np.ndarray  # float32 in [-1, 1)
    sample_rate: int
    phones: tuple[tuple[str, float], ...]  # (espeak-ng's name without stress, start in seconds); "_": a pause

    def segments(self) -> list[tuple[str, float, float]]:
        """(name, start, end) of every phone, each ending where the next begins (the last at the audio's end)."""
        ends = [start for _, start in self.phones[1:]] + [len(self.audio) / self.sample_rate]
        return [(name, start, end) for (name, start), end in zip(self.phones, ends, strict=True)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # the phoneme's name, for phoneme events
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _Library:
    """The loaded library; espeak-ng keeps global state, so every call holds the lock."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise WavenetError("text to speech needs espeak-ng's library: pip install espeakng-loader") from None
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.data = Path(espeakng_loader.get_data_path())
        home = str(self.data.parent).encode()  # the folder holding espeak-ng-data
        self.sample_rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, home, PHONEME_EVENTS | DONT_EXIT)
        if self.sample_rate <= 0:
            raise WavenetError(f"espeak-ng could not start (its data: {self.data})")
        self.scratch = tempfile.TemporaryDirectory(prefix="wavenet-espeak-")  # steady voice files
        self.lock = threading.Lock()
        self.voice = ""
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: the library holds its address
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, count: int, events) -> int:
        if wav and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != 0:
            if events[i].type == EVENT_PHONEME:
                self._events.append((events[i].id.decode(errors="replace"), events[i].audio_position))
            i += 1
        return 0

    def render(self, text: str) -> tuple[np.ndarray, list[tuple[str, int]]]:
        """espeak-ng's speech for the text (int16) and its phoneme events (name, start in ms)."""
        self._chunks, self._events = [], []
        data = text.encode()
        status = self.lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        if status != 0:
            raise WavenetError(f"espeak-ng could not render the text (status {status})")
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio, self._events

    def set_voice(self, voice: str) -> None:
        """Select a voice. A plain language voice ("en-us") is loaded without flutter, espeak-ng's
        pitch jitter, whose phase runs on from one reading to the next and would make every reading
        of a text slightly different (about 1 ms in phone times); variants ("en-us+f3") keep theirs."""
        if voice == self.voice:
            return
        if "+" not in voice and (steady := self._steady(voice)) is not None:
            status = self.lib.espeak_SetVoiceByFile(str(steady).encode())
        else:
            status = self.lib.espeak_SetVoiceByName(voice.encode())
        if status != 0:
            raise WavenetError(f"espeak-ng has no voice {voice!r}")
        self.voice = voice

    def _steady(self, voice: str) -> Path | None:
        """A copy of the language voice's file with flutter off, written once; None if there is no such file."""
        path = Path(self.scratch.name) / voice
        if path.exists():  # written at an earlier change of voice: no need to search the data again
            return path
        found = [p for p in (self.data / "lang").rglob("*") if p.is_file() and p.name.lower() == voice.lower()]
        if not found:
            return None
        path.write_text(found[0].read_text(encoding="utf-8") + "\nflutter 0\n", encoding="utf-8")
        return path

    def to_phonemes(self, text: str) -> str:
        """espeak-ng's phonemes for the text: words separated by spaces, phonemes by underscores."""
        buffer = ctypes.c_char_p(text.encode())
        pointer = ctypes.cast(ctypes.pointer(buffer), ctypes.POINTER(ctypes.c_void_p))
        mode = ord("_") << 8  # ASCII names, '_' between phonemes
        parts = []
        while buffer.value:
            parts.append(self.lib.espeak_TextToPhonemes(pointer, CHARS_UTF8, mode).decode())
        return " ".join(parts)


_library: _Library | None = None
_loading = threading.Lock()


def _lib() -> _Library:
    global _library
    with _loading:
        if _library is None:
            _library = _Library()
    return _library


def parse_word(word: str) -> tuple[Phone, ...]:
    """One word of espeak-ng's output, "h_@_l_'oU", as phones with their stress."""
    phones = []
    for token in word.split("_"):
        token = re.sub(r"[%=!]", "", token)  # marks of unstressed, syllabic and emphatic variants
        stress = 0
        while token and token[0] in STRESS_MARKS:
            stress = max(stress, STRESS_MARKS[token[0]])
            token = token[1:]
        if re.search(r"[A-Za-z0-9@]", token):  # not a bare pause or length mark (":", ";")
            phones.append(Phone(token, stress))
    return tuple(phones)


def render(text: str, voice: str = "en-us", rate: int | None = None) -> Rendering:
    """espeak-ng reading normalised text aloud, with the start of every phoneme.

    For its own voices the times are the truth of an alignment; for recordings of the same text
    they are what a recording is aligned to. ``rate`` is in words per minute (espeak-ng's 175 if None).
    """
    library = _lib()
    with library.lock:
        library.set_voice(voice)
        library.lib.espeak_SetParameter(ESPEAK_RATE, rate or DEFAULT_RATE, 0)
        audio, events = library.render(text)
    phones = []
    for name, ms in events:
        if name.startswith("_"):
            name = PAUSE
        else:
            name = "".join(p.name for p in parse_word(name))  # without its stress mark
        if name and not (phones and name == PAUSE and phones[-1][0] == PAUSE):
            phones.append((name, ms / 1000))
    return Rendering(audio.astype(np.float32) / 32768, library.sample_rate, tuple(phones))


def phonemize(text: str, voice: str = "en-us") -> list[Clause]:
    """Normalised text → its clauses, each a tuple of words, each a tuple of phones.

    >>> str(phonemize("hello there, my friend.")[0])
    "h_@_l_'oU D_'e@,"
    """
    clauses = []
    for piece, end in re.findall(rf"([^{re.escape(CLAUSE_PUNCTUATION)}]+)([{re.escape(CLAUSE_PUNCTUATION)}]?)", text):
        if not piece.strip():
            continue
        library = _lib()
        with library.lock:
            library.set_voice(voice)
            output = library.to_phonemes(piece.strip())
        output = re.sub(r"\([a-z-]+\)", " ", output)  # language-switch flags, "(fr)"
        words = tuple(w for w in (parse_word(token) for token in output.split()) if w)
        if words:
            clauses.append(Clause(words, end))
    return clauses
