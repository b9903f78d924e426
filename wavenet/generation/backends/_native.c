/*
 * Native CPU generation: whole chunks of Fast WaveNet steps (every layer, the output head and
 * inverse-CDF sampling) in C, without returning to Python between samples.
 *
 * The arithmetic is that of cached.py's CachedGenerator (beside this file): per layer, a ring buffer of
 * past inputs, the dilated causal convolution as one matrix product over the taps, the gated
 * activation, and the 1x1 skip and residual products. Python (native.py) packs the
 * weights, with every size padded to a multiple of 8 by zeros (which changes nothing), owns
 * every buffer, and passes their addresses; this file computes.
 *
 * Where the speed comes from:
 *  - AVX2/FMA micro-kernels, chosen at run time (a portable path is always compiled), with the
 *    weights optionally stored as IEEE half floats and widened by F16C: half the bytes per step;
 *  - a vectorised exp for tanh, sigmoid and softmax;
 *  - threads. With few streams, each thread computes a slice of every layer's channels, so its
 *    share of the weights stays in its own cache; threads meet at a spin barrier once per layer.
 *    With many streams, each thread runs its own streams through the whole network and the
 *    threads meet only at the end of a chunk.
 *
 * Layouts (row-major; Rp, Gp, Hp, Sp, Cp: padded sizes, Gp = 2 Hp). Each product's output
 * columns are cut into T equal slices, one per thread, stored one after the other, so that a
 * thread reads its weights as one contiguous stream (Gp/T, Sp/T, Cp/T are multiples of 8):
 *   in_taps  [Kin][classes + 1][Rp]  embedding rows per input tap; row `classes` is all zero
 *   in_bias  [Rp]
 *   conv_w   [L][T][K * Rp][Gp / T]  input-major, tap 0 (the oldest input) first; the columns in
 *                                    blocks of 16: 8 filter (tanh) channels, then their 8 gates
 *   conv_b   [L][Gp]                 the same column order
 *   skip_w   [L][T][Hp][Sp / T], skip_b [L][Sp]
 *   res_w    [L][Hp][Rp], res_b [L][Rp]        (every thread computes the whole residual)
 *   head_w1  [T][Sp][Sp / T], head_b1 [Sp], head_w2 [T][Sp][Cp / T], head_b2 [Cp] (-inf in padding)
 *   ring l   [(K - 1) * dilation_l][B][Rp]
 *   past     [B][Kin - 1] int64      past input codes, oldest first (`classes`: before the start)
 *   spk_bias [L][B][Gp]              each slot's speaker term, conv column order
 *   cond     [active][F][L][Gp]      a conditioned model's frame projections for this call (conv column
 *                                    order); step s of row r reads frames i and i + 1 at offset
 *                                    o = cond_offset[r] + s, i = o / hop, weighted by (o % hop) / hop
 *
 * A source-filter model (order p > 0; wavenet/excitation.py says what these are) also has
 *   pred_table, exc_table [classes][Rp]   the embeddings of the prediction's and the last excitation's codes
 *   src_history [B][p], src_predicted [B]  double: each stream's last p samples and its last prediction
 *                                          (SourceState's arrays in Python, read and written here)
 *   filters  [active][F][p + 1]           double: the predictor of each frame of this call's window
 * and step s of row r, before the network: e = code(s_last - p_last), the history takes s_last,
 * p = -(a_1 s_{t-1} + ... + a_p s_{t-p}) with frame i's a; the input adds the two codes' rows; the
 * sampled code is an excitation, and the sample's code is code(p + value(e)). The arithmetic, in
 * double, is numpy's in excitation.py, operation for operation, so the codes agree.
 *
 * A model with a periodic source (H harmonics > 0) also has
 *   sine_table [H][Rp]                    the source's input projection
 *   sines    [active][steps][H]           float: the source's values at each step of the call
 *                                         (computed by Python from the frames: excitation.py)
 * and the input adds sum_h sines[r][s][h] sine_table[h].
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define X86 1
#define TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define X86 0
#endif

#define MAX_THREADS 64

static int use_avx2 = 0; /* set at import from the CPU's features */

/* ------------------------------------------------------------------ vector math */

#if X86
/* exp for 8 floats: range reduction by ln 2 and a degree-6 polynomial (Cephes expf), about 1 ulp.
 * The clamps take x as their second operand, which min and max return when it is NaN: a NaN
 * goes through as NaN (as in torch), not as a large number. */
TARGET_AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(-88.3762626647949f), _mm256_min_ps(_mm256_set1_ps(88.3762626647949f), x));
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

/* tanh(f) * sigmoid(g): tanh as (1 - e^-2|f|) / (1 + e^-2|f|) with f's sign (accurate near 0). */
TARGET_AVX2 static inline __m256 gated8(__m256 f, __m256 g) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    __m256 e = exp8(_mm256_mul_ps(_mm256_andnot_ps(sign, f), _mm256_set1_ps(-2.0f)));
    __m256 t = _mm256_or_ps(_mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e)), _mm256_and_ps(sign, f));
    __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    return _mm256_mul_ps(t, s);
}
#endif

/* μ-law as wavenet/mulaw.py computes it with numpy (float64, the same libm calls, in the same order):
 * code_of clips to [-1, 1]; value_of returns the float32 numpy gives, widened. No fused
 * multiply-adds here, which numpy does not do either. */
__attribute__((optimize("fp-contract=off"))) static int64_t code_of(double x, int mu) {
    x = x < -1.0 ? -1.0 : (x > 1.0 ? 1.0 : x);
    double sign = x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
    double y = sign * log1p((double)mu * fabs(x)) / log1p((double)mu);
    return (int64_t)floor((y + 1.0) / 2.0 * (double)mu + 0.5);
}

__attribute__((optimize("fp-contract=off"))) static double value_of(int64_t code, int mu) {
    double y = 2.0 * (double)code / (double)mu - 1.0;
    double sign = y > 0.0 ? 1.0 : (y < 0.0 ? -1.0 : 0.0);
    return (double)(float)(sign * expm1(fabs(y) * log1p((double)mu)) / (double)mu);
}

