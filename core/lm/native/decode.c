/*
 * One decode step of a Llama-architecture model (SmolLM2, Qwen2 with its QKV bias, and their fine-tunes) for batch 1 on CPU,
 * with int8 weight-only linear layers. Built once by core/lm/native.py (cc -O3 [-mavx2 -mfma]
 * -fopenmp) and called through ctypes from core.lm.generate.FastDecoder.
 *
 * Why hand-written: at batch 1 a decode step is 121 small matrix-vector products plus ~600 tiny
 * element-wise ops. On the 2-core machines this project runs on (an AVX2 AMD EPYC, an AVX-512
 * Xeon) torch's int8 kernel (_weight_int8pack_mm) streams weights at about half the bandwidth of
 * fp32 MKL, and the per-op dispatch of the tiny ops costs as much again. Only AVX2 is used, so one
 * build serves both. Here the whole step is one call, rows split over OpenMP threads. Each
 * matrix-vector product rounds its input vector to int8 in blocks of 32 (one fp32 scale per block,
 * as llama.cpp's Q8_0) and multiplies int8 by int8 with AVX2's maddubs, 32 products per
 * instruction; widening int8 weights to fp32 instead was 1.4-1.9x slower here (measured:
 * one 134 MB pass 20.9 vs 14.7 ms on one core, 10.6 vs 7.8 ms on two).
 *
 * Semantics follow transformers' LlamaForCausalLM (RMSNorm in fp32, rotate_half RoPE,
 * grouped-query attention with kv head = head / (n_head / n_kv), SiLU-gated MLP, final norm,
 * lm_head; Qwen2ForCausalLM is the same with a bias on the q, k and v projections); only the weights are rounded, W ~= q * scale[row] with q in [-127, 127], and the
 * inputs of the linear layers, x ~= xq * xscale[block] with xq in [-127, 127]. Everything else
 * (attention, norms, residual stream) stays fp32.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

typedef struct {
    int32_t n_layer, n_head, n_kv, d, hd, ffn, vocab, max_pos;
    float eps;
    const float *embed;      /* vocab x d, fp32 */
    const float *final_norm; /* d */
    const int8_t *lm_q;      /* vocab x d */
    const float *lm_s;       /* vocab */
    const float *const *ln1, *const *ln2;               /* per layer: d */
    const int8_t *const *qkv_q; const float *const *qkv_s;  /* (nq + 2 nk) x d, fused q|k|v */
    const int8_t *const *o_q;   const float *const *o_s;    /* d x nq */
    const int8_t *const *gu_q;  const float *const *gu_s;   /* 2 ffn x d, fused gate|up */
    const int8_t *const *dn_q;  const float *const *dn_s;   /* d x ffn */
    const float *cos_t, *sin_t; /* max_pos x hd: rotary tables as in HF (cat(freqs, freqs)) */
    float *scratch;             /* opl_scratch_floats() floats */
    const float *const *qkv_b;  /* per layer: nq + 2 nk fused q|k|v biases (Qwen2), or NULL for none */
} opl_model;

#define QBLOCK 32

static int64_t max3(int64_t a, int64_t b, int64_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

int64_t opl_scratch_floats(int32_t d, int32_t n_head, int32_t n_kv, int32_t hd, int32_t ffn, int32_t max_pos) {
    int64_t nq = (int64_t)n_head * hd, nk = (int64_t)n_kv * hd, k = max3(d, nq, ffn);
    int64_t quant = k / 4 + 1 + k / QBLOCK + 2; /* int8 inputs (4 per float slot) and block scales */
    return 2 * (int64_t)d + nq + (nq + 2 * nk) + 3 * (int64_t)ffn + (int64_t)n_head * max_pos + quant;
}

#ifdef __AVX2__
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}
#endif

