/*
 * flexidepth4j native kernel tier: Q4_K and Q6_K weight rows, and Q4_0 and Q8_0 in their copy interleaved by 8 rows
 * (the section before BF16's), against activations quantized to blocks of 32 int8 values with one float scale each, plus each block's
 * sum times its scale (xs, for the K-quants' offsets) (org.flexidepth4j.tensor.Q8Activations), called through the FFM API
 * (org.flexidepth4j.tensor.NativeKernels). Each level is compiled into the one library with target attributes and
 * picked at run time from the CPU's features (fd_best_level), so the library runs on any CPU of its architecture.
 * The pure-Java kernels compute the same sums and are the reference (KernelTest compares the two).
 */
#include <stdint.h>
#include <string.h>

#define FD_EXPORT __attribute__((visibility("default")))
/* Small fixed loops unrolled, so their lane indices and constants are immediates (-O2 does not unroll them). */
#define UNROLL _Pragma("GCC unroll 8")

enum { LEVEL_PORTABLE = 0, LEVEL_AVX2 = 1, LEVEL_AVX512_VNNI = 2 };

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t) (h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        /* subnormal half: normalize it */
        exponent = 113;
        while ((mantissa & 0x400) == 0) { mantissa <<= 1; exponent--; }
        bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t load_half(const uint8_t *p) {
    return (uint16_t) (p[0] | (p[1] << 8));
}

static inline void store(float *out, int32_t r, int32_t add, float value) {
    out[r] = add ? out[r] + value : value;
}

/* A row kernel: out[r] (or +=) for rows [0, rows) against one token's activations. */
typedef void (*rows_fn)(const uint8_t *, int64_t, int32_t, int32_t, const int8_t *, const float *, const float *, float *,
                        int32_t);

/* Weight rows per panel of the prefill loops: a panel's rows stay in L1/L2 while every token passes over them. */
#define GEMM_PANEL 16

/* Prefill through a row kernel: panel by panel of rows, every token in turn (the levels without a tiled kernel). */
static void gemm_by_rows(rows_fn rows_kernel, const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,
                         const int8_t *xq, const float *xd, const float *xs, int64_t x_blocks, int32_t tokens, float *out,
                         int64_t out_stride, int32_t add) {
    for (int32_t r0 = 0; r0 < rows; r0 += GEMM_PANEL) {
        int32_t n = rows - r0 < GEMM_PANEL ? rows - r0 : GEMM_PANEL;
        for (int32_t t = 0; t < tokens; t++)
            rows_kernel(w + r0 * row_bytes, row_bytes, n, blocks, xq + 32 * t * x_blocks, xd + t * x_blocks,
                        xs + t * x_blocks, out + t * out_stride + r0, add);
    }
}

/* ---- portable C: the same sums one block at a time ---- */

/*
 * Q4_K's 8 six-bit sub-block scales and mins from its 12 packed bytes (llama.cpp get_scale_min_k4), all at once on
 * 32-bit words: bytes 0-3 of sc and mn are sub-blocks 0-3 (low 6 bits of bytes 0-3 and 4-7), bytes 4-7 take the
 * low / high nibble of bytes 8-11 and the top 2 bits of bytes 0-3 / 4-7.
 */
static inline void q4_k_scales(const uint8_t *packed, uint8_t sc[8], uint8_t mn[8]) {
    uint32_t w[3], out[4];
    memcpy(w, packed, 12);
    out[0] = w[0] & 0x3F3F3F3Fu;
    out[1] = (w[2] & 0x0F0F0F0Fu) | (((w[0] >> 6) & 0x03030303u) << 4);
    out[2] = w[1] & 0x3F3F3F3Fu;
    out[3] = ((w[2] >> 4) & 0x0F0F0F0Fu) | (((w[1] >> 6) & 0x03030303u) << 4);
    memcpy(sc, out, 8);
    memcpy(mn, out + 2, 8);
}

/*
 * Q4_K: a super-block of 256 values is 8 activation blocks; value = d * sc * q - dmin * mn per 32-value sub-block,
 * so its dot is d * sc * xd * sum(q x) - dmin * mn * xs (xs = xd * sum(x), made once per matmul).
 */
static void q4_k_rows_portable(const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,
                               const int8_t *xq, const float *xd, const float *xs, float *out, int32_t add) {
    for (int32_t r = 0; r < rows; r++) {
        const uint8_t *row = w + r * row_bytes;
        float sum = 0, mins = 0;
        for (int32_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 144 * b;
            uint8_t sc[8], mn[8];
            q4_k_scales(blk + 4, sc, mn);
            float d = half_to_float(load_half(blk)), dmin = half_to_float(load_half(blk + 2));
            for (int j = 0; j < 4; j++) {
                const uint8_t *q = blk + 16 + 32 * j;
                const int8_t *x = xq + 32 * (8 * b + 2 * j);
                int32_t lo = 0, hi = 0;
                for (int l = 0; l < 32; l++) {
                    lo += (q[l] & 0xF) * x[l];
                    hi += (q[l] >> 4) * x[32 + l];
                }
                sum += (float) lo * (d * sc[2 * j] * xd[8 * b + 2 * j]) + (float) hi * (d * sc[2 * j + 1] * xd[8 * b + 2 * j + 1]);
            }
            for (int j = 0; j < 8; j++) mins += dmin * mn[j] * xs[8 * b + j];
        }
        store(out, r, add, sum - mins);
    }
}

/*
 * Q6_K: a super-block of 256 values is 8 activation blocks; each 128-value half packs, for l in [0, 32), values
 * l, l+32, l+64, l+96 (so activation blocks 4n .. 4n+3) from ql and qh; value = d * sc * (q - 32), one int8 scale
 * per 16 values.
 */
static void q6_k_rows_portable(const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,
                               const int8_t *xq, const float *xd, const float *xs, float *out, int32_t add) {
    (void) xs;
    for (int32_t r = 0; r < rows; r++) {
        const uint8_t *row = w + r * row_bytes;
        float sum = 0;
        for (int32_t b = 0; b < blocks; b++) {
            const uint8_t *blk = row + 210 * b;
            float d = half_to_float(load_half(blk + 208));
            for (int n = 0; n < 2; n++) {
                const uint8_t *ql = blk + 64 * n, *qh = blk + 128 + 32 * n;
                const int8_t *sc = (const int8_t *) blk + 192 + 8 * n;
                for (int k = 0; k < 4; k++) {
                    int32_t block = 8 * b + 4 * n + k, s = 0;
                    const int8_t *x = xq + 32 * block;
                    for (int half = 0; half < 2; half++) {
                        int32_t part = 0;
                        for (int l = 16 * half; l < 16 * half + 16; l++) {
                            int q = ((k & 1 ? ql[l + 32] : ql[l]) >> (k & 2 ? 4 : 0) & 0xF) | ((qh[l] >> (2 * k) & 3) << 4);
                            part += (q - 32) * x[l];
                        }
                        s += part * sc[2 * k + half];
                    }
                    sum += (float) s * (d * xd[block]);
                }
            }
        }
        store(out, r, add, sum);
    }
}

/*
 * Prefill: tile by tile of GEMM_ROWS weight rows x GEMM_TOKENS tokens over all blocks of a row, so each weight block
 * is loaded and unpacked once for GEMM_TOKENS tokens and each activation block once for GEMM_ROWS rows (2 x 4 read
 * fastest of 1-4 x 1-6 in the in-cache harness of KERNELS.md). Every (row, token) sum is the same block products as
 * the row kernel's, summed in another order.
 */
#define GEMM_ROWS 2
#define GEMM_TOKENS 4

/* One tile: out[t * out_stride + i] (or +=) for rows i < GEMM_ROWS and tokens t < GEMM_TOKENS. */
typedef void (*tile_fn)(const uint8_t *, int64_t, int32_t, const int8_t *, const float *, const float *, int64_t, float *,
                        int64_t, int32_t);

/* Whole tiles over each panel of rows, the row kernel for the rows and tokens left over. */
static void gemm_tiled(tile_fn tile, rows_fn rows_kernel, const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,
                       const int8_t *xq, const float *xd, const float *xs, int64_t x_blocks, int32_t tokens, float *out,
                       int64_t out_stride, int32_t add) {
    for (int32_t r0 = 0; r0 < rows; r0 += GEMM_PANEL) {
        int32_t r1 = r0 + GEMM_PANEL < rows ? r0 + GEMM_PANEL : rows;
        for (int32_t t = 0; t < tokens; t += GEMM_TOKENS) {
            int32_t r = r0;
            if (t + GEMM_TOKENS <= tokens) {
                for (; r + GEMM_ROWS <= r1; r += GEMM_ROWS)
                    tile(w + r * row_bytes, row_bytes, blocks, xq + 32 * t * x_blocks, xd + t * x_blocks, xs + t * x_blocks,
                         x_blocks, out + t * out_stride + r, out_stride, add);
            }
            for (int32_t u = t; u < t + GEMM_TOKENS && u < tokens && r < r1; u++)
                rows_kernel(w + r * row_bytes, row_bytes, r1 - r, blocks, xq + 32 * u * x_blocks, xd + u * x_blocks,
                            xs + u * x_blocks, out + u * out_stride + r, add);
        }
    }
}

/* ---- x86-64: AVX2 (vpmaddubsw + vpmaddwd), which the AVX-512 VNNI level runs too ---- */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define FD_X86 1

#define AVX2_TARGET __attribute__((target("avx2,fma,f16c")))

AVX2_TARGET static inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/*
 * Q4_K, AVX2: nibbles are unsigned, so vpmaddubsw takes them as they are; the 8 products d * scale * d(x) of a
 * super-block are one vector, a sub-block's picked by a lane permute; the mins are one 8-lane FMA per super-block.
 */
#define Q4_K_X86(NAME, TARGET)                                                                                    \
    TARGET static void NAME(const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,                  \
                            const int8_t *xq, const float *xd, const float *xs, float *out, int32_t add) {      \
        const __m256i low4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);                               \
        for (int32_t r = 0; r < rows; r++) {                                                                    \
            const uint8_t *row = w + r * row_bytes;                                                             \
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), accMin = _mm256_setzero_ps();        \
            for (int32_t b = 0; b < blocks; b++) {                                                              \
                const uint8_t *blk = row + 144 * b;                                                             \
                uint8_t sc[8], mn[8];                                                                           \
                q4_k_scales(blk + 4, sc, mn);                                                                   \
                const int8_t *x = xq + 256 * b;                                                                 \
                __m256 s = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) sc))), \
                                                       _mm256_set1_ps(_cvtsh_ss(load_half(blk)))), _mm256_loadu_ps(xd + 8 * b)); \
                __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) mn)));     \
                accMin = _mm256_fmadd_ps(_mm256_mul_ps(m, _mm256_set1_ps(_cvtsh_ss(load_half(blk + 2)))),       \
                                         _mm256_loadu_ps(xs + 8 * b), accMin);                                  \
                UNROLL for (int j = 0; j < 4; j++) {                                                            \
                    __m256i q = _mm256_loadu_si256((const __m256i *) (blk + 16 + 32 * j));                     \
                    __m256i lo = _mm256_and_si256(q, low4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4); \
                    __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *) (x + 64 * j))), ones); \
                    __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *) (x + 64 * j + 32))), ones); \
                    acc0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, _mm256_set1_epi32(2 * j)), _mm256_cvtepi32_ps(plo), acc0); \
                    acc1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, _mm256_set1_epi32(2 * j + 1)), _mm256_cvtepi32_ps(phi), acc1); \
                }                                                                                               \
            }                                                                                                   \
            store(out, r, add, hsum_avx2(_mm256_add_ps(acc0, acc1)) - hsum_avx2(accMin));                        \
        }                                                                                                       \
    }

