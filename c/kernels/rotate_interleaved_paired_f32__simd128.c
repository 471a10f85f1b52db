/* WebAssembly SIMD128 rotation kernel for the interleaved pairing that
 * walks the vectors two at a time. When every vector uses the same row
 * (row_stride 0, the heads of one token) each cos/sin vector is loaded
 * once for both. Without -msimd128 this file compiles to no code.
 *
 * The arithmetic is rope__store_interleaved4 (rotation_simd128.h), as in
 * rotate_interleaved_f32__simd128.c, which gives the scalar kernel's bits. */
#include "../kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "rotation_simd128.h"

void rope_rotate_interleaved_paired_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                                 int32_t rotary_dim, const float *cos,
                                                 const float *sin, ptrdiff_t row_stride) {
    const int32_t half = rotary_dim / 2;
    if (row_stride != 0 || half % 8 != 0) {
        /* With a row per vector pairing saves no load, and pair counts that
         * are not a multiple of 8 (rare) are left to the other walk to keep
         * the module small. */
        rope_rotate_interleaved_f32__simd128(x, n_vecs, vec_stride, rotary_dim, cos, sin, row_stride);
        return;
    }
    int32_t v = 0;
    for (; v + 2 <= n_vecs; v += 2) {
        float *p0 = x + v * vec_stride;
        float *p1 = p0 + vec_stride;
        /* 8 pairs (16 floats) of each vector per step. The loads of a vector
         * come before its stores, so the order does not depend on whether
         * the compiler can prove that the vectors do not overlap. */
        for (int32_t i = 0; i < half; i += 8) {
            const v128_t c_lo = wasm_v128_load(cos + i);
            const v128_t s_lo = wasm_v128_load(sin + i);
            const v128_t c_hi = wasm_v128_load(cos + i + 4);
            const v128_t s_hi = wasm_v128_load(sin + i + 4);
            for (int k = 0; k < 2; k++) {
                float *p = (k == 0 ? p0 : p1) + 2 * i;
                const v128_t x0 = wasm_v128_load(p);
                const v128_t x1 = wasm_v128_load(p + 4);
                const v128_t x2 = wasm_v128_load(p + 8);
                const v128_t x3 = wasm_v128_load(p + 12);
                rope__store_interleaved4(p, x0, x1, c_lo, s_lo);
                rope__store_interleaved4(p + 8, x2, x3, c_hi, s_hi);
            }
        }
    }
    if (v < n_vecs) {
        rope_rotate_interleaved_f32__simd128(x + v * vec_stride, 1, vec_stride, rotary_dim, cos, sin, 0);
    }
}

#endif /* __wasm_simd128__ */
