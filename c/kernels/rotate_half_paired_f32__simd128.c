/* WebAssembly SIMD128 rotation kernel for the half pairing that walks the
 * vectors two at a time. When every vector uses the same row (row_stride 0,
 * the heads of one token) each cos/sin vector is loaded once for both, so
 * a step of 8 floats per head needs 3 loads instead of 4. Without -msimd128
 * this file compiles to no code.
 *
 * Measured with rows from a table, 32 heads, AMD EPYC, V8: 0.13 ns per
 * element against 0.16-0.20 for one head at a time while the tensor is in
 * cache. Streamed from DRAM (2048 tokens x 32 heads x 128 in [tokens,
 * heads, head_dim]) it is slower, 0.21-0.24 against 0.18, so apply.c
 * chooses the walk by size. */
#include "../kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "rotation_simd128.h"

/* Rotate 4 pairs at offset i of two vectors (first halves lo0 and lo1,
 * second halves hi0 and hi1) with one load of their cos/sin. Every load
 * comes before the first store, so the order does not depend on whether
 * the compiler can prove that the vectors do not overlap. */
static inline void rotate4_both(float *lo0, float *hi0, float *lo1, float *hi1, const float *cos,
                                const float *sin) {
    const v128_t c = wasm_v128_load(cos);
    const v128_t s = wasm_v128_load(sin);
    const v128_t a0 = wasm_v128_load(lo0);
    const v128_t b0 = wasm_v128_load(hi0);
    const v128_t a1 = wasm_v128_load(lo1);
    const v128_t b1 = wasm_v128_load(hi1);
    wasm_v128_store(lo0, rope__rotated_first(a0, b0, c, s));
    wasm_v128_store(hi0, rope__rotated_second(a0, b0, c, s));
    wasm_v128_store(lo1, rope__rotated_first(a1, b1, c, s));
    wasm_v128_store(hi1, rope__rotated_second(a1, b1, c, s));
}

void rope_rotate_half_paired_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                          int32_t rotary_dim, const float *cos, const float *sin,
                                          ptrdiff_t row_stride) {
    const int32_t half = rotary_dim / 2;
    if (row_stride != 0 || half % 8 != 0) {
        /* With a row per vector pairing saves no load, and pair counts that
         * are not a multiple of 8 (rare) are left to the other walk to keep
         * the module small. */
        rope_rotate_half_f32__simd128(x, n_vecs, vec_stride, rotary_dim, cos, sin, row_stride);
        return;
    }
    int32_t v = 0;
    for (; v + 2 <= n_vecs; v += 2) {
        float *lo0 = x + v * vec_stride;
        float *hi0 = lo0 + half;
        float *lo1 = lo0 + vec_stride;
        float *hi1 = lo1 + half;
        /* 8 pairs of each vector per step. */
        for (int32_t i = 0; i < half; i += 8) {
            rotate4_both(lo0 + i, hi0 + i, lo1 + i, hi1 + i, cos + i, sin + i);
            rotate4_both(lo0 + i + 4, hi0 + i + 4, lo1 + i + 4, hi1 + i + 4, cos + i + 4, sin + i + 4);
        }
    }
    if (v < n_vecs) {
        rope_rotate_half_f32__simd128(x + v * vec_stride, 1, vec_stride, rotary_dim, cos, sin, 0);
    }
}

#endif /* __wasm_simd128__ */