/*
 * Q6_K, AVX2: the four 32-value quarters of a half cut from ql / qh with 16-bit shifts and byte masks, 32 subtracted
 * as bytes, the sign trick for vpmaddubsw, then vpmaddwd against the quarter's two 16-value scales.
 */
#define Q6_K_X86(NAME, TARGET, DOT_SCALED)                                                                      \
    TARGET static void NAME(const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,                  \
                            const int8_t *xq, const float *xd, const float *xs, float *out, int32_t add) {      \
        (void) xs;                                                                                              \
        const __m256i low4 = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32); \
        for (int32_t r = 0; r < rows; r++) {                                                                    \
            const uint8_t *row = w + r * row_bytes;                                                             \
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                                      \
            for (int32_t b = 0; b < blocks; b++) {                                                              \
                const uint8_t *blk = row + 210 * b;                                                             \
                float d = _cvtsh_ss(load_half(blk + 208));                                                      \
                UNROLL for (int n = 0; n < 2; n++) {                                                            \
                    const uint8_t *ql = blk + 64 * n;                                                           \
                    const int8_t *sc = (const int8_t *) blk + 192 + 8 * n;                                      \
                    const int8_t *x = xq + 256 * b + 128 * n;                                                   \
                    const float *xdb = xd + 8 * b + 4 * n;                                                      \
                    __m256i l0 = _mm256_loadu_si256((const __m256i *) ql);                                      \
                    __m256i l1 = _mm256_loadu_si256((const __m256i *) (ql + 32));                               \
                    __m256i h = _mm256_loadu_si256((const __m256i *) (blk + 128 + 32 * n));                     \
                    __m256i q[4];                                                                               \
                    q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), bits45)); \
                    q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), bits45)); \
                    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(h, bits45)); \
                    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),                    \
                                           _mm256_and_si256(_mm256_srli_epi16(h, 2), bits45));                  \
                    UNROLL for (int k = 0; k < 4; k++) {                                                        \
                        __m256i v = _mm256_sub_epi8(q[k], off);                                                 \
                        __m256i scales = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k])); \
                        __m256i s = DOT_SCALED(v, _mm256_loadu_si256((const __m256i *) (x + 32 * k)), scales);  \
                        __m256 f = _mm256_cvtepi32_ps(s);                                                       \
                        if (k & 1) acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d * xdb[k]), f, acc1);                 \
                        else acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d * xdb[k]), f, acc0);                       \
                    }                                                                                           \
                }                                                                                               \
            }                                                                                                   \
            store(out, r, add, hsum_avx2(_mm256_add_ps(acc0, acc1)));                                           \
        }                                                                                                       \
    }