/* A source-filter stream's step (SourceState.advance): given its newest sample's code, the codes of
 * its last excitation and of the next sample's prediction, from the predictor a [p + 1]. */
__attribute__((optimize("fp-contract=off"))) static void source_advance(int64_t code, const double *a, int order,
                                                                        int mu, double *history, double *predicted,
                                                                        int64_t *pcode, int64_t *ecode) {
    double value = value_of(code, mu);
    *ecode = code_of(value - *predicted, mu);
    memmove(history, history + 1, sizeof(double) * (size_t)(order - 1));
    history[order - 1] = value;
    double p = 0.0;
    for (int j = 1; j <= order; j++) p -= a[j] * history[order - j];
    *predicted = p;
    *pcode = code_of(p, mu);
}

/* max(x, 0) that keeps a NaN, as torch's relu does (fmaxf would turn it into 0). */
static inline float relu(float x) { return x < 0.0f ? 0.0f : x; }

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0 && m == 0) {
        bits = sign;
    } else if (e == 0) { /* subnormal */
        e = 113;
        while (!(m & 0x400)) {
            m <<= 1;
            e--;
        }
        bits = sign | (e << 23) | ((m & 0x3ff) << 13);
    } else if (e == 31) {
        bits = sign | 0x7f800000u | (m << 13);
    } else {
        bits = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ------------------------------------------------------------------ the network */

typedef struct {
    int layers, rp, gp, hp, sp, cp, classes, kernel, kin, batch, half, silence, hop;
    int64_t dilations[256];
    const void *conv_w, *skip_w, *res_w, *head_w1, *head_w2; /* float, or uint16 IEEE halves when `half` */
    const float *in_taps, *in_bias, *conv_b, *skip_b, *res_b, *head_b1, *head_b2;
    float *rings[256];
    int64_t *past;
    float *spk_bias;
    /* scratch private to each thread: x [T][B][Rp], taps [T][B][K Rp], h [T][B][Gp], o [T][B][max(Rp, Sp)],
     * probs [T][B][Cp], codes [T][B]; shared, each thread writing its own columns: z [2][B][Hp],
     * skip [B][Sp], hidden [B][Sp], logits [B][Cp] */
    float *x, *taps, *h, *o, *probs, *z, *skip, *hidden, *logits;
    float *cbias; /* [T][Gp], private to each thread: a row's speaker plus conditioning term */
    int64_t *codes;
    int order;                           /* a source-filter model's p; 0 for any other */
    const float *pred_table, *exc_table; /* [classes][Rp] */
    double *src_history, *src_predicted; /* shared state, [B][p] and [B] */
    double *my_history, *my_predicted;   /* private copies during a call, [T][B][p] and [T][B] */
    double silence_value;                /* the value of the code of silence: the history before a stream */
    int harmonics;                       /* a periodic source's H; 0 for any other model */
    const float *sine_table;             /* [H][Rp] */
} Net;

static const void *weights(const Net *net, const void *base, size_t offset) {
    return net->half ? (const void *)((const uint16_t *)base + offset) : (const void *)((const float *)base + offset);
}

/* out[r][c] = bias[c] + sum_k in[r][k] W[k][c], rows [r0, r1), columns [c0, c1) (multiples of 8). */
static void gemm_portable(const Net *net, float *out, int ldo, const float *in, int ldi, const void *w, int ldw,
                          const float *bias, int kdim, int r0, int r1, int c0, int c1) {
    for (int r = r0; r < r1; r++) {
        float *o = out + (size_t)r * ldo;
        const float *a = in + (size_t)r * ldi;
        for (int c = c0; c < c1; c++) o[c] = bias[c];
        for (int k = 0; k < kdim; k++) {
            if (net->half) {
                const uint16_t *wr = (const uint16_t *)w + (size_t)k * ldw;
                for (int c = c0; c < c1; c++) o[c] += a[k] * half_to_float(wr[c]);
            } else {
                const float *wr = (const float *)w + (size_t)k * ldw;
                for (int c = c0; c < c1; c++) o[c] += a[k] * wr[c];
            }
        }
    }
}

#if X86
TARGET_AVX2 static inline __m256 load_w(const void *w, size_t offset, int half) {
    if (half) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + offset)));
    return _mm256_loadu_ps((const float *)w + offset);
}

/* One row: 64 columns at a time (8 accumulators), then 8 at a time. Every path adds the products
 * in the order of k, so a stream's results do not depend on the batch or the thread split. */
TARGET_AVX2 static void gemv_avx2(const float *a, float *o, const void *w, int ldw, const float *bias, int kdim,
                                  int c0, int c1, int half) {
    int c = c0;
    for (; c + 64 <= c1; c += 64) {
        __m256 acc[8];
        for (int j = 0; j < 8; j++) acc[j] = _mm256_loadu_ps(bias + c + 8 * j);
        for (int k = 0; k < kdim; k++) {
            __m256 av = _mm256_broadcast_ss(a + k);
            size_t base = (size_t)k * ldw + c;
            for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(av, load_w(w, base + 8 * j, half), acc[j]);
        }
        for (int j = 0; j < 8; j++) _mm256_storeu_ps(o + c + 8 * j, acc[j]);
    }
    for (; c < c1; c += 8) { /* one accumulator, k in order: the same sums as every other path */
        __m256 acc = _mm256_loadu_ps(bias + c);
        for (int k = 0; k < kdim; k++)
            acc = _mm256_fmadd_ps(_mm256_broadcast_ss(a + k), load_w(w, (size_t)k * ldw + c, half), acc);
        _mm256_storeu_ps(o + c, acc);
    }
}

/* Two rows by 32 columns and three rows by 16 (the leftovers of the four-row tiles): every
 * weight vector loaded still serves every row. */
