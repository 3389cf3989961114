/*
 * One decode step of a Llama-architecture model (SmolLM2 and its fine-tunes) for batch 1 on CPU,
 * with int8 weight-only linear layers. Built once by core/lm/native.py (cc -O3 [-mavx2 -mfma]
 * -fopenmp) and called through ctypes from core.lm.generate.FastDecoder.
 *
 * Why hand-written: at batch 1 a decode step is 211 small matrix-vector products plus ~600 tiny
 * element-wise ops. On this project's AVX2-only CPUs torch's int8 kernel (_weight_int8pack_mm)
 * streams weights at about half the bandwidth of fp32 MKL, and the per-op dispatch of the tiny ops
 * costs as much again. Here the whole step is one call: each int8 row is widened to fp32 in
 * registers and multiplied with the fp32 activation (no activation quantisation), rows split over
 * OpenMP threads.
 *
 * Semantics follow transformers' LlamaForCausalLM exactly (RMSNorm in fp32, rotate_half RoPE,
 * grouped-query attention with kv head = head / (n_head / n_kv), SiLU-gated MLP, final norm,
 * lm_head); only the weights are rounded, W ~= q * scale[row] with q in [-127, 127].
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
} opl_model;

int64_t opl_scratch_floats(int32_t d, int32_t n_head, int32_t n_kv, int32_t hd, int32_t ffn, int32_t max_pos) {
    int64_t nq = (int64_t)n_head * hd, nk = (int64_t)n_kv * hd;
    return 2 * (int64_t)d + nq + (nq + 2 * nk) + 3 * (int64_t)ffn + (int64_t)n_head * max_pos;
}

#ifdef __AVX2__
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}
#define WIDEN(b) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b))
#endif

/* sum_k w[k] * x[k], w int8, x fp32 */
static inline float dot_i8(const int8_t *w, const float *x, int n) {
    int k = 0;
    float acc = 0.0f;
#ifdef __AVX2__
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (; k + 32 <= n; k += 32) {
        __m128i b0 = _mm_loadu_si128((const __m128i *)(w + k));
        __m128i b1 = _mm_loadu_si128((const __m128i *)(w + k + 16));
        a0 = _mm256_fmadd_ps(WIDEN(b0), _mm256_loadu_ps(x + k), a0);
        a1 = _mm256_fmadd_ps(WIDEN(_mm_srli_si128(b0, 8)), _mm256_loadu_ps(x + k + 8), a1);
        a2 = _mm256_fmadd_ps(WIDEN(b1), _mm256_loadu_ps(x + k + 16), a2);
        a3 = _mm256_fmadd_ps(WIDEN(_mm_srli_si128(b1, 8)), _mm256_loadu_ps(x + k + 24), a3);
    }
    for (; k + 8 <= n; k += 8)
        a0 = _mm256_fmadd_ps(WIDEN(_mm_loadl_epi64((const __m128i *)(w + k))), _mm256_loadu_ps(x + k), a0);
    acc = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
#endif
    for (; k < n; k++) acc += (float)w[k] * x[k];
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

/* y[r] = scale[r] * (W[r, :] . x) for r < rows; rows split over nt threads */
static void gemv_i8(const int8_t *W, const float *scale, const float *x, float *y, int rows, int cols, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int r = 0; r < rows; r++) y[r] = scale[r] * dot_i8(W + (size_t)r * cols, x, cols);
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
    float *act = gu + 2 * ffn, *scores = act + ffn;
    const float *c = m->cos_t + (size_t)pos * hd, *s = m->sin_t + (size_t)pos * hd;
    const float inv_sqrt = 1.0f / sqrtf((float)hd);

    memcpy(h, m->embed + (size_t)token * d, sizeof(float) * d);
    for (int l = 0; l < m->n_layer; l++) {
        rms_norm(h, m->ln1[l], x, d, m->eps);
        gemv_i8(m->qkv_q[l], m->qkv_s[l], x, qkv, nq + 2 * nk, d, nt);
        rope(qkv, nh, hd, c, s);
        rope(qkv + nq, nkv, hd, c, s);
        for (int g = 0; g < nkv; g++) {
            memcpy(kc[l] + ((size_t)g * cache_len + pos) * hd, qkv + nq + (size_t)g * hd, sizeof(float) * hd);
            memcpy(vc[l] + ((size_t)g * cache_len + pos) * hd, qkv + nq + nk + (size_t)g * hd, sizeof(float) * hd);
        }
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int head = 0; head < nh; head++) {
            const float *q = qkv + (size_t)head * hd;
            const float *K = kc[l] + (size_t)(head / group) * cache_len * hd;
            const float *V = vc[l] + (size_t)(head / group) * cache_len * hd;
            float *sc = scores + (size_t)head * m->max_pos, *o = att + (size_t)head * hd;
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
        gemv_i8(m->o_q[l], m->o_s[l], att, x, d, nq, nt);
        for (int i = 0; i < d; i++) h[i] += x[i];
        rms_norm(h, m->ln2[l], x, d, m->eps);
        gemv_i8(m->gu_q[l], m->gu_s[l], x, gu, 2 * ffn, d, nt);
        for (int i = 0; i < ffn; i++) {
            const float g = gu[i];
            act[i] = g / (1.0f + expf(-g)) * gu[ffn + i];
        }
        gemv_i8(m->dn_q[l], m->dn_s[l], act, x, d, ffn, nt);
        for (int i = 0; i < d; i++) h[i] += x[i];
    }
    rms_norm(h, m->final_norm, x, d, m->eps);
    gemv_i8(m->lm_q, m->lm_s, x, logits, m->vocab, d, nt);
    return 0;
}