/* 16 pair sums of a signed int8 dot, each 16-value half weighted by its short in scales, as 8 int32 lane sums. */
AVX2_TARGET static inline __m256i dot_i8_scaled_avx2(__m256i w, __m256i x, __m256i scales) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w)), scales);
}

Q4_K_X86(q4_k_rows_avx2, AVX2_TARGET)
Q6_K_X86(q6_k_rows_avx2, AVX2_TARGET, dot_i8_scaled_avx2)

#define TILE_ARGS const uint8_t *w, int64_t row_bytes, int32_t blocks, const int8_t *xq, const float *xd, const float *xs, \
                  int64_t x_blocks, float *out, int64_t out_stride, int32_t add
#define TILE_STORE(ACC)                                                                                         \
    UNROLL for (int i = 0; i < GEMM_ROWS; i++)                                                                  \
        UNROLL for (int t = 0; t < GEMM_TOKENS; t++) store(out + t * out_stride, i, add, hsum_avx2(ACC[i][t]))

/*
 * Q4_K tile: per super-block the 8 products d * scale(row) * d(x)(token) as one vector, a sub-block's picked by a lane
 * permute; the mins folded into the same accumulator as one 8-lane FMA (its lanes are summed at the end anyway).
 */
AVX2_TARGET static void q4_k_tile_avx2(TILE_ARGS) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[GEMM_ROWS][GEMM_TOKENS], s[GEMM_ROWS][GEMM_TOKENS];
    UNROLL for (int i = 0; i < GEMM_ROWS; i++)
        UNROLL for (int t = 0; t < GEMM_TOKENS; t++) acc[i][t] = _mm256_setzero_ps();
    for (int32_t b = 0; b < blocks; b++) {
        UNROLL for (int i = 0; i < GEMM_ROWS; i++) {
            const uint8_t *blk = w + i * row_bytes + 144 * b;
            uint8_t sc[8], mn[8];
            q4_k_scales(blk + 4, sc, mn);
            __m256 dsc = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) sc))),
                                       _mm256_set1_ps(_cvtsh_ss(load_half(blk))));
            __m256 dmn = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) mn))),
                                       _mm256_set1_ps(_cvtsh_ss(load_half(blk + 2))));
            UNROLL for (int t = 0; t < GEMM_TOKENS; t++) {
                s[i][t] = _mm256_mul_ps(dsc, _mm256_loadu_ps(xd + t * x_blocks + 8 * b));
                acc[i][t] = _mm256_fnmadd_ps(dmn, _mm256_loadu_ps(xs + t * x_blocks + 8 * b), acc[i][t]);
            }
        }
        UNROLL for (int j = 0; j < 4; j++) {
            __m256i lo[GEMM_ROWS], hi[GEMM_ROWS];
            UNROLL for (int i = 0; i < GEMM_ROWS; i++) {
                __m256i q = _mm256_loadu_si256((const __m256i *) (w + i * row_bytes + 144 * b + 16 + 32 * j));
                lo[i] = _mm256_and_si256(q, low4);
                hi[i] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
            }
            __m256i pickLo = _mm256_set1_epi32(2 * j), pickHi = _mm256_set1_epi32(2 * j + 1);
            UNROLL for (int t = 0; t < GEMM_TOKENS; t++) {
                const int8_t *x = xq + 32 * (t * x_blocks + 8 * b + 2 * j);
                __m256i xlo = _mm256_loadu_si256((const __m256i *) x), xhi = _mm256_loadu_si256((const __m256i *) (x + 32));
                UNROLL for (int i = 0; i < GEMM_ROWS; i++) {
                    __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[i], xlo), ones);
                    __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[i], xhi), ones);
                    acc[i][t] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s[i][t], pickLo), _mm256_cvtepi32_ps(plo), acc[i][t]);
                    acc[i][t] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s[i][t], pickHi), _mm256_cvtepi32_ps(phi), acc[i][t]);
                }
            }
        }
    }
    TILE_STORE(acc);
}

/*
 * Q6_K tile: a half's four quarters unpacked once per row as in the row kernel, each quarter's two 16-value scales
 * picked from the 16 loaded ones by a byte shuffle, d * d(x) per (row, token) as one vector of the super-block's 8
 * activation blocks.
 */
