"""The ``wavenet`` command.

    wavenet info CHECKPOINT
    wavenet generate CHECKPOINT -o OUT.wav [--seconds S] [--speaker ID_OR_NAME] [--temperature T] [--seed N]
    wavenet vocode CHECKPOINT IN.wav -o OUT.wav [--speaker ID_OR_NAME] [--temperature T] [--seed N]
    wavenet render CHECKPOINT SONG.mid -o OUT.wav [--temperature T] [--seed N]
    wavenet say CHECKPOINT TEXT -o OUT.wav [--speaker ID_OR_NAME] [--rate R] [--pitch P] [--seed N]

(generate, vocode, render and say are one call of the library's synthesis API: wavenet.synthesizer)
    wavenet bench [--model ref20|CHECKPOINT[,...]] [--batch 1,16] [--seconds S] [--json OUT]
    wavenet bench --train CONFIG data.dir=DATA [dotted.key=value ...] [--steps 20] [--json OUT]
    wavenet manifest {vctk,maestro,dir} ROOT -o MANIFEST.tsv
    wavenet prepare MANIFEST OUT_DIR [--trim-silence] [--normalize] [--preemphasis A] [--valid-fraction F] [--valid-speakers A,B]
                    [--features mel|pianoroll|linguistic] [--hop 200] [--n-mels 80]
    wavenet train CONFIG [--resume] [--time-limit 150m] [dotted.key=value ...]
    wavenet export RUN_DIR OUT_DIR [--checkpoint best|latest|FILE] [--temperature T] [--voiced-scale S] [--vocoder DIR]
    wavenet eval CHECKPOINT AUDIO... [--json] [--ngram-order N] [--baseline-data DIR_OR_MANIFEST]
    wavenet serve [CHECKPOINT ...] [--host 127.0.0.1] [--port 8000] [--max-batch N] [--device cpu|cuda]

CHECKPOINT is a release checkpoint directory or a preset name (``debug``, ``ref20``: untrained).
Errors a user can fix end the command with a one-line message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from wavenet.errors import WavenetError
from wavenet.release import load_model

log = logging.getLogger("wavenet")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "train":  # overrides may come after --resume, where argparse stops collecting them
        unknown = [item for item in extra if item.startswith("-") or "=" not in item]
        args.overrides += [item for item in extra if item not in unknown]
        extra = unknown
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO, format="wavenet: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        return args.run(args)
    except WavenetError as err:
        print(f"wavenet: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wavenet: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wavenet", description="Train, evaluate and run WaveNet models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser("info", help="describe a checkpoint: config, size, receptive field, speakers")
    info.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint directory or preset name")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")
    info.set_defaults(run=run_info)

    # generate, vocode, render and say: one input each, as a Request (wavenet.synthesizer).
    speaker_help = "speaker id or name (default: the model's: 'any' where it has one, else 0)"
    for name, what, field, input_help in (
        ("generate", "generate audio of a given length (a model without input frames)", "seconds", None),
        ("vocode", "resynthesise a recording from its mel frames (a mel vocoder)", "recording", "IN.wav"),
        ("render", "render a MIDI file (a piano-roll model)", "midi", "SONG.mid"),
        ("say", "speak a text (a text-to-speech model)", "text", "TEXT"),
    ):
        command = sub.add_parser(name, help=what)
        command.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint directory or preset name")
        if field == "text":
            command.add_argument("input", metavar="TEXT", help="what to say (English)")
        elif input_help:
            command.add_argument("input", type=Path, metavar=input_help)
        command.add_argument("-o", "--output", required=True, type=Path, metavar="OUT.wav")
        if field == "seconds":
            command.add_argument("--seconds", type=float, default=1.0, help="length of the audio (default 1.0)")
        command.add_argument("--speaker", default=None, help=speaker_help)
        if field == "text":
            command.add_argument(
                "--rate", type=float, default=1.0, help="speaking rate: 2 is twice as fast (default 1)"
            )
            command.add_argument("--pitch", type=float, default=1.0, help="pitch: 2 is an octave higher (default 1)")
        command.add_argument("--temperature", type=float, default=None,
                             help="softmax temperature, > 0 (default: the release's own, 1.0 unless it names one)")  # fmt: skip
        command.add_argument("--seed", type=int, default=None, help="random seed (default: a random one, printed)")
        command.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
        command.add_argument("--backend", default="auto", help="generation backend (default: the fastest available)")
        command.set_defaults(run=run_synthesis, field=field)

    bench = sub.add_parser("bench", help="measure generation speed of every backend side by side")
    bench.add_argument(
        "--model", default="ref20", help="checkpoint directories or presets, comma-separated (default ref20)"
    )
    bench.add_argument("--batch", default="1,16", help="comma-separated batch sizes (default 1,16)")
    bench.add_argument("--seconds", type=float, default=2.0, help="wall time per timed repetition (default 2)")
    bench.add_argument("--repeats", type=int, default=5, help="timed repetitions; the median is reported")
    bench.add_argument("--naive-steps", type=int, default=8, help="samples per repetition for the naive generator")
    bench.add_argument("--backends", default=None, help="comma-separated backends (default: all)")
    bench.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    bench.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the results as JSON")
    bench.add_argument(
        "--train",
        nargs="+",
        default=None,
        metavar=("CONFIG", "KEY=VALUE"),
        help="time training instead: a recipe's config and its overrides (data.dir=... at least)",
    )
    bench.add_argument("--steps", type=int, default=20, help="--train: timed steps, after 3 of warm-up (default 20)")
    bench.set_defaults(run=run_bench)

    manifest = sub.add_parser("manifest", help="list a corpus's audio files in a manifest")
    manifest.add_argument("corpus", choices=["vctk", "maestro", "dir"], help="corpus layout")
    manifest.add_argument("root", type=Path, help="the corpus's root folder")
    manifest.add_argument("-o", "--output", type=Path, required=True, metavar="MANIFEST.tsv")
    manifest.add_argument("--mic", type=int, default=1, choices=[1, 2], help="VCTK 0.92 microphone (default 1)")
    manifest.add_argument("--speaker", default=None, help="dir: one speaker name for all files")
    manifest.set_defaults(run=run_manifest)

    prep = sub.add_parser("prepare", help="decode, resample and μ-law encode a manifest's audio for training")
    prep.add_argument("manifest", type=Path)
    prep.add_argument("out_dir", type=Path)
    prep.add_argument("--sample-rate", type=int, default=16000)
    prep.add_argument("--trim-silence", action="store_true", help="cut leading and trailing silence")
    prep.add_argument("--trim-db", type=float, default=40.0, help="silence: this many dB below the loudest frame")
    prep.add_argument("--normalize", action="store_true", help="scale every file to --target-dbfs RMS")
    prep.add_argument("--target-dbfs", type=float, default=-20.0)
    prep.add_argument(
        "--preemphasis", type=float, default=0.0, metavar="ALPHA",
        help="store x[t] - ALPHA x[t-1] (LPCNet: 0.85): a model of it has its output de-emphasised (default 0: off)",
    )  # fmt: skip
    prep.add_argument("--valid-fraction", type=float, default=0.05, help="of each speaker's utterances")
    prep.add_argument("--valid-speakers", default="", help="comma-separated speakers held out whole")
    prep.add_argument("--seed", type=int, default=0)
    prep.add_argument("--workers", type=int, default=2)
    prep.add_argument(
        "--features",
        choices=["mel", "pianoroll", "linguistic"],
        default=None,
        help="also compute frames for a conditioned model: log-mel, the piano roll of X.mid beside each X.wav, "
        "or linguistic frames of the text in X.txt (phones timed by alignment, the audio's F0)",
    )
    prep.add_argument("--hop", type=int, default=200, help="samples per frame (default 200: 12.5 ms at 16 kHz)")
    prep.add_argument("--n-mels", type=int, default=80, help="mel channels (default 80)")
    prep.add_argument(
        "--lpc-order",
        type=int,
        default=0,
        help="mel frames also carry this many reflection coefficients of their envelope (a source-filter vocoder)",
    )
    prep.add_argument(
        "--f0",
        action="store_true",
        help="mel frames also carry the recording's F0 in Hz, 0 where unvoiced (a vocoder with a periodic source)",
    )
    prep.set_defaults(run=run_prepare)

    train = sub.add_parser("train", help="train a model (see recipes/)")
    train.add_argument("config", type=Path, help="a recipe's YAML config")
    train.add_argument("overrides", nargs="*", metavar="dotted.key=value", help="config overrides")
    train.add_argument("--resume", action="store_true", help="continue the run in run_dir from its last checkpoint")
    train.add_argument(
        "--time-limit",
        default=None,
        metavar="DURATION",
        help="stop cleanly with a checkpoint after this long (150m, 2h, 90s), for --resume to go on (train.time_limit)",
    )
    train.set_defaults(run=run_train)

    export = sub.add_parser("export", help="write a release checkpoint from a training run")
    export.add_argument("run_dir", type=Path)
    export.add_argument("out_dir", type=Path)
    export.add_argument("--checkpoint", default="best", help="best (default), latest, or a checkpoint file")
    export.add_argument("--temperature", type=float, default=None,
                        help="the release's default sampling temperature (measured on held-out data; default 1.0)")  # fmt: skip
    export.add_argument("--voiced-scale", type=float, default=None,
                        help="a model with a periodic source: voiced frames are drawn at the temperature times this "
                             "(default 1)")  # fmt: skip
    export.add_argument(
        "--vocoder",
        type=Path,
        default=None,
        help="an acoustic model (task: acoustic): the mel vocoder release that speaks its frames",
    )
    export.set_defaults(run=run_export)

    ev = sub.add_parser("eval", help="bits per sample of audio under a model, beside unigram and n-gram baselines")
    ev.add_argument("checkpoint", metavar="CHECKPOINT")
    ev.add_argument("audio", nargs="+", metavar="AUDIO", help="audio files, directories or manifests (.tsv)")
    ev.add_argument("--ngram-order", type=int, default=3)
    ev.add_argument("--baseline-data", default=None, help="prepared-data dir or manifest to fit the baselines on")
    ev.add_argument("--speaker", default=None, help="speaker for audio whose speaker the model does not know")
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    ev.add_argument("--save-json", type=Path, default=None, metavar="FILE", help="also write the report as JSON")
    ev.set_defaults(run=run_eval)

    serve = sub.add_parser("serve", help="run the HTTP synthesis server (settings also from WAVENET_* variables)")
    serve.add_argument("models", nargs="*", metavar="CHECKPOINT", help="default: every model in checkpoints/")
    serve.add_argument("--host", default=None, help="default 127.0.0.1 (WAVENET_HOST)")
    serve.add_argument("--port", type=int, default=None, help="default 8000 (WAVENET_PORT)")
    serve.add_argument("--max-batch", type=int, default=None, help="streams per model generated together (default 16)")
    serve.add_argument(
        "--queue-size", type=int, default=None, help="requests waiting for a slot before 429 (default 64)"
    )
    serve.add_argument("--device", default=None, help="cpu or cuda (WAVENET_DEVICE)")
    serve.add_argument("--backend", default=None, help="generation backend (default auto: the fastest)")
    serve.set_defaults(run=run_serve)
    return parser


def run_info(args: argparse.Namespace) -> int:
    ckpt = load_model(args.checkpoint)
    cfg = ckpt.config
    summary = {
        "name": ckpt.name,
        "trained": ckpt.trained,
        "config": cfg.to_dict(),
        "parameters": ckpt.model.parameter_count(),
        "receptive_field_samples": cfg.receptive_field,
        "receptive_field_ms": round(cfg.receptive_field_ms, 3),
        "speakers": ckpt.speakers or {str(i): i for i in range(cfg.n_speakers)},
        "features": ckpt.features.to_dict() if ckpt.features else None,
        "metadata": ckpt.metadata,
    }
    stage = ckpt.acoustic
    if stage is not None:  # two stages: the acoustic model, then the vocoder the rest describes
        summary["acoustic"] = {"config": stage.model.config.to_dict(), "parameters": stage.model.parameter_count(),
                               "vocoder": stage.path}  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"model: {ckpt.name}{'' if ckpt.trained else ' (preset: untrained, random weights)'}")
    if stage is not None:
        print(f"two stages: an acoustic model of {stage.model.parameter_count():,} parameters "
              f"({stage.model.config.to_dict()}) makes log-mel and F0 frames; the vocoder {stage.path} speaks them:")  # fmt: skip
    for key, value in cfg.to_dict().items():
        print(f"  {key}: {value}")
    print(f"parameters: {summary['parameters']:,}")
    print(f"receptive field: {cfg.receptive_field} samples ({cfg.receptive_field_ms:.1f} ms at {cfg.sample_rate} Hz)")
    print(ckpt.describe_speakers())
    if ckpt.features is not None:
        f = ckpt.features
        print(
            f"reads {f.kind} frames: {f.channels} channels every {f.hop} samples "
            f"({1000 * f.hop / cfg.sample_rate:g} ms), {cfg.lookahead_frames} frame(s) of lookahead"
        )
    for key, value in ckpt.metadata.items():
        print(f"{key}: {value}")
    return 0


def run_synthesis(args: argparse.Namespace) -> int:
    """generate, vocode, render and say: the command's input as a Request, through the Synthesizer."""
    from tqdm import tqdm

    from wavenet.speech import SpeechFeed
    from wavenet.synthesizer import Request, Synthesizer, check_output

    check_output(args.output)
    synth = Synthesizer.load(args.checkpoint, _device(args.device), args.backend)
    given = args.seconds if args.field == "seconds" else args.input
    extra = {"rate": args.rate, "pitch": args.pitch} if args.field == "text" else {}
    request = Request(
        **{args.field: given}, speaker=args.speaker, temperature=args.temperature, seed=args.seed, **extra
    )
    audio = synth.synthesize(request)
    with tqdm(total=audio.samples, unit="sample", unit_scale=True, desc=args.command, file=sys.stderr) as bar:
        audio.write(args.output, bar.update)
    seconds = audio.samples / audio.sample_rate
    planned = audio.plan.frames
    count = planned.frames_total if isinstance(planned, SpeechFeed) else len(planned) if planned is not None else 0
    frames = f" from {count} frames" if planned is not None else ""
    print(
        f"wrote {args.output}: {audio.samples} samples ({seconds:g} s){frames}, "
        f"speaker {audio.plan.speaker}, seed {audio.seed}"
    )
    return 0


