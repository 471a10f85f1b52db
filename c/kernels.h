/*
 * kernels.h: the rotation kernels behind rope_apply_f32 (private).
 *
 * Every kernel has the same signature and rotates n_vecs head vectors in
 * place. Vector v starts at x + v * vec_stride and uses the cos/sin row at
 * cos + v * row_stride (row_stride 0 reuses one row for every vector, as for
 * the heads of one token in [tokens, heads, head_dim]; row_stride
 * rotary_dim / 2 walks the tokens of one head in [heads, tokens, head_dim]).
 * Only slots 0 .. rotary_dim - 1 of each vector are read or written.
 *
 * Contract shared by all variants: for each pair (a, b) with row values
 * c = cos[i], s = sin[i], the result is (a*c - b*s, a*s + b*c) evaluated in
 * float32 with one rounding per multiply and add, in that order, and no
 * fused multiply-add. The SIMD128 kernels therefore match their scalar twin
 * bit for bit, which the kernel tests check.
 */
#ifndef ROPE_KERNELS_H
#define ROPE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef void (*rope_kernel_fn)(float *x, int32_t n_vecs, ptrdiff_t vec_stride, int32_t rotary_dim,
                               const float *cos, const float *sin, ptrdiff_t row_stride);

void rope_rotate_half_f32__scalar(float *x, int32_t n_vecs, ptrdiff_t vec_stride, int32_t rotary_dim,
                                  const float *cos, const float *sin, ptrdiff_t row_stride);
void rope_rotate_interleaved_f32__scalar(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                         int32_t rotary_dim, const float *cos, const float *sin,
                                         ptrdiff_t row_stride);

#if defined(__wasm_simd128__)
#define ROPE_HAVE_SIMD128 1
void rope_rotate_half_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride, int32_t rotary_dim,
                                   const float *cos, const float *sin, ptrdiff_t row_stride);
void rope_rotate_interleaved_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                          int32_t rotary_dim, const float *cos, const float *sin,
                                          ptrdiff_t row_stride);
void rope_rotate_half_paired_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                          int32_t rotary_dim, const float *cos, const float *sin,
                                          ptrdiff_t row_stride);
void rope_rotate_interleaved_paired_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                                 int32_t rotary_dim, const float *cos,
                                                 const float *sin, ptrdiff_t row_stride);
void rope_rotate_interleaved_grouped_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                                  int32_t rotary_dim, const float *cos,
                                                  const float *sin, ptrdiff_t row_stride);
void rope_rotate_half_staged_f32__simd128(float *x, int32_t n_vecs, ptrdiff_t vec_stride,
                                          int32_t rotary_dim, const float *cos, const float *sin,
                                          ptrdiff_t row_stride);
#else
#define ROPE_HAVE_SIMD128 0
#endif

/* How a kernel walks its vectors. All walks give the same bits; which is
 * fastest depends on where the data is (see apply.c). */
enum {
    ROPE_WALK_ONE = 0,    /* one vector after another */
    ROPE_WALK_PAIRED = 1, /* two vectors per step, sharing each load of a common row */
    ROPE_WALK_STAGED = 2, /* one vector after another, memory in order (half pairing) */
    ROPE_WALK_GROUPED = 3 /* four vectors per step over one spread copy of a common row
                           * (interleaved pairing) */
};

/* One entry per kernel variant in this build. The dispatcher, the kernel
 * tests and the benchmark all iterate this list, so no variant exists
 * untested. */
typedef struct rope_kernel_entry {
    const char *name;       /* e.g. "rotate_half_f32__simd128" */
    int pairing;            /* rope_pairing */
    int kernel;             /* rope_kernel: SCALAR or SIMD128 */
    int walk;               /* ROPE_WALK_ONE, _PAIRED, _STAGED or _GROUPED */
    rope_kernel_fn fn;
} rope_kernel_entry;

extern const rope_kernel_entry rope_kernel_list[];
extern const int rope_kernel_count;

/* The kernel for `pairing` and `walk` under the current rope_set_kernel
 * choice. Where the family has no such walk (scalar has only ONE, the
 * interleaved pairing has no STAGED, the half pairing no GROUPED) its
 * ROPE_WALK_ONE kernel is given. */
rope_kernel_fn rope_select_kernel(int pairing, int walk);

#endif /* ROPE_KERNELS_H */