AVX2_TARGET static void q6_k_tile_avx2(TILE_ARGS) {
    (void) xs;
    const __m256i low4 = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
    __m256 acc[GEMM_ROWS][GEMM_TOKENS], s[GEMM_ROWS][GEMM_TOKENS];
    UNROLL for (int i = 0; i < GEMM_ROWS; i++)
        UNROLL for (int t = 0; t < GEMM_TOKENS; t++) acc[i][t] = _mm256_setzero_ps();
    for (int32_t b = 0; b < blocks; b++) {
        __m128i scales[GEMM_ROWS];
        UNROLL for (int i = 0; i < GEMM_ROWS; i++) {
            const uint8_t *blk = w + i * row_bytes + 210 * b;
            __m256 d = _mm256_set1_ps(_cvtsh_ss(load_half(blk + 208)));
            scales[i] = _mm_loadu_si128((const __m128i *) (blk + 192));
            UNROLL for (int t = 0; t < GEMM_TOKENS; t++) s[i][t] = _mm256_mul_ps(d, _mm256_loadu_ps(xd + t * x_blocks + 8 * b));
        }
        UNROLL for (int n = 0; n < 2; n++) {
            __m256i q[GEMM_ROWS][4];
            UNROLL for (int i = 0; i < GEMM_ROWS; i++) {
                const uint8_t *ql = w + i * row_bytes + 210 * b + 64 * n;
                __m256i l0 = _mm256_loadu_si256((const __m256i *) ql), l1 = _mm256_loadu_si256((const __m256i *) (ql + 32));
                __m256i h = _mm256_loadu_si256((const __m256i *) (ql + 128 - 32 * n));
                q[i][0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), bits45));
                q[i][1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), bits45));
                q[i][2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(h, bits45));
                q[i][3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                                          _mm256_and_si256(_mm256_srli_epi16(h, 2), bits45));
            }
            UNROLL for (int k = 0; k < 4; k++) {
                int first = 8 * n + 2 * k;
                __m128i pick = _mm_set_epi8(first + 1, first + 1, first + 1, first + 1, first + 1, first + 1, first + 1, first + 1,
                                            first, first, first, first, first, first, first, first);
                __m256i lane = _mm256_set1_epi32(4 * n + k);
                __m256i v[GEMM_ROWS], av[GEMM_ROWS], sc[GEMM_ROWS];
                UNROLL for (int i = 0; i < GEMM_ROWS; i++) {
                    v[i] = _mm256_sub_epi8(q[i][k], off);
                    av[i] = _mm256_sign_epi8(v[i], v[i]);
                    sc[i] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales[i], pick));
                }
                UNROLL for (int t = 0; t < GEMM_TOKENS; t++) {
                    __m256i xv = _mm256_loadu_si256((const __m256i *) (xq + 32 * (t * x_blocks + 8 * b + 4 * n + k)));
                    UNROLL for (int i = 0; i < GEMM_ROWS; i++) {
                        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(av[i], _mm256_sign_epi8(xv, v[i])), sc[i]);
                        acc[i][t] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s[i][t], lane), _mm256_cvtepi32_ps(p), acc[i][t]);
                    }
                }
            }
        }
    }
    TILE_STORE(acc);
}

#endif

/* ---- BF16: bfloat16 weight rows against float activations (decode, batched decode and prefill) ---- */

/*
 * One summation order serves every caller: each (row, token) sum is one 8-lane accumulator over the row's 8-column
 * chunks in column order (one fused multiply-add chain per lane), its lanes added as hsum_avx2 adds them, then the
 * columns past the last whole chunk one by one with a fused multiply-add. A tile of R rows x T tokens runs its R x T
 * chains side by side and a column block only pauses them, so neither the token count, the tile shape nor the rows a
 * thread gets changes a bit of any sum: batched decode and prefill give each token its single-token decode sums.
 * The activations stay float (llama.cpp rounds them to bfloat16 first).
 */
#define BF16_CHUNK 8
/*
 * Tile shapes, rows x tokens (R x T accumulators, R weight vectors and one of x in the 16 registers). Decode: six
 * weight streams per pass over x, 13.8-15.6 GB/s in the KERNELS.md harness where four read 12.3-13.4 and eight
 * 12.7-14.8; several tokens: 3 x 4, 1.5x the GFLOP/s of 2 x 4.
 */
#define BF16_DECODE_ROWS 6
#define BF16_TILE_ROWS 3
#define BF16_TILE_TOKENS 4
/* Columns per block of the several-token loop: four tokens' slices (16 KiB) stay in L1 while a panel's rows pass. */
#define BF16_BLOCK_COLS 1024
/* Rows per panel of the several-token loop: their column block (96 KiB) stays in L2 while every token passes. */
#define BF16_PANEL_ROWS 48

static inline float bf16_to_float(uint16_t bits) {
    uint32_t wide = (uint32_t) bits << 16;
    float f;
    memcpy(&f, &wide, sizeof f);
    return f;
}

static inline uint16_t load_bf16(const uint8_t *p) {
    return (uint16_t) (p[0] | (p[1] << 8));
}

/* Portable C: 8 lanes of float accumulators, summed pairwise in hsum_avx2's order, then the scalar columns. */
static inline __attribute__((always_inline)) void bf16_tile_portable(
        int nr, int nt, const uint8_t *w, int64_t row_bytes, int32_t cols, const float *x, int64_t x_stride,
        int32_t c0, int32_t c1, float *acc, int finish, float *out, int64_t out_stride, int32_t add) {
    for (int i = 0; i < nr; i++) {
        for (int t = 0; t < nt; t++) {
            const uint8_t *row = w + i * row_bytes;
            const float *xt = x + t * x_stride;
            float a[BF16_CHUNK];
            memcpy(a, acc + (i * nt + t) * BF16_CHUNK, sizeof a);
            for (int32_t c = c0; c < c1; c++)
                for (int l = 0; l < BF16_CHUNK; l++) a[l] += bf16_to_float(load_bf16(row + 2 * (BF16_CHUNK * c + l))) * xt[BF16_CHUNK * c + l];
            if (!finish) {
                memcpy(acc + (i * nt + t) * BF16_CHUNK, a, sizeof a);
                continue;
            }
            float sum = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
            for (int32_t j = BF16_CHUNK * c1; j < cols; j++) sum += bf16_to_float(load_bf16(row + 2 * j)) * xt[j];
            store(out + t * out_stride, i, add, sum);
        }
    }
}

#ifdef FD_X86
/* 8 bfloat16 values widened to float32: zero-extended to 32 bits and shifted into the high half. */
AVX2_TARGET static inline __m256 bf16_load8(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) p)), 16));
}