def run_bench(args: argparse.Namespace) -> int:
    if args.train:
        return run_train_bench(args)
    from wavenet.speed import bench_machine, format_table, run_bench, write_json

    device = _device(args.device)
    checkpoints = [load_model(spec, device) for spec in args.model.split(",")]
    try:
        batches = [int(b) for b in args.batch.split(",")]
    except ValueError:
        raise WavenetError(f"--batch must be comma-separated integers, got {args.batch!r}") from None
    if any(b < 1 for b in batches):
        raise WavenetError(f"--batch sizes must be at least 1, got {args.batch!r}")
    if args.repeats < 1 or args.naive_steps < 1 or not args.seconds > 0:
        raise WavenetError("--repeats and --naive-steps must be at least 1 and --seconds positive")
    backends = args.backends.split(",") if args.backends else None
    machine = bench_machine(device)
    for ckpt in checkpoints:
        print(f"model {ckpt.name}: receptive field {ckpt.config.receptive_field}")
    print(
        f"machine: {machine['cpu']}, {machine['cpu_cores']} cores, torch {machine['torch']} "
        f"({machine['torch_threads']} threads), native backend threads {machine['native_threads']}, {device}"
    )
    results = run_bench(checkpoints, batches, args.seconds, args.repeats, args.naive_steps, backends)
    print(format_table(results))
    if args.json:
        write_json(args.json, checkpoints, results, device)
        print(f"wrote {args.json}")
    return 0


