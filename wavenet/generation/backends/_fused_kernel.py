"""The Triton kernel of the fused backend (:mod:`.fused`): a whole chunk of steps in one launch.

Each program owns a group of ``BB`` (16) streams and loops over the chunk's steps and, inside
each step, over the layers, the output head and the sampling; nothing returns to the host until
the chunk ends, and no program waits for another (nv-wavenet's "single block" design). The
weights are read from global memory (L2 on a GPU) at every step, in tiles small enough for
registers and shared memory: a layer's gate units and the head's hidden units are taken
``HC`` and ``SC`` at a time, each tile's products consumed at once (the skip and residual sums,
the logits). The ring buffers of past inputs stay in global memory, laid out as the torch
backend's (:class:`wavenet.generation.backends.cached.CachedGenerator`); a barrier orders each layer's
reads of its ring before the write that replaces the oldest entry, and that write before the
next step's reads.

Triton decides at import whether kernels are compiled for a GPU or run by its interpreter
(``TRITON_INTERPRET=1``: numpy on the CPU, for tests); this module is imported only when the
backend is first used.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _column(window, cols, j):
    """Column j of each row of ``window`` (rows, cols): the sum of zeros and that one value, exact."""
    return tl.sum(tl.where(cols[None, :] == j, window, 0), 1)


@triton.jit
def _shifted_in(window, cols, newest, N: tl.constexpr):
    """``window``'s first N columns (oldest first) moved on by one: the oldest out, ``newest`` (rows,) last."""
    out = window
    for j in tl.static_range(N):
        if j < N - 1:
            newer = _column(window, cols, j + 1)
        else:
            newer = newest
        out = tl.where(cols[None, :] == j, newer[:, None], out)
    return out