/* The tile of R x T fused multiply-add chains, R widened weight vectors shared by the T tokens' activation loads. */
AVX2_TARGET static inline __attribute__((always_inline)) void bf16_tile_avx2(
        const int nr, const int nt, const uint8_t *w, int64_t row_bytes, int32_t cols, const float *x, int64_t x_stride,
        int32_t c0, int32_t c1, float *acc, int finish, float *out, int64_t out_stride, int32_t add) {
    __m256 a[BF16_DECODE_ROWS][BF16_TILE_TOKENS];
    UNROLL for (int i = 0; i < nr; i++)
        UNROLL for (int t = 0; t < nt; t++) a[i][t] = _mm256_loadu_ps(acc + (i * nt + t) * BF16_CHUNK);
    for (int32_t c = c0; c < c1; c++) {
        __m256 wv[BF16_DECODE_ROWS];
        UNROLL for (int i = 0; i < nr; i++) wv[i] = bf16_load8(w + i * row_bytes + 2 * BF16_CHUNK * c);
        UNROLL for (int t = 0; t < nt; t++) {
            __m256 xv = _mm256_loadu_ps(x + t * x_stride + BF16_CHUNK * c);
            UNROLL for (int i = 0; i < nr; i++) a[i][t] = _mm256_fmadd_ps(wv[i], xv, a[i][t]);
        }
    }
    UNROLL for (int i = 0; i < nr; i++)
        UNROLL for (int t = 0; t < nt; t++) {
            if (!finish) {
                _mm256_storeu_ps(acc + (i * nt + t) * BF16_CHUNK, a[i][t]);
                continue;
            }
            __m128 sum = _mm_set_ss(hsum_avx2(a[i][t]));
            for (int32_t j = BF16_CHUNK * c1; j < cols; j++)
                sum = _mm_fmadd_ss(_mm_set_ss(bf16_to_float(load_bf16(w + i * row_bytes + 2 * j))), _mm_load_ss(x + t * x_stride + j), sum);
            store(out + t * out_stride, i, add, _mm_cvtss_f32(sum));
        }
}
#endif

/* A tile kernel with its shape as arguments: each level's switch below instantiates every shape the driver uses. */
typedef void (*bf16_tile_fn)(int, int, const uint8_t *, int64_t, int32_t, const float *, int64_t, int32_t, int32_t, float *,
                             int, float *, int64_t, int32_t);

#define BF16_TILE_ARGS w, row_bytes, cols, x, x_stride, c0, c1, acc, finish, out, out_stride, add
#define BF16_CASE(TILE, R, T) case R * 8 + T: TILE(R, T, BF16_TILE_ARGS); break;
#define BF16_TILE_SWITCH(NAME, TARGET, TILE)                                                                     \
    TARGET static void NAME(int nr, int nt, const uint8_t *w, int64_t row_bytes, int32_t cols, const float *x,   \
                            int64_t x_stride, int32_t c0, int32_t c1, float *acc, int finish, float *out,        \
                            int64_t out_stride, int32_t add) {                                                   \
        switch (nr * 8 + nt) {                                                                                   \
            BF16_CASE(TILE, 6, 1) BF16_CASE(TILE, 5, 1) BF16_CASE(TILE, 4, 1) BF16_CASE(TILE, 3, 1) BF16_CASE(TILE, 2, 1) BF16_CASE(TILE, 1, 1)              \
            BF16_CASE(TILE, 3, 4) BF16_CASE(TILE, 2, 4) BF16_CASE(TILE, 1, 4) BF16_CASE(TILE, 3, 3)              \
            BF16_CASE(TILE, 2, 3) BF16_CASE(TILE, 1, 3) BF16_CASE(TILE, 3, 2) BF16_CASE(TILE, 2, 2)              \
            default: TILE(1, 2, BF16_TILE_ARGS); break;                                                          \
        }                                                                                                        \
    }

BF16_TILE_SWITCH(bf16_tiles_portable, , bf16_tile_portable)
#ifdef FD_X86
BF16_TILE_SWITCH(bf16_tiles_avx2, AVX2_TARGET, bf16_tile_avx2)
#endif

/*
 * out[t * out_stride + r] (or +=) = the sum of row r against token t, rows [0, rows) and tokens [0, tokens). One token
 * (decode): BF16_DECODE_ROWS weight streams per pass over x, all columns at once. More: panels of rows, column blocks,
 * then tiles of BF16_TILE_ROWS rows x BF16_TILE_TOKENS tokens, each tile's accumulators kept between column blocks.
 */
static void bf16_matmul(bf16_tile_fn tile, const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t cols, const float *x,
                        int64_t x_stride, int32_t tokens, float *out, int64_t out_stride, int32_t add) {
    int32_t chunks = cols / BF16_CHUNK;
    float zero[BF16_DECODE_ROWS * BF16_CHUNK] = {0};
    if (tokens == 1) {
        for (int32_t r = 0; r < rows; r += BF16_DECODE_ROWS) {
            int nr = rows - r < BF16_DECODE_ROWS ? rows - r : BF16_DECODE_ROWS;
            tile(nr, 1, w + r * row_bytes, row_bytes, cols, x, x_stride, 0, chunks, zero, 1, out + r, out_stride, add);
        }
        return;
    }
    /* one panel's accumulators: BF16_PANEL_ROWS x BF16_TILE_TOKENS chains of 8 floats per token group (6 KiB each) */
    float acc[(BF16_PANEL_ROWS * BF16_TILE_TOKENS) * BF16_CHUNK];
    int32_t groups = (tokens + BF16_TILE_TOKENS - 1) / BF16_TILE_TOKENS, block = BF16_BLOCK_COLS / BF16_CHUNK;
    for (int32_t r0 = 0; r0 < rows; r0 += BF16_PANEL_ROWS) {
        int32_t r1 = r0 + BF16_PANEL_ROWS < rows ? r0 + BF16_PANEL_ROWS : rows;
        for (int32_t g = 0; g < groups; g++) {
            int32_t t = g * BF16_TILE_TOKENS, nt = tokens - t < BF16_TILE_TOKENS ? tokens - t : BF16_TILE_TOKENS;
            const float *xt = x + t * x_stride;
            float *ot = out + t * out_stride;
            memset(acc, 0, sizeof acc);
            for (int32_t c0 = 0; c0 < chunks || c0 == 0; c0 += block) {
                int32_t c1 = c0 + block < chunks ? c0 + block : chunks, finish = c1 == chunks;
                for (int32_t r = r0; r < r1; r += BF16_TILE_ROWS) {
                    int nr = r1 - r < BF16_TILE_ROWS ? r1 - r : BF16_TILE_ROWS;
                    tile(nr, nt, w + r * row_bytes, row_bytes, cols, xt, x_stride, c0, c1,
                         acc + (r - r0) * BF16_TILE_TOKENS * BF16_CHUNK, finish, ot + r, out_stride, add);
                }
                if (finish) break;
            }
        }
    }
}

