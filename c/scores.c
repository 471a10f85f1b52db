/*
 * scores.c: rope_scores_f32, the dot product of every query row with every
 * key row, which is what attention computes from rotated q and k before
 * the 1/sqrt(d) scaling and the softmax. The visualizer draws it as the
 * position-similarity matrix.
 *
 * Precision: each product of two floats is exact in double. The SIMD128
 * path sums products in float32 within chunks of 16 slots (four per lane)
 * and adds the chunk sums in double, so the rounding error stays near
 * 4 * 2^-24 of sum |q_j k_j|; the scalar path sums in double throughout.
 */
#include "internal.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

/* Adds the four float lanes of `sum32` to the two double accumulators. */
#if defined(__wasm_simd128__)
static inline void flush_lanes(v128_t sum32, v128_t *low, v128_t *high) {
    *low = wasm_f64x2_add(*low, wasm_f64x2_promote_low_f32x4(sum32));
    *high = wasm_f64x2_add(*high, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(sum32, sum32, 2, 3, 0, 1)));
}

static double dot_simd128(const float *a, const float *b, int32_t dim) {
    v128_t low = wasm_f64x2_splat(0.0);
    v128_t high = wasm_f64x2_splat(0.0);
    int32_t j = 0;

    /* Chunks of 16 slots: four float products per lane, then into double. */
    for (; j + 16 <= dim; j += 16) {
        v128_t sum = wasm_f32x4_mul(wasm_v128_load(a + j), wasm_v128_load(b + j));
        sum = wasm_f32x4_add(sum, wasm_f32x4_mul(wasm_v128_load(a + j + 4), wasm_v128_load(b + j + 4)));
        sum = wasm_f32x4_add(sum, wasm_f32x4_mul(wasm_v128_load(a + j + 8), wasm_v128_load(b + j + 8)));
        sum = wasm_f32x4_add(sum, wasm_f32x4_mul(wasm_v128_load(a + j + 12), wasm_v128_load(b + j + 12)));
        flush_lanes(sum, &low, &high);
    }
    /* Groups of 4 left over. */
    for (; j + 4 <= dim; j += 4) {
        flush_lanes(wasm_f32x4_mul(wasm_v128_load(a + j), wasm_v128_load(b + j)), &low, &high);
    }

    /* Remainder slots one at a time, then the four double lanes. */
    double total = wasm_f64x2_extract_lane(low, 0) + wasm_f64x2_extract_lane(low, 1) +
                   wasm_f64x2_extract_lane(high, 0) + wasm_f64x2_extract_lane(high, 1);
    for (; j < dim; j++) {
        total += (double)a[j] * (double)b[j];
    }
    return total;
}
#endif

static double dot_scalar(const float *a, const float *b, int32_t dim) {
    double total = 0.0;
    for (int32_t j = 0; j < dim; j++) {
        total += (double)a[j] * (double)b[j];
    }
    return total;
}

rope_status rope_scores_f32(const float *q, int32_t n_q, const float *k, int32_t n_k, int32_t dim,
                            double *out, size_t out_len) {
    rope__clear_error();
    if (n_q < 0 || n_k < 0) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "%s is %d; expected an integer >= 0", n_q < 0 ? "n_q" : "n_k",
                          (int)(n_q < 0 ? n_q : n_k));
    }
    if (dim < 1) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "dim is %d; expected an integer >= 1",
                          (int)dim);
    }
    size_t needed = 0;
    if (__builtin_mul_overflow((size_t)n_q, (size_t)n_k, &needed)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "n_q * n_k = %d * %d does not fit size_t", (int)n_q, (int)n_k);
    }
    if (needed > 0 && (q == NULL || k == NULL || out == NULL)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "%s is NULL; expected a buffer",
                          q == NULL ? "q" : (k == NULL ? "k" : "out"));
    }
    if (out_len < needed) {
        return rope__fail(ROPE_STATUS_BUFFER_TOO_SMALL,
                          "out_len is %zu; expected at least n_q * n_k = %zu", out_len, needed);
    }

    const int use_simd = rope_active_kernel() == ROPE_KERNEL_SIMD128;
    for (int32_t m = 0; m < n_q; m++) {
        const float *row = q + (size_t)m * (size_t)dim;
        double *scores = out + (size_t)m * (size_t)n_k;
        for (int32_t n = 0; n < n_k; n++) {
            const float *column = k + (size_t)n * (size_t)dim;
#if defined(__wasm_simd128__)
            scores[n] = use_simd ? dot_simd128(row, column, dim) : dot_scalar(row, column, dim);
#else
            (void)use_simd;
            scores[n] = dot_scalar(row, column, dim);
#endif
        }
    }
    return ROPE_STATUS_OK;
}