/* x ~= xq * xs[block]: symmetric int8 per block of QBLOCK (the last block may be shorter) */
static void quantize_blocks(const float *x, int n, int8_t *xq, float *xs) {
    for (int b = 0; b * QBLOCK < n; b++) {
        const int lo = b * QBLOCK, hi = lo + QBLOCK < n ? lo + QBLOCK : n;
        float amax = 0.0f;
        for (int i = lo; i < hi; i++) amax = fmaxf(amax, fabsf(x[i]));
        const float scale = amax / 127.0f;
        xs[b] = scale;
        for (int i = lo; i < hi; i++) xq[i] = scale > 0.0f ? (int8_t)nearbyintf(x[i] / scale) : 0;
    }
}

/* sum over blocks of xs[b] * (w . xq) within the block; w, xq int8 */
static inline float dot_q8(const int8_t *w, const int8_t *xq, const float *xs, int n) {
    int k = 0;
    float acc = 0.0f;
#ifdef __AVX2__
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 a = _mm256_setzero_ps();
    for (; k + QBLOCK <= n; k += QBLOCK) {
        const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + k));
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + k));
        /* |x| (unsigned) times w carrying x's sign: pairs sum to at most 2 * 127 * 127, no saturation */
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv)), ones);
        a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(xs[k / QBLOCK]), a);
    }
    acc = hsum8(a);
#endif
    for (; k < n; k += QBLOCK) { /* blocks without AVX2, and the last, shorter block */
        const int hi = k + QBLOCK < n ? k + QBLOCK : n;
        int32_t s = 0;
        for (int i = k; i < hi; i++) s += (int32_t)w[i] * (int32_t)xq[i];
        acc += xs[k / QBLOCK] * (float)s;
    }
    return acc;
}

static inline float dot_f32(const float *a, const float *b, int n) {
    int k = 0;
    float acc = 0.0f;
#ifdef __AVX2__
    __m256 s = _mm256_setzero_ps();
    for (; k + 8 <= n; k += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s);
    acc = hsum8(s);
#endif
    for (; k < n; k++) acc += a[k] * b[k];
    return acc;
}

typedef struct {
    int8_t *xq; /* cols int8 */
    float *xs;  /* cols / QBLOCK + 1 block scales */
} qbuf;

/* y[r] = scale[r] * (W[r, :] . x) for r < rows, x rounded to int8 blocks; rows split over nt threads */
static void gemv_i8(const int8_t *W, const float *scale, const float *x, float *y, int rows, int cols, int nt, qbuf q) {
    quantize_blocks(x, cols, q.xq, q.xs);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int r = 0; r < rows; r++) y[r] = scale[r] * dot_q8(W + (size_t)r * cols, q.xq, q.xs, cols);
}

static void rms_norm(const float *x, const float *w, float *y, int n, float eps) {
    float ss = dot_f32(x, x, n);
    float r = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = 0; i < n; i++) y[i] = w[i] * (x[i] * r);
}

/* rotate_half convention: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) */
static void rope(float *x, int heads, int hd, const float *c, const float *s) {
    int half = hd / 2;
    for (int h = 0; h < heads; h++) {
        float *v = x + (size_t)h * hd;
        for (int i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * c[i] - b * s[i];
            v[i + half] = b * c[i + half] + a * s[i + half];
        }
    }
}

/* One head's attention over positions 0..pos: o = softmax(q . K[t] / sqrt(hd)) . V (sc: scratch) */
static void attend_head(const float *q, const float *K, const float *V, int pos, int hd, float inv_sqrt,
                        float *sc, float *o) {
    float mx = -INFINITY, sum = 0.0f;
    for (int t = 0; t <= pos; t++) {
        sc[t] = dot_f32(q, K + (size_t)t * hd, hd) * inv_sqrt;
        if (sc[t] > mx) mx = sc[t];
    }
    for (int t = 0; t <= pos; t++) {
        sc[t] = expf(sc[t] - mx);
        sum += sc[t];
    }
    for (int i = 0; i < hd; i++) o[i] = 0.0f;
    for (int t = 0; t <= pos; t++) {
        const float p = sc[t] / sum, *v = V + (size_t)t * hd;
        for (int i = 0; i < hd; i++) o[i] += p * v[i];
    }
}