/* ---- exported entry points ---- */

/* The best level this CPU runs. */
FD_EXPORT int32_t fd_best_level(void) {
#ifdef FD_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return LEVEL_AVX512_VNNI;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return LEVEL_AVX2;
#endif
    return LEVEL_PORTABLE;
}

/* Whether this library has code for a level and the CPU runs it. */
FD_EXPORT int32_t fd_supports(int32_t level) {
    if (level == LEVEL_PORTABLE) return 1;
    int32_t best = fd_best_level();
    if (level == LEVEL_AVX2) return best == LEVEL_AVX2 || best == LEVEL_AVX512_VNNI;
    return level == best;
}

/* Whether a call at this level runs the AVX2 code (the VNNI level runs it too): else portable C. */
static int runs_avx2(int32_t level) {
    return (level == LEVEL_AVX2 || level == LEVEL_AVX512_VNNI) && fd_supports(level);
}

static rows_fn pick(int32_t level, rows_fn portable, rows_fn avx2) {
    return runs_avx2(level) ? avx2 : portable;
}

#ifndef FD_X86
#define q4_k_tile_avx2 0
#define q6_k_tile_avx2 0
#define q4_k_rows_avx2 0
#define q6_k_rows_avx2 0
#endif

/*
 * out[r] (or out[r] += when add) = row r's dot with one token's activations (xs: each block's scale times its sum of
 * quants, for the mins), for rows [0, rows) of a matrix whose row r starts at w + r * row_bytes, at the given level
 * (a level the CPU does not run falls back to portable C). The K-quants have AVX2 code only: the VNNI level runs it too.
 */
FD_EXPORT void fd_q4_k_rows(int32_t level, const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,
                            const int8_t *xq, const float *xd, const float *xs, float *out, int32_t add) {
    pick(level, q4_k_rows_portable, q4_k_rows_avx2)
            (w, row_bytes, rows, blocks, xq, xd, xs, out, add);
}

FD_EXPORT void fd_q6_k_rows(int32_t level, const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,
                            const int8_t *xq, const float *xd, const float *xs, float *out, int32_t add) {
    pick(level, q6_k_rows_portable, q6_k_rows_avx2)
            (w, row_bytes, rows, blocks, xq, xd, xs, out, add);
}

/* The tiled prefill kernel where the level has one (AVX2, which the VNNI level also runs), else null. */
static tile_fn pick_tile(int32_t level, tile_fn avx2) {
    return runs_avx2(level) ? avx2 : 0;
}

/*
 * Prefill: out[t * out_stride + r] (or +=) = the row kernel's sum of row r against token t, for rows [0, rows) and
 * tokens [0, tokens); token t's activation blocks start x_blocks blocks after token t-1's.
 */
#define GEMM_EXPORT(NAME, PICK_ROWS_ARGS, TILE)                                                                 \
    FD_EXPORT void NAME(int32_t level, const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t blocks,       \
                        const int8_t *xq, const float *xd, const float *xs, int64_t x_blocks, int32_t tokens,   \
                        float *out, int64_t out_stride, int32_t add) {                                          \
        rows_fn rows_kernel = pick PICK_ROWS_ARGS;                                                              \
        tile_fn tile = pick_tile(level, TILE);                                                                  \
        if (tile) gemm_tiled(tile, rows_kernel, w, row_bytes, rows, blocks, xq, xd, xs, x_blocks, tokens, out, out_stride, add); \
        else gemm_by_rows(rows_kernel, w, row_bytes, rows, blocks, xq, xd, xs, x_blocks, tokens, out, out_stride, add); \
    }

GEMM_EXPORT(fd_q4_k_gemm, (level, q4_k_rows_portable, q4_k_rows_avx2), q4_k_tile_avx2)
GEMM_EXPORT(fd_q6_k_gemm, (level, q6_k_rows_portable, q6_k_rows_avx2), q6_k_tile_avx2)

/* ---- Q4_0 and Q8_0 interleaved by 8 rows: the native tier's layout of those weights, made once by fd_x8_pack ---- */

/*
 * Group g (rows 8g .. 8g+7), block b sits at w + (g * blocks + b) * X8_BLOCK_BYTES(quant_bytes): the 8 rows' fp16
 * scales, then 32-byte chunks where byte 32j + 4r + i is quant byte 4j + i of row r's block (4 chunks for Q4_0's 16
 * nibble bytes, 8 for Q8_0's 32 quants). So one chunk's 32-bit lane r is four quant bytes of row r: vpmaddubsw against
 * a broadcast of the matching four activations gives every row's partial sums at once, and the 8 rows' block sums end
 * in the 8 lanes of one register (no horizontal sum, one float FMA per block for 8 rows). The bytes are the stored
 * ones, only reordered.
 */
#define X8_ROWS 8
#define X8_BLOCK_BYTES(quant_bytes) (X8_ROWS * (2 + (quant_bytes)))
#define Q4X8_BLOCK_BYTES X8_BLOCK_BYTES(16)
#define Q8X8_BLOCK_BYTES X8_BLOCK_BYTES(32)
/* Tokens per pass over a group's blocks: each block's weights are loaded (and split or made unsigned) once for this many tokens. */
#define X8_TOKENS 4

/*
 * Groups [group_start, group_end) of the interleaved copy of a matrix of `rows` rows of blocks of an fp16 scale and
 * quant_bytes quant bytes (Q4_0: 16, Q8_0: 32); rows past the end are zeros.
 */
FD_EXPORT void fd_x8_pack(const uint8_t *src, int64_t row_bytes, int32_t rows, int32_t blocks, int32_t quant_bytes,
                          int32_t group_start, int32_t group_end, uint8_t *dst) {
    int64_t block_bytes = X8_BLOCK_BYTES(quant_bytes);
    for (int64_t g = group_start; g < group_end; g++) {
        for (int32_t b = 0; b < blocks; b++) {
            uint8_t *out = dst + (g * blocks + b) * block_bytes;
            memset(out, 0, block_bytes);
            for (int32_t r = 0; r < X8_ROWS && g * X8_ROWS + r < rows; r++) {
                const uint8_t *blk = src + (g * X8_ROWS + r) * row_bytes + (2 + quant_bytes) * b;
                memcpy(out + 2 * r, blk, 2);
                for (int j = 0; j < quant_bytes / 4; j++) memcpy(out + 2 * X8_ROWS + 32 * j + 4 * r, blk + 2 + 4 * j, 4);
            }
        }
    }
}