@triton.jit(do_not_specialize=["k", "n", "t0", "frames"])
def chunk_kernel(
    # per-stream state, read and written (the torch backend's tensors)
    ring_ptr, past_ptr, last_ptr, spk_ptr, temp_ptr,
    # per-layer ring geometry: dilation, first row in the flat ring, rows
    dil_ptr, ring_off_ptr, ring_size_ptr,
    # weights, packed and padded by FusedGenerator._pack
    in_taps_ptr, in_b_ptr, wf_ptr, wg_ptr, bf_ptr, bg_ptr, skip_w_ptr, skip_b_ptr, res_w_ptr, res_b_ptr,
    h1_w_ptr, h1_b_ptr, h2_w_ptr, h2_b_ptr,
    # conditioning: projected frames (B, frames, layers, G) and each stream's offset into them
    cond_ptr, cond_off_ptr, frames,
    # this chunk: uniforms (k, n) and codes out (k, n) when sampling; input codes (k, n) and
    # logits out (k, n, classes) when not
    u_ptr, codes_in_ptr, codes_out_ptr, logits_ptr,
    # a source-filter model (P > 0): each stream's last P samples (B, P) and prediction (B,), float64,
    # read and written; this chunk's predictors (k, n, P + 1) float64; μ-law by table: each code's
    # least value (CP,) and each code's value (CP,), float64; the prediction's and the last
    # excitation's input embeddings (CLS, RP)
    hist_ptr, pred_ptr, filt_ptr, thr_ptr, val_ptr, pred_tab_ptr, exc_tab_ptr,
    # a periodic source (HARM > 0): this chunk's sines (k, n, HARM) and their projection (HARM, RP);
    # per-step temperatures (k, n) where voiced frames are drawn at another (STEP_TEMPS)
    sines_ptr, sine_w_ptr, temps_ptr,
    k, n, t0,
    B: tl.constexpr, L: tl.constexpr, KSZ: tl.constexpr, KIN: tl.constexpr, KP: tl.constexpr,
    R: tl.constexpr, H: tl.constexpr, CLS: tl.constexpr,
    RP: tl.constexpr, HP: tl.constexpr, SP: tl.constexpr, CP: tl.constexpr,
    HC: tl.constexpr, SC: tl.constexpr, BB: tl.constexpr,
    HOP: tl.constexpr, CONDITIONED: tl.constexpr, SAMPLE: tl.constexpr, WT: tl.constexpr,
    PRECISION: tl.constexpr,
    SILENCE: tl.constexpr,
    P: tl.constexpr, PP: tl.constexpr, HARM: tl.constexpr, STEP_TEMPS: tl.constexpr,
):  # fmt: skip
    # Index arithmetic in 64 bits: large batches overflow 32, and the interpreter checks 32-bit sums.
    rows = tl.program_id(0).to(tl.int64) * BB + tl.arange(0, BB).to(tl.int64)  # this program's streams
    live = rows < k
    rr = tl.arange(0, RP).to(tl.int64)
    rc = tl.arange(0, HC).to(tl.int64)
    rs = tl.arange(0, SP).to(tl.int64)
    rsc = tl.arange(0, SC).to(tl.int64)
    rk = tl.arange(0, CP).to(tl.int64)
    rkp = tl.arange(0, KP).to(tl.int64)
    r_ok = live[:, None] & (rr[None, :] < R)

    # Input codes before this one (oldest first; CLS means "before the stream began"), and the last one.
    past = tl.load(
        past_ptr + rows[:, None] * (KIN - 1) + rkp[None, :], mask=live[:, None] & (rkp[None, :] < KIN - 1), other=CLS
    )
    code = tl.load(last_ptr + rows, mask=live, other=SILENCE)
    temperature = tl.load(temp_ptr + rows, mask=live, other=1.0)
    in_b = tl.load(in_b_ptr + rr)
    if P > 0:  # the filter's state, and μ-law's tables (see wavenet.excitation.DeviceSourceState)
        rp = tl.arange(0, PP).to(tl.int64)
        p_ok = live[:, None] & (rp[None, :] < P)
        history = tl.load(hist_ptr + rows[:, None] * P + rp[None, :], mask=p_ok, other=0.0)
        predicted = tl.load(pred_ptr + rows, mask=live, other=0.0)
        thresholds = tl.load(thr_ptr + rk)[None, :]
    for s in range(n):
        t = t0 + s
        if not SAMPLE:
            code = tl.load(codes_in_ptr + rows * n + s, mask=live, other=SILENCE)
        # The input layer: one embedding row per input tap.
        x = in_b[None, :] + tl.load(in_taps_ptr + (((KIN - 1) * (CLS + 1) + code) * RP)[:, None] + rr[None, :])
        for j in tl.static_range(KIN - 1):
            x += tl.load(in_taps_ptr + ((j * (CLS + 1) + _column(past, rkp, j)) * RP)[:, None] + rr[None, :])
        past = _shifted_in(past, rkp, code, KIN - 1)
        if P > 0:
            # SourceState.advance: the newest sample's excitation, the history moved on, the next
            # sample's prediction (lpc_predict's sum, in its order), and both codes' embeddings.
            value = tl.load(val_ptr + code)
            excitation = tl.sum(((value - predicted)[:, None] >= thresholds).to(tl.int64), 1)
            history = _shifted_in(history, rp, value, P)
            at = (rows * n + s) * (P + 1)
            predicted = tl.zeros((BB,), dtype=tl.float64)
            for j in tl.static_range(1, P + 1):
                a_j = tl.load(filt_ptr + at + j, mask=live, other=0.0)
                predicted = predicted - a_j * _column(history, rp, P - j)
            prediction = tl.sum((predicted[:, None] >= thresholds).to(tl.int64), 1)
            x += tl.load(pred_tab_ptr + (prediction * RP)[:, None] + rr[None, :])
            x += tl.load(exc_tab_ptr + (excitation * RP)[:, None] + rr[None, :])
        if HARM > 0:
            source = tl.zeros((BB, RP), dtype=tl.float32)
            for h in tl.static_range(HARM):
                sine = tl.load(sines_ptr + (rows * n + s) * HARM + h, mask=live, other=0.0)
                source += sine[:, None] * tl.load(sine_w_ptr + h * RP + rr)[None, :]
            x += source
        if CONDITIONED:
            offset = tl.load(cond_off_ptr + rows, mask=live, other=0) + s
            frame = offset // HOP
            a = ((offset % HOP).to(tl.float32) / HOP)[:, None]
        skips = tl.zeros((BB, SP), dtype=tl.float32)
        for layer in range(L):
            d = tl.load(dil_ptr + layer)
            ring = ring_ptr + tl.load(ring_off_ptr + layer) * (B * R)
            size = tl.load(ring_size_ptr + layer)
            delta = tl.zeros((BB, RP), dtype=tl.float32)
            for c in range(0, HP, HC):
                cols = c + rc
                f = tl.load(bf_ptr + layer * HP + cols)[None, :]
                g = tl.load(bg_ptr + layer * HP + cols)[None, :]
                # the speaker's and the frames' terms, summed first as the torch backend does
                bias_at = (layer * B + rows)[:, None] * (2 * H) + cols[None, :]
                bias_ok = live[:, None] & (cols[None, :] < H)
                bias_f = tl.load(spk_ptr + bias_at, mask=bias_ok, other=0.0)
                bias_g = tl.load(spk_ptr + bias_at + H, mask=bias_ok, other=0.0)
                if CONDITIONED:
                    at0 = ((rows * frames + frame) * L + layer)[:, None] * (2 * H) + cols[None, :]
                    at1 = at0 + L * 2 * H
                    cf0 = tl.load(cond_ptr + at0, mask=bias_ok, other=0.0)
                    cf1 = tl.load(cond_ptr + at1, mask=bias_ok, other=0.0)
                    cg0 = tl.load(cond_ptr + at0 + H, mask=bias_ok, other=0.0)
                    cg1 = tl.load(cond_ptr + at1 + H, mask=bias_ok, other=0.0)
                    bias_f += cf0 * (1 - a) + cf1 * a
                    bias_g += cg0 * (1 - a) + cg1 * a
                f += bias_f
                g += bias_g
                w_at = (layer * KSZ * RP + rr[:, None]) * HP + cols[None, :]
                for j in tl.static_range(KSZ - 1):  # the ring's taps, oldest first
                    position = (t + size - (KSZ - 1 - j) * d) % size
                    tap = tl.load(ring + (position * B + rows)[:, None] * R + rr[None, :], mask=r_ok, other=0.0)
                    f = tl.dot(tap.to(WT), tl.load(wf_ptr + w_at + j * RP * HP), f, input_precision=PRECISION)
                    g = tl.dot(tap.to(WT), tl.load(wg_ptr + w_at + j * RP * HP), g, input_precision=PRECISION)
                f = tl.dot(x.to(WT), tl.load(wf_ptr + w_at + (KSZ - 1) * RP * HP), f, input_precision=PRECISION)
                g = tl.dot(x.to(WT), tl.load(wg_ptr + w_at + (KSZ - 1) * RP * HP), g, input_precision=PRECISION)
                z = ((2.0 / (1.0 + tl.exp(-2.0 * f)) - 1.0) / (1.0 + tl.exp(-g))).to(WT)  # tanh(f) σ(g)
                skips = tl.dot(
                    z,
                    tl.load(skip_w_ptr + (layer * HP + cols[:, None]) * SP + rs[None, :]),
                    skips,
                    input_precision=PRECISION,
                )
                delta = tl.dot(
                    z,
                    tl.load(res_w_ptr + (layer * HP + cols[:, None]) * RP + rr[None, :]),
                    delta,
                    input_precision=PRECISION,
                )
            skips += tl.load(skip_b_ptr + layer * SP + rs)[None, :]
            tl.debug_barrier()  # every read of this ring is done: its oldest entry becomes x
            tl.store(ring + ((t % size) * B + rows)[:, None] * R + rr[None, :], x, mask=r_ok)
            tl.debug_barrier()
            x = x + delta + tl.load(res_b_ptr + layer * RP + rr)[None, :]
        # The head: ReLU, 1×1, ReLU, 1×1, its hidden units SC at a time.
        hidden_in = tl.maximum(skips, 0.0, propagate_nan=tl.PropagateNan.ALL).to(WT)  # ReLU keeps NaN, as torch
        logits = tl.zeros((BB, CP), dtype=tl.float32) + tl.load(h2_b_ptr + rk)[None, :]
        for c in range(0, SP, SC):
            cols = c + rsc
            h1 = tl.dot(hidden_in, tl.load(h1_w_ptr + rs[:, None] * SP + cols[None, :]), input_precision=PRECISION)
            h1 = tl.maximum(h1 + tl.load(h1_b_ptr + cols)[None, :], 0.0, propagate_nan=tl.PropagateNan.ALL).to(WT)
            logits = tl.dot(h1, tl.load(h2_w_ptr + cols[:, None] * CP + rk[None, :]), logits, input_precision=PRECISION)
        if SAMPLE:
            # Inverse-CDF sampling (wavenet.generation.sampling): padded classes have logit -inf.
            if STEP_TEMPS:
                temperature = tl.load(temps_ptr + rows * n + s, mask=live, other=1.0)
            scaled = logits / temperature[:, None]
            p = tl.exp(scaled - tl.max(scaled, 1)[:, None])
            cdf = tl.cumsum(p / tl.sum(p, 1)[:, None], 1)
            u = tl.load(u_ptr + rows * n + s, mask=live, other=0.5)
            drawn = tl.minimum(tl.sum((cdf < u[:, None]).to(tl.int64), 1), CLS - 1)
            total = tl.sum(tl.where(rk[None, :] == CP - 1, cdf, 0.0), 1)
            code = tl.where(total != total, SILENCE, drawn)  # NaN: the softmax is undefined
            if P > 0:  # the excitation drawn, and the prediction: the sample (SourceState.sample)
                code = tl.sum(((predicted + tl.load(val_ptr + code))[:, None] >= thresholds).to(tl.int64), 1)
            tl.store(codes_out_ptr + rows * n + s, code, mask=live)
        else:
            at = (rows * n + s)[:, None] * CLS + rk[None, :]
            tl.store(logits_ptr + at, logits, mask=live[:, None] & (rk[None, :] < CLS))
    tl.store(past_ptr + rows[:, None] * (KIN - 1) + rkp[None, :], past, mask=live[:, None] & (rkp[None, :] < KIN - 1))
    if SAMPLE:
        tl.store(last_ptr + rows, code, mask=live)
    if P > 0:
        tl.store(hist_ptr + rows[:, None] * P + rp[None, :], history, mask=p_ok)
        tl.store(pred_ptr + rows, predicted, mask=live)