/*
 * Decode `token` at position `pos`: writes its keys/values into the caches at pos, attends over
 * positions 0..pos and writes the next-token logits (vocab floats). kc[l], vc[l]: the layer's
 * cache, n_kv x cache_len x hd fp32 (positions < pos already filled by the prefill or earlier
 * steps). Returns 0, or -1 for an out-of-range token or position.
 */
int opl_step(const opl_model *m, float *const *kc, float *const *vc, int32_t cache_len,
             int32_t token, int32_t pos, int32_t nt, float *logits) {
    const int d = m->d, hd = m->hd, nh = m->n_head, nkv = m->n_kv, ffn = m->ffn;
    const int nq = nh * hd, nk = nkv * hd, group = nh / nkv;
    if (token < 0 || token >= m->vocab || pos < 0 || pos >= cache_len || pos >= m->max_pos) return -1;
    if (nt < 1) nt = 1;
    float *h = m->scratch, *x = h + d, *att = x + d, *qkv = att + nq, *gu = qkv + nq + 2 * nk;
    float *act = gu + 2 * ffn, *scores = act + ffn, *qmem = scores + (size_t)nh * m->max_pos;
    const int kmax = d > nq ? (d > ffn ? d : ffn) : (nq > ffn ? nq : ffn);
    const qbuf q = {(int8_t *)qmem, qmem + kmax / 4 + 1};
    const float *c = m->cos_t + (size_t)pos * hd, *s = m->sin_t + (size_t)pos * hd;
    const float inv_sqrt = 1.0f / sqrtf((float)hd);

    memcpy(h, m->embed + (size_t)token * d, sizeof(float) * d);
    for (int l = 0; l < m->n_layer; l++) {
        rms_norm(h, m->ln1[l], x, d, m->eps);
        gemv_i8(m->qkv_q[l], m->qkv_s[l], x, qkv, nq + 2 * nk, d, nt, q);
        if (m->qkv_b) for (int i = 0; i < nq + 2 * nk; i++) qkv[i] += m->qkv_b[l][i];
        rope(qkv, nh, hd, c, s);
        rope(qkv + nq, nkv, hd, c, s);
        for (int g = 0; g < nkv; g++) {
            memcpy(kc[l] + ((size_t)g * cache_len + pos) * hd, qkv + nq + (size_t)g * hd, sizeof(float) * hd);
            memcpy(vc[l] + ((size_t)g * cache_len + pos) * hd, qkv + nq + nk + (size_t)g * hd, sizeof(float) * hd);
        }
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int head = 0; head < nh; head++) {
            attend_head(qkv + (size_t)head * hd, kc[l] + (size_t)(head / group) * cache_len * hd,
                        vc[l] + (size_t)(head / group) * cache_len * hd, pos, hd, inv_sqrt,
                        scores + (size_t)head * m->max_pos, att + (size_t)head * hd);
        }
        gemv_i8(m->o_q[l], m->o_s[l], att, x, d, nq, nt, q);
        for (int i = 0; i < d; i++) h[i] += x[i];
        rms_norm(h, m->ln2[l], x, d, m->eps);
        gemv_i8(m->gu_q[l], m->gu_s[l], x, gu, 2 * ffn, d, nt, q);
        for (int i = 0; i < ffn; i++) {
            const float g = gu[i];
            act[i] = g / (1.0f + expf(-g)) * gu[ffn + i];
        }
        gemv_i8(m->dn_q[l], m->dn_s[l], act, x, d, ffn, nt, q);
        for (int i = 0; i < d; i++) h[i] += x[i];
    }
    rms_norm(h, m->final_norm, x, d, m->eps);
    gemv_i8(m->lm_q, m->lm_s, x, logits, m->vocab, d, nt, q);
    return 0;
}

