/*
 * Tests for the rotation kernels in c/kernels/ and the kernel choice in
 * c/kernel_list.c.
 *
 * Every entry of rope_kernel_list runs over a sweep of sizes and strides.
 * Its results must lie within a rounding-error bound of a double-precision
 * reference and match the float32 formula from kernels.h bit for bit. A
 * SIMD128 variant must also match its scalar twin bit for bit.
 * Guard words around and between the vectors must come back unchanged.
 * Under AddressSanitizer the guard words are also poisoned while a kernel
 * runs, so reading them is reported as well (to the 8-byte granularity of
 * ASan shadow memory, so a guard word sharing 8 bytes with a rotary slot
 * may stay readable).
 *
 * Usage: test_kernels [seed]. Prints "N passed, M failed" last and exits 1
 * on any failure.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "rope.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif
#if defined(TEST_ASAN)
#include <sanitizer/asan_interface.h>
/* ASan keeps freed blocks in a quarantine. With its default size the 64 MB
 * heap of the WebAssembly build of this test ran out of memory. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
    return "quarantine_size_mb=8";
}
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

enum { GUARD = 16, MAX_REPORTS = 30 };

/* Signaling-NaN bit patterns. Kernel results here are never NaN because
 * the inputs are finite. */
static const uint32_t GUARD_X = 0x7fa0beefu;
static const uint32_t GUARD_TABLE = 0x7fa0cafeu;

static int n_passed;
static int n_failed;
static int n_reports;

