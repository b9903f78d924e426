"""The reference generator: a full forward pass over the receptive field for every sample.

Slow and obviously right: the tests and benchmarks compare every other backend against it.
"""

from __future__ import annotations

import torch

from wavenet.errors import WavenetError
from wavenet.generation.slots import SlotGenerator
from wavenet.model import WaveNet, frame_span


class NaiveGenerator(SlotGenerator):
    """Reference generation: the full forward pass over the receptive field for every sample.

    Until a stream has a receptive field of history, the pass runs over all of it from the
    stream's start, so the model's own zero padding plays the role of "before the start".
    """

    name = "naive"

    def __init__(self, model: WaveNet, batch_size: int = 1) -> None:
        super().__init__(model, batch_size)
        rf = self.config.receptive_field
        # Input codes of the last receptive field, and a source-filter model's two more inputs: (3, B, rf).
        self._history = torch.zeros(3, batch_size, rf, dtype=torch.long, device=self.device)
        self._length = [0] * batch_size  # samples fed since reset, capped at the receptive field
        # A periodic source's values at the same positions: (B, harmonics, rf).
        self._sine_history = torch.zeros(batch_size, self.config.source_harmonics, rf, device=self.device)

    def _reset_state(self, slot: int) -> None:
        self._history[:, slot] = 0
        self._sine_history[slot] = 0
        self._length[slot] = 0

    def _move_state(self, src: int, dst: int) -> None:
        self._history[:, dst] = self._history[:, src]
        self._sine_history[dst] = self._sine_history[src]
        self._length[dst] = self._length[src]

    def _save_state(self, slot: int) -> dict[str, torch.Tensor]:
        return {
            "history": self._history[:, slot],
            "sines": self._sine_history[slot],
            "length": torch.tensor(self._length[slot]),
        }

    def _load_state(self, slot: int, state: dict[str, torch.Tensor]) -> None:
        self._history[:, slot] = state["history"]
        self._sine_history[slot] = state["sines"]
        self._length[slot] = int(state["length"])

    def fill_history(self, codes: torch.Tensor) -> None:
        """Give every slot a full receptive field of past inputs, (B, receptive_field) codes.

        Benchmarks use it to time the steady state, where every step is a full-length forward
        pass, without first generating a receptive field of slow steps.
        """
        expected = (self.batch_size, self.config.receptive_field)
        if tuple(codes.shape) != expected:
            raise WavenetError(f"history must have shape {expected}, got {tuple(codes.shape)}")
        self._history[0] = codes.to(self.device, torch.long)
        self._length = [self.config.receptive_field] * self.batch_size
        self._pos[:] = self.config.receptive_field  # as if that history had been generated

    def _step(
        self,
        codes: torch.Tensor,
        source: tuple[torch.Tensor, torch.Tensor] | None = None,
        sines: torch.Tensor | None = None,
    ) -> torch.Tensor:
        rf = self.config.receptive_field
        b = codes.shape[0]  # the first b slots step
        inputs = torch.stack([codes, *(source or (codes, codes))])  # (3, b)
        self._history[:, :b] = torch.cat([self._history[:, :b, 1:], inputs[:, :, None]], dim=2)
        if sines is not None:
            self._sine_history[:b] = torch.cat([self._sine_history[:b, :, 1:], sines[:, :, None]], dim=2)
        self._length[:b] = [min(n + 1, rf) for n in self._length[:b]]
        logits = torch.empty(b, self.config.classes, device=self.device, dtype=self.dtype)
        if self.config.conditioned:  # each slot reads its own frames: one pass per slot
            for slot in range(b):
                logits[slot] = self._conditioned_pass(slot)
            return logits
        for length in set(self._length[:b]):  # slots of equal history length share one pass
            slots = torch.tensor([s for s, n in enumerate(self._length[:b]) if n == length], device=self.device)
            out = self.model(self._history[0, slots, rf - length :], self._speaker[slots])  # (b, classes, length)
            logits[slots] = out[:, :, -1]
        return logits

    def _conditioned_pass(self, slot: int) -> torch.Tensor:
        """The last position's logits of one slot, over its history and the frames those positions read."""
        cfg, length = self.config, self._length[slot]
        position = int(self._pos[slot])  # the sample this step predicts
        first = position - length + 1
        feed = self._feeds[slot]
        a, b = frame_span(first, position + 1, cfg.cond_hop)
        if feed is None:  # a free slot: any frames will do
            window = torch.zeros(cfg.cond_channels, b - a + 2 * cfg.cond_layers)
        else:
            window = torch.from_numpy(feed.window(a, b, cfg.cond_layers))
        history = self._history[:, slot : slot + 1, cfg.receptive_field - length :]  # (3, 1, length)
        frames = window.to(self.device, self.dtype)[None]
        source = (history[1], history[2]) if cfg.lpc_order else None
        sines = self._sine_history[slot : slot + 1, :, cfg.receptive_field - length :] if cfg.source_harmonics else None
        logits = self.model(
            history[0], self._speaker[slot : slot + 1], frames, first - a * cfg.cond_hop, source=source, sines=sines
        )
        return logits[0, :, -1]