/* One group against n (1 to X8_TOKENS) tokens: sums[8t + r] = row r's dot with token t, every block in order. */
typedef void (*x8_group_fn)(int n, const uint8_t *grp, int32_t blocks, const int8_t *xq, const float *xd,
                            const int32_t *xsum, int64_t x_blocks, float *sums);

/* Row r's integer dot with one activation block, read from a group block's quant chunks (xsum: the block's sum of quants). */
typedef int32_t (*x8_row_dot_fn)(const uint8_t *chunks, int r, const int8_t *x, int32_t xsum);

/* Q4_0: nibbles stay unsigned (0-15): sum (q - 8) x = sum q x - 8 sum x, with sum x an integer per activation block. */
static inline int32_t q4_0x8_row_dot(const uint8_t *chunks, int r, const int8_t *x, int32_t xsum) {
    int32_t s = 0;
    for (int j = 0; j < 4; j++) {
        for (int i = 0; i < 4; i++) {
            uint8_t q = chunks[32 * j + 4 * r + i];
            s += (q & 0xF) * x[4 * j + i] + (q >> 4) * x[16 + 4 * j + i];
        }
    }
    return s - 8 * xsum;
}

static inline int32_t q8_0x8_row_dot(const uint8_t *chunks, int r, const int8_t *x, int32_t xsum) {
    (void) xsum;
    int32_t s = 0;
    for (int j = 0; j < 8; j++) {
        for (int i = 0; i < 4; i++) s += (int8_t) chunks[32 * j + 4 * r + i] * x[4 * j + i];
    }
    return s;
}

/* Portable C: each token, block and row in turn, the row's integer dot times its scale and the token's. */
static inline __attribute__((always_inline)) void x8_group_portable(
        x8_row_dot_fn row_dot, int64_t block_bytes, int n, const uint8_t *grp, int32_t blocks, const int8_t *xq,
        const float *xd, const int32_t *xsum, int64_t x_blocks, float *sums) {
    for (int t = 0; t < n; t++) {
        float acc[X8_ROWS] = {0};
        for (int32_t b = 0; b < blocks; b++) {
            const uint8_t *blk = grp + (int64_t) b * block_bytes;
            for (int r = 0; r < X8_ROWS; r++) {
                int32_t s = row_dot(blk + 2 * X8_ROWS, r, xq + 32 * (t * x_blocks + b), xsum[t * x_blocks + b]);
                acc[r] += (float) s * (half_to_float(load_half(blk + 2 * r)) * xd[t * x_blocks + b]);
            }
        }
        memcpy(sums + X8_ROWS * t, acc, sizeof acc);
    }
}

#define X8_GROUP_ARGS int n, const uint8_t *grp, int32_t blocks, const int8_t *xq, const float *xd, const int32_t *xsum, \
                      int64_t x_blocks, float *sums

static void q4_0x8_group_portable(X8_GROUP_ARGS) {
    x8_group_portable(q4_0x8_row_dot, Q4X8_BLOCK_BYTES, n, grp, blocks, xq, xd, xsum, x_blocks, sums);
}

static void q8_0x8_group_portable(X8_GROUP_ARGS) {
    x8_group_portable(q8_0x8_row_dot, Q8X8_BLOCK_BYTES, n, grp, blocks, xq, xd, xsum, x_blocks, sums);
}

#ifdef FD_X86
AVX2_TARGET static inline __m256i broadcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/*
 * Q4_0's AVX2 block for a constant n: one chunk of nibbles (split into 2 registers) at a time against every token,
 * each token's 16 products per row lane pair summed in int16 (|sum| <= 16 * 15 * 127 fits), widened once by
 * vpmaddwd, the offset 8 * sum x subtracted: dots[t] holds the 8 rows' integer dots with token t.
 */
AVX2_TARGET static inline __attribute__((always_inline)) void q4_0x8_block_avx2(
        int n, const uint8_t *chunks, const int8_t *x, const int32_t *xsum, int64_t x_blocks, __m256i *dots) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256i s[X8_TOKENS];
    UNROLL for (int j = 0; j < 4; j++) {
        __m256i v = _mm256_loadu_si256((const __m256i *) (chunks + 32 * j));
        __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        UNROLL for (int t = 0; t < n; t++) {
            const int8_t *xt = x + 32 * t * x_blocks + 4 * j;
            __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, broadcast4(xt)), _mm256_maddubs_epi16(hi, broadcast4(xt + 16)));
            s[t] = j == 0 ? p : _mm256_add_epi16(s[t], p);
        }
    }
    UNROLL for (int t = 0; t < n; t++) {
        __m256i offset = _mm256_slli_epi32(_mm256_set1_epi32(xsum[t * x_blocks]), 3);
        dots[t] = _mm256_sub_epi32(_mm256_madd_epi16(s[t], ones), offset);
    }
}

/*
 * Q8_0's AVX2 block for a constant n: one chunk of quants at a time, made unsigned once (|w|: -128 gives 128, right as
 * unsigned) for every token, whose broadcast activations take w's signs (x > -128, so negating never overflows);
 * each token's pair sums (at most 2 * 128 * 127, no saturation) widened by vpmaddwd per chunk.
 */
AVX2_TARGET static inline __attribute__((always_inline)) void q8_0x8_block_avx2(
        int n, const uint8_t *chunks, const int8_t *x, const int32_t *xsum, int64_t x_blocks, __m256i *dots) {
    (void) xsum;
    const __m256i ones = _mm256_set1_epi16(1);
    UNROLL for (int j = 0; j < 8; j++) {
        __m256i v = _mm256_loadu_si256((const __m256i *) (chunks + 32 * j));
        __m256i magnitude = _mm256_sign_epi8(v, v);
        UNROLL for (int t = 0; t < n; t++) {
            __m256i xv = _mm256_sign_epi8(broadcast4(x + 32 * t * x_blocks + 4 * j), v);
            __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, xv), ones);
            dots[t] = j == 0 ? p : _mm256_add_epi32(dots[t], p);
        }
    }
}

