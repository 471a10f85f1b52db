/* The table of kernel variants in this build and the process-wide kernel
 * choice behind rope_set_kernel. */
#include <stdatomic.h>

#include "internal.h"
#include "kernels.h"

const rope_kernel_entry rope_kernel_list[] = {
    {"rotate_half_f32__scalar", ROPE_PAIRING_HALF, ROPE_KERNEL_SCALAR, ROPE_WALK_ONE,
     rope_rotate_half_f32__scalar},
    {"rotate_interleaved_f32__scalar", ROPE_PAIRING_INTERLEAVED, ROPE_KERNEL_SCALAR, ROPE_WALK_ONE,
     rope_rotate_interleaved_f32__scalar},
#if ROPE_HAVE_SIMD128
    {"rotate_half_f32__simd128", ROPE_PAIRING_HALF, ROPE_KERNEL_SIMD128, ROPE_WALK_ONE,
     rope_rotate_half_f32__simd128},
    {"rotate_interleaved_f32__simd128", ROPE_PAIRING_INTERLEAVED, ROPE_KERNEL_SIMD128, ROPE_WALK_ONE,
     rope_rotate_interleaved_f32__simd128},
    {"rotate_half_paired_f32__simd128", ROPE_PAIRING_HALF, ROPE_KERNEL_SIMD128, ROPE_WALK_PAIRED,
     rope_rotate_half_paired_f32__simd128},
    {"rotate_interleaved_paired_f32__simd128", ROPE_PAIRING_INTERLEAVED, ROPE_KERNEL_SIMD128,
     ROPE_WALK_PAIRED, rope_rotate_interleaved_paired_f32__simd128},
    {"rotate_interleaved_grouped_f32__simd128", ROPE_PAIRING_INTERLEAVED, ROPE_KERNEL_SIMD128,
     ROPE_WALK_GROUPED, rope_rotate_interleaved_grouped_f32__simd128},
    {"rotate_half_staged_f32__simd128", ROPE_PAIRING_HALF, ROPE_KERNEL_SIMD128, ROPE_WALK_STAGED,
     rope_rotate_half_staged_f32__simd128},
#endif
};

const int rope_kernel_count = (int)(sizeof rope_kernel_list / sizeof rope_kernel_list[0]);

/* The resolved choice, SCALAR or SIMD128 (never AUTO). Relaxed atomics are
 * enough because the value is a single flag that guards no other data. */
static _Atomic int active_kernel = ROPE_HAVE_SIMD128 ? ROPE_KERNEL_SIMD128 : ROPE_KERNEL_SCALAR;

rope_status rope_set_kernel(rope_kernel kernel) {
    rope__clear_error();
    switch (kernel) {
    case ROPE_KERNEL_AUTO:
        atomic_store_explicit(&active_kernel, ROPE_HAVE_SIMD128 ? ROPE_KERNEL_SIMD128 : ROPE_KERNEL_SCALAR,
                              memory_order_relaxed);
        return ROPE_STATUS_OK;
    case ROPE_KERNEL_SCALAR:
        atomic_store_explicit(&active_kernel, ROPE_KERNEL_SCALAR, memory_order_relaxed);
        return ROPE_STATUS_OK;
    case ROPE_KERNEL_SIMD128:
        if (!ROPE_HAVE_SIMD128) {
            return rope__fail(ROPE_STATUS_UNSUPPORTED,
                              "kernel is ROPE_KERNEL_SIMD128 (2), but this build was compiled without "
                              "-msimd128; use ROPE_KERNEL_AUTO (0) or ROPE_KERNEL_SCALAR (1)");
        }
        atomic_store_explicit(&active_kernel, ROPE_KERNEL_SIMD128, memory_order_relaxed);
        return ROPE_STATUS_OK;
    }
    return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                      "kernel is %d; expected ROPE_KERNEL_AUTO (0), ROPE_KERNEL_SCALAR (1) or "
                      "ROPE_KERNEL_SIMD128 (2)",
                      (int)kernel);
}

rope_kernel rope_active_kernel(void) {
    return (rope_kernel)atomic_load_explicit(&active_kernel, memory_order_relaxed);
}

int rope_has_simd128(void) {
    return ROPE_HAVE_SIMD128;
}

/* Returns NULL for a pairing other than HALF or INTERLEAVED; rope_create
 * rejects those before any kernel runs. */
rope_kernel_fn rope_select_kernel(int pairing, int walk) {
    const int kernel = (int)rope_active_kernel();
    rope_kernel_fn one = NULL;
    for (int i = 0; i < rope_kernel_count; i++) {
        const rope_kernel_entry *e = &rope_kernel_list[i];
        if (e->pairing == pairing && e->kernel == kernel) {
            if (e->walk == walk) {
                return e->fn;
            }
            if (e->walk == ROPE_WALK_ONE) {
                one = e->fn;
            }
        }
    }
    return one;
}
