/* WebAssembly SIMD128 rotation kernel for the interleaved pairing that
 * walks the vectors four at a time, for vectors that share one row
 * (row_stride 0: the heads of one token). Without -msimd128 this file
 * compiles to no code.
 *
 * It first spreads the row to the layout of the vector: cc = (c0, c0, c1,
 * c1, ...) and ss = (-s0, s0, -s1, s1, ...). Each 4 floats of a vector then
 * take one shuffle that swaps neighbours, xs = (x1, x0, x3, x2), and
 * x * cc + xs * ss. That is 1 shuffle per 4 floats, against 2 for the
 * gather and scatter of the paired walk, and four vectors share each load
 * of cc and ss.
 *
 * Bits: lane 0 is a*c + b*(-s), which equals a*c - b*s exactly (negation
 * is exact), and lane 1 is b*c + a*s, the same sum as a*s + b*c in the
 * other order (IEEE addition commutes). So the results are the scalar
 * kernel's bits. */
#include "../kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

/* Rows up to this many pairs are spread on the stack (2 x 4 KB). */
#define ROPE_GROUPED_MAX_PAIRS 512

/* Rotate the 4 floats at p, two pairs, with spread values cc and ss. */
static inline void rotate4(float *p, v128_t cc, v128_t ss) {
    const v128_t x = wasm_v128_load(p);
    const v128_t swapped = wasm_i32x4_shuffle(x, x, 1, 0, 3, 2);
    wasm_v128_store(p, wasm_f32x4_add(wasm_f32x4_mul(x, cc), wasm_f32x4_mul(swapped, ss)));
}

void rope_rotate_interleaved_grouped_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                                  int32_t rotary_dim, const float *cos,
                                                  const float *sin, ptrdiff_t row_stride) {
    const int32_t half = rotary_dim / 2;
    if (row_stride != 0 || n_vecs < 4 || half % 4 != 0 || half > ROPE_GROUPED_MAX_PAIRS) {
        /* With a row per vector, or fewer than 4 vectors, spreading the
         * row costs more than it saves. */
        rope_rotate_interleaved_paired_f32__simd128(x, n_vecs, vec_stride, rotary_dim, cos, sin,
                                                    row_stride);
        return;
    }
    float cc[2 * ROPE_GROUPED_MAX_PAIRS] __attribute__((aligned(16)));
    float ss[2 * ROPE_GROUPED_MAX_PAIRS] __attribute__((aligned(16)));
    /* XOR with -0.0f flips the sign bit of lanes 0 and 2, and +0.0f leaves
     * lanes 1 and 3 alone. */
    const v128_t negate_even = wasm_f32x4_make(-0.0f, 0.0f, -0.0f, 0.0f);
    for (int32_t i = 0; i < half; i += 4) {
        const v128_t c = wasm_v128_load(cos + i);
        const v128_t s = wasm_v128_load(sin + i);
        wasm_v128_store(cc + 2 * i, wasm_i32x4_shuffle(c, c, 0, 0, 1, 1));
        wasm_v128_store(cc + 2 * i + 4, wasm_i32x4_shuffle(c, c, 2, 2, 3, 3));
        wasm_v128_store(ss + 2 * i, wasm_v128_xor(wasm_i32x4_shuffle(s, s, 0, 0, 1, 1), negate_even));
        wasm_v128_store(ss + 2 * i + 4,
                        wasm_v128_xor(wasm_i32x4_shuffle(s, s, 2, 2, 3, 3), negate_even));
    }
    int32_t v = 0;
    for (; v + 4 <= n_vecs; v += 4) {
        float *p0 = x + v * vec_stride;
        float *p1 = p0 + vec_stride;
        float *p2 = p1 + vec_stride;
        float *p3 = p2 + vec_stride;
        /* Each vector is loaded before it is stored, so the result is the
         * same whether or not the compiler can prove the vectors apart. */
        for (int32_t j = 0; j < rotary_dim; j += 8) {
            const v128_t cc0 = wasm_v128_load(cc + j);
            const v128_t ss0 = wasm_v128_load(ss + j);
            const v128_t cc1 = wasm_v128_load(cc + j + 4);
            const v128_t ss1 = wasm_v128_load(ss + j + 4);
            rotate4(p0 + j, cc0, ss0);
            rotate4(p0 + j + 4, cc1, ss1);
            rotate4(p1 + j, cc0, ss0);
            rotate4(p1 + j + 4, cc1, ss1);
            rotate4(p2 + j, cc0, ss0);
            rotate4(p2 + j + 4, cc1, ss1);
            rotate4(p3 + j, cc0, ss0);
            rotate4(p3 + j + 4, cc1, ss1);
        }
    }
    for (; v < n_vecs; v++) {
        float *p = x + v * vec_stride;
        for (int32_t j = 0; j < rotary_dim; j += 4) {
            rotate4(p + j, wasm_v128_load(cc + j), wasm_v128_load(ss + j));
        }
    }
}

#endif /* __wasm_simd128__ */