/*
 * The AVX2 group loop for a constant n: per block the type's integer dots of the 8 rows with every token, then one
 * FMA per token with the 8 rows' scales (one vcvtph2ps) times the token's. A token's operations are the same whatever
 * n is, so its sums do not depend on the tokens beside it.
 */
#define X8_GROUP_AVX2(NAME, BLOCK, BLOCK_BYTES)                                                                 \
    AVX2_TARGET static inline __attribute__((always_inline)) void NAME##_n(X8_GROUP_ARGS) {                     \
        __m256 acc[X8_TOKENS];                                                                                  \
        UNROLL for (int t = 0; t < n; t++) acc[t] = _mm256_setzero_ps();                                        \
        for (int32_t b = 0; b < blocks; b++) {                                                                  \
            const uint8_t *blk = grp + (int64_t) b * (BLOCK_BYTES);                                             \
            __m256i dots[X8_TOKENS];                                                                            \
            BLOCK(n, blk + 2 * X8_ROWS, xq + 32 * b, xsum + b, x_blocks, dots);                                 \
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) blk));                                \
            UNROLL for (int t = 0; t < n; t++)                                                                  \
                acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(xd[t * x_blocks + b])), _mm256_cvtepi32_ps(dots[t]), acc[t]); \
        }                                                                                                       \
        UNROLL for (int t = 0; t < n; t++) _mm256_storeu_ps(sums + X8_ROWS * t, acc[t]);                        \
    }                                                                                                           \
    AVX2_TARGET static void NAME(X8_GROUP_ARGS) {                                                               \
        switch (n) {                                                                                            \
            case 4: NAME##_n(4, grp, blocks, xq, xd, xsum, x_blocks, sums); break;                              \
            case 3: NAME##_n(3, grp, blocks, xq, xd, xsum, x_blocks, sums); break;                              \
            case 2: NAME##_n(2, grp, blocks, xq, xd, xsum, x_blocks, sums); break;                              \
            default: NAME##_n(1, grp, blocks, xq, xd, xsum, x_blocks, sums); break;                             \
        }                                                                                                       \
    }

X8_GROUP_AVX2(q4_0x8_group_avx2, q4_0x8_block_avx2, Q4X8_BLOCK_BYTES)
X8_GROUP_AVX2(q8_0x8_group_avx2, q8_0x8_block_avx2, Q8X8_BLOCK_BYTES)
#else
#define q4_0x8_group_avx2 0
#define q8_0x8_group_avx2 0
#endif

#define X8_TOKENS_ARGS int32_t level, const uint8_t *w, int32_t row_start, int32_t rows, int32_t blocks, const int8_t *xq, \
                       const float *xd, const int32_t *xsum, int64_t x_blocks, int32_t tokens, float *out, int64_t out_stride, \
                       int32_t add
#define X8_TOKENS_PASS level, w, row_start, rows, blocks, xq, xd, xsum, x_blocks, tokens, out, out_stride, add

/*
 * out[t * out_stride + r - row_start] (or += when add) = row r's dot with token t, for rows [row_start, row_start +
 * rows) of the interleaved matrix at w (row_start need not start a group) and tokens [0, tokens), token t's
 * activations at block t * x_blocks; blocks per row. Every caller (decode, batched decode, prefill) runs this one
 * loop, so a token's sums are the same bits whichever of them computes it. The AVX2 kernel serves the VNNI level too.
 */
static void x8_tokens(x8_group_fn portable, x8_group_fn avx2, int64_t block_bytes, X8_TOKENS_ARGS) {
    x8_group_fn group = runs_avx2(level) ? avx2 : portable;
    int32_t row_end = row_start + rows;
    for (int32_t g = row_start / X8_ROWS; g * X8_ROWS < row_end; g++) {
        const uint8_t *grp = w + (int64_t) g * blocks * block_bytes;
        int32_t first = g * X8_ROWS > row_start ? g * X8_ROWS : row_start;
        int32_t last = g * X8_ROWS + X8_ROWS < row_end ? g * X8_ROWS + X8_ROWS : row_end;
        for (int32_t t = 0; t < tokens; t += X8_TOKENS) {
            int n = tokens - t < X8_TOKENS ? tokens - t : X8_TOKENS;
            float sums[X8_TOKENS * X8_ROWS];
            group(n, grp, blocks, xq + 32 * t * x_blocks, xd + t * x_blocks, xsum + t * x_blocks, x_blocks, sums);
            for (int u = 0; u < n; u++) {
                for (int32_t r = first; r < last; r++)
                    store(out + (t + u) * out_stride, r - row_start, add, sums[X8_ROWS * u + r - g * X8_ROWS]);
            }
        }
    }
}

/* x8_tokens on interleaved Q4_0 (xsum: each activation block's sum of quants, for the nibbles' offset 8). */
FD_EXPORT void fd_q4_0x8_tokens(X8_TOKENS_ARGS) {
    x8_tokens(q4_0x8_group_portable, q4_0x8_group_avx2, Q4X8_BLOCK_BYTES, X8_TOKENS_PASS);
}

/* x8_tokens on interleaved Q8_0 (xsum is not read). */
FD_EXPORT void fd_q8_0x8_tokens(X8_TOKENS_ARGS) {
    x8_tokens(q8_0x8_group_portable, q8_0x8_group_avx2, Q8X8_BLOCK_BYTES, X8_TOKENS_PASS);
}

/*
 * BF16: out[t * out_stride + r] (or += when add) = sum over j < cols of bf16 w[r, j] (row r at w + r * row_bytes)
 * times float x[t * x_stride + j], for rows [0, rows) and tokens [0, tokens); every (row, token) sum in the one
 * order of bf16_matmul whatever the token count (AVX2 code, which the AVX-512 level also runs; else portable C).
 */
FD_EXPORT void fd_bf16_matmul(int32_t level, const uint8_t *w, int64_t row_bytes, int32_t rows, int32_t cols, const float *x,
                              int64_t x_stride, int32_t tokens, float *out, int64_t out_stride, int32_t add) {
    bf16_tile_fn tile = bf16_tiles_portable;
#ifdef FD_X86
    if (runs_avx2(level)) tile = bf16_tiles_avx2;
#endif
    bf16_matmul(tile, w, row_bytes, rows, cols, x, x_stride, tokens, out, out_stride, add);
}