TARGET_AVX2 static void gemm2_avx2(const float *a0, const float *a1, float *o0, float *o1, const void *w, int ldw,
                                   const float *bias, int kdim, int c0, int c1, int half) {
    int c = c0;
    for (; c + 32 <= c1; c += 32) {
        __m256 p[4], q[4];
        for (int j = 0; j < 4; j++) p[j] = q[j] = _mm256_loadu_ps(bias + c + 8 * j);
        for (int k = 0; k < kdim; k++) {
            size_t base = (size_t)k * ldw + c;
            __m256 u = _mm256_broadcast_ss(a0 + k), v = _mm256_broadcast_ss(a1 + k);
            for (int j = 0; j < 4; j++) {
                __m256 wj = load_w(w, base + 8 * j, half);
                p[j] = _mm256_fmadd_ps(u, wj, p[j]);
                q[j] = _mm256_fmadd_ps(v, wj, q[j]);
            }
        }
        for (int j = 0; j < 4; j++) {
            _mm256_storeu_ps(o0 + c + 8 * j, p[j]);
            _mm256_storeu_ps(o1 + c + 8 * j, q[j]);
        }
    }
    if (c < c1) {
        gemv_avx2(a0, o0, w, ldw, bias, kdim, c, c1, half);
        gemv_avx2(a1, o1, w, ldw, bias, kdim, c, c1, half);
    }
}

TARGET_AVX2 static void gemm3_avx2(const float *a0, const float *a1, const float *a2, float *o0, float *o1, float *o2,
                                   const void *w, int ldw, const float *bias, int kdim, int c0, int c1, int half) {
    int c = c0;
    for (; c + 16 <= c1; c += 16) {
        __m256 p0 = _mm256_loadu_ps(bias + c), q0 = _mm256_loadu_ps(bias + c + 8);
        __m256 p1 = p0, q1 = q0, p2 = p0, q2 = q0;
        for (int k = 0; k < kdim; k++) {
            size_t base = (size_t)k * ldw + c;
            __m256 w0 = load_w(w, base, half), w1 = load_w(w, base + 8, half), v;
            v = _mm256_broadcast_ss(a0 + k);
            p0 = _mm256_fmadd_ps(v, w0, p0);
            q0 = _mm256_fmadd_ps(v, w1, q0);
            v = _mm256_broadcast_ss(a1 + k);
            p1 = _mm256_fmadd_ps(v, w0, p1);
            q1 = _mm256_fmadd_ps(v, w1, q1);
            v = _mm256_broadcast_ss(a2 + k);
            p2 = _mm256_fmadd_ps(v, w0, p2);
            q2 = _mm256_fmadd_ps(v, w1, q2);
        }
        _mm256_storeu_ps(o0 + c, p0);
        _mm256_storeu_ps(o0 + c + 8, q0);
        _mm256_storeu_ps(o1 + c, p1);
        _mm256_storeu_ps(o1 + c + 8, q1);
        _mm256_storeu_ps(o2 + c, p2);
        _mm256_storeu_ps(o2 + c + 8, q2);
    }
    if (c < c1) {
        gemv_avx2(a0, o0, w, ldw, bias, kdim, c, c1, half);
        gemv_avx2(a1, o1, w, ldw, bias, kdim, c, c1, half);
        gemv_avx2(a2, o2, w, ldw, bias, kdim, c, c1, half);
    }
}

/* Six rows by 16 columns: 12 accumulators, each weight vector loaded once for six streams. */
TARGET_AVX2 static void gemm6_avx2(const float *a, int ldi, float *o, int ldo, const void *w, int ldw,
                                   const float *bias, int kdim, int c0, int c1, int half) {
    for (int c = c0; c < c1; c += 16) {
        __m256 p[6], q[6];
        p[0] = _mm256_loadu_ps(bias + c);
        q[0] = _mm256_loadu_ps(bias + c + 8);
        for (int i = 1; i < 6; i++) p[i] = p[0], q[i] = q[0];
        for (int k = 0; k < kdim; k++) {
            size_t base = (size_t)k * ldw + c;
            __m256 w0 = load_w(w, base, half), w1 = load_w(w, base + 8, half);
            for (int i = 0; i < 6; i++) {
                __m256 v = _mm256_broadcast_ss(a + (size_t)i * ldi + k);
                p[i] = _mm256_fmadd_ps(v, w0, p[i]);
                q[i] = _mm256_fmadd_ps(v, w1, q[i]);
            }
        }
        for (int i = 0; i < 6; i++) {
            _mm256_storeu_ps(o + (size_t)i * ldo + c, p[i]);
            _mm256_storeu_ps(o + (size_t)i * ldo + c + 8, q[i]);
        }
    }
}