def run_train_bench(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from wavenet.speed import bench_machine, format_train_speed, train_speed
    from wavenet.training.run_config import load_run_config

    if args.steps < 1:
        raise WavenetError("--steps must be at least 1")
    overrides = args.train[1:]
    if not any(o.startswith("run_dir=") for o in overrides):  # the benchmark trains in a temporary directory
        overrides = [*overrides, "run_dir=bench"]
    config = load_run_config(Path(args.train[0]), overrides)
    result = train_speed(config, args.steps)
    print(format_train_speed(result))
    if args.json:
        machine = bench_machine(torch.device("cpu"))
        report = {"config": args.train[0], "overrides": args.train[1:], "machine": machine, **asdict(result)}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def run_manifest(args: argparse.Namespace) -> int:
    from wavenet.data.corpora import directory_manifest, maestro_manifest, vctk_manifest
    from wavenet.data.manifest import write_manifest

    if args.corpus == "vctk":
        utterances = vctk_manifest(args.root, args.mic)
    elif args.corpus == "maestro":
        utterances = maestro_manifest(args.root)
    else:
        utterances = directory_manifest(args.root, args.speaker)
    write_manifest(args.output, utterances)
    hours = sum(u.duration for u in utterances) / 3600
    speakers = len({u.speaker for u in utterances})
    print(f"wrote {args.output}: {len(utterances)} files, {speakers} speaker(s), {hours:.2f} h")
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from wavenet.data.audio import AudioOptions
    from wavenet.data.features import FeatureOptions
    from wavenet.data.prepare import SplitOptions, prepare

    audio = AudioOptions(
        sample_rate=args.sample_rate,
        trim_silence=args.trim_silence,
        trim_db=args.trim_db,
        normalize=args.normalize,
        target_dbfs=args.target_dbfs,
        preemphasis=args.preemphasis,
    )
    held_out = tuple(s for s in args.valid_speakers.split(",") if s)
    split = SplitOptions(valid_fraction=args.valid_fraction, valid_speakers=held_out, seed=args.seed)
    features = (
        FeatureOptions(args.features, hop=args.hop, n_mels=args.n_mels, lpc_order=args.lpc_order, f0=args.f0)
        if args.features
        else None
    )
    summary = prepare(args.manifest, args.out_dir, audio, split, workers=args.workers, features=features)
    for name, info in summary.splits.items():
        print(f"{name}: {info['utterances']} utterances, {info['seconds'] / 3600:.3f} h, {info['speakers']} speakers")
    print(f"{len(summary.speakers)} speakers; {len(summary.skipped)} file(s) skipped; wrote {args.out_dir}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from wavenet.training.run_config import load_run_config
    from wavenet.training.trainer import train

    overrides = args.overrides + ([f"train.time_limit={args.time_limit}"] if args.time_limit else [])
    train(load_run_config(args.config, overrides), resume=args.resume)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from wavenet.training.export import export

    source = export(args.run_dir, args.out_dir, args.checkpoint, temperature=args.temperature,
                    voiced_scale=args.voiced_scale, vocoder=args.vocoder)  # fmt: skip
    print(f"exported {source} to {args.out_dir}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from wavenet.evaluation.likelihood import evaluate, format_report

    ckpt = load_model(args.checkpoint, _device(args.device))
    speaker = ckpt.speaker_id(args.speaker) if args.speaker is not None else None
    report = evaluate(ckpt, args.audio, args.ngram_order, args.baseline_data, speaker)
    if args.save_json:
        args.save_json.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(format_report(report, per_file=len(report.files) <= 50))
    return 0


def run_serve(args: argparse.Namespace) -> int:
    try:
        from pydantic import ValidationError
        from wavenet_service.engines import load_checkpoints
        from wavenet_service.server import serve
        from wavenet_service.settings import Settings
    except ImportError as err:
        raise WavenetError(
            f"wavenet serve needs the server's packages ({err.name or err} is missing): "
            "pip install 'wavenet-service[serve]'"
        ) from None

    given = {
        "models": args.models or None,
        "host": args.host,
        "port": args.port,
        "max_batch": args.max_batch,
        "queue_size": args.queue_size,
        "device": args.device,
        "backend": args.backend,
    }
    try:
        settings = Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise WavenetError(f"server settings: {problems}") from None
    _device(settings.device)
    log.info("server settings:\n%s", settings.describe())
    checkpoints = load_checkpoints(settings)  # here, so that a bad checkpoint is a one-line error
    return serve(settings, checkpoints)


def _device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError:
        raise WavenetError(f"unknown device {name!r}; use cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise WavenetError("--device cuda: no CUDA device is available here")
    if device.type not in ("cpu", "cuda"):
        raise WavenetError(f"unsupported device {name!r}; use cpu or cuda")
    return device


if __name__ == "__main__":
    sys.exit(main())
