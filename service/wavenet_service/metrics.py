"""Prometheus metrics of one app (a registry of its own, so that apps and tests do not share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "wavenet_requests", "HTTP requests by route and status", ["route", "status"], registry=self.registry
        )
        self.queue_depth = Gauge(
            "wavenet_queue_depth", "requests waiting for a generation slot", ["model"], registry=self.registry
        )
        self.active_streams = Gauge(
            "wavenet_active_streams", "streams being generated", ["model"], registry=self.registry
        )
        self.paused_streams = Gauge(
            "wavenet_paused_streams",
            "streams paused because their clients are behind (they hold no slot)",
            ["model"],
            registry=self.registry,
        )
        self.buffered_audio = Gauge(
            "wavenet_buffered_audio_seconds",
            "audio generated that clients have not taken yet, all streams together",
            ["model"],
            registry=self.registry,
        )
        self.streams = Counter(
            "wavenet_streams",
            "streams ended, by outcome: completed, client_gone, stalled (dropped), failed, shutdown",
            ["model", "outcome"],
            registry=self.registry,
        )
        self.worker_failures = Counter(
            "wavenet_worker_failures", "generation loops that failed (and restarted)", ["model"], registry=self.registry
        )
        self.samples_generated = Counter(
            "wavenet_samples_generated", "audio samples generated", ["model"], registry=self.registry
        )
        self.time_to_first_byte = Histogram(
            "wavenet_time_to_first_audio_seconds",
            "from a request's arrival to its first audio chunk",
            ["model"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.generation_speed = Gauge(
            "wavenet_generation_samples_per_second",
            "all streams of a model together, last chunk",
            ["model"],
            registry=self.registry,
        )
        self.real_time_factor = Gauge(
            "wavenet_real_time_factor",
            "per-stream speed over the sample rate, last chunk (above 1: faster than real time)",
            ["model"],
            registry=self.registry,
        )