/* Four rows by 16 columns: each weight vector, loaded once, serves four streams. */
TARGET_AVX2 static void gemm_avx2(const Net *net, float *out, int ldo, const float *in, int ldi, const void *w,
                                  int ldw, const float *bias, int kdim, int r0, int r1, int c0, int c1) {
    int half = net->half, r = r0;
    if ((c1 - c0) % 16 == 0)
        for (; r + 6 <= r1; r += 6)
            gemm6_avx2(in + (size_t)r * ldi, ldi, out + (size_t)r * ldo, ldo, w, ldw, bias, kdim, c0, c1, half);
    for (; r + 4 <= r1; r += 4) {
        const float *a0 = in + (size_t)r * ldi, *a1 = a0 + ldi, *a2 = a1 + ldi, *a3 = a2 + ldi;
        int c = c0;
        for (; c + 16 <= c1; c += 16) {
            __m256 p0 = _mm256_loadu_ps(bias + c), q0 = _mm256_loadu_ps(bias + c + 8);
            __m256 p1 = p0, q1 = q0, p2 = p0, q2 = q0, p3 = p0, q3 = q0;
            for (int k = 0; k < kdim; k++) {
                size_t base = (size_t)k * ldw + c;
                __m256 w0 = load_w(w, base, half), w1 = load_w(w, base + 8, half), v;
                v = _mm256_broadcast_ss(a0 + k);
                p0 = _mm256_fmadd_ps(v, w0, p0);
                q0 = _mm256_fmadd_ps(v, w1, q0);
                v = _mm256_broadcast_ss(a1 + k);
                p1 = _mm256_fmadd_ps(v, w0, p1);
                q1 = _mm256_fmadd_ps(v, w1, q1);
                v = _mm256_broadcast_ss(a2 + k);
                p2 = _mm256_fmadd_ps(v, w0, p2);
                q2 = _mm256_fmadd_ps(v, w1, q2);
                v = _mm256_broadcast_ss(a3 + k);
                p3 = _mm256_fmadd_ps(v, w0, p3);
                q3 = _mm256_fmadd_ps(v, w1, q3);
            }
            float *o = out + (size_t)r * ldo + c;
            _mm256_storeu_ps(o, p0);
            _mm256_storeu_ps(o + 8, q0);
            _mm256_storeu_ps(o + ldo, p1);
            _mm256_storeu_ps(o + ldo + 8, q1);
            _mm256_storeu_ps(o + 2 * ldo, p2);
            _mm256_storeu_ps(o + 2 * ldo + 8, q2);
            _mm256_storeu_ps(o + 3 * ldo, p3);
            _mm256_storeu_ps(o + 3 * ldo + 8, q3);
        }
        for (int rr = r; c < c1 && rr < r + 4; rr++)
            gemv_avx2(in + (size_t)rr * ldi, out + (size_t)rr * ldo, w, ldw, bias, kdim, c, c1, half);
    }
    const float *a = in + (size_t)r * ldi;
    float *o = out + (size_t)r * ldo;
    if (r1 - r == 3)
        gemm3_avx2(a, a + ldi, a + 2 * ldi, o, o + ldo, o + 2 * ldo, w, ldw, bias, kdim, c0, c1, half);
    else if (r1 - r == 2)
        gemm2_avx2(a, a + ldi, o, o + ldo, w, ldw, bias, kdim, c0, c1, half);
    else if (r1 - r == 1)
        gemv_avx2(a, o, w, ldw, bias, kdim, c0, c1, half);
}

TARGET_AVX2 static void gate_avx2(const float *h, const float *spk, float *z, int b0, int b1) {
    for (int b = b0; b < b1; b++) {
        __m256 f = _mm256_add_ps(_mm256_loadu_ps(h + 16 * b), _mm256_loadu_ps(spk + 16 * b));
        __m256 g = _mm256_add_ps(_mm256_loadu_ps(h + 16 * b + 8), _mm256_loadu_ps(spk + 16 * b + 8));
        _mm256_storeu_ps(z + 8 * b, gated8(f, g));
    }
}

TARGET_AVX2 static float exp_shift_avx2(float *x, int n, float m) {
    __m256 mv = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
    for (int c = 0; c < n; c += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + c), mv));
        _mm256_storeu_ps(x + c, e);
        acc = _mm256_add_ps(acc, e);
    }
    float lanes[8], s = 0.0f;
    _mm256_storeu_ps(lanes, acc);
    for (int i = 0; i < 8; i++) s += lanes[i];
    return s;
}
#endif

static void gemm(const Net *net, float *out, int ldo, const float *in, int ldi, const void *w, int ldw,
                 const float *bias, int kdim, int r0, int r1, int c0, int c1) {
    if (r0 >= r1 || c0 >= c1) return;
#if X86
    if (use_avx2) {
        gemm_avx2(net, out, ldo, in, ldi, w, ldw, bias, kdim, r0, r1, c0, c1);
        return;
    }
#endif
    gemm_portable(net, out, ldo, in, ldi, w, ldw, bias, kdim, r0, r1, c0, c1);
}

/* z = tanh(filter) * sigmoid(gate) for conv column blocks [b0, b1) (16 columns: 8 channels). */
static void gate(const float *h, const float *spk, float *z, int b0, int b1) {
#if X86
    if (use_avx2) {
        gate_avx2(h, spk, z, b0, b1);
        return;
    }
#endif
    for (int b = b0; b < b1; b++)
        for (int i = 0; i < 8; i++) {
            float f = h[16 * b + i] + spk[16 * b + i], g = h[16 * b + 8 + i] + spk[16 * b + 8 + i];
            z[8 * b + i] = tanhf(f) / (1.0f + expf(-g));
        }
}

/* Inverse-CDF sampling as sampling.py's sample_codes: softmax(logits / T) in float, then the
 * cumulative sum accumulated in double (as torch's CPU cumsum), the first code whose cumulative
 * probability is not below u. Where the softmax is undefined (a NaN or +inf logit, or every
 * logit -inf), the code of silence, as there. */
static int64_t sample(const float *logits, int classes, int cp, float temperature, float u, float *p, int silence) {
    float m = -INFINITY, sum = 0.0f;
    int undefined = 0;
    for (int c = 0; c < cp; c++) {
        p[c] = logits[c] / temperature;
        if (p[c] > m) m = p[c];
        if (c < classes && isnan(p[c])) undefined = 1;
    }
    if (undefined || isinf(m)) return silence;
#if X86
    if (use_avx2) {
        sum = exp_shift_avx2(p, cp, m);
    } else
#endif
    {
        for (int c = 0; c < cp; c++) sum += (p[c] = expf(p[c] - m));
    }
    double cdf = 0.0;
    for (int c = 0; c < classes; c++) {
        cdf += (double)(p[c] / sum);
        if ((float)cdf >= u) return c;
    }
    return classes - 1;
}

/* ------------------------------------------------------------------ threads */

typedef struct {
    _Atomic int count, sense;
    int parties;
} Barrier;

static void barrier_wait(Barrier *b, int *local) {
    int sense = !*local;
    *local = sense;
    if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->parties - 1) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        atomic_store_explicit(&b->sense, sense, memory_order_release);
        return;
    }
    /* Spin, then yield: if another process holds the other core, spinning would only stall it. */
    for (long spins = 0; atomic_load_explicit(&b->sense, memory_order_acquire) != sense; spins++) {
#if X86
        if (spins < 4000) {
            _mm_pause();
            continue;
        }
#endif
        sched_yield();
    }
}

