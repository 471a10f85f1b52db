/* The SIMD128 rotation that the rotate-half and interleaved kernels share,
 * 4 pairs at a time. Each result is a*c - b*s or a*s + b*c, with one
 * rounding per multiply and add in that order, as in the scalar kernels
 * (see kernels.h), so every kernel that uses it gives their bits.
 * Include only under __wasm_simd128__. */
#ifndef ROPE_KERNELS_ROTATION_SIMD128_H
#define ROPE_KERNELS_ROTATION_SIMD128_H

#include <wasm_simd128.h>

/* Returns the first elements of 4 rotated pairs: a*c - b*s. */
static inline v128_t rope__rotated_first(v128_t a, v128_t b, v128_t c, v128_t s) {
    return wasm_f32x4_sub(wasm_f32x4_mul(a, c), wasm_f32x4_mul(b, s));
}

/* Returns the second elements of 4 rotated pairs: a*s + b*c. */
static inline v128_t rope__rotated_second(v128_t a, v128_t b, v128_t c, v128_t s) {
    return wasm_f32x4_add(wasm_f32x4_mul(a, s), wasm_f32x4_mul(b, c));
}

/* Rotates 4 interleaved pairs, x01 = [a0, b0, a1, b1] and x23 = [a2, b2,
 * a3, b3], by c4 and s4, and stores the 8 floats at p. One shuffle gathers
 * the first elements and one the second, and two more interleave the
 * results again. */
static inline void rope__store_interleaved4(float *p, v128_t x01, v128_t x23, v128_t c4, v128_t s4) {
    /* Lanes 4..7 of a two-input shuffle come from the second input. */
    const v128_t a = wasm_i32x4_shuffle(x01, x23, 0, 2, 4, 6);
    const v128_t b = wasm_i32x4_shuffle(x01, x23, 1, 3, 5, 7);
    const v128_t new_a = rope__rotated_first(a, b, c4, s4);
    const v128_t new_b = rope__rotated_second(a, b, c4, s4);
    wasm_v128_store(p, wasm_i32x4_shuffle(new_a, new_b, 0, 4, 1, 5));
    wasm_v128_store(p + 4, wasm_i32x4_shuffle(new_a, new_b, 2, 6, 3, 7));
}

#endif /* ROPE_KERNELS_ROTATION_SIMD128_H */
