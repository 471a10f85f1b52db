/* WebAssembly SIMD128 rotation kernel for the interleaved pairing (x[2i], x[2i + 1]).
 * Without -msimd128 this file compiles to no code.
 *
 * Two v128 hold four pairs [a0, b0, a1, b1] [a2, b2, a3, b3]. One shuffle
 * gathers the first elements [a0, a1, a2, a3] and one the second elements
 * [b0, b1, b2, b3]. These rotate as in the half pairing, with the row's
 * cos and sin as they are, and two unpacks interleave the results again. The operations per element are those of the scalar
 * kernel, so the results match it bit for bit. */
#include "../kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "rotation_simd128.h"

/* Rotate 4 pairs (8 floats at p) with cos/sin values c[0..3] and s[0..3]. */
static inline void rotate4(float *p, const float *c, const float *s) {
    rope__store_interleaved4(p, wasm_v128_load(p), wasm_v128_load(p + 4), wasm_v128_load(c),
                             wasm_v128_load(s));
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