/* ------------------------------------------------------------------ batched decode (continuous batching)
 * One decode step for B sequences at once, each with its own token, position and KV cache: every
 * weight row is loaded once and multiplied with all B inputs, so one pass over the weights serves
 * the whole batch (at batch 1 a step is bound by reading the weights). Per sequence the arithmetic
 * is exactly opl_step's (same rounding, same summation order), so a sequence decoded in a batch gets
 * the same logits, bit for bit, as decoded alone. */
#define OPL_MAX_BATCH 32

/* out[b] = sum over blocks of xs_b[blk] * (w . xq_b) for B inputs, each as dot_q8 computes it */
static inline void dot_q8_multi(const int8_t *w, const qbuf *q, int B, int n, float *out) {
    int b0 = 0;
#ifdef __AVX2__
    const __m256i ones = _mm256_set1_epi16(1);
    const int full = n - n % QBLOCK;
    for (; b0 + 4 <= B; b0 += 4) {
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int k = 0; k < full; k += QBLOCK) {
            const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + k));
            for (int j = 0; j < 4; j++) {
                const __m256i xv = _mm256_loadu_si256((const __m256i *)(q[b0 + j].xq + k));
                const __m256i p = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(_mm256_sign_epi8(xv, xv), _mm256_sign_epi8(wv, xv)), ones);
                a[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(q[b0 + j].xs[k / QBLOCK]), a[j]);
            }
        }
        for (int j = 0; j < 4; j++) {
            float acc = hsum8(a[j]);
            for (int k = full; k < n; k += QBLOCK) {
                const int hi = k + QBLOCK < n ? k + QBLOCK : n;
                int32_t s = 0;
                for (int i = k; i < hi; i++) s += (int32_t)w[i] * (int32_t)q[b0 + j].xq[i];
                acc += q[b0 + j].xs[k / QBLOCK] * (float)s;
            }
            out[b0 + j] = acc;
        }
    }
#endif
    for (; b0 < B; b0++) out[b0] = dot_q8(w, q[b0].xq, q[b0].xs, n);
}

/* y_b[r] = scale[r] * (W[r, :] . x_b) for every sequence b; x_b at x + b * xstride, y_b at y + b * ystride */
static void gemm_i8(const int8_t *W, const float *scale, float *const *x, float *const *y, int B, int rows, int cols,
                    int nt, const qbuf *q) {
    for (int b = 0; b < B; b++) quantize_blocks(x[b], cols, q[b].xq, q[b].xs);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int r = 0; r < rows; r++) {
        float out[OPL_MAX_BATCH];
        dot_q8_multi(W + (size_t)r * cols, q, B, cols, out);
        for (int b = 0; b < B; b++) y[b][r] = scale[r] * out[b];
    }
}

int32_t opl_max_batch(void) { return OPL_MAX_BATCH; }

/*
 * Decode tokens[b] at positions pos[b] for b < B. kc[b], vc[b]: sequence b's per-layer cache
 * pointer arrays (as opl_step's kc, vc), cache_len[b] its length. scratch: B slices of
 * opl_scratch_floats() floats (one per sequence). Writes B x vocab logits. Returns 0, or -1 for an
 * out-of-range token, position or batch size (nothing is written then).
 */
