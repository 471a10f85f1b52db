/* WebAssembly SIMD128 rotation kernel for the interleaved pairing (x[2i], x[2i + 1]).
 * Without -msimd128 this file compiles to no code.
 *
 * One v128 contains two pairs [a0, b0, a1, b1]. With cc = [c0, c0, c1, c1],
 * ss = [-s0, s0, -s1, s1] and the pair-swapped [b0, a0, b1, a1], the result
 * x * cc + swapped * ss is [a0 c0 - b0 s0, b0 c0 + a0 s0, ...]. Negation is
 * exact and x + (-y) rounds like x - y, so this matches the scalar kernel
 * bit for bit for every non-NaN result. */
#include "../kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

/* Rotate 4 pairs (8 floats at p) with cos/sin values c[0..3] and s[0..3]. */
static inline void rotate4(float *p, const float *c, const float *s) {
    /* Load 4 pairs and their cos/sin. */
    const v128_t x01 = wasm_v128_load(p);
    const v128_t x23 = wasm_v128_load(p + 4);
    const v128_t c4 = wasm_v128_load(c);
    const v128_t s4 = wasm_v128_load(s);
    /* Spread cos to [c0, c0, c1, c1] and sin to [-s0, s0, -s1, s1] (lanes 4..7
     * of a two-input shuffle come from the second input). */
    const v128_t neg_s4 = wasm_f32x4_neg(s4);
    const v128_t cc01 = wasm_i32x4_shuffle(c4, c4, 0, 0, 1, 1);
    const v128_t cc23 = wasm_i32x4_shuffle(c4, c4, 2, 2, 3, 3);
    const v128_t ss01 = wasm_i32x4_shuffle(neg_s4, s4, 0, 4, 1, 5);
    const v128_t ss23 = wasm_i32x4_shuffle(neg_s4, s4, 2, 6, 3, 7);
    /* Swap the two elements of each pair: [b0, a0, b1, a1]. */
    const v128_t sw01 = wasm_i32x4_shuffle(x01, x01, 1, 0, 3, 2);
    const v128_t sw23 = wasm_i32x4_shuffle(x23, x23, 1, 0, 3, 2);
    /* Rotate. */
    const v128_t r01 = wasm_f32x4_add(wasm_f32x4_mul(x01, cc01), wasm_f32x4_mul(sw01, ss01));
    const v128_t r23 = wasm_f32x4_add(wasm_f32x4_mul(x23, cc23), wasm_f32x4_mul(sw23, ss23));
    /* Store in place. */
    wasm_v128_store(p, r01);
    wasm_v128_store(p + 4, r23);
}

void rope_rotate_interleaved_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                          int32_t rotary_dim, const float *cos, const float *sin,
                                          ptrdiff_t row_stride) {
    const int32_t half = rotary_dim / 2;
    for (int32_t v = 0; v < n_vecs; v++) {
        float *p = x + v * vec_stride;
        const float *c = cos + v * row_stride;
        const float *s = sin + v * row_stride;
        int32_t i = 0;
        /* Main loop: 8 pairs (16 floats) per step. */
        for (; i + 8 <= half; i += 8) {
            rotate4(p + 2 * i, c + i, s + i);
            rotate4(p + 2 * i + 8, c + i + 4, s + i + 4);
        }
        /* One 4-pair step when 4 to 7 pairs remain. */
        if (i + 4 <= half) {
            rotate4(p + 2 * i, c + i, s + i);
            i += 4;
        }
        /* Remainder: up to 3 pairs one at a time, so no load reaches past slot
         * rotary_dim - 1 or past cos/sin[rotary_dim/2 - 1]. */
        for (; i < half; i++) {
            const float a = p[2 * i];
            const float b = p[2 * i + 1];
            p[2 * i] = a * c[i] - b * s[i];
            p[2 * i + 1] = a * s[i] + b * c[i];
        }
    }
}

#endif /* __wasm_simd128__ */
