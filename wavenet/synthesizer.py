"""One path from a request to audio: a model, what it should say or play, and a stream of 16-bit PCM.

    from wavenet import Request, Synthesizer

    synth = Synthesizer.load("checkpoints/tts-acoustic")  # a release directory, or a preset: "debug"
    audio = synth.synthesize(Request(text="Hello there.", speaker="asterisk-en_US_f_Allison", seed=1))
    print(audio.samples, audio.sample_rate)                 # the exact length, before anything is generated
    audio.write("hello.wav")                                # or: for pcm in audio: ... (int16 chunks of 0.1 s)

Every front end goes through here: ``wavenet generate|vocode|render|say`` and the server's
``/synthesize``, ``/vocode`` and ``/render`` turn their arguments into a :class:`Request`, which
:meth:`Synthesizer.plan` checks and resolves into a :class:`Plan` by one set of rules:

- **the input** is the one the model takes: ``seconds`` for an unconditioned model, ``text`` for
  text to speech, a ``recording`` for a mel vocoder, a ``midi`` file for a piano-roll model;
- **the speaker** is an id or a name; none given, the model's default ("any" where it was trained
  with one, else 0);
- **the temperature** is a positive, finite number, at most ``Limits.max_temperature``;
- **the seed** is an integer in [0, 2**63); none given, a random one below 2**53
  (:func:`wavenet.generation.sampling.random_seed`: a client reading it back as a JavaScript
  number gets it exactly). Same request, same seed: the same samples, from the command line
  or the server.

A request the model cannot honour raises :class:`RequestError`, which names the field.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from wavenet import mulaw
from wavenet.data.audio import Deemphasis, level_gain, load_audio
from wavenet.data.features import mel_frames, piano_roll, read_midi
from wavenet.errors import RequestError, WavenetError
from wavenet.generation.conditioning import FrameFeed
from wavenet.generation.registry import make_generator, resolve_backend
from wavenet.generation.sampling import check_seed, check_temperature, random_seed
from wavenet.release import Checkpoint, load_model
from wavenet.speech import SpeechFeed
from wavenet.text import prosody
from wavenet.text.normalize import normalize, sentences

CHUNK_SECONDS = 0.1  # what a Synthesis yields at a time
MIDI_TAIL_SECONDS = 1.0  # rendered after a MIDI file's last note ends: its release and decay
# The input each kind of model takes: its features' kind → the Request field.
INPUTS = {None: "seconds", "linguistic": "text", "mel": "recording", "pianoroll": "midi"}
MAKES = {
    "seconds": "audio of a given length",
    "text": "speech from text",
    "recording": "audio from a recording's mel frames",
    "midi": "piano from a MIDI file's notes",
}


@dataclass(frozen=True)
class Request:
    """What to synthesise: one input, the one the model takes, and how.

    ``recording`` and ``midi`` are a path or the file's bytes; ``input_name`` is what errors call
    the file (default: its path, or the field's name for bytes).
    """

    seconds: float | None = None
    text: str | None = None
    recording: Path | str | bytes | None = None
    midi: Path | str | bytes | None = None
    speaker: int | str | None = None
    temperature: float | None = None  # None: the release's default_temperature
    seed: int | None = None
    rate: float = 1.0  # text: 2 speaks twice as fast
    pitch: float = 1.0  # text: 2 is an octave higher
    input_name: str | None = None


@dataclass(frozen=True)
class Limits:
    """What one request may ask for (None: no limit). The server sets them; the command line has none."""

    max_seconds: float | None = None
    max_text_chars: int | None = None
    max_temperature: float | None = None


@dataclass(frozen=True)
class Plan:
    """A checked request: everything generation needs. ``frames`` (frames, channels) for a conditioned model,
    or a feed that makes them as generation reaches them (two-stage text to speech: :mod:`wavenet.speech`);
    ``speaker`` is the generating model's id (a two-stage release's vocoder's).

    ``gain`` scales the generated audio: a vocoder hears a recording at its training level and
    gives it back at the recording's own.
    """

    speaker: int
    samples: int
    temperature: float
    seed: int
    frames: np.ndarray | FrameFeed | None = None
    gain: float = 1.0
    voiced_scale: float = 1.0  # the release's temperature factor on voiced frames (Checkpoint.voiced_scale)
    preemphasis: float = 0.0  # the release's: its samples are de-emphasised on their way out (Playback)


def num_samples(seconds: float, sample_rate: int) -> int:
    """The exact length of ``seconds`` of audio, rounded to the nearest sample; at least one."""
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise RequestError("seconds", f"must be a positive number, got {seconds}")
    n = round(seconds * sample_rate)
    if n < 1:
        raise RequestError("seconds", f"{seconds} s is shorter than one sample at {sample_rate} Hz")
    return n


class Synthesizer:
    """A loaded model and its generation backend: requests in, audio out."""

    def __init__(self, checkpoint: Checkpoint, backend: str = "auto", batch_size: int = 1) -> None:
        """``batch_size``: the most streams the backend will run at once (a server's batch), which it is checked at."""
        self.checkpoint = checkpoint
        self.backend = resolve_backend(backend, checkpoint.model, batch_size)

    @classmethod
    def load(cls, spec: str | Path, device: str | torch.device = "cpu", backend: str = "auto") -> Synthesizer:
        """A release directory or a preset name (``debug``, ``ref20``: untrained), on ``device``."""
        return cls(load_model(spec, device), backend)

    @property
    def name(self) -> str:
        return self.checkpoint.name

    @property
    def sample_rate(self) -> int:
        return self.checkpoint.config.sample_rate

    @property
    def takes(self) -> str:
        """The Request field this model reads: seconds, text, recording or midi."""
        features = self.checkpoint.features
        return INPUTS[features.kind if features is not None else None]

    def check(self, request: Request, limits: Limits = Limits()) -> Request:  # noqa: B008 - frozen
        """The request with its speaker resolved to an id and its seed chosen, checked in everything that costs no work.

        What :meth:`plan` would refuse without planning text or reading a file is refused here,
        so that a server can answer it before it queues the work.
        """
        given = [f for f in INPUTS.values() if getattr(request, f) is not None]
        takes = self.takes
        for field in given:
            if field != takes:
                raise RequestError(field, f"model {self.name} takes no {field}: it makes {MAKES[takes]}")
        if not given:
            raise RequestError(takes, f"Field required (model {self.name} makes {MAKES[takes]})")
        if request.seconds is not None:
            if limits.max_seconds is not None and request.seconds > limits.max_seconds:
                raise RequestError("seconds", f"Input should be less than or equal to {limits.max_seconds:g}")
            num_samples(request.seconds, self.sample_rate)
        if request.text is not None:
            if not request.text.strip():
                raise RequestError("text", "empty")
            if limits.max_text_chars is not None and len(request.text) > limits.max_text_chars:
                raise RequestError(
                    "text", f"{len(request.text):,} characters, more than the {limits.max_text_chars:,} allowed"
                )
            for field in ("rate", "pitch"):
                value = getattr(request, field)
                if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                    raise RequestError(field, f"must be a positive number, got {value}")
        given = request.temperature if request.temperature is not None else self.checkpoint.default_temperature
        temperature = check_temperature(given, limits.max_temperature)
        seed = check_seed(request.seed if request.seed is not None else random_seed())
        return replace(request, speaker=self.speaker_id(request.speaker), temperature=temperature, seed=seed)

    def speaker_id(self, speaker: int | str | None) -> int:
        """A speaker by id or name; none: the model's default ("any" where it has one, else 0)."""
        if speaker is None:
            return self.checkpoint.default_speaker
        try:
            return self.checkpoint.speaker_id(speaker)
        except WavenetError as err:
            raise RequestError("speaker", str(err)) from None

    def plan(self, request: Request, limits: Limits = Limits()) -> Plan:  # noqa: B008 - frozen
        """Check the request (:meth:`check`), then make its frames: plan the text, read the recording or MIDI file."""
        request = self.check(request, limits)
        rate = self.sample_rate
        gain = 1.0
        speaker = request.speaker
        if request.seconds is not None:
            frames, samples = None, num_samples(request.seconds, rate)
        elif request.text is not None:
            planned = text_frames(self.checkpoint, request.text, request.speaker, request.rate, request.pitch)
            samples = sum(len(f) for f in planned) * self.checkpoint.config.cond_hop
            if limits.max_seconds is not None and samples > limits.max_seconds * rate:
                raise RequestError(
                    "text", f"spoken it lasts {samples / rate:.1f} s, more than the {limits.max_seconds:g} s allowed"
                )
            stage = self.checkpoint.acoustic
            if stage is None:
                frames = np.concatenate(planned)
            else:  # two stages: the acoustic model's frames, sentence by sentence, spoken by the vocoder's voice
                frames = SpeechFeed(stage, planned, request.speaker, self.checkpoint.metadata.get("f0", "model"))
                names = {i: name for name, i in self.checkpoint.speakers.items()}
                speaker = stage.vocoder_speaker(names.get(request.speaker))
        else:
            frames, samples, gain = input_frames(self.checkpoint, request, limits.max_seconds)
        return Plan(
            speaker, samples, request.temperature, request.seed, frames, gain, self.checkpoint.voiced_scale,
            self.checkpoint.audio.preemphasis,
        )  # fmt: skip

    def stream(self, plan: Plan) -> Synthesis:
        """The plan's audio, generated as it is read."""
        return Synthesis(self, plan)

    def synthesize(self, request: Request, limits: Limits = Limits()) -> Synthesis:  # noqa: B008 - frozen
        """:meth:`plan`, then :meth:`stream`."""
        return self.stream(self.plan(request, limits))


class Synthesis:
    """One stream of audio: ``samples`` long, known before the first chunk; iterating generates it."""

    def __init__(self, synthesizer: Synthesizer, plan: Plan) -> None:
        self.plan = plan
        self.sample_rate = synthesizer.sample_rate
        self.samples = plan.samples
        self.seed = plan.seed
        self._playback = Playback(synthesizer.checkpoint.config.mu, plan)
        self._generator = make_generator(synthesizer.checkpoint.model, 1, synthesizer.backend)
        self._generator.reset(
            0, speaker=plan.speaker, temperature=plan.temperature, seed=plan.seed, frames=plan.frames,
            voiced_scale=plan.voiced_scale,
        )  # fmt: skip
        self._chunk = max(1, round(CHUNK_SECONDS * self.sample_rate))
        self._used = False

    def __iter__(self) -> Iterator[np.ndarray]:
        """int16 PCM chunks of about 0.1 s, ``samples`` in all. A stream is read once."""
        if self._used:
            raise WavenetError("this audio has been read already: synthesize the request again")
        self._used = True
        for start in range(0, self.samples, self._chunk):
            codes = self._generator.generate(min(self._chunk, self.samples - start))[0]
            yield self._playback(codes)

    def write(self, path: str | Path, progress: Callable[[int], None] | None = None) -> Path:
        """Write a mono 16-bit WAV; it appears under ``path`` only when complete."""
        path = check_output(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)  # soundfile reopens it; the finished file gets a normal file's mode below
        try:
            with sf.SoundFile(tmp, "w", samplerate=self.sample_rate, channels=1, subtype="PCM_16", format="WAV") as f:
                for pcm in self:
                    f.write(pcm)
                    if progress is not None:
                        progress(len(pcm))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return path


class Playback:
    """A stream's codes as 16-bit PCM, piece by piece: decoded, de-emphasised where the release's signal is
    pre-emphasised (the filter's state carried from piece to piece), scaled by the plan's gain."""

    def __init__(self, mu: int, plan: Plan) -> None:
        self._mu, self._gain = mu, plan.gain
        self._deemphasis = Deemphasis(plan.preemphasis)

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        audio = self._deemphasis(mulaw.decode(codes, self._mu))
        return mulaw.to_pcm16(audio if self._gain == 1.0 else audio * self._gain)


def check_output(path: str | Path) -> Path:
    """The output path, once its directory is known to exist: checked before anything is generated."""
    path = Path(path)
    if not path.parent.is_dir():
        raise WavenetError(f"{path}: directory {path.parent} does not exist")
    return path


def input_frames(
    checkpoint: Checkpoint, request: Request, max_seconds: float | None = None
) -> tuple[np.ndarray, int, float]:
    """A vocoder's or a piano-roll model's frames (frames, channels) from the request's file, the
    stream's length and its gain.

    A recording in any format soundfile reads keeps its timing: resampled to the model's rate,
    never trimmed, so the stream is exactly as long as the recording and lines up with it. Its
    frames are computed at the level the model was trained on (the release's audio options) and
    the gain brings the audio back to the recording's level. A MIDI file is rendered to its last
    note's end and :data:`MIDI_TAIL_SECONDS` more (frames × hop samples). Input longer than
    ``max_seconds``, missing, empty, silent, unreadable or (MIDI) without notes is a WavenetError
    that names the file.
    """
    features = checkpoint.features
    source = request.recording if request.recording is not None else request.midi
    field = "recording" if request.recording is not None else "midi"
    if isinstance(source, bytes):
        name = request.input_name or field
        if not source:
            raise WavenetError(f"{name}: empty")
        opened = io.BytesIO(source)
    else:
        name = request.input_name or str(source)
        opened = Path(source)
        if not opened.is_file():
            raise WavenetError(f"{name}: no such file")
    rate = checkpoint.config.sample_rate
    if features.kind == "mel":
        trained = checkpoint.audio
        audio = load_audio(opened, replace(trained, trim_silence=False, normalize=False), name)
        _check_length(name, len(audio) / rate, max_seconds)
        gain = level_gain(audio, trained.target_dbfs) if trained.normalize else 1.0
        # As prepared for training: at its level (the envelope pre-emphasised where the model's samples are)
        # and float16 (what the prepared data stores), so the same frames give the same audio.
        frames = mel_frames(audio * gain, rate, features, trained.preemphasis).astype(np.float16).astype(np.float32)
        return frames, len(audio), 1.0 / gain
    notes = read_midi(opened, name)
    if not notes:
        raise WavenetError(f"{name}: the MIDI file has no notes")
    seconds = max(n.end for n in notes) + MIDI_TAIL_SECONDS
    _check_length(name, seconds, max_seconds)
    frames = piano_roll(notes, features.frames_for(round(seconds * rate)), rate, features.hop)
    return frames, len(frames) * features.hop, 1.0


def text_frames(checkpoint: Checkpoint, text: str, speaker: int = 0, rate: float = 1.0,
                pitch: float = 1.0) -> list[np.ndarray]:  # fmt: skip
    """A text-to-speech model's frames for ``text``, sentence by sentence: [(frames, channels), ...].

    The text is cut into sentences and each is normalised (:mod:`wavenet.text.normalize`), timed
    and given a melody in the speaker's voice (:mod:`wavenet.text.prosody`; the voice the
    checkpoint measured for that speaker, else espeak-ng's own). Text with nothing speakable in
    it is a RequestError naming ``text``.
    """
    names = {i: name for name, i in checkpoint.speakers.items()}
    voices = checkpoint.metadata.get("prosody") or {}
    voice = prosody.Voice.from_dict(voices[names[speaker]]) if names.get(speaker) in voices else prosody.Voice()
    hop, rate_hz = checkpoint.features.hop, checkpoint.config.sample_rate
    out = [prosody.plan(t, voice, hop, rate_hz, rate, pitch).frames for t in map(normalize, sentences(text)) if t]
    if not out:
        raise RequestError("text", "nothing speakable in it")
    return out


def _check_length(name: str, seconds: float, max_seconds: float | None) -> None:
    if max_seconds is not None and seconds > max_seconds:
        raise WavenetError(f"{name}: {seconds:.1f} s long, more than the {max_seconds:g} s allowed")
