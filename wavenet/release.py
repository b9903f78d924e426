"""Release checkpoints: a directory of ``model.safetensors`` and ``config.json``.

A release checkpoint is what the server and ``wavenet generate`` load. The loader rebuilds the
model from the JSON config and reads tensors with safetensors, so loading a checkpoint from
anywhere never unpickles anything. (Training checkpoints, with optimizer state, are a
different thing, written by training.)

``config.json`` holds::

    {"format": "wavenet-release", "version": 1,
     "model": {...WaveNetConfig fields...},
     "speakers": {"name": id, ...},
     "features": {...FeatureOptions: what the frames are...},   (conditioned models only)
     "metadata": {...free-form: data, training steps...}}

Wherever a checkpoint is accepted, a preset name (``debug``, ``ref20``) is accepted too, and
gives a freshly initialised, untrained model.

**Two-stage text to speech** (``"format": "wavenet-acoustic"``): the same two files hold an
acoustic model (:mod:`wavenet.acoustic`; ``model`` holds its AcousticConfig, ``features`` the
linguistic frames it reads), and ``metadata.vocoder`` names the mel vocoder release that speaks
its frames, as a path relative to the release directory (``"../mel-vocoder"``), and
``metadata.vocoder_unheard`` the voices that vocoder held out of its training (it speaks them with
its ``any`` id, as it speaks a voice it has no id for). Loading it loads
both: the :class:`Checkpoint` is the vocoder's WaveNet, addressed by the acoustic model's
speakers and taking text, with the first stage in ``Checkpoint.acoustic``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from wavenet.acoustic import F0_SOURCES, AcousticConfig, AcousticModel
from wavenet.data.audio import AudioOptions
from wavenet.data.features import FeatureOptions
from wavenet.errors import WavenetError
from wavenet.files import atomic_write_bytes, atomic_write_text
from wavenet.model import WaveNet, state_shapes
from wavenet.model_config import PRESETS, WaveNetConfig

log = logging.getLogger(__name__)

FORMAT = "wavenet-release"
ACOUSTIC_FORMAT = "wavenet-acoustic"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
MAX_CONFIG_BYTES = 16 * 2**20
MAX_PARAMETERS = 500_000_000  # 2 GB of float32 weights
FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}


@dataclass
class Checkpoint:
    """A loaded model with what a user needs to address it: its name, speakers and provenance."""

    model: WaveNet
    name: str
    speakers: dict[str, int] = field(default_factory=dict)  # speaker name → id
    metadata: dict[str, Any] = field(default_factory=dict)
    trained: bool = True  # False for a preset: random weights, generates noise
    features: FeatureOptions | None = None  # what a conditioned model's frames are
    acoustic: AcousticStage | None = None  # two-stage text to speech: its first stage (``model`` is the vocoder's)

    @property
    def audio(self) -> AudioOptions:
        """The preparation the model's training audio went through (its rate, level and pre-emphasis), or plain
        resampling to its rate."""
        saved = self.metadata.get("audio")
        return AudioOptions(**saved) if saved else AudioOptions(sample_rate=self.config.sample_rate)

    @property
    def config(self) -> WaveNetConfig:
        return self.model.config

    @property
    def default_temperature(self) -> float:
        """The sampling temperature when none is given: metadata.temperature where the release names
        one (chosen on held-out output, as the vocoder's is), else 1."""
        return float(self.metadata.get("temperature", 1.0))

    @property
    def voiced_scale(self) -> float:
        """A model with a periodic source's temperature factor on voiced frames: metadata.voiced_temperature_scale
        where the release names one (voiced samples are drawn at the request's temperature times it), else 1."""
        return float(self.metadata.get("voiced_temperature_scale", 1.0))

    @property
    def default_speaker(self) -> int:
        """The speaker when none is given: "any" where the model was trained with one (speaker dropout), else 0."""
        return self.speakers.get("any", 0)

    @property
    def n_speakers(self) -> int:
        """The speaker ids a request may name: the acoustic model's in a two-stage release, else the WaveNet's."""
        return self.acoustic.model.config.n_speakers if self.acoustic is not None else self.config.n_speakers

    def speaker_id(self, speaker: str | int) -> int:
        """Resolve a speaker name or id; the error lists what exists."""
        if isinstance(speaker, str) and speaker in self.speakers:
            return self.speakers[speaker]
        try:
            sid = int(speaker)
        except (TypeError, ValueError):
            sid = None
        if sid is not None and 0 <= sid < self.n_speakers:
            return sid
        raise WavenetError(f"unknown speaker {speaker!r}; {self.describe_speakers()}")

    def describe_speakers(self) -> str:
        n = self.n_speakers
        names = ", ".join(f"{name} ({sid})" for name, sid in sorted(self.speakers.items(), key=lambda kv: kv[1]))
        if names:
            return f"speakers: {names}"
        return f"speaker ids: 0 to {n - 1}"


@dataclass
class AcousticStage:
    """A two-stage text-to-speech release's first stage: the acoustic model, and the vocoder release that speaks
    its frames (loaded from ``metadata.vocoder``)."""

    model: AcousticModel
    vocoder: Checkpoint
    path: str  # metadata.vocoder, as written
    unheard: tuple[str, ...] = ()  # metadata.vocoder_unheard: voices the vocoder has an id for but never trained

    def vocoder_speaker(self, name: str | None) -> int:
        """The vocoder's id for a voice: its own of that name where it was trained on it, else its default ("any")."""
        if name is not None and name in self.vocoder.speakers and name not in self.unheard:
            return self.vocoder.speakers[name]
        return self.vocoder.default_speaker


def save_release(
    model: WaveNet,
    directory: Path,
    speakers: dict[str, int] | None = None,
    metadata: dict[str, Any] | None = None,
    features: FeatureOptions | None = None,
) -> None:
    """Write a release checkpoint; each file is replaced atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    speakers = dict(speakers or {})
    _check_speakers(speakers, model.config.n_speakers, directory / CONFIG)
    _check_features(features, model.config, directory / CONFIG)
    _write(directory, FORMAT, model, speakers, features, metadata or {})


def _write(directory: Path, fmt: str, model: torch.nn.Module, speakers: dict[str, int],
           features: FeatureOptions | None, metadata: dict[str, Any]) -> None:  # fmt: skip
    """The weights (float32) and config.json of a release of either format, each replaced atomically."""
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(directory / WEIGHTS, save(tensors, metadata={"format": fmt}))
    config = {
        "format": fmt,
        "version": VERSION,
        "model": model.config.to_dict(),
        "speakers": speakers,
        **({"features": features.to_dict()} if features is not None else {}),
        "metadata": metadata,
    }
    atomic_write_text(directory / CONFIG, json.dumps(config, indent=2) + "\n")


def load_release(directory: Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a release checkpoint; any missing, malformed or mismatched file raises a WavenetError naming it.

    Nothing is allocated for the model before its sizes have been checked: against sane limits
    (:data:`wavenet.model_config.LIMITS`), then against the tensors the weights file declares in its
    header (names, shapes and dtypes, read without reading the tensors).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise WavenetError(f"checkpoint {directory}: not a directory")
    config_path, weights_path = directory / CONFIG, directory / WEIGHTS
    for path in (config_path, weights_path):
        if not path.is_file():
            raise WavenetError(f"{path}: missing (a release checkpoint holds {CONFIG} and {WEIGHTS})")
    raw = _read_json(config_path)
    if isinstance(raw, dict) and raw.get("format") == ACOUSTIC_FORMAT:
        return _load_acoustic(directory, raw, device)
    config, speakers, metadata, features = _read_config(config_path, raw)
    expected = state_shapes(config)  # shapes without memory
    _check_size(sum(math.prod(shape) for shape in expected.values()), config_path)
    _check_declared_tensors(weights_path, expected)
    model = _load_weights(WaveNet(config), weights_path, device)
    name = directory.resolve().name
    return Checkpoint(model=model, name=name, speakers=speakers, metadata=metadata, features=features)


def _read_json(config_path: Path) -> Any:
    size = config_path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise WavenetError(f"{config_path}: {size:,} bytes, more than a release config may hold ({MAX_CONFIG_BYTES:,})")
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise WavenetError(f"{config_path}:{err.lineno}: invalid JSON: {err.msg}") from None
    except UnicodeDecodeError:
        raise WavenetError(f"{config_path}: not UTF-8 text") from None
    except RecursionError:
        raise WavenetError(f"{config_path}: invalid JSON: nested too deeply") from None
    except OSError as err:
        raise WavenetError(f"{config_path}: cannot read it ({err.strerror or err})") from None
    return raw


def _check_size(parameters: int, config_path: Path) -> None:
    if parameters > MAX_PARAMETERS:
        raise WavenetError(
            f"{config_path}: model: its sizes make {parameters:,} parameters, more than the limit of {MAX_PARAMETERS:,}"
        )


def _load_weights(model: torch.nn.Module, weights_path: Path, device: str | torch.device) -> torch.nn.Module:
    """``model`` with the file's weights (their names and shapes already checked), every one finite, on ``device``."""
    try:
        tensors = load_file(weights_path)
    except (SafetensorError, OSError, ValueError) as err:
        raise WavenetError(f"{weights_path}: not a readable safetensors file ({_one_line(err)})") from None
    for key, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise WavenetError(f"{weights_path}: tensor {key}: holds NaN or infinite values")
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
    return model.to(device).eval()


def _check_header(raw: Any, config_path: Path) -> None:
    """The version and keys every release config has (its format is checked by who reads it)."""
    if raw.get("version") != VERSION:
        raise WavenetError(
            f"{config_path}: version: unsupported version {raw.get('version')!r} (this code reads {VERSION})"
        )
    unknown = sorted(set(raw) - {"format", "version", "model", "speakers", "features", "metadata"})
    if unknown:
        raise WavenetError(f"{config_path}: unknown key(s) {', '.join(unknown)}")


def _read_config(
    config_path: Path, raw: Any
) -> tuple[WaveNetConfig, dict[str, int], dict[str, Any], FeatureOptions | None]:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise WavenetError(f'{config_path}: format: not a wavenet release config (expected "format": "{FORMAT}")')
    _check_header(raw, config_path)
    config = WaveNetConfig.from_dict(raw.get("model"), source=str(config_path))
    speakers = raw.get("speakers") or {}
    _check_speakers(speakers, config.n_speakers, config_path)
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise WavenetError(f"{config_path}: metadata: must be an object")
    temperature = metadata.get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 < temperature < math.inf:
        raise WavenetError(f"{config_path}: metadata.temperature: must be a positive number, got {temperature!r}")
    scale = metadata.get("voiced_temperature_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < math.inf:
        raise WavenetError(
            f"{config_path}: metadata.voiced_temperature_scale: must be a positive number, got {scale!r}"
        )
    if scale != 1.0 and not config.f0_channel:
        raise WavenetError(
            f"{config_path}: metadata.voiced_temperature_scale: only a model with a periodic source knows what is voiced"
        )
    _check_audio(metadata.get("audio"), config_path)
    features = raw.get("features")
    if features is not None:
        if not isinstance(features, dict):
            raise WavenetError(f"{config_path}: features: must be an object")
        features = FeatureOptions.from_dict(features, f"{config_path}: features")
    _check_features(features, config, config_path)
    if features is not None and features.kind == "linguistic":
        _check_prosody(metadata.get("prosody"), speakers, config_path)
    return config, speakers, metadata, features


def _check_audio(audio: Any, config_path: Path) -> None:
    """metadata.audio (how the training audio was prepared: its level, its pre-emphasis) shapes every
    output, so a broken one stops the load, naming the file."""
    if audio is None:
        return
    if not isinstance(audio, dict):
        raise WavenetError(f"{config_path}: metadata.audio: must be an object")
    known = set(AudioOptions.__dataclass_fields__)
    if set(audio) - known:
        raise WavenetError(f"{config_path}: metadata.audio: unknown key(s) {', '.join(sorted(set(audio) - known))}")
    try:
        AudioOptions(**audio)
    except WavenetError as err:
        raise WavenetError(f"{config_path}: metadata.{err}") from None


def _check_prosody(prosody: Any, speakers: dict[str, int], config_path: Path) -> None:
    """A text-to-speech release's voices (metadata.prosody) are read at load, so a broken one stops the load,
    naming the file and the voice, instead of failing every request in that voice."""
    from wavenet.text.prosody import Voice

    if prosody is None:
        return
    if not isinstance(prosody, dict):
        raise WavenetError(f"{config_path}: metadata.prosody: must be an object of voices")
    for name, voice in prosody.items():
        if name not in speakers:
            raise WavenetError(f"{config_path}: metadata.prosody: {name!r} is not a speaker of the model")
        if not isinstance(voice, dict):
            raise WavenetError(f"{config_path}: metadata.prosody.{name}: must be an object")
        try:
            Voice.from_dict(voice)
        except WavenetError as err:
            raise WavenetError(f"{config_path}: metadata.prosody.{name}: {err}") from None


def _check_declared_tensors(weights_path: Path, expected: dict[str, tuple[int, ...]]) -> None:
    """The tensors the file's header declares are the ones the config implies: names, shapes, float dtypes."""
    try:
        with safe_open(weights_path, framework="pt") as f:
            declared = {key: (tuple(f.get_slice(key).get_shape()), f.get_slice(key).get_dtype()) for key in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise WavenetError(f"{weights_path}: not a readable safetensors file ({_one_line(err)})") from None
    missing = sorted(set(expected) - set(declared))
    unexpected = sorted(set(declared) - set(expected))
    problems = [f"missing tensors: {_first(missing)}"] if missing else []
    problems += [f"unexpected tensors: {_first(unexpected)}"] if unexpected else []
    if problems:
        raise WavenetError(f"{weights_path}: does not match {CONFIG}: {'; '.join(problems)}")
    for key, want in expected.items():
        shape, dtype = declared[key]
        if shape != want:
            raise WavenetError(f"{weights_path}: tensor {key}: has shape {shape}, but {CONFIG} implies {want}")
        if dtype not in FLOAT_DTYPES:
            raise WavenetError(f"{weights_path}: tensor {key}: has dtype {dtype}, expected a float type")


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def load_model(spec: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """A checkpoint directory, or a preset name for an untrained model (seeded, so reproducible)."""
    path = Path(spec)
    if path.exists():
        return load_release(path, device)
    if str(spec) in PRESETS:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = WaveNet(PRESETS[str(spec)])
        log.warning("%s is a preset: an untrained model with random weights, which generates noise", spec)
        cfg = model.config
        features = FeatureOptions("mel", cfg.cond_hop, cfg.cond_channels) if cfg.conditioned else None
        return Checkpoint(model=model.to(device).eval(), name=str(spec), trained=False, features=features)
    raise WavenetError(
        f"no checkpoint directory at {str(spec)!r}, and no preset of that name (presets: {', '.join(PRESETS)})"
    )


def _first(names: list[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _check_features(features: FeatureOptions | None, config: WaveNetConfig, source: Path) -> None:
    """A conditioned model says what its frames are, and they fit it; an unconditioned one says nothing."""
    if config.conditioned and features is None:
        raise WavenetError(f"{source}: features: missing (a conditioned model must say what its frames are)")
    if not config.conditioned and features is not None:
        raise WavenetError(f"{source}: features: given for a model that takes no frames (model.cond_channels is 0)")
    if features is not None and (features.channels, features.hop) != (config.cond_channels, config.cond_hop):
        raise WavenetError(
            f"{source}: features: {features.channels} channels every {features.hop} samples, but the model reads "
            f"{config.cond_channels} every {config.cond_hop}"
        )
    if features is not None and features.lpc_order != config.lpc_order:
        raise WavenetError(
            f"{source}: features: {features.lpc_order} reflection coefficients a frame, but the model's filter "
            f"(model.lpc_order) has {config.lpc_order}"
        )
    if features is not None and features.f0 != config.f0_channel:
        raise WavenetError(
            f"{source}: features: {'F0' if features.f0 else 'no F0'} in the frames, but the model's periodic source "
            f"(model.source_harmonics) has {config.source_harmonics} harmonics"
            + (" at a piano roll's keys" if config.source_keys else "")
        )
    if features is not None and config.source_keys and features.kind != "pianoroll":
        raise WavenetError(f"{source}: features: model.source_keys reads a piano roll, not {features.kind} frames")


def _check_speakers(speakers: Any, n_speakers: int, source: Path) -> None:
    if not isinstance(speakers, dict):
        raise WavenetError(f"{source}: speakers: must be an object of name → id")
    seen: dict[int, str] = {}
    for name, sid in speakers.items():
        if not isinstance(sid, int) or isinstance(sid, bool) or not 0 <= sid < n_speakers:
            raise WavenetError(f"{source}: speakers: speaker {name!r} has id {sid!r}, outside 0 to {n_speakers - 1}")
        if sid in seen:
            raise WavenetError(f"{source}: speakers: {seen[sid]!r} and {name!r} share id {sid}")
        seen[sid] = name


def save_acoustic_release(
    model: AcousticModel, directory: Path, speakers: dict[str, int], metadata: dict[str, Any], hop: int
) -> None:
    """Write a two-stage text-to-speech release: the acoustic model, its speakers and metadata (which must name
    its vocoder: ``metadata.vocoder``, relative to ``directory``); each file is replaced atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _check_speakers(speakers, model.config.n_speakers, directory / CONFIG)
    _write(directory, ACOUSTIC_FORMAT, model, speakers, FeatureOptions("linguistic", hop), metadata)


def update_metadata(directory: Path, changes: dict[str, Any]) -> None:
    """Set keys of a release's metadata (its voices' measured prosody), its weights untouched; the release must
    still load."""
    path = Path(directory) / CONFIG
    raw = _read_json(path)
    if not isinstance(raw, dict) or raw.get("format") not in (FORMAT, ACOUSTIC_FORMAT):
        raise WavenetError(f"{path}: format: not a wavenet release config")
    before = path.read_text(encoding="utf-8")
    atomic_write_text(
        path, json.dumps({**raw, "metadata": {**(raw.get("metadata") or {}), **changes}}, indent=2) + "\n"
    )
    try:
        load_release(Path(directory))
    except WavenetError:
        atomic_write_text(path, before)
        raise


def _load_acoustic(directory: Path, raw: dict[str, Any], device: str | torch.device) -> Checkpoint:
    """A two-stage text-to-speech release: its acoustic model and the vocoder its metadata names, checked to fit."""
    config_path, weights_path = directory / CONFIG, directory / WEIGHTS
    _check_header(raw, config_path)
    config = AcousticConfig.from_dict(raw.get("model"), str(config_path))
    speakers = raw.get("speakers") or {}
    _check_speakers(speakers, config.n_speakers, config_path)
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise WavenetError(f"{config_path}: metadata: must be an object")
    features = raw.get("features")
    if not isinstance(features, dict):
        raise WavenetError(f"{config_path}: features: must be an object (the linguistic frames the model reads)")
    features = FeatureOptions.from_dict(features, f"{config_path}: features")
    if features.kind != "linguistic":
        raise WavenetError(f"{config_path}: features: an acoustic model reads linguistic frames, not {features.kind}")
    _check_prosody(metadata.get("prosody"), speakers, config_path)
    if metadata.get("f0", "model") not in F0_SOURCES:
        raise WavenetError(
            f"{config_path}: metadata.f0: must be one of {', '.join(F0_SOURCES)}, got {metadata.get('f0')!r}"
        )
    unheard = metadata.get("vocoder_unheard", [])
    if not isinstance(unheard, list) or not all(isinstance(n, str) and n in speakers for n in unheard):
        raise WavenetError(f"{config_path}: metadata.vocoder_unheard: must be a list of the model's speakers")
    where = metadata.get("vocoder")
    if not isinstance(where, str) or not where:
        raise WavenetError(f"{config_path}: metadata.vocoder: must name the vocoder release (a path relative to it)")
    _check_size(config.parameters, config_path)
    vocoder_dir = (directory / where).resolve()
    if (vocoder_dir / CONFIG).is_file() and (_read_json(vocoder_dir / CONFIG) or {}).get("format") == ACOUSTIC_FORMAT:
        raise WavenetError(f"{config_path}: metadata.vocoder: {where} is another two-stage release, not a mel vocoder")
    try:
        vocoder = load_release(vocoder_dir, device)
    except WavenetError as err:
        raise WavenetError(f"{config_path}: metadata.vocoder: {err}") from None
    voc = vocoder.features
    if vocoder.acoustic is not None or voc is None or voc.kind != "mel":
        raise WavenetError(f"{config_path}: metadata.vocoder: {where} is not a mel vocoder")
    if (voc.hop, voc.n_mels) != (features.hop, config.n_mels):
        raise WavenetError(
            f"{config_path}: metadata.vocoder: {where} reads {voc.n_mels} mel bands every {voc.hop} samples; "
            f"this model makes {config.n_mels} every {features.hop}"
        )
    model = AcousticModel(config)
    _check_declared_tensors(weights_path, {k: tuple(v.shape) for k, v in model.state_dict().items()})
    model = _load_weights(model, weights_path, device)
    # How the audio is sampled and played is the vocoder's: its level, pre-emphasis and temperatures.
    sampling = ("audio", "temperature", "voiced_temperature_scale")
    merged = {**metadata, **{k: vocoder.metadata[k] for k in sampling if k in vocoder.metadata}}
    return Checkpoint(
        model=vocoder.model, name=directory.resolve().name, speakers=speakers, metadata=merged, features=features,
        acoustic=AcousticStage(model, vocoder, where, tuple(unheard)),
    )  # fmt: skip
