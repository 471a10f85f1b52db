/* WebAssembly SIMD128 rotation kernel for the half pairing that walks
 * memory in order. Each vector's first half is copied to a stack buffer,
 * the second half is rotated in one forward pass that also leaves the new
 * first half in the buffer, and the buffer is copied back. Without
 * -msimd128 this file compiles to no code.
 *
 * Why: when the two halves are 512 bytes or more apart (rotary_dim 256 and
 * up), the usual walk reads and writes two streams that far apart at once.
 * From DRAM that measured 0.59 ns per element, against 0.27 for this walk
 * and 0.19 for a plain load/store pass (head_dim 256, 2048 tokens x 32
 * heads, AMD EPYC, V8). In cache this walk is slower (0.18 against 0.13),
 * so apply.c chooses it only for large tensors. */
#include "../kernels.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "rotation_simd128.h"

/* Largest half (in floats) that the stack buffer holds; larger vectors
 * take the usual walk. */
#define STAGED_MAX_HALF 512

/* Copy n floats (a multiple of 16) from src to dst, 64 bytes per step. */
__attribute__((noinline)) static void copy16(float *dst, const float *src, int32_t n) {
    for (int32_t j = 0; j < n; j += 16) {
        const v128_t a = wasm_v128_load(src + j);
        const v128_t b = wasm_v128_load(src + j + 4);
        const v128_t c = wasm_v128_load(src + j + 8);
        const v128_t d = wasm_v128_load(src + j + 12);
        wasm_v128_store(dst + j, a);
        wasm_v128_store(dst + j + 4, b);
        wasm_v128_store(dst + j + 8, c);
        wasm_v128_store(dst + j + 12, d);
    }
}

void rope_rotate_half_staged_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                          int32_t rotary_dim, const float *cos, const float *sin,
                                          ptrdiff_t row_stride) {
    const int32_t half = rotary_dim / 2;
    if (half % 16 != 0 || half > STAGED_MAX_HALF) {
        rope_rotate_half_f32__simd128(x, n_vecs, vec_stride, rotary_dim, cos, sin, row_stride);
        return;
    }
    _Alignas(64) float first[STAGED_MAX_HALF];
    for (int32_t v = 0; v < n_vecs; v++) {
        float *lo = x + v * vec_stride;
        float *hi = lo + half;
        const float *c = cos + v * row_stride;
        const float *s = sin + v * row_stride;
        copy16(first, lo, half);
        for (int32_t i = 0; i < half; i += 4) {
            const v128_t a = wasm_v128_load(first + i);
            const v128_t b = wasm_v128_load(hi + i);
            const v128_t ci = wasm_v128_load(c + i);
            const v128_t si = wasm_v128_load(s + i);
            wasm_v128_store(first + i, rope__rotated_first(a, b, ci, si));
            wasm_v128_store(hi + i, rope__rotated_second(a, b, ci, si));
        }
        copy16(lo, first, half);
    }
}

#endif /* __wasm_simd128__ */