/* Count one check; fmt and the arguments describe it in the failure line. */
__attribute__((format(printf, 2, 3))) static void check(int ok, const char *fmt, ...) {
    if (ok) {
        n_passed++;
        return;
    }
    n_failed++;
    va_list args;
    va_start(args, fmt);
    printf("FAIL: ");
    vprintf(fmt, args);
    printf("\n");
    va_end(args);
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* splitmix64: small, seedable and the same on every platform. */
static uint64_t rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static double rng_unit(uint64_t *state) {
    return (double)(rng_next(state) >> 11) * 0x1.0p-53;
}

/* Mostly values in [-4, 4), sometimes scaled by 2^-60 .. 2^60, sometimes
 * +-0 or a subnormal, so that rounding of every size gets exercised without
 * overflowing to infinity. */
static float random_input(uint64_t *state) {
    const double u = rng_unit(state) * 8.0 - 4.0;
    switch (rng_next(state) % 16) {
    case 0:
        return ldexpf((float)u, (int)(rng_next(state) % 121) - 60);
    case 1:
        return (rng_next(state) & 1) ? 0.0f : -0.0f;
    case 2:
        return (float)u * 0x1.0p-140f;
    default:
        return (float)u;
    }
}

typedef struct test_case {
    const rope_kernel_entry *kernel;
    const rope_kernel_entry *twin; /* scalar variant with the same pairing */
    int32_t rotary_dim;
    int32_t head_dim;
    int32_t n_vecs;
    ptrdiff_t vec_stride;
    ptrdiff_t row_stride;
    uint64_t seed;
} test_case;

static void report(const test_case *tc, const char *check_name, int32_t v, int32_t slot, float got,
                   float expected) {
    if (++n_reports > MAX_REPORTS) {
        return;
    }
    printf("FAIL %s [%s]: rotary_dim=%d head_dim=%d n_vecs=%d vec_stride=%td row_stride=%td "
           "seed=%" PRIu64 " vector %d slot %d: got %.9g (0x%08" PRIx32 "), expected %.9g (0x%08" PRIx32
           ")\n",
           tc->kernel->name, check_name, tc->rotary_dim, tc->head_dim, tc->n_vecs, tc->vec_stride,
           tc->row_stride, tc->seed, v, slot, got, bits_of(got), expected, bits_of(expected));
}

/* Allocate n_data words with GUARD words on each side, all set to guard. */
static float *alloc_guarded(size_t n_data, uint32_t guard) {
    float *buf = malloc((n_data + 2 * GUARD) * sizeof(float));
    if (buf == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (size_t j = 0; j < n_data + 2 * GUARD; j++) {
        buf[j] = float_of(guard);
    }
    return buf;
}

/* Poison (or unpoison) every word of x's buffer outside the rotary slots. */
static void poison_x(float *buf, size_t n_data, const test_case *tc, int poison) {
    size_t start = 0; /* first word of the current non-rotary run, relative to buf */
    for (int32_t v = 0; v <= tc->n_vecs; v++) {
        const size_t end = (v < tc->n_vecs) ? (size_t)(GUARD + v * tc->vec_stride) : n_data + 2 * GUARD;
        if (poison) {
            POISON(buf + start, (end - start) * sizeof(float));
        } else {
            UNPOISON(buf + start, (end - start) * sizeof(float));
        }
        start = end + (size_t)tc->rotary_dim;
    }
}

static void poison_table(float *buf, size_t n_data, int poison) {
    if (poison) {
        POISON(buf, GUARD * sizeof(float));
        POISON(buf + GUARD + n_data, GUARD * sizeof(float));
    } else {
        UNPOISON(buf, GUARD * sizeof(float));
        UNPOISON(buf + GUARD + n_data, GUARD * sizeof(float));
    }
}

/* Run one kernel on one layout; returns 1 when every check passes. */
static int run_case(const test_case *tc) {
    const int32_t half = tc->rotary_dim / 2;
    const size_t n_x = (size_t)((tc->n_vecs - 1) * tc->vec_stride + tc->head_dim);
    const int32_t n_rows = tc->row_stride == 0 ? 1 : tc->n_vecs;
    const size_t n_table = (size_t)((n_rows - 1) * tc->row_stride + half);
    const int interleaved = tc->kernel->pairing == ROPE_PAIRING_INTERLEAVED;
    uint64_t rng = tc->seed;
    int ok = 1;

    float *x = alloc_guarded(n_x, GUARD_X);
    float *x_twin = alloc_guarded(n_x, GUARD_X);
    float *x_orig = alloc_guarded(n_x, GUARD_X);
    float *cos_buf = alloc_guarded(n_table, GUARD_TABLE);
    float *sin_buf = alloc_guarded(n_table, GUARD_TABLE);

    /* Random head vectors (rotary and pass-through slots); the gaps between
     * vectors keep the guard pattern. */
    for (int32_t v = 0; v < tc->n_vecs; v++) {
        for (int32_t j = 0; j < tc->head_dim; j++) {
            x[GUARD + v * tc->vec_stride + j] = random_input(&rng);
        }
    }
    /* cos/sin of random angles, sometimes times an attention scaling. */
    for (int32_t r = 0; r < n_rows; r++) {
        const double scale = (rng_next(&rng) & 1) ? 1.0 : 0.5 + rng_unit(&rng);
        for (int32_t i = 0; i < half; i++) {
            const double angle = rng_unit(&rng) * 6.283185307179586;
            cos_buf[GUARD + r * tc->row_stride + i] = (float)(scale * cos(angle));
            sin_buf[GUARD + r * tc->row_stride + i] = (float)(scale * sin(angle));
        }
    }
    memcpy(x_orig, x, (n_x + 2 * GUARD) * sizeof(float));
    memcpy(x_twin, x, (n_x + 2 * GUARD) * sizeof(float));

    poison_x(x, n_x, tc, 1);
    poison_table(cos_buf, n_table, 1);
    poison_table(sin_buf, n_table, 1);
    tc->kernel->fn(x + GUARD, tc->n_vecs, tc->vec_stride, tc->rotary_dim, cos_buf + GUARD, sin_buf + GUARD,
                   tc->row_stride);
    poison_x(x, n_x, tc, 0);
    poison_table(cos_buf, n_table, 0);
    poison_table(sin_buf, n_table, 0);
    if (tc->twin != tc->kernel) {
        tc->twin->fn(x_twin + GUARD, tc->n_vecs, tc->vec_stride, tc->rotary_dim, cos_buf + GUARD,
                     sin_buf + GUARD, tc->row_stride);
    }

    /* Words outside the rotary slots, guards included, are bit-identical. */
    for (size_t j = 0; j < n_x + 2 * GUARD; j++) {
        const ptrdiff_t rel = (ptrdiff_t)j - GUARD;
        const int32_t v = rel >= 0 ? (int32_t)(rel / tc->vec_stride) : -1;
        const int32_t slot = rel >= 0 ? (int32_t)(rel % tc->vec_stride) : (int32_t)rel;
        const int rotary = rel >= 0 && (size_t)rel < n_x && slot < tc->rotary_dim;
        if (!rotary && bits_of(x[j]) != bits_of(x_orig[j])) {
            report(tc, "untouched word changed", v, slot, x[j], x_orig[j]);
            ok = 0;
        }
    }
    for (size_t j = 0; j < n_table + 2 * GUARD; j++) {
        const int guard = j < GUARD || j >= GUARD + n_table;
        if (guard && (bits_of(cos_buf[j]) != GUARD_TABLE || bits_of(sin_buf[j]) != GUARD_TABLE)) {
            report(tc, "table guard changed", -1, (int32_t)j - GUARD, cos_buf[j], float_of(GUARD_TABLE));
            ok = 0;
        }
    }

    /* Rotary slots. */
    for (int32_t v = 0; v < tc->n_vecs; v++) {
        const float *in = x_orig + GUARD + v * tc->vec_stride;
        const float *out = x + GUARD + v * tc->vec_stride;
        const float *out_twin = x_twin + GUARD + v * tc->vec_stride;
        const float *c = cos_buf + GUARD + v * tc->row_stride;
        const float *s = sin_buf + GUARD + v * tc->row_stride;
        for (int32_t i = 0; i < half; i++) {
            const int32_t ia = interleaved ? 2 * i : i;
            const int32_t ib = interleaved ? 2 * i + 1 : i + half;
            const float a = in[ia];
            const float b = in[ib];
            /* float32 formula of kernels.h; volatile forces one rounding per
             * operation whatever the -ffp-contract setting. */
            volatile float ac = a * c[i], bs = b * s[i], as = a * s[i], bc = b * c[i];
            const float exact_a = ac - bs;
            const float exact_b = as + bc;
            /* Double reference with a bound of two product roundings, one
             * sum rounding and underflow. */
            const double ref_a = (double)a * c[i] - (double)b * s[i];
            const double ref_b = (double)a * s[i] + (double)b * c[i];
            const double mag = fabs((double)a * c[i]) + fabs((double)b * s[i]) + fabs((double)a * s[i]) +
                               fabs((double)b * c[i]);
            const double tol = mag * 0x1.0p-22 + 0x1.0p-146;
            const int32_t slots[2] = {ia, ib};
            const float exact[2] = {exact_a, exact_b};
            const double ref[2] = {ref_a, ref_b};
            for (int k = 0; k < 2; k++) {
                const float got = out[slots[k]];
                if (!(fabs((double)got - ref[k]) <= tol)) {
                    report(tc, "double reference", v, slots[k], got, (float)ref[k]);
                    ok = 0;
                }
                if (bits_of(got) != bits_of(exact[k])) {
                    report(tc, "float32 formula", v, slots[k], got, exact[k]);
                    ok = 0;
                }
                if (tc->twin != tc->kernel && bits_of(got) != bits_of(out_twin[slots[k]])) {
                    report(tc, "scalar twin", v, slots[k], got, out_twin[slots[k]]);
                    ok = 0;
                }
            }
        }
    }

    free(x);
    free(x_twin);
    free(x_orig);
    free(cos_buf);
    free(sin_buf);
    return ok;
}

static const rope_kernel_entry *find_entry(int pairing, int kernel, int walk) {
    for (int i = 0; i < rope_kernel_count; i++) {
        const rope_kernel_entry *e = &rope_kernel_list[i];
        if (e->pairing == pairing && e->kernel == kernel && e->walk == walk) {
            return e;
        }
    }
    return NULL;
}

static int ends_with(const char *s, const char *suffix) {
    const size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void test_kernel_list(void) {
    check(rope_kernel_count == 2 + 6 * ROPE_HAVE_SIMD128, "rope_kernel_count is 2 plus 6 with SIMD128");
    for (int i = 0; i < rope_kernel_count; i++) {
        const rope_kernel_entry *e = &rope_kernel_list[i];
        check(e->name != NULL && e->fn != NULL, "entry %d has a name and a function", i);
        if (e->name == NULL) {
            continue;
        }
        check(e->pairing == ROPE_PAIRING_HALF || e->pairing == ROPE_PAIRING_INTERLEAVED,
              "%s: pairing %d is HALF or INTERLEAVED", e->name, e->pairing);
        check(e->kernel == ROPE_KERNEL_SCALAR || e->kernel == ROPE_KERNEL_SIMD128,
              "%s: kernel %d is SCALAR or SIMD128", e->name, e->kernel);
        const char *prefix = e->pairing == ROPE_PAIRING_HALF ? "rotate_half_" : "rotate_interleaved_";
        check(strncmp(e->name, prefix, strlen(prefix)) == 0, "%s: name starts with %s", e->name, prefix);
        const char *suffix = e->kernel == ROPE_KERNEL_SCALAR ? "__scalar" : "__simd128";
        check(ends_with(e->name, suffix), "%s: name ends with %s", e->name, suffix);
        check(e->walk >= ROPE_WALK_ONE && e->walk <= ROPE_WALK_GROUPED,
              "%s: walk %d is ONE, PAIRED, STAGED or GROUPED", e->name, e->walk);
        check((strstr(e->name, "_paired_") != NULL) == (e->walk == ROPE_WALK_PAIRED),
              "%s: the name says _paired_ exactly when the walk is PAIRED", e->name);
        check((strstr(e->name, "_staged_") != NULL) == (e->walk == ROPE_WALK_STAGED),
              "%s: the name says _staged_ exactly when the walk is STAGED", e->name);
        check((strstr(e->name, "_grouped_") != NULL) == (e->walk == ROPE_WALK_GROUPED),
              "%s: the name says _grouped_ exactly when the walk is GROUPED", e->name);
        for (int j = 0; j < i; j++) {
            check(rope_kernel_list[j].name == NULL || strcmp(rope_kernel_list[j].name, e->name) != 0,
                  "%s: name is listed once", e->name);
        }
    }
    check(find_entry(ROPE_PAIRING_HALF, ROPE_KERNEL_SCALAR, ROPE_WALK_ONE) != NULL,
          "the scalar half kernel is listed");
    check(find_entry(ROPE_PAIRING_INTERLEAVED, ROPE_KERNEL_SCALAR, ROPE_WALK_ONE) != NULL,
          "the scalar interleaved kernel is listed");
    if (ROPE_HAVE_SIMD128) {
        for (int walk = ROPE_WALK_ONE; walk <= ROPE_WALK_STAGED; walk++) {
            check(find_entry(ROPE_PAIRING_HALF, ROPE_KERNEL_SIMD128, walk) != NULL,
                  "the SIMD128 half kernel with walk %d is listed", walk);
        }
        const int interleaved_walks[] = {ROPE_WALK_ONE, ROPE_WALK_PAIRED, ROPE_WALK_GROUPED};
        for (size_t w = 0; w < sizeof interleaved_walks / sizeof interleaved_walks[0]; w++) {
            check(find_entry(ROPE_PAIRING_INTERLEAVED, ROPE_KERNEL_SIMD128, interleaved_walks[w]) != NULL,
                  "the SIMD128 interleaved kernel with walk %d is listed", interleaved_walks[w]);
        }
    }
}

/* Nonzero when rope_select_kernel gives the `kernel` family's entry for
 * both pairings and every walk, or its ROPE_WALK_ONE entry where the
 * family has no such walk. */
static int select_matches(int kernel) {
    const int pairings[2] = {ROPE_PAIRING_HALF, ROPE_PAIRING_INTERLEAVED};
    for (int p = 0; p < 2; p++) {
        for (int walk = ROPE_WALK_ONE; walk <= ROPE_WALK_GROUPED; walk++) {
            const rope_kernel_entry *e = find_entry(pairings[p], kernel, walk);
            if (e == NULL) {
                e = find_entry(pairings[p], kernel, ROPE_WALK_ONE);
            }
            if (e == NULL || rope_select_kernel(pairings[p], walk) != e->fn) {
                return 0;
            }
        }
    }
    return 1;
}

/* Must run before anything else calls rope_set_kernel. */
static void test_kernel_choice(void) {
    const int best = ROPE_HAVE_SIMD128 ? ROPE_KERNEL_SIMD128 : ROPE_KERNEL_SCALAR;
    check(rope_has_simd128() == ROPE_HAVE_SIMD128, "rope_has_simd128 matches the build");
    check((int)rope_active_kernel() == best, "the initial kernel is the fastest");
    check(select_matches(best), "the initial selection is the fastest kernel");

    check(rope_set_kernel(ROPE_KERNEL_SCALAR) == ROPE_STATUS_OK, "set SCALAR returns OK");
    check(rope_active_kernel() == ROPE_KERNEL_SCALAR, "after set SCALAR the active kernel is SCALAR");
    check(select_matches(ROPE_KERNEL_SCALAR), "after set SCALAR the scalar kernels are selected");

    const rope_status simd_status = rope_set_kernel(ROPE_KERNEL_SIMD128);
    if (ROPE_HAVE_SIMD128) {
        check(simd_status == ROPE_STATUS_OK, "set SIMD128 returns OK in a SIMD128 build");
        check(rope_active_kernel() == ROPE_KERNEL_SIMD128, "after set SIMD128 the active kernel is SIMD128");
        check(select_matches(ROPE_KERNEL_SIMD128), "after set SIMD128 the SIMD128 kernels are selected");
        rope_set_kernel(ROPE_KERNEL_SCALAR);
    } else {
        check(simd_status == ROPE_STATUS_UNSUPPORTED, "set SIMD128 returns UNSUPPORTED without SIMD128");
        check(rope_active_kernel() == ROPE_KERNEL_SCALAR, "a rejected set SIMD128 keeps the active kernel");
        check(select_matches(ROPE_KERNEL_SCALAR), "a rejected set SIMD128 keeps the selection");
        check(strstr(rope_error_message(), "SIMD128") != NULL, "the UNSUPPORTED message names SIMD128: \"%s\"",
              rope_error_message());
    }

    const int invalid[] = {3, 7, -1};
    for (size_t k = 0; k < sizeof invalid / sizeof invalid[0]; k++) {
        check(rope_set_kernel((rope_kernel)invalid[k]) == ROPE_STATUS_INVALID_ARGUMENT,
              "set %d returns INVALID_ARGUMENT", invalid[k]);
        check(rope_active_kernel() == ROPE_KERNEL_SCALAR, "a rejected set %d keeps the choice", invalid[k]);

        char value[16];
        snprintf(value, sizeof value, "%d", invalid[k]);
        const char *message = rope_error_message();
        check(strstr(message, value) != NULL, "the message for %d names the value: \"%s\"", invalid[k],
              message);
        const char *names[] = {"ROPE_KERNEL_AUTO", "ROPE_KERNEL_SCALAR", "ROPE_KERNEL_SIMD128"};
        for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
            check(strstr(message, names[n]) != NULL, "the message for %d names %s: \"%s\"", invalid[k],
                  names[n], message);
        }
    }

    check(rope_set_kernel(ROPE_KERNEL_AUTO) == ROPE_STATUS_OK, "set AUTO returns OK");
    check(rope_error_message()[0] == '\0', "a successful set clears the message: \"%s\"", rope_error_message());
    check((int)rope_active_kernel() == best, "after set AUTO the active kernel is the fastest");
    check(select_matches(best), "after set AUTO the fastest kernels are selected");
    check(rope_select_kernel(2, ROPE_WALK_ONE) == NULL, "rope_select_kernel(2, ONE) returns NULL");
    check(rope_select_kernel(-1, ROPE_WALK_PAIRED) == NULL, "rope_select_kernel(-1, PAIRED) returns NULL");
}

static void test_kernel_results(uint64_t seed) {
    /* 2 .. 34 covers every remainder of the 16-float SIMD step twice, then
     * common head sizes; 1024 is the largest rotary_dim the staged walk
     * stages, and 1056 goes past it. */
    int32_t rotary_dims[32];
    int n_dims = 0;
    for (int32_t d = 2; d <= 2 * 16 + 2; d += 2) {
        rotary_dims[n_dims++] = d;
    }
    const int32_t large[] = {64, 80, 96, 128, 256, 512, 1024, 1056};
    for (size_t k = 0; k < sizeof large / sizeof large[0]; k++) {
        rotary_dims[n_dims++] = large[k];
    }

    for (int e = 0; e < rope_kernel_count; e++) {
        const rope_kernel_entry *kernel = &rope_kernel_list[e];
        const rope_kernel_entry *twin = find_entry(kernel->pairing, ROPE_KERNEL_SCALAR, ROPE_WALK_ONE);
        int n_cases = 0, n_ok = 0;
        for (int d = 0; d < n_dims; d++) {
            const int32_t rotary_dim = rotary_dims[d];
            const int32_t head_dims[3] = {rotary_dim, rotary_dim + 6, 2 * rotary_dim};
            for (int h = 0; h < 3; h++) {
                /* Up to 7 vectors: the grouped walk takes 4 per step,
                 * then 0 to 3 one at a time. */
                for (int32_t n_vecs = 1; n_vecs <= 7; n_vecs++) {
                    for (int rs = 0; rs < 2; rs++) {
                        for (int vs = 0; vs < 2; vs++) {
                            const ptrdiff_t vec_stride = vs == 0 ? head_dims[h] : head_dims[h] + 3;
                            const ptrdiff_t row_stride = rs == 0 ? 0 : rotary_dim / 2;
                            test_case tc = {kernel, twin,       rotary_dim, head_dims[h],
                                            n_vecs, vec_stride, row_stride, 0};
                            tc.seed = seed ^ ((uint64_t)e << 56) ^ ((uint64_t)rotary_dim << 32) ^
                                      ((uint64_t)h << 24) ^ ((uint64_t)n_vecs << 16) ^ ((uint64_t)rs << 8) ^
                                      (uint64_t)vs;
                            n_cases++;
                            if (run_case(&tc)) {
                                n_ok++;
                                n_passed++;
                            } else {
                                n_failed++;
                            }
                        }
                    }
                }
            }
        }
        printf("%-40s %d of %d layouts passed\n", kernel->name, n_ok, n_cases);
    }
}

int main(int argc, char **argv) {
    const uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 20240611u;
    printf("seed %" PRIu64 ", %d kernel variants, SIMD128 %s\n", seed, rope_kernel_count,
           ROPE_HAVE_SIMD128 ? "on" : "off");
    test_kernel_choice();
    test_kernel_list();
    test_kernel_results(seed);
    if (n_reports > MAX_REPORTS) {
        printf("(%d more failure reports not shown)\n", n_reports - MAX_REPORTS);
    }
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}