typedef struct {
    int64_t t0, steps, active, by_rows;
    const double *filters;               /* a source-filter model's [active][cond_frames][order + 1] */
    const float *sines;                  /* a periodic source's [active][steps][harmonics] */
    const float *uniforms, *temperature; /* [active][steps], [active] */
    const float *step_temperature;       /* NULL, or each step's: [active][steps] (voiced frames at another) */
    int64_t *last, *out;                 /* [active], [active][steps] */
    const int64_t *teacher;              /* one teacher-forced step: inputs [active], logits out */
    float *logits_out;                   /* [active][classes] */
    const float *cond;                   /* NULL, or the frame projections [active][cond_frames][L][Gp] */
    const int64_t *cond_offset;          /* [active] */
    int64_t cond_frames;
} Call;

typedef struct Generator Generator;

typedef struct {
    Generator *gen;
    int tid;
} Worker;

struct Generator {
    Net net;
    int threads;
    pthread_t ids[MAX_THREADS];
    Worker workers[MAX_THREADS];
    int senses[MAX_THREADS];
    Barrier barrier;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    long generation, finished;
    int stop;
    Call call;
};

static void span(int n, int parts, int part, int unit, int *lo, int *hi) {
    int units = n / unit, base = units / parts, extra = units % parts;
    int start = part * base + (part < extra ? part : extra);
    *lo = start * unit;
    *hi = (start + base + (part < extra ? 1 : 0)) * unit;
}

/* Row r's speaker term plus its conditioning term at layer l and this step, columns [c0, c1), in cb:
 * the two frames' projections interpolated as the torch generator does. */
static const float *cond_bias(const Net *n, const Call *call, float *cb, const float *spk, int r, int l,
                              int64_t step, int c0, int c1) {
    int64_t o = call->cond_offset[r] + step, hop = n->hop;
    float a = (float)(o % hop) / (float)hop;
    const float *p0 = call->cond + (((size_t)r * call->cond_frames + (size_t)(o / hop)) * n->layers + l) * n->gp;
    const float *p1 = p0 + (size_t)n->layers * n->gp;
    for (int c = c0; c < c1; c++) cb[c] = spk[c] + (p0[c] * (1.0f - a) + p1[c] * a);
    return cb;
}

/* The work of thread `tid` in one call.
 *
 * By rows: the thread runs its own streams through everything, alone.
 *
 * By columns: every thread runs every stream, computing a slice of the convolution's channels,
 * of the skip channels, and of the head's columns; the threads meet once per layer (when the
 * gated activations are complete) and three times in the head. Everything cheap is computed
 * by every thread in full instead of shared: the input layer, the residual product (a quarter
 * of a layer's work) and the sampling, so the residual stream and the sampled codes are private
 * and need no meeting. */
