/* WebAssembly SIMD128 rotation kernel for the half pairing (x[i], x[i + rotary_dim/2]).
 * Without -msimd128 this file compiles to no code. */
#include "../kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "rotation_simd128.h"

/* Rotate 4 pairs whose first elements start at lo and second elements at hi. */
static inline void rotate4(float *lo, float *hi, const float *cos, const float *sin) {
    /* Load 4 first elements a, 4 second elements b and their cos/sin. */
    const v128_t a = wasm_v128_load(lo);
    const v128_t b = wasm_v128_load(hi);
    const v128_t c = wasm_v128_load(cos);
    const v128_t s = wasm_v128_load(sin);
    /* Store both halves back in place. */
    wasm_v128_store(lo, rope__rotated_first(a, b, c, s));
    wasm_v128_store(hi, rope__rotated_second(a, b, c, s));
}

void rope_rotate_half_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride, int32_t rotary_dim,
                                   const float *cos, const float *sin, ptrdiff_t row_stride) {
    const int32_t half = rotary_dim / 2;
    for (int32_t v = 0; v < n_vecs; v++) {
        float *lo = x + v * vec_stride;
        float *hi = lo + half;
        const float *c = cos + v * row_stride;
        const float *s = sin + v * row_stride;
        int32_t i = 0;
        /* Main loop: 8 pairs per step as two independent 4-lane groups. */
        for (; i + 8 <= half; i += 8) {
            rotate4(lo + i, hi + i, c + i, s + i);
            rotate4(lo + i + 4, hi + i + 4, c + i + 4, s + i + 4);
        }
        /* One 4-pair step when 4 to 7 pairs remain. */
        if (i + 4 <= half) {
            rotate4(lo + i, hi + i, c + i, s + i);
            i += 4;
        }
        /* Remainder: up to 3 pairs one at a time, so no load reaches past the
         * last rotary slot of either half. */
        for (; i < half; i++) {
            const float a = lo[i];
            const float b = hi[i];
            lo[i] = a * c[i] - b * s[i];
            hi[i] = a * s[i] + b * c[i];
        }
    }
}

#endif /* __wasm_simd128__ */