int opl_step_batch(const opl_model *m, int32_t B, float *const *const *kc, float *const *const *vc,
                   const int32_t *cache_len, const int32_t *tokens, const int32_t *pos, int32_t nt,
                   float *scratch, float *logits) {
    const int d = m->d, hd = m->hd, nh = m->n_head, nkv = m->n_kv, ffn = m->ffn;
    const int nq = nh * hd, nk = nkv * hd, group = nh / nkv;
    if (B < 1 || B > OPL_MAX_BATCH) return -1;
    for (int b = 0; b < B; b++)
        if (tokens[b] < 0 || tokens[b] >= m->vocab || pos[b] < 0 || pos[b] >= cache_len[b] || pos[b] >= m->max_pos)
            return -1;
    if (nt < 1) nt = 1;
    const int64_t slice = opl_scratch_floats(d, nh, nkv, hd, ffn, m->max_pos);
    const int kmax = d > nq ? (d > ffn ? d : ffn) : (nq > ffn ? nq : ffn);
    float *h[OPL_MAX_BATCH], *x[OPL_MAX_BATCH], *att[OPL_MAX_BATCH], *qkv[OPL_MAX_BATCH], *gu[OPL_MAX_BATCH];
    float *act[OPL_MAX_BATCH], *scores[OPL_MAX_BATCH], *lg[OPL_MAX_BATCH];
    qbuf q[OPL_MAX_BATCH];
    for (int b = 0; b < B; b++) {
        float *base = scratch + (size_t)b * slice;
        h[b] = base; x[b] = h[b] + d; att[b] = x[b] + d; qkv[b] = att[b] + nq; gu[b] = qkv[b] + nq + 2 * nk;
        act[b] = gu[b] + 2 * ffn; scores[b] = act[b] + ffn;
        float *qmem = scores[b] + (size_t)nh * m->max_pos;
        q[b].xq = (int8_t *)qmem; q[b].xs = qmem + kmax / 4 + 1;
        lg[b] = logits + (size_t)b * m->vocab;
        memcpy(h[b], m->embed + (size_t)tokens[b] * d, sizeof(float) * d);
    }
    const float inv_sqrt = 1.0f / sqrtf((float)hd);

    for (int l = 0; l < m->n_layer; l++) {
        for (int b = 0; b < B; b++) rms_norm(h[b], m->ln1[l], x[b], d, m->eps);
        gemm_i8(m->qkv_q[l], m->qkv_s[l], x, qkv, B, nq + 2 * nk, d, nt, q);
        for (int b = 0; b < B; b++) {
            float *v = qkv[b];
            const float *c = m->cos_t + (size_t)pos[b] * hd, *s = m->sin_t + (size_t)pos[b] * hd;
            if (m->qkv_b) for (int i = 0; i < nq + 2 * nk; i++) v[i] += m->qkv_b[l][i];
            rope(v, nh, hd, c, s);
            rope(v + nq, nkv, hd, c, s);
            for (int g = 0; g < nkv; g++) {
                memcpy(kc[b][l] + ((size_t)g * cache_len[b] + pos[b]) * hd, v + nq + (size_t)g * hd, sizeof(float) * hd);
                memcpy(vc[b][l] + ((size_t)g * cache_len[b] + pos[b]) * hd, v + nq + nk + (size_t)g * hd, sizeof(float) * hd);
            }
        }
#pragma omp parallel for num_threads(nt) schedule(static) collapse(2)
        for (int b = 0; b < B; b++) {
            for (int head = 0; head < nh; head++) {
                const size_t L = (size_t)cache_len[b];
                attend_head(qkv[b] + (size_t)head * hd, kc[b][l] + (size_t)(head / group) * L * hd,
                            vc[b][l] + (size_t)(head / group) * L * hd, pos[b], hd, inv_sqrt,
                            scores[b] + (size_t)head * m->max_pos, att[b] + (size_t)head * hd);
            }
        }
        gemm_i8(m->o_q[l], m->o_s[l], att, x, B, d, nq, nt, q);
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < d; i++) h[b][i] += x[b][i];
            rms_norm(h[b], m->ln2[l], x[b], d, m->eps);
        }
        gemm_i8(m->gu_q[l], m->gu_s[l], x, gu, B, 2 * ffn, d, nt, q);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < ffn; i++) {
                const float g = gu[b][i];
                act[b][i] = g / (1.0f + expf(-g)) * gu[b][ffn + i];
            }
        gemm_i8(m->dn_q[l], m->dn_s[l], act, x, B, d, ffn, nt, q);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < d; i++) h[b][i] += x[b][i];
    }
    for (int b = 0; b < B; b++) rms_norm(h[b], m->final_norm, x[b], d, m->eps);
    gemm_i8(m->lm_q, m->lm_s, x, lg, B, m->vocab, d, nt, q);
    return 0;
}