static void run_thread(Generator *g, const Call *call, int tid) {
    Net *n = &g->net;
    int T = g->threads, rows = (int)call->by_rows || T == 1;
    int active = (int)call->active, r0 = 0, r1 = active;
    int rp = n->rp, gp = n->gp, hp = n->hp, sp = n->sp, cp = n->cp, K = n->kernel, B = n->batch;
    int ol = rp > sp ? rp : sp; /* the row length of the private product buffer o */
    /* Column slices this thread computes: its own (by columns) or all of them (by rows). */
    int t0 = rows ? 0 : tid, t1 = rows ? T : tid + 1, gw = gp / T, sw = sp / T, cw = cp / T;
    int q0 = 0, q1 = rp;
    if (rows) {
        if (T > 1) span(active, T, tid, 1, &r0, &r1);
    } else {
        span(rp, T, tid, 8, &q0, &q1); /* the slice of x this thread writes into the rings */
    }
    int lead = rows || tid == 0; /* writes the shared results: past codes, samples, logits */
    int *sense = &g->senses[tid];
    /* Private to this thread: */
    float *x = n->x + (size_t)tid * B * rp, *taps = n->taps + (size_t)tid * B * K * rp;
    float *h = n->h + (size_t)tid * B * gp, *o = n->o + (size_t)tid * B * ol, *probs = n->probs + (size_t)tid * B * cp;
    float *cbias = n->cbias + (size_t)tid * gp;
    int64_t *codes = n->codes + (size_t)tid * B;
#define SYNC()                                           \
    do {                                                 \
        if (!rows) barrier_wait(&g->barrier, sense);     \
    } while (0)

    int P = n->order, mu = n->classes - 1;
    /* A source-filter model's state, private for the call (threads by columns all compute it, alike). */
    double *hist = n->my_history + (size_t)tid * B * (P ? P : 1), *pred = n->my_predicted + (size_t)tid * B;
    if (P)
        for (int r = r0; r < r1; r++) {
            memcpy(hist + (size_t)r * P, n->src_history + (size_t)r * P, sizeof(double) * P);
            pred[r] = n->src_predicted[r];
        }
    for (int r = r0; r < r1; r++) codes[r] = call->teacher ? call->teacher[r] : call->last[r];
    for (int64_t step = 0; step < call->steps; step++) {
        int64_t t = call->t0 + step;
        for (int r = r0; r < r1; r++) { /* input layer: the sum of the taps' embedding rows */
            float *xr = x + (size_t)r * rp;
            for (int c = 0; c < rp; c++) xr[c] = n->in_bias[c];
            for (int j = 0; j < n->kin; j++) {
                int64_t code = j < n->kin - 1 ? n->past[(size_t)r * (n->kin - 1) + j] : codes[r];
                const float *row = n->in_taps + ((size_t)j * (n->classes + 1) + (size_t)code) * rp;
                for (int c = 0; c < rp; c++) xr[c] += row[c];
            }
            if (P) { /* and the source's two codes */
                int64_t o = call->cond_offset[r] + step, pcode, ecode;
                const double *a = call->filters + ((size_t)r * call->cond_frames + (size_t)(o / n->hop)) * (P + 1);
                source_advance(codes[r], a, P, mu, hist + (size_t)r * P, pred + r, &pcode, &ecode);
                const float *prow = n->pred_table + (size_t)pcode * rp, *erow = n->exc_table + (size_t)ecode * rp;
                for (int c = 0; c < rp; c++) xr[c] += prow[c] + erow[c];
            }
            for (int j = 0; j < n->harmonics; j++) { /* and the periodic source's */
                float v = call->sines[((size_t)r * call->steps + step) * n->harmonics + j];
                const float *row = n->sine_table + (size_t)j * rp;
                for (int c = 0; c < rp; c++) xr[c] += v * row[c];
            }
        }
        for (int l = 0; l < n->layers; l++) {
            int64_t d = n->dilations[l], size = (K - 1) * d;
            float *ring = n->rings[l];
            for (int r = r0; r < r1; r++) { /* the convolution's inputs, oldest first */
                float *dst = taps + (size_t)r * K * rp;
                for (int j = 0; j < K - 1; j++) {
                    int64_t pos = ((t - (K - 1 - j) * d) % size + size) % size;
                    memcpy(dst + (size_t)j * rp, ring + ((size_t)pos * B + r) * rp, sizeof(float) * rp);
                }
                memcpy(dst + (size_t)(K - 1) * rp, x + (size_t)r * rp, sizeof(float) * rp);
            }
            float *z = n->z + (size_t)(l % 2) * B * hp; /* two buffers: a layer's writers never meet its readers */
            for (int ts = t0; ts < t1; ts++) {
                gemm(n, h + ts * gw, gp, taps, K * rp, weights(n, n->conv_w, ((size_t)l * T + ts) * K * rp * gw), gw,
                     n->conv_b + (size_t)l * gp + ts * gw, K * rp, r0, r1, 0, gw);
                for (int r = r0; r < r1; r++) {
                    const float *bias = n->spk_bias + ((size_t)l * B + r) * gp;
                    if (call->cond) bias = cond_bias(n, call, cbias, bias, r, l, step, ts * gw, (ts + 1) * gw);
                    gate(h + (size_t)r * gp, bias, z + (size_t)r * hp, ts * gw / 16, (ts + 1) * gw / 16);
                }
            }
            SYNC(); /* z is complete, and every thread has read this layer's ring (and the past codes) */
            if (l == 0 && lead && n->kin > 1)
                for (int r = r0; r < r1; r++) {
                    int64_t *p = n->past + (size_t)r * (n->kin - 1);
                    memmove(p, p + 1, sizeof(int64_t) * (n->kin - 2));
                    p[n->kin - 2] = codes[r];
                }
            for (int r = r0; r < r1; r++) /* x becomes the ring's newest entry (it overwrites the oldest) */
                memcpy(ring + ((size_t)(t % size) * B + r) * rp + q0, x + (size_t)r * rp + q0, sizeof(float) * (q1 - q0));
            int last = l == n->layers - 1;
            for (int ts = t0; ts < t1; ts++) { /* skip: this thread's slice, summed over the layers */
                float *skip = n->skip + ts * sw;
                if (l == 0) {
                    gemm(n, skip, sp, z, hp, weights(n, n->skip_w, ((size_t)l * T + ts) * hp * sw), sw,
                         n->skip_b + (size_t)l * sp + ts * sw, hp, r0, r1, 0, sw);
                } else {
                    gemm(n, o, ol, z, hp, weights(n, n->skip_w, ((size_t)l * T + ts) * hp * sw), sw,
                         n->skip_b + (size_t)l * sp + ts * sw, hp, r0, r1, 0, sw);
                    for (int r = r0; r < r1; r++)
                        for (int c = 0; c < sw; c++) skip[(size_t)r * sp + c] += o[(size_t)r * ol + c];
                }
            }
            if (!last) { /* residual: all of it, in every thread */
                gemm(n, o, ol, z, hp, weights(n, n->res_w, (size_t)l * hp * rp), rp, n->res_b + (size_t)l * rp, hp,
                     r0, r1, 0, rp);
                for (int r = r0; r < r1; r++) {
                    float *xr = x + (size_t)r * rp, *orow = o + (size_t)r * ol;
                    for (int c = 0; c < rp; c++) xr[c] += orow[c];
                }
            }
        }
        for (int r = r0; r < r1; r++) /* head: relu, 1x1, relu, 1x1 */
            for (int c = t0 * sw; c < t1 * sw; c++) n->skip[(size_t)r * sp + c] = relu(n->skip[(size_t)r * sp + c]);
        SYNC();
        for (int ts = t0; ts < t1; ts++) {
            gemm(n, n->hidden + ts * sw, sp, n->skip, sp, weights(n, n->head_w1, (size_t)ts * sp * sw), sw,
                 n->head_b1 + ts * sw, sp, r0, r1, 0, sw);
            for (int r = r0; r < r1; r++)
                for (int c = ts * sw; c < (ts + 1) * sw; c++)
                    n->hidden[(size_t)r * sp + c] = relu(n->hidden[(size_t)r * sp + c]);
        }
        SYNC();
        for (int ts = t0; ts < t1; ts++)
            gemm(n, n->logits + ts * cw, cp, n->hidden, sp, weights(n, n->head_w2, (size_t)ts * sp * cw), cw,
                 n->head_b2 + ts * cw, sp, r0, r1, 0, cw);
        SYNC();
        for (int r = r0; r < r1; r++) {
            const float *lg = n->logits + (size_t)r * cp;
            if (call->teacher) {
                if (lead) memcpy(call->logits_out + (size_t)r * n->classes, lg, sizeof(float) * n->classes);
                continue;
            }
            /* Every thread draws the same code (same logits, same uniform): no meeting needed. */
            float temperature = call->step_temperature ? call->step_temperature[(size_t)r * call->steps + step]
                                                       : call->temperature[r];
            codes[r] = sample(lg, n->classes, cp, temperature, call->uniforms[(size_t)r * call->steps + step],
                              probs + (size_t)r * cp, n->silence);
            if (P) codes[r] = code_of(pred[r] + value_of(codes[r], mu), mu); /* the excitation drawn, as a sample */
            if (lead) call->out[(size_t)r * call->steps + step] = codes[r];
        }
        /* The next step's first writes to shared buffers (z, skip) come after this step's readers
         * of the logits have passed at least one more meeting: the next layer-0 meeting orders
         * z's readers and writers, and skip and the logits are next written after it. */
    }
    if (lead && !call->teacher)
        for (int r = r0; r < r1; r++) call->last[r] = codes[r];
    if (lead && P)
        for (int r = r0; r < r1; r++) {
            memcpy(n->src_history + (size_t)r * P, hist + (size_t)r * P, sizeof(double) * P);
            n->src_predicted[r] = pred[r];
        }
#undef SYNC
}

