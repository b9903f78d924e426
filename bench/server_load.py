"""Load test of a running server: time to first audio, and how many streams keep up with real time.

    python bench/server_load.py --url http://127.0.0.1:8000 --streams 1,2,4,8,16 --seconds 10
    python bench/server_load.py --model tts-acoustic --text "A sentence of twenty words ..." --streams 1,2,4

For each number of concurrent streams N it opens N streaming requests at once and records, per
stream, the time from the request to its first audio byte and its delivery speed: seconds of
audio received per second of wall time, from the request to the last byte (1.0 is exactly
real time; a listener buffering one chunk hears no gap at or above it). The slowest stream of
each round decides whether the server "sustains N streams at real time" (all at 1.0 or above)
or "at half real time" (all at 0.5 or above). Prints a table and, with --json, writes it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

import httpx


def one_stream(url: str, body: dict, rate: int, out: list, index: int) -> None:
    start = time.perf_counter()
    first = None
    received = 0
    with httpx.stream("POST", f"{url}/synthesize", json=body, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            received += len(chunk)
            if first is None and received > 44:
                first = time.perf_counter() - start
    total = time.perf_counter() - start
    audio_seconds = (received - 44) / 2 / rate
    out[index] = {"ttfb": first, "wall": total, "audio": audio_seconds, "speed": audio_seconds / total}


def round_of(url: str, streams: int, seconds: float, model: dict, text: str | None = None) -> dict:
    results: list = [None] * streams
    threads = []
    speakers = [s["id"] for s in model["speakers"]]
    for i in range(streams):
        body = {"model": model["name"], "seed": i, "speaker": speakers[i % len(speakers)]}
        body.update({"text": text} if text else {"seconds": seconds})
        threads.append(threading.Thread(target=one_stream, args=(url, body, model["sample_rate"], results, i)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    speeds = [r["speed"] for r in results]
    ttfbs = [r["ttfb"] for r in results]
    return {
        "streams": streams,
        "min_speed": min(speeds),
        "median_speed": statistics.median(speeds),
        "median_ttfb": statistics.median(ttfbs),
        "max_ttfb": max(ttfbs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--streams", default="1,2,4,8,16")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per request")
    parser.add_argument("--model", default=None)
    parser.add_argument("--text", default=None, help="a text-to-speech model: what each stream says")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    models = httpx.get(f"{args.url}/models").json()["models"]
    model = next(m for m in models if m["name"] == args.model) if args.model else models[0]
    rounds = []
    what = f'says "{args.text}"' if args.text else f"{args.seconds} s of audio"
    print(f"model {model['name']} ({model['backend']}); each stream {what}")
    print(
        "| streams | slowest stream (x real time) | median stream | median first audio (s) | slowest first audio (s) |"
    )
    print("|---:|---:|---:|---:|---:|")
    for n in (int(x) for x in args.streams.split(",")):
        r = round_of(args.url, n, args.seconds, model, args.text)
        rounds.append(r)
        print(
            f"| {n} | {r['min_speed']:.2f} | {r['median_speed']:.2f} | {r['median_ttfb']:.3f} | {r['max_ttfb']:.3f} |",
            flush=True,
        )
    real_time = max((r["streams"] for r in rounds if r["min_speed"] >= 1.0), default=0)
    half = max((r["streams"] for r in rounds if r["min_speed"] >= 0.5), default=0)
    print(f"sustained at real time: {real_time} streams; at half real time: {half} streams")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            said = {"text": args.text} if args.text else {"seconds": args.seconds}
            json.dump({"model": model, **said, "rounds": rounds}, f, indent=2)


if __name__ == "__main__":
    main()
