/* Portable rotation kernel for the half pairing (x[i], x[i + rotary_dim/2]). */
#include "../kernels.h"

/* GCC ignores this pragma, so GCC builds that must stay bit-identical to the
 * SIMD128 kernels on FMA-capable targets also need -ffp-contract=off. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

void rope_rotate_half_f32__scalar(float *x, int32_t n_vecs, ptrdiff_t vec_stride, int32_t rotary_dim,
                                  const float *cos, const float *sin, ptrdiff_t row_stride) {
    const int32_t half = rotary_dim / 2;
    for (int32_t v = 0; v < n_vecs; v++) {
        float *lo = x + v * vec_stride;
        float *hi = lo + half;
        const float *c = cos + v * row_stride;
        const float *s = sin + v * row_stride;
        for (int32_t i = 0; i < half; i++) {
            const float a = lo[i];
            const float b = hi[i];
            lo[i] = a * c[i] - b * s[i];
            hi[i] = a * s[i] + b * c[i];
        }
    }
}