static void *worker_main(void *arg) {
    Worker *w = (Worker *)arg;
    Generator *g = w->gen;
    long seen = 0;
    for (;;) {
        pthread_mutex_lock(&g->lock);
        while (g->generation == seen && !g->stop) pthread_cond_wait(&g->wake, &g->lock);
        if (g->stop) {
            pthread_mutex_unlock(&g->lock);
            return NULL;
        }
        seen = g->generation;
        Call call = g->call;
        pthread_mutex_unlock(&g->lock);
        run_thread(g, &call, w->tid);
        pthread_mutex_lock(&g->lock);
        g->finished++;
        pthread_cond_signal(&g->done);
        pthread_mutex_unlock(&g->lock);
    }
}

static void run_call(Generator *g, const Call *call) {
    if (g->threads == 1) {
        run_thread(g, call, 0);
        return;
    }
    pthread_mutex_lock(&g->lock);
    g->call = *call;
    g->finished = 0;
    g->generation++;
    pthread_cond_broadcast(&g->wake);
    pthread_mutex_unlock(&g->lock);
    run_thread(g, call, 0);
    pthread_mutex_lock(&g->lock);
    while (g->finished < g->threads - 1) pthread_cond_wait(&g->done, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

/* ------------------------------------------------------------------ Python interface */

static void generator_free(PyObject *capsule) {
    Generator *g = (Generator *)PyCapsule_GetPointer(capsule, "wavenet._native.Generator");
    if (!g) return;
    pthread_mutex_lock(&g->lock);
    g->stop = 1;
    pthread_cond_broadcast(&g->wake);
    pthread_mutex_unlock(&g->lock);
    for (int i = 1; i < g->threads; i++) pthread_join(g->ids[i], NULL);
    free(g->net.x);
    free(g->net.cbias);
    free(g->net.codes);
    free(g->net.my_history);
    free(g->net.my_predicted);
    free(g);
}

static void *ptr(unsigned long long address) { return (void *)(uintptr_t)address; }

/* create(dims, dilations, weight addresses, state addresses, threads) -> capsule
 *   dims = (layers, rp, gp, hp, sp, cp, classes, kernel, kin, batch, half, silence, hop, order, harmonics)
 *   weights = (in_taps, in_bias, conv_w, conv_b, skip_w, skip_b, res_w, res_b, head_w1, head_b1, head_w2, head_b2,
 *              pred_table, exc_table, sine_table)   (0 without a source-filter model, a periodic source)
 *   threads: the number of threads, which is also the number of column slices the weights were packed in
 *   state = (past, spk_bias, src_history, src_predicted, ring_0, ..., ring_{L-1}) */
static PyObject *create(PyObject *self, PyObject *args) {
    PyObject *dims, *dilations, *wts, *state;
    int threads;
    if (!PyArg_ParseTuple(args, "O!O!O!O!i", &PyTuple_Type, &dims, &PyTuple_Type, &dilations, &PyTuple_Type, &wts,
                          &PyTuple_Type, &state, &threads))
        return NULL;
    if (PyTuple_GET_SIZE(dims) != 15 || PyTuple_GET_SIZE(wts) != 15) {
        PyErr_SetString(PyExc_ValueError, "create: expected 15 sizes and 15 weight addresses");
        return NULL;
    }
    Generator *g = calloc(1, sizeof(Generator));
    if (!g) return PyErr_NoMemory();
    Net *n = &g->net;
    int *fields[] = {&n->layers, &n->rp,    &n->gp,    &n->hp,   &n->sp,   &n->cp,      &n->classes,
                     &n->kernel, &n->kin,   &n->batch, &n->half, &n->silence, &n->hop, &n->order, &n->harmonics};
    for (int i = 0; i < 15; i++) *fields[i] = (int)PyLong_AsLong(PyTuple_GET_ITEM(dims, i));
    if (n->layers < 1 || n->layers > 256 || PyTuple_GET_SIZE(dilations) != n->layers || n->order < 0 ||
        n->harmonics < 0 ||
        PyTuple_GET_SIZE(state) != 4 + n->layers || threads < 1 || threads > MAX_THREADS || n->rp % 8 ||
        n->gp % (16 * threads) || n->sp % (8 * threads) || n->cp % (8 * threads)) {
        free(g);
        PyErr_SetString(PyExc_ValueError, "create: inconsistent sizes");
        return NULL;
    }
    for (int l = 0; l < n->layers; l++) {
        n->dilations[l] = PyLong_AsLongLong(PyTuple_GET_ITEM(dilations, l));
        n->rings[l] = ptr(PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(state, 4 + l)));
    }
    const void **wp[] = {(const void **)&n->in_taps, (const void **)&n->in_bias, &n->conv_w,
                         (const void **)&n->conv_b, &n->skip_w, (const void **)&n->skip_b, &n->res_w,
                         (const void **)&n->res_b, &n->head_w1, (const void **)&n->head_b1, &n->head_w2,
                         (const void **)&n->head_b2, (const void **)&n->pred_table, (const void **)&n->exc_table,
                         (const void **)&n->sine_table};
    for (int i = 0; i < 15; i++) *wp[i] = ptr(PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(wts, i)));
    n->past = ptr(PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(state, 0)));
    n->spk_bias = ptr(PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(state, 1)));
    n->src_history = ptr(PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(state, 2)));
    n->src_predicted = ptr(PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(state, 3)));
    if (PyErr_Occurred()) {
        free(g);
        return NULL;
    }
    size_t B = (size_t)n->batch, T = (size_t)threads;
    size_t ol = n->rp > n->sp ? n->rp : n->sp;
    size_t sizes[] = {T * n->rp, T * n->kernel * n->rp, T * n->gp, T * ol, T * n->cp, 2 * (size_t)n->hp, n->sp, n->sp, n->cp};
    float **areas[] = {&n->x, &n->taps, &n->h, &n->o, &n->probs, &n->z, &n->skip, &n->hidden, &n->logits};
    size_t total = 0;
    for (int i = 0; i < 9; i++) total += B * sizes[i];
    float *scratch = calloc(total, sizeof(float));
    n->cbias = calloc(T * (size_t)n->gp, sizeof(float));
    n->codes = calloc(T * B, sizeof(int64_t));
    n->my_history = calloc(T * B * (size_t)(n->order ? n->order : 1), sizeof(double));
    n->my_predicted = calloc(T * B, sizeof(double));
    if (!scratch || !n->cbias || !n->codes || !n->my_history || !n->my_predicted) {
        free(scratch);
        free(n->cbias);
        free(n->codes);
        free(n->my_history);
        free(n->my_predicted);
        free(g);
        return PyErr_NoMemory();
    }
    float *cursor = scratch;
    for (int i = 0; i < 9; i++) {
        *areas[i] = cursor;
        cursor += B * sizes[i];
    }
    g->threads = threads;
    g->barrier.parties = threads;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    pthread_cond_init(&g->done, NULL);
    for (int i = 1; i < threads; i++) {
        g->workers[i] = (Worker){g, i};
        if (pthread_create(&g->ids[i], NULL, worker_main, &g->workers[i]) != 0) {
            g->threads = i;
            PyObject *capsule = PyCapsule_New(g, "wavenet._native.Generator", generator_free);
            Py_XDECREF(capsule);
            PyErr_SetString(PyExc_RuntimeError, "create: cannot start a thread");
            return NULL;
        }
    }
    return PyCapsule_New(g, "wavenet._native.Generator", generator_free);
}

/* run(capsule, t0, steps, active, by_rows, uniforms, temperature, last, out, cond, cond_offset, cond_frames,
 *     filters, sines, step_temperature): a chunk of sampled steps; cond is 0 for a model without local
 * conditioning, filters 0 for a model without a filter, sines 0 for one without a periodic source,
 * step_temperature 0 where every stream draws at its own temperature throughout. */
static PyObject *run(PyObject *self, PyObject *args) {
    PyObject *capsule;
    long long t0, steps, active, by_rows, cond_frames;
    unsigned long long uniforms, temperature, last, out, cond, cond_offset, filters, sines, step_temperature;
    if (!PyArg_ParseTuple(args, "OLLLLKKKKKKLKKK", &capsule, &t0, &steps, &active, &by_rows, &uniforms, &temperature,
                          &last, &out, &cond, &cond_offset, &cond_frames, &filters, &sines, &step_temperature))
        return NULL;
    Generator *g = PyCapsule_GetPointer(capsule, "wavenet._native.Generator");
    if (!g) return NULL;
    if (active < 1 || active > g->net.batch || steps < 0) {
        PyErr_SetString(PyExc_ValueError, "run: active must be in [1, batch] and steps non-negative");
        return NULL;
    }
    Call call = {.t0 = t0, .steps = steps, .active = active, .by_rows = by_rows, .filters = ptr(filters),
                 .sines = ptr(sines), .step_temperature = ptr(step_temperature), .uniforms = ptr(uniforms), .temperature = ptr(temperature), .last = ptr(last), .out = ptr(out),
                 .cond = ptr(cond), .cond_offset = ptr(cond_offset), .cond_frames = cond_frames};
    Py_BEGIN_ALLOW_THREADS run_call(g, &call);
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

/* step(capsule, t, active, by_rows, inputs, logits, cond, cond_offset, cond_frames, filters, sines): one
 * teacher-forced step. */
static PyObject *step(PyObject *self, PyObject *args) {
    PyObject *capsule;
    long long t, active, by_rows, cond_frames;
    unsigned long long inputs, logits, cond, cond_offset, filters, sines;
    if (!PyArg_ParseTuple(args, "OLLLKKKKLKK", &capsule, &t, &active, &by_rows, &inputs, &logits, &cond, &cond_offset,
                          &cond_frames, &filters, &sines))
        return NULL;
    Generator *g = PyCapsule_GetPointer(capsule, "wavenet._native.Generator");
    if (!g) return NULL;
    if (active < 1 || active > g->net.batch) {
        PyErr_SetString(PyExc_ValueError, "step: active must be in [1, batch]");
        return NULL;
    }
    Call call = {.t0 = t, .steps = 1, .active = active, .by_rows = by_rows, .filters = ptr(filters),
                 .sines = ptr(sines), .teacher = ptr(inputs), .logits_out = ptr(logits), .cond = ptr(cond), .cond_offset = ptr(cond_offset),
                 .cond_frames = cond_frames};
    Py_BEGIN_ALLOW_THREADS run_call(g, &call);
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *features(PyObject *self, PyObject *args) {
    return Py_BuildValue("{s:O}", "avx2", use_avx2 ? Py_True : Py_False);
}

static PyObject *set_simd(PyObject *self, PyObject *args) {
    int enable;
    if (!PyArg_ParseTuple(args, "p", &enable)) return NULL;
#if X86
    use_avx2 = enable && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    use_avx2 = 0;
#endif
    return PyBool_FromLong(use_avx2);
}

static PyMethodDef methods[] = {
    {"create", create, METH_VARARGS, "Create a native generator over packed weights and state buffers."},
    {"run", run, METH_VARARGS, "Generate a chunk of samples for the first `active` slots."},
    {"step", step, METH_VARARGS, "One teacher-forced step; writes logits."},
    {"features", features, METH_NOARGS, "The CPU features in use."},
    {"set_simd", set_simd, METH_VARARGS, "Use (or stop using) the AVX2 kernels; returns whether they are in use."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "wavenet.generation.backends._native", "Native CPU WaveNet generation.", -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
#if X86
    __builtin_cpu_init();
    use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#endif
    return PyModule_Create(&module);
}
