/*
 * test_api.c: native tests of the public API in c/rope.h.
 *
 * Usage: test_api REFERENCE_FILE [SEED]
 *
 * REFERENCE_FILE is the plain-text form of tests/reference/vectors/ that
 * tests/c/reference_c.py writes (tests/c/run_api_tests.sh regenerates it).
 * SEED picks the random q/k values (default 1). Failures are printed one
 * per line, and the last line is "N passed, M failed". The exit status is 1
 * when M > 0 and 2 when the reference file cannot be read.
 *
 * Built with -ffp-contract=off like the library, so that the float
 * expressions below round the way the kernels' contract in c/kernels.h
 * states and can be compared bit for bit.
 *
 * With -DTEST_API_WRAP_MALLOC and the GNU ld options
 * -Wl,--wrap=malloc,--wrap=calloc, the library's allocations can be made
 * to fail one at a time, and the OUT_OF_MEMORY paths are tested too, each
 * in a child process so that a sanitizer abort there is reported as one
 * failure instead of ending the run.
 */
#if defined(TEST_API_WRAP_MALLOC)
#define _POSIX_C_SOURCE 200809L /* fork, waitpid */
#include <sys/wait.h>
#include <unistd.h>
#endif
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rope.h"

/* ------------------------------------------------------------------------
 * Counting and reporting
 * ---------------------------------------------------------------------- */

#include "check.h"

/* Case-insensitive strstr, because the library spells special values the
 * JavaScript way ("NaN", "Infinity"), and "nan" or "inf" should match. */
static int contains_ignoring_case(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; *haystack != '\0'; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] != '\0' &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i])) {
            i++;
        }
        if (i == n) {
            return 1;
        }
    }
    return n == 0;
}

/* Check a rejection: the exact status, and a message that names the
 * argument and contains its value as the library formats it. */
static void expect_error(const char *what, rope_status got, rope_status want, const char *name,
                         const char *value) {
    const char *message = rope_error_message();
    check(got == want, "%s: status %s, expected %s (message \"%s\")", what, rope_status_name(got),
          rope_status_name(want), message);
    check(strstr(message, name) != NULL, "%s: message \"%s\" does not name %s", what, message, name);
    check(contains_ignoring_case(message, value),
          "%s: message \"%s\" does not contain the value %s", what, message, value);
}

static void expect_ok(const char *what, rope_status got) {
    check(got == ROPE_STATUS_OK, "%s: status %s (%s)", what, rope_status_name(got),
          rope_error_message());
    check(rope_error_message()[0] == '\0', "%s: succeeded but the message is \"%s\"", what,
          rope_error_message());
}

/* ------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------- */

static uint64_t rng_state = 1;

/* xorshift64*, so that a failing run can be repeated with its seed. */
static uint64_t rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Uniform float in [-1, 1), a multiple of 2^-23. */
static float rng_unit(void) {
    return (float)((int32_t)(rng_next() >> 40) - (1 << 23)) / (float)(1 << 23);
}

static void *xcalloc(size_t n, size_t size) {
    if (n > SIZE_MAX / 64) {
        fprintf(stderr, "test_api: allocation of %zu elements requested\n", n);
        exit(2);
    }
    void *p = calloc(n == 0 ? 1 : n, size);
    if (p == NULL) {
        fprintf(stderr, "test_api: out of memory\n");
        exit(2);
    }
    return p;
}

/* Guard entries after each buffer: the library must leave them alone. */
#define GUARD 8
static const float guard_f = -12345.5f;
static const double guard_d = -98765.25;

static float *alloc_floats_guarded(size_t n) {
    float *p = xcalloc(n + GUARD, sizeof *p);
    for (size_t i = 0; i < n + GUARD; i++) {
        p[i] = guard_f;
    }
    return p;
}

/* Count the entries from index `from` to n + GUARD that no longer hold the
 * guard value. */
static size_t floats_changed_from(const float *p, size_t from, size_t n) {
    size_t changed = 0;
    for (size_t i = from; i < n + GUARD; i++) {
        changed += memcmp(&p[i], &guard_f, sizeof guard_f) != 0;
    }
    return changed;
}

static int same_bits_f(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof *a) == 0;
}

static double rel_err(double got, double want) {
    if (got == want) {
        return 0.0;
    }
    return fabs(got - want) / fabs(want);
}

/* Slot of element (token t, head h, dim j) in a tensor of the given layout. */
static size_t slot(rope_layout layout, int32_t n_tokens, int32_t n_heads, int32_t head_dim,
                   int32_t t, int32_t h, int32_t j) {
    if (layout == ROPE_LAYOUT_TOKENS_HEADS_DIM) {
        return ((size_t)t * (size_t)n_heads + (size_t)h) * (size_t)head_dim + (size_t)j;
    }
    return ((size_t)h * (size_t)n_tokens + (size_t)t) * (size_t)head_dim + (size_t)j;
}

/* Slots of the two members of pair i, as drawn in c/rope.h. */
static void pair_slots(rope_pairing pairing, int32_t rotary_dim, int32_t i, int32_t *j0,
                       int32_t *j1) {
    if (pairing == ROPE_PAIRING_HALF) {
        *j0 = i;
        *j1 = i + rotary_dim / 2;
    } else {
        *j0 = 2 * i;
        *j1 = 2 * i + 1;
    }
}

static rope *create_or_die(const rope_params *p, const char *what) {
    rope *r = NULL;
    rope_status status = rope_create(p, &r);
    if (!check(status == ROPE_STATUS_OK && r != NULL, "%s: rope_create returned %s (%s)", what,
               rope_status_name(status), rope_error_message())) {
        return NULL;
    }
    return r;
}

/* ------------------------------------------------------------------------
 * Reference file (format written by tests/c/reference_c.py)
 * ---------------------------------------------------------------------- */

typedef struct ref_case {
    int64_t seq_len;
    int32_t n_positions;
    int32_t *positions;
    double *inv_freq;       /* n_pairs */
    double *cos;            /* n_positions * n_pairs, row-major */
    double *sin;
} ref_case;

typedef struct ref_vector {
    char name[512];
    char type_name[512];
    rope_params params;     /* short_factor/long_factor point into the lists below */
    double *short_factor;
    double *long_factor;
    int32_t n_short;
    int32_t n_long;
    double attention_scaling;
    int32_t n_cases;
    ref_case *cases;
} ref_vector;

static FILE *ref_file;
static const char *ref_path;
static char ref_token[512];

static void ref_die(const char *why) {
    fprintf(stderr, "test_api: %s: %s near \"%s\"\n", ref_path, why, ref_token);
    exit(2);
}

static const char *ref_next(void) {
    if (fscanf(ref_file, "%511s", ref_token) != 1) {
        ref_die("unexpected end of file");
    }
    return ref_token;
}

static void ref_expect(const char *key) {
    if (strcmp(ref_next(), key) != 0) {
        fprintf(stderr, "test_api: expected key %s\n", key);
        ref_die("bad format");
    }
}

static double ref_double(void) {
    const char *text = ref_next();
    char *end = NULL;
    double x = strtod(text, &end);
    if (end == text || *end != '\0') {
        ref_die("not a number");
    }
    return x;
}

static int64_t ref_int(void) {
    const char *text = ref_next();
    char *end = NULL;
    long long x = strtoll(text, &end, 10);
    if (end == text || *end != '\0') {
        ref_die("not an integer");
    }
    return (int64_t)x;
}

static int32_t ref_int32(void) {
    int64_t x = ref_int();
    if (x < INT32_MIN || x > INT32_MAX) {
        ref_die("integer out of int32 range");
    }
    return (int32_t)x;
}

/* Read "key n v1 .. vn" into a new array; *n_out receives n. */
static double *ref_list(const char *key, int32_t *n_out) {
    ref_expect(key);
    int32_t n = ref_int32();
    if (n < 0) {
        ref_die("negative list length");
    }
    double *values = xcalloc((size_t)n, sizeof *values);
    for (int32_t i = 0; i < n; i++) {
        values[i] = ref_double();
    }
    *n_out = n;
    return values;
}

static double ref_named_double(const char *key) {
    ref_expect(key);
    return ref_double();
}

static int32_t ref_named_int32(const char *key) {
    ref_expect(key);
    return ref_int32();
}

static void ref_read_vector(ref_vector *v) {
    ref_expect("vector");
    snprintf(v->name, sizeof v->name, "%s", ref_next());
    ref_expect("type");
    int32_t type = ref_int32();
    snprintf(v->type_name, sizeof v->type_name, "%s", ref_next());
    int32_t pairing = ref_named_int32("pairing");
    int32_t head_dim = ref_named_int32("head_dim");

    rope_params *p = &v->params;
    rope_params_init(p, (rope_type)type, head_dim);
    p->pairing = (rope_pairing)pairing;
    p->rotary_dim = ref_named_int32("rotary_dim");
    p->max_position_embeddings = ref_named_int32("max_position_embeddings");
    p->original_max_position_embeddings = ref_named_int32("original_max_position_embeddings");
    p->truncate = ref_named_int32("truncate");
    p->base = ref_named_double("base");
    p->factor = ref_named_double("factor");
    p->beta_fast = ref_named_double("beta_fast");
    p->beta_slow = ref_named_double("beta_slow");
    p->mscale = ref_named_double("mscale");
    p->mscale_all_dim = ref_named_double("mscale_all_dim");
    p->attention_factor = ref_named_double("attention_factor");
    p->low_freq_factor = ref_named_double("low_freq_factor");
    p->high_freq_factor = ref_named_double("high_freq_factor");
    v->short_factor = ref_list("short_factor", &v->n_short);
    v->long_factor = ref_list("long_factor", &v->n_long);
    if (v->n_short > 0) {
        p->short_factor = v->short_factor;
        p->long_factor = v->long_factor;
        p->n_factors = v->n_short;
    }
    v->attention_scaling = ref_named_double("attention_scaling");

    const int32_t n_pairs = p->rotary_dim / 2;
    v->n_cases = ref_named_int32("cases");
    v->cases = xcalloc((size_t)v->n_cases, sizeof *v->cases);
    for (int32_t c = 0; c < v->n_cases; c++) {
        ref_case *rc = &v->cases[c];
        ref_expect("case");
        rc->seq_len = ref_int();
        rc->n_positions = ref_int32();
        rc->positions = xcalloc((size_t)rc->n_positions, sizeof *rc->positions);
        ref_expect("positions");
        for (int32_t t = 0; t < rc->n_positions; t++) {
            rc->positions[t] = ref_int32();
        }
        int32_t n = 0;
        rc->inv_freq = ref_list("inv_freq", &n);
        if (n != n_pairs) {
            ref_die("inv_freq length is not rotary_dim / 2");
        }
        size_t cells = (size_t)rc->n_positions * (size_t)n_pairs;
        rc->cos = xcalloc(cells, sizeof *rc->cos);
        rc->sin = xcalloc(cells, sizeof *rc->sin);
        double *tables[2] = {rc->cos, rc->sin};
        const char *keys[2] = {"cos", "sin"};
        for (int k = 0; k < 2; k++) {
            for (int32_t t = 0; t < rc->n_positions; t++) {
                double *row = ref_list(keys[k], &n);
                if (n != n_pairs) {
                    ref_die("table row length is not rotary_dim / 2");
                }
                memcpy(tables[k] + (size_t)t * (size_t)n_pairs, row, (size_t)n * sizeof *row);
                free(row);
            }
        }
    }
    ref_expect("end");
}

static void ref_free_vector(ref_vector *v) {
    for (int32_t c = 0; c < v->n_cases; c++) {
        free(v->cases[c].positions);
        free(v->cases[c].inv_freq);
        free(v->cases[c].cos);
        free(v->cases[c].sin);
    }
    free(v->cases);
    free(v->short_factor);
    free(v->long_factor);
}

/* ------------------------------------------------------------------------
 * Reference vectors
 * ---------------------------------------------------------------------- */

/* Rotate q and k of one case with rope_apply_f32 in `layout` and compare
 * each pair with the double rotation by the reference cos and sin. */
static void check_apply_against_reference(const ref_vector *v, const ref_case *rc, rope *r,
                                          rope_layout layout, double *max_err_out) {
    const rope_params *p = &v->params;
    const int32_t head_dim = p->head_dim;
    const int32_t rotary_dim = p->rotary_dim;
    const int32_t n_pairs = rotary_dim / 2;
    const int32_t n_tokens = rc->n_positions;
    /* Grouped-query attention: twice as many q heads as k heads. */
    const int32_t n_heads[2] = {4, 2};
    const size_t len[2] = {(size_t)n_tokens * 4 * (size_t)head_dim,
                           (size_t)n_tokens * 2 * (size_t)head_dim};

    float *x[2], *orig[2];
    for (int k = 0; k < 2; k++) {
        x[k] = alloc_floats_guarded(len[k]);
        orig[k] = xcalloc(len[k], sizeof *orig[k]);
        for (size_t i = 0; i < len[k]; i++) {
            x[k][i] = orig[k][i] = rng_unit();
        }
    }
    rope_qk_f32 qk = {0};
    qk.q = x[0];
    qk.q_len = len[0];
    qk.n_q_heads = n_heads[0];
    qk.k = x[1];
    qk.k_len = len[1];
    qk.n_k_heads = n_heads[1];
    qk.n_tokens = n_tokens;
    qk.positions = rc->positions;
    qk.layout = layout;
    qk.seq_len = rc->seq_len;
    rope_status status = rope_apply_f32(r, &qk);
    check(status == ROPE_STATUS_OK, "%s seq_len %lld layout %d: rope_apply_f32 returned %s (%s)",
          v->name, (long long)rc->seq_len, (int)layout, rope_status_name(status),
          rope_error_message());

    /* Error bound per output, from (a, b) -> (a c' - b s', a s' + b c') in
     * float: each table entry c' is within 2e-6 of the exact value (the
     * table check enforces that), each of the three float operations
     * rounds by at most 2^-24 relative, and |result| <= S (|a| + |b|). */
    const double scale = fmax(1.0, fabs(v->attention_scaling));
    double max_err = 0.0;
    int bad_rotated = 0;
    size_t bad_passthrough = 0;
    for (int k = 0; k < 2; k++) {
        for (int32_t t = 0; t < n_tokens; t++) {
            const double *cos_row = rc->cos + (size_t)t * (size_t)n_pairs;
            const double *sin_row = rc->sin + (size_t)t * (size_t)n_pairs;
            for (int32_t h = 0; h < n_heads[k]; h++) {
                for (int32_t i = 0; i < n_pairs; i++) {
                    int32_t j0, j1;
                    pair_slots(p->pairing, rotary_dim, i, &j0, &j1);
                    size_t s0 = slot(layout, n_tokens, n_heads[k], head_dim, t, h, j0);
                    size_t s1 = slot(layout, n_tokens, n_heads[k], head_dim, t, h, j1);
                    double a = orig[k][s0], b = orig[k][s1];
                    double want0 = a * cos_row[i] - b * sin_row[i];
                    double want1 = a * sin_row[i] + b * cos_row[i];
                    double tol = (fabs(a) + fabs(b)) * (2e-6 + 3.0 * 0x1p-24 * scale) + 1e-30;
                    double e0 = fabs((double)x[k][s0] - want0);
                    double e1 = fabs((double)x[k][s1] - want1);
                    max_err = fmax(max_err, fmax(e0, e1));
                    if ((!(e0 <= tol) || !(e1 <= tol)) && bad_rotated++ == 0) {
                        printf("  %s layout %d %s token %d head %d pair %d: got (%.9g, %.9g), "
                               "expected (%.9g, %.9g), tolerance %.3g\n",
                               v->name, (int)layout, k == 0 ? "q" : "k", (int)t, (int)h, (int)i,
                               (double)x[k][s0], (double)x[k][s1], want0, want1, tol);
                    }
                }
                for (int32_t j = rotary_dim; j < head_dim; j++) {
                    size_t s = slot(layout, n_tokens, n_heads[k], head_dim, t, h, j);
                    bad_passthrough += memcmp(&x[k][s], &orig[k][s], sizeof(float)) != 0;
                }
            }
        }
        check(floats_changed_from(x[k], len[k], len[k]) == 0,
              "%s layout %d: rope_apply_f32 wrote past %s_len", v->name, (int)layout,
              k == 0 ? "q" : "k");
    }
    check(bad_rotated == 0, "%s seq_len %lld layout %d: %d rotated pairs outside tolerance",
          v->name, (long long)rc->seq_len, (int)layout, bad_rotated);
    check(bad_passthrough == 0,
          "%s seq_len %lld layout %d: %zu pass-through slots (rotary_dim .. head_dim - 1) changed",
          v->name, (long long)rc->seq_len, (int)layout, bad_passthrough);
    *max_err_out = fmax(*max_err_out, max_err);
    for (int k = 0; k < 2; k++) {
        free(x[k]);
        free(orig[k]);
    }
}

static void test_reference_vector(const ref_vector *v) {
    const rope_params *p = &v->params;
    rope *r = create_or_die(p, v->name);
    if (r == NULL) {
        return;
    }
    check(rope_error_message()[0] == '\0', "%s: rope_create succeeded with message \"%s\"", v->name,
          rope_error_message());
    check(rope_head_dim(r) == p->head_dim && rope_rotary_dim(r) == p->rotary_dim &&
              rope_get_pairing(r) == p->pairing && rope_get_type(r) == p->type,
          "%s: accessors return head_dim %d rotary_dim %d pairing %d type %d", v->name,
          (int)rope_head_dim(r), (int)rope_rotary_dim(r), (int)rope_get_pairing(r),
          (int)rope_get_type(r));

    /* 1e-12: the scaling is at most a log, a sqrt and a division away from
     * the inputs, so a correct double result is within a few ulp. */
    double scaling = rope_attention_scaling(r);
    check(rel_err(scaling, v->attention_scaling) <= 1e-12,
          "%s: attention scaling %.17g, reference %.17g", v->name, scaling, v->attention_scaling);

    const int32_t n_pairs = p->rotary_dim / 2;
    double *inv_freq = xcalloc((size_t)n_pairs, sizeof *inv_freq);
    double max_table_err = 0.0;
    double max_apply_err = 0.0;
    for (int32_t c = 0; c < v->n_cases; c++) {
        const ref_case *rc = &v->cases[c];

        /* 1e-13 (about 450 ulp): pow is within an ulp, and the scaled types
         * add a few roundings on top, as does dynamic NTK's grown base. */
        rope_status status = rope_inv_freq(r, rc->seq_len, inv_freq, (size_t)n_pairs);
        double worst = 0.0;
        int32_t worst_i = 0;
        for (int32_t i = 0; i < n_pairs; i++) {
            double e = rel_err(inv_freq[i], rc->inv_freq[i]);
            if (!(e <= worst)) {
                worst = e;
                worst_i = i;
            }
        }
        check(status == ROPE_STATUS_OK && worst <= 1e-13,
              "%s seq_len %lld: rope_inv_freq status %s, inv_freq[%d] = %.17g, reference %.17g "
              "(relative error %.3g)",
              v->name, (long long)rc->seq_len, rope_status_name(status), (int)worst_i,
              inv_freq[worst_i], rc->inv_freq[worst_i], worst);

        /* Tables: 2e-6 absolute covers the float32 rounding of values up
         * to ~1.2 (6e-8 each) and an angle error of p * |d theta| with
         * p <= 2^20 and a relative frequency error of 1e-13 (1e-7). */
        size_t cells = (size_t)rc->n_positions * (size_t)n_pairs;
        float *cos_out = alloc_floats_guarded(cells);
        float *sin_out = alloc_floats_guarded(cells);
        status = rope_table_f32(r, rc->positions, rc->n_positions, rc->seq_len, cos_out, sin_out,
                                cells);
        check(status == ROPE_STATUS_OK, "%s seq_len %lld: rope_table_f32 returned %s (%s)",
              v->name, (long long)rc->seq_len, rope_status_name(status), rope_error_message());
        double case_err = 0.0;
        size_t worst_cell = 0;
        for (size_t n = 0; n < cells; n++) {
            double e = fmax(fabs((double)cos_out[n] - rc->cos[n]),
                            fabs((double)sin_out[n] - rc->sin[n]));
            if (!(e <= case_err)) {
                case_err = e;
                worst_cell = n;
            }
        }
        check(case_err <= 2e-6,
              "%s seq_len %lld: table error %.3g at position %d pair %d (cos %.9g vs %.17g)",
              v->name, (long long)rc->seq_len, case_err,
              (int)rc->positions[worst_cell / (size_t)n_pairs], (int)(worst_cell % (size_t)n_pairs),
              (double)cos_out[worst_cell], rc->cos[worst_cell]);
        check(floats_changed_from(cos_out, cells, cells) == 0 &&
                  floats_changed_from(sin_out, cells, cells) == 0,
              "%s: rope_table_f32 wrote past out_len", v->name);
        max_table_err = fmax(max_table_err, case_err);

        /* Every case has seqLen = max(positions) + 1, so seq_len 0 must
         * resolve to the same length and give the same bits. */
        int32_t max_position = 0;
        for (int32_t t = 0; t < rc->n_positions; t++) {
            max_position = rc->positions[t] > max_position ? rc->positions[t] : max_position;
        }
        if (rc->seq_len == (int64_t)max_position + 1) {
            float *cos0 = alloc_floats_guarded(cells);
            float *sin0 = alloc_floats_guarded(cells);
            status = rope_table_f32(r, rc->positions, rc->n_positions, 0, cos0, sin0, cells);
            check(status == ROPE_STATUS_OK && same_bits_f(cos0, cos_out, cells) &&
                      same_bits_f(sin0, sin_out, cells),
                  "%s seq_len %lld: table with seq_len 0 differs from the explicit length",
                  v->name, (long long)rc->seq_len);
            free(cos0);
            free(sin0);
        }
        free(cos_out);
        free(sin_out);

        check_apply_against_reference(v, rc, r, ROPE_LAYOUT_TOKENS_HEADS_DIM, &max_apply_err);
        check_apply_against_reference(v, rc, r, ROPE_LAYOUT_HEADS_TOKENS_DIM, &max_apply_err);
    }
    printf("  %-28s %-8s max table error %.3e, max apply error %.3e\n", v->name, v->type_name,
           max_table_err, max_apply_err);
    free(inv_freq);
    rope_free(r);
}

/* ------------------------------------------------------------------------
 * Properties on the reference configs
 * ---------------------------------------------------------------------- */

/* Fill q ([n_tokens, n_heads, head_dim]) with random values and rotate a
 * copy; returns the rotated copy (caller frees). */
static float *rotate_copy(rope *r, const float *q, int32_t n_tokens, int32_t n_heads,
                          const int32_t *positions, int64_t seq_len, rope_layout layout) {
    const size_t len = (size_t)n_tokens * (size_t)n_heads * (size_t)rope_head_dim(r);
    float *out = xcalloc(len, sizeof *out);
    memcpy(out, q, len * sizeof *out);
    rope_qk_f32 qk = {0};
    qk.q = out;
    qk.q_len = len;
    qk.n_q_heads = n_heads;
    qk.n_tokens = n_tokens;
    qk.positions = positions;
    qk.layout = layout;
    qk.seq_len = seq_len;
    rope_status status = rope_apply_f32(r, &qk);
    check(status == ROPE_STATUS_OK, "rope_apply_f32 returned %s (%s)", rope_status_name(status),
          rope_error_message());
    return out;
}

static void test_properties(const ref_vector *v) {
    const rope_params *p = &v->params;
    rope *r = create_or_die(p, v->name);
    if (r == NULL) {
        return;
    }
    const int32_t head_dim = p->head_dim;
    const int32_t rotary_dim = p->rotary_dim;
    const float scale_f = (float)rope_attention_scaling(r);
    const double scale = rope_attention_scaling(r);
    /* Length-dependent types get a fixed length so that every call below
     * uses the same frequencies: 2^21 is past every vector's context. */
    const int64_t seq_len = 1 << 21;
    enum { N_HEADS = 3, N_TOKENS = 5 };
    const size_t len = (size_t)N_TOKENS * N_HEADS * (size_t)head_dim;
    float *q = xcalloc(len, sizeof *q);
    for (size_t n = 0; n < len; n++) {
        q[n] = rng_unit();
    }

    /* Position 0: cos = S and sin = 0 exactly, so each rotated slot is
     * x * (float)S in float, with no other rounding, and the rest is x. */
    const int32_t zeros[N_TOKENS] = {0, 0, 0, 0, 0};
    float *out = rotate_copy(r, q, N_TOKENS, N_HEADS, zeros, seq_len, ROPE_LAYOUT_TOKENS_HEADS_DIM);
    size_t bad = 0;
    for (size_t n = 0; n < len; n++) {
        int32_t j = (int32_t)(n % (size_t)head_dim);
        float want = j < rotary_dim ? q[n] * scale_f : q[n];
        bad += !(out[n] == want);
    }
    check(bad == 0, "%s: position 0 is not x times the attention scaling in %zu slots", v->name, bad);
    free(out);

    /* Norm: a rotation keeps the length of each rotary part, and the
     * scaling multiplies it by S. 1e-5 relative is far above the few float
     * roundings per element (about 1e-7 each). */
    const int32_t positions[N_TOKENS] = {1, 17, 4096, 99991, 1048575};
    out = rotate_copy(r, q, N_TOKENS, N_HEADS, positions, seq_len, ROPE_LAYOUT_TOKENS_HEADS_DIM);
    double worst = 0.0;
    for (size_t v0 = 0; v0 < (size_t)N_TOKENS * N_HEADS; v0++) {
        double before = 0.0, after = 0.0;
        for (int32_t j = 0; j < rotary_dim; j++) {
            double a = q[v0 * (size_t)head_dim + (size_t)j];
            double b = out[v0 * (size_t)head_dim + (size_t)j];
            before += a * a;
            after += b * b;
        }
        worst = fmax(worst, rel_err(sqrt(after), scale * sqrt(before)));
    }
    check(worst <= 1e-5, "%s: norm changes by %.3g relative (after removing the scaling)", v->name,
          worst);
    free(out);

    /* Relative position: q_m . k_n depends on m - n only. Shifting both by
     * delta must keep the score within 1e-5 * S^2 * sum |q_j k_j|, well
     * above the float rounding of the rotated values (a few 1e-7 each). */
    const int32_t pairs[][3] = {{7, 3, 1000}, {0, 50000, 123457}, {4095, 4096, 917504}};
    for (size_t c = 0; c < sizeof pairs / sizeof pairs[0]; c++) {
        const float *qv = q;
        const float *kv = q + head_dim;
        int32_t before_pos[2] = {pairs[c][0], pairs[c][1]};
        int32_t after_pos[2] = {pairs[c][0] + pairs[c][2], pairs[c][1] + pairs[c][2]};
        float *vecs = xcalloc(2 * (size_t)head_dim, sizeof *vecs);
        memcpy(vecs, qv, (size_t)head_dim * sizeof *vecs);
        memcpy(vecs + head_dim, kv, (size_t)head_dim * sizeof *vecs);
        /* Two tokens with one head each: token 0 is q, token 1 is k. */
        float *rot_before = rotate_copy(r, vecs, 2, 1, before_pos, seq_len,
                                        ROPE_LAYOUT_TOKENS_HEADS_DIM);
        float *rot_after = rotate_copy(r, vecs, 2, 1, after_pos, seq_len,
                                       ROPE_LAYOUT_TOKENS_HEADS_DIM);
        double dot_before = 0.0, dot_after = 0.0, magnitude = 0.0;
        for (int32_t j = 0; j < head_dim; j++) {
            dot_before += (double)rot_before[j] * (double)rot_before[head_dim + j];
            dot_after += (double)rot_after[j] * (double)rot_after[head_dim + j];
            magnitude += fabs((double)qv[j] * (double)kv[j]);
        }
        double tol = 1e-5 * fmax(1.0, scale * scale) * magnitude;
        check(fabs(dot_before - dot_after) <= tol,
              "%s: q.k at positions (%d, %d) is %.9g, shifted by %d it is %.9g (tolerance %.3g)",
              v->name, (int)before_pos[0], (int)before_pos[1], dot_before, (int)pairs[c][2],
              dot_after, tol);
        free(rot_before);
        free(rot_after);
        free(vecs);
    }

    /* Kernels: SCALAR and AUTO must give the same bits (natively AUTO is
     * SCALAR; in a SIMD128 build the kernels' contract forbids any
     * difference too). */
    check(rope_set_kernel(ROPE_KERNEL_SCALAR) == ROPE_STATUS_OK &&
              rope_active_kernel() == ROPE_KERNEL_SCALAR,
          "%s: rope_set_kernel(SCALAR) failed", v->name);
    float *scalar_out = rotate_copy(r, q, N_TOKENS, N_HEADS, positions, seq_len,
                                    ROPE_LAYOUT_HEADS_TOKENS_DIM);
    check(rope_set_kernel(ROPE_KERNEL_AUTO) == ROPE_STATUS_OK, "%s: rope_set_kernel(AUTO) failed",
          v->name);
    float *auto_out = rotate_copy(r, q, N_TOKENS, N_HEADS, positions, seq_len,
                                  ROPE_LAYOUT_HEADS_TOKENS_DIM);
    check(same_bits_f(scalar_out, auto_out, len), "%s: SCALAR and AUTO kernels differ", v->name);
    free(scalar_out);
    free(auto_out);

    free(q);
    rope_free(r);
}

/* ------------------------------------------------------------------------
 * rope_apply_f32 against rope_table_f32, bit for bit
 * ---------------------------------------------------------------------- */

/* Rotate n_tokens tokens with rope_apply_f32 in both layouts and compare
 * with the kernels' float formula applied to rope_table_f32's rows. With
 * the kernel contract in c/kernels.h (one rounding per operation, no FMA)
 * and this file built with -ffp-contract=off, the results must be equal. */
static void check_apply_matches_table(const char *what, const rope_params *p, int32_t n_tokens,
                                      int32_t n_heads) {
    rope *r = create_or_die(p, what);
    if (r == NULL) {
        return;
    }
    const int32_t head_dim = p->head_dim;
    const int32_t rotary_dim = rope_rotary_dim(r);
    const int32_t n_pairs = rotary_dim / 2;
    int32_t *positions = xcalloc((size_t)n_tokens, sizeof *positions);
    for (int32_t t = 0; t < n_tokens; t++) {
        positions[t] = (int32_t)(rng_next() % 3000000u); /* unsorted, some past 2^21 */
    }
    size_t cells = (size_t)n_tokens * (size_t)n_pairs;
    float *cos_t = xcalloc(cells, sizeof *cos_t);
    float *sin_t = xcalloc(cells, sizeof *sin_t);
    rope_status status = rope_table_f32(r, positions, n_tokens, 0, cos_t, sin_t, cells);
    check(status == ROPE_STATUS_OK, "%s: rope_table_f32 returned %s", what, rope_status_name(status));

    /* A row is a function of its position: computing it alone gives the
     * same bits as computing it among n_tokens others. */
    size_t rows_differ = 0;
    float *cos_one = xcalloc((size_t)n_pairs, sizeof *cos_one);
    float *sin_one = xcalloc((size_t)n_pairs, sizeof *sin_one);
    for (int32_t t = 0; t < n_tokens; t++) {
        status = rope_table_f32(r, &positions[t], 1, 0, cos_one, sin_one, (size_t)n_pairs);
        rows_differ += status != ROPE_STATUS_OK ||
                       !same_bits_f(cos_one, cos_t + (size_t)t * (size_t)n_pairs, (size_t)n_pairs) ||
                       !same_bits_f(sin_one, sin_t + (size_t)t * (size_t)n_pairs, (size_t)n_pairs);
    }
    check(rows_differ == 0, "%s: %zu of %d rows differ when computed one position at a time", what,
          rows_differ, (int)n_tokens);
    free(cos_one);
    free(sin_one);

    const size_t len = (size_t)n_tokens * (size_t)n_heads * (size_t)head_dim;
    float *orig = xcalloc(len, sizeof *orig);
    for (size_t n = 0; n < len; n++) {
        orig[n] = rng_unit();
    }
    float *results[2];
    for (int layout = 0; layout < 2; layout++) {
        float *x = alloc_floats_guarded(len);
        float *want = xcalloc(len, sizeof *want);
        memcpy(x, orig, len * sizeof *x);
        memcpy(want, orig, len * sizeof *want);
        for (int32_t t = 0; t < n_tokens; t++) {
            for (int32_t h = 0; h < n_heads; h++) {
                for (int32_t i = 0; i < n_pairs; i++) {
                    int32_t j0, j1;
                    pair_slots(p->pairing, rotary_dim, i, &j0, &j1);
                    size_t s0 = slot((rope_layout)layout, n_tokens, n_heads, head_dim, t, h, j0);
                    size_t s1 = slot((rope_layout)layout, n_tokens, n_heads, head_dim, t, h, j1);
                    float c = cos_t[(size_t)t * (size_t)n_pairs + (size_t)i];
                    float s = sin_t[(size_t)t * (size_t)n_pairs + (size_t)i];
                    float a = orig[s0], b = orig[s1];
                    float ac = a * c, bs = b * s, as = a * s, bc = b * c;
                    want[s0] = ac - bs;
                    want[s1] = as + bc;
                }
            }
        }
        rope_qk_f32 qk = {0};
        qk.q = x;
        qk.q_len = len;
        qk.n_q_heads = n_heads;
        qk.n_tokens = n_tokens;
        qk.positions = positions;
        qk.layout = (rope_layout)layout;
        status = rope_apply_f32(r, &qk);
        size_t differ = 0;
        for (size_t n = 0; n < len; n++) {
            differ += memcmp(&x[n], &want[n], sizeof(float)) != 0;
        }
        check(status == ROPE_STATUS_OK && differ == 0,
              "%s layout %d: status %s, %zu of %zu values differ from the table formula", what,
              layout, rope_status_name(status), differ, len);
        check(floats_changed_from(x, len, len) == 0, "%s layout %d: wrote past q_len", what, layout);
        results[layout] = x;
        free(want);
    }
    free(results[0]);
    free(results[1]);
    free(orig);
    free(cos_t);
    free(sin_t);
    free(positions);
    rope_free(r);
}

/* The same input in both layouts must give the same rotated values. */
static void check_layouts_agree(const char *what, const rope_params *p, int32_t n_tokens,
                                int32_t n_heads) {
    rope *r = create_or_die(p, what);
    if (r == NULL) {
        return;
    }
    const int32_t head_dim = p->head_dim;
    int32_t *positions = xcalloc((size_t)n_tokens, sizeof *positions);
    for (int32_t t = 0; t < n_tokens; t++) {
        positions[t] = (int32_t)(rng_next() % 200000u);
    }
    const size_t len = (size_t)n_tokens * (size_t)n_heads * (size_t)head_dim;
    float *thd = xcalloc(len, sizeof *thd);
    float *htd = xcalloc(len, sizeof *htd);
    for (int32_t t = 0; t < n_tokens; t++) {
        for (int32_t h = 0; h < n_heads; h++) {
            for (int32_t j = 0; j < head_dim; j++) {
                float x = rng_unit();
                thd[slot(ROPE_LAYOUT_TOKENS_HEADS_DIM, n_tokens, n_heads, head_dim, t, h, j)] = x;
                htd[slot(ROPE_LAYOUT_HEADS_TOKENS_DIM, n_tokens, n_heads, head_dim, t, h, j)] = x;
            }
        }
    }
    float *out_thd = rotate_copy(r, thd, n_tokens, n_heads, positions, 0,
                                 ROPE_LAYOUT_TOKENS_HEADS_DIM);
    float *out_htd = rotate_copy(r, htd, n_tokens, n_heads, positions, 0,
                                 ROPE_LAYOUT_HEADS_TOKENS_DIM);
    size_t differ = 0;
    for (int32_t t = 0; t < n_tokens; t++) {
        for (int32_t h = 0; h < n_heads; h++) {
            for (int32_t j = 0; j < head_dim; j++) {
                float a = out_thd[slot(ROPE_LAYOUT_TOKENS_HEADS_DIM, n_tokens, n_heads, head_dim, t,
                                       h, j)];
                float b = out_htd[slot(ROPE_LAYOUT_HEADS_TOKENS_DIM, n_tokens, n_heads, head_dim, t,
                                       h, j)];
                differ += memcmp(&a, &b, sizeof a) != 0;
            }
        }
    }
    check(differ == 0, "%s: %zu values differ between the two layouts", what, differ);
    free(out_thd);
    free(out_htd);
    free(thd);
    free(htd);
    free(positions);
    rope_free(r);
}

static void test_apply_paths(void) {
    rope_params p;

    /* head_dim 128: 64 pairs, so the stack table holds 16 tokens and 100
     * tokens take seven blocks. */
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 128);
    check_apply_matches_table("default 128, 100 tokens", &p, 100, 3);
    check_layouts_agree("default 128, 100 tokens", &p, 100, 3);

    p.pairing = ROPE_PAIRING_INTERLEAVED;
    p.rotary_dim = 64;
    check_apply_matches_table("interleaved 128/64, 37 tokens", &p, 37, 2);
    check_layouts_agree("interleaved 128/64, 37 tokens", &p, 37, 2);

    /* head_dim 4096: 2048 pairs exceed the stack table, so each token gets
     * a heap row. */
    rope_params_init(&p, ROPE_TYPE_LINEAR, 4096);
    p.factor = 3.0;
    check_apply_matches_table("linear 4096, heap rows", &p, 3, 2);
    check_layouts_agree("linear 4096, heap rows", &p, 3, 2);

    /* The largest head_dim the library accepts. */
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 65536);
    check_apply_matches_table("default 65536", &p, 1, 1);

    /* Dynamic NTK: seq_len 0 means max(positions) + 1, which here exceeds
     * max_position_embeddings, so the result must differ from seq_len 2048
     * (default frequencies) and equal the explicit length. */
    rope_params_init(&p, ROPE_TYPE_DYNAMIC, 64);
    p.factor = 2.0;
    p.max_position_embeddings = 2048;
    rope *r = create_or_die(&p, "dynamic 64");
    if (r != NULL) {
        const int32_t positions[4] = {5000, 3, 12, 4000};
        float q[4 * 64];
        for (size_t n = 0; n < sizeof q / sizeof q[0]; n++) {
            q[n] = rng_unit();
        }
        float *implicit = rotate_copy(r, q, 4, 1, positions, 0, ROPE_LAYOUT_TOKENS_HEADS_DIM);
        float *explicit_len = rotate_copy(r, q, 4, 1, positions, 5001, ROPE_LAYOUT_TOKENS_HEADS_DIM);
        float *short_len = rotate_copy(r, q, 4, 1, positions, 2048, ROPE_LAYOUT_TOKENS_HEADS_DIM);
        check(same_bits_f(implicit, explicit_len, 4 * 64),
              "dynamic: seq_len 0 differs from max(positions) + 1 = 5001");
        check(!same_bits_f(implicit, short_len, 4 * 64),
              "dynamic: seq_len 5001 gives the same result as 2048");
        free(implicit);
        free(explicit_len);
        free(short_len);
        rope_free(r);
    }

    /* q alone: k NULL with n_k_heads 0. n_tokens 0 touches nothing. */
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 8);
    r = create_or_die(&p, "default 8");
    if (r != NULL) {
        float *q = alloc_floats_guarded(16);
        for (size_t n = 0; n < 16; n++) {
            q[n] = rng_unit();
        }
        const int32_t positions[2] = {3, 9};
        rope_qk_f32 qk = {0};
        qk.q = q;
        qk.q_len = 16;
        qk.n_q_heads = 1;
        qk.n_tokens = 2;
        qk.positions = positions;
        expect_ok("rope_apply_f32 with k NULL", rope_apply_f32(r, &qk));
        check(floats_changed_from(q, 16, 16) == 0, "q alone: wrote past q_len");

        float before[16];
        memcpy(before, q, sizeof before);
        qk.n_tokens = 0;
        qk.positions = NULL;
        expect_ok("rope_apply_f32 with n_tokens 0", rope_apply_f32(r, &qk));
        check(same_bits_f(before, q, 16), "n_tokens 0 changed q");

        float cos1[1], sin1[1];
        expect_ok("rope_table_f32 with no positions",
                  rope_table_f32(r, NULL, 0, 0, cos1, sin1, 0));
        free(q);
        rope_free(r);
    }
}

/* ------------------------------------------------------------------------
 * Rejections
 * ---------------------------------------------------------------------- */

/* Any non-NULL address will do: rope_create must overwrite *out on failure. */
static max_align_t out_sentinel;

/* rope_create must fail with `want`, set *out to NULL, and name the field. */
static void expect_create_error(const char *what, const rope_params *p, rope_status want,
                                const char *name, const char *value) {
    rope *r = (rope *)(void *)&out_sentinel;
    rope_status got = rope_create(p, &r);
    expect_error(what, got, want, name, value);
    check(r == NULL, "%s: *out is not NULL after a failed rope_create", what);
    if (got == ROPE_STATUS_OK && r != NULL && r != (rope *)(void *)&out_sentinel) {
        rope_free(r);
    }
}

/* rope_create must succeed; frees the result. */
static void expect_create_ok(const char *what, const rope_params *p) {
    rope *r = NULL;
    expect_ok(what, rope_create(p, &r));
    rope_free(r);
}

static void test_create_rejections(void) {
    rope_params p;
    char what[160];

    /* NULL arguments. */
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 64);
    expect_create_error("params NULL", NULL, ROPE_STATUS_INVALID_ARGUMENT, "params", "NULL");
    expect_error("out NULL", rope_create(&p, NULL), ROPE_STATUS_INVALID_ARGUMENT, "out", "NULL");
    rope_params_init(NULL, ROPE_TYPE_DEFAULT, 64); /* must return without writing */

    /* Enums. */
    rope_params_init(&p, (rope_type)6, 64);
    expect_create_error("type 6", &p, ROPE_STATUS_INVALID_ARGUMENT, "type", "6");
    rope_params_init(&p, (rope_type)-1, 64);
    expect_create_error("type -1", &p, ROPE_STATUS_INVALID_ARGUMENT, "type", "-1");
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 64);
    p.pairing = (rope_pairing)2;
    expect_create_error("pairing 2", &p, ROPE_STATUS_INVALID_ARGUMENT, "pairing", "2");

    /* head_dim: even, 2 .. 65536. */
    const int32_t bad_head_dims[] = {7, 0, -2, 1, 65538, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_head_dims / sizeof bad_head_dims[0]; i++) {
        rope_params_init(&p, ROPE_TYPE_DEFAULT, bad_head_dims[i]);
        char value[16];
        snprintf(value, sizeof value, "%d", (int)bad_head_dims[i]);
        snprintf(what, sizeof what, "head_dim %s", value);
        expect_create_error(what, &p, ROPE_STATUS_INVALID_ARGUMENT, "head_dim", value);
    }
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 2);
    expect_create_ok("head_dim 2", &p);
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 65536);
    expect_create_ok("head_dim 65536", &p);

    /* rotary_dim: even, 2 .. head_dim, 0 meaning head_dim. */
    const int32_t bad_rotary_dims[] = {3, 130, -2, 1, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_rotary_dims / sizeof bad_rotary_dims[0]; i++) {
        rope_params_init(&p, ROPE_TYPE_DEFAULT, 128);
        p.rotary_dim = bad_rotary_dims[i];
        char value[16];
        snprintf(value, sizeof value, "%d", (int)bad_rotary_dims[i]);
        snprintf(what, sizeof what, "rotary_dim %s", value);
        expect_create_error(what, &p, ROPE_STATUS_INVALID_ARGUMENT, "rotary_dim", value);
    }
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 128);
    p.rotary_dim = 0;
    rope *r = NULL;
    expect_ok("rotary_dim 0", rope_create(&p, &r));
    check(rope_rotary_dim(r) == 128, "rotary_dim 0 resolves to %d, expected head_dim 128",
          (int)rope_rotary_dim(r));
    rope_free(r);
    p.rotary_dim = 128;
    expect_create_ok("rotary_dim = head_dim", &p);
    p.rotary_dim = 2;
    expect_create_ok("rotary_dim 2", &p);

    /* base: finite and > 1. */
    const double bad_bases[] = {1.0, 0.0, -10000.0, NAN, INFINITY, 0.5};
    const char *bad_base_text[] = {"1", "0", "-10000", "nan", "inf", "0.5"};
    for (size_t i = 0; i < sizeof bad_bases / sizeof bad_bases[0]; i++) {
        rope_params_init(&p, ROPE_TYPE_DEFAULT, 64);
        p.base = bad_bases[i];
        snprintf(what, sizeof what, "base %s", bad_base_text[i]);
        expect_create_error(what, &p, ROPE_STATUS_INVALID_ARGUMENT, "base", bad_base_text[i]);
    }

    /* Values in messages must read back as the same double, so that
     * 0.9999999 never shows as "1". */
    rope_params_init(&p, ROPE_TYPE_LINEAR, 64);
    const double exact_factors[] = {0.9999999, 0.30000000000000004, 1e-7, -1e300, 0.1};
    const char *exact_text[] = {"factor is 0.9999999;", "factor is 0.30000000000000004;",
                                "factor is 1e-7;", "factor is -1e+300;", "factor is 0.1;"};
    for (size_t i = 0; i < sizeof exact_factors / sizeof exact_factors[0]; i++) {
        p.factor = exact_factors[i];
        snprintf(what, sizeof what, "linear %s", exact_text[i]);
        expect_create_error(what, &p, ROPE_STATUS_INVALID_ARGUMENT, "factor", exact_text[i]);
    }

    /* Context lengths shared by every type. */
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 64);
    p.max_position_embeddings = -1;
    expect_create_error("max_position_embeddings -1", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "max_position_embeddings", "-1");
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 64);
    p.original_max_position_embeddings = -5;
    expect_create_error("original_max_position_embeddings -5", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "original_max_position_embeddings", "-5");
    rope_params_init(&p, ROPE_TYPE_YARN, 64);
    p.factor = 4.0;
    p.max_position_embeddings = 4096;
    p.original_max_position_embeddings = 8192;
    expect_create_error("original > max", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "original_max_position_embeddings", "8192");
    p.original_max_position_embeddings = 4096;
    expect_create_ok("original = max", &p);

    /* factor per type: NaN is "unset" (missing), below 1 or infinite is
     * invalid. The default type does not read factor at all. */
    const rope_type factor_types[] = {ROPE_TYPE_LINEAR, ROPE_TYPE_DYNAMIC, ROPE_TYPE_YARN,
                                      ROPE_TYPE_LLAMA3, ROPE_TYPE_LONGROPE};
    static const double ones[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (size_t i = 0; i < sizeof factor_types / sizeof factor_types[0]; i++) {
        rope_params_init(&p, factor_types[i], 64);
        /* Every other field the type needs, so that factor is what fails. */
        p.max_position_embeddings = 4096;
        p.low_freq_factor = 1.0;
        p.high_freq_factor = 4.0;
        if (factor_types[i] == ROPE_TYPE_LLAMA3) {
            p.original_max_position_embeddings = 1024;
        }
        p.short_factor = ones;
        p.long_factor = ones;
        p.n_factors = 32;
        const double bad_factors[] = {0.5, 0.0, -2.0, INFINITY, -INFINITY};
        const char *bad_factor_text[] = {"0.5", "0", "-2", "inf", "-inf"};
        for (size_t k = 0; k < sizeof bad_factors / sizeof bad_factors[0]; k++) {
            p.factor = bad_factors[k];
            snprintf(what, sizeof what, "type %d factor %s", (int)factor_types[i],
                     bad_factor_text[k]);
            expect_create_error(what, &p, ROPE_STATUS_INVALID_ARGUMENT, "factor",
                                bad_factor_text[k]);
        }
        p.factor = NAN;
        snprintf(what, sizeof what, "type %d factor missing", (int)factor_types[i]);
        expect_create_error(what, &p, ROPE_STATUS_MISSING_PARAMETER, "factor", "missing");
        p.factor = 1.0;
        snprintf(what, sizeof what, "type %d factor 1", (int)factor_types[i]);
        expect_create_ok(what, &p);
    }
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 64);
    p.factor = 0.5;
    expect_create_ok("default ignores factor", &p);

    /* dynamic. */
    rope_params_init(&p, ROPE_TYPE_DYNAMIC, 64);
    p.factor = 2.0;
    expect_create_error("dynamic without max_position_embeddings", &p,
                        ROPE_STATUS_MISSING_PARAMETER, "max_position_embeddings", "missing");
    p.max_position_embeddings = 2048;
    p.rotary_dim = 2;
    expect_create_error("dynamic rotary_dim 2", &p, ROPE_STATUS_INVALID_ARGUMENT, "rotary_dim",
                        "2");
    rope_params_init(&p, ROPE_TYPE_DYNAMIC, 2);
    p.factor = 2.0;
    p.max_position_embeddings = 2048;
    expect_create_error("dynamic head_dim 2 (rotary_dim 0)", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "rotary_dim", "2");
    rope_params_init(&p, ROPE_TYPE_DYNAMIC, 64);
    p.factor = 2.0;
    p.max_position_embeddings = 2048;
    p.rotary_dim = 4;
    expect_create_ok("dynamic rotary_dim 4", &p);

    /* yarn. */
    rope_params_init(&p, ROPE_TYPE_YARN, 64);
    p.factor = 4.0;
    expect_create_error("yarn without any context length", &p, ROPE_STATUS_MISSING_PARAMETER,
                        "original_max_position_embeddings", "missing");
    p.max_position_embeddings = 32768;
    expect_create_ok("yarn with max_position_embeddings only", &p);
    p.original_max_position_embeddings = 4096;
    p.beta_fast = 1.0;
    p.beta_slow = 32.0;
    expect_create_error("yarn beta_slow > beta_fast", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "beta_slow", "32");
    p.beta_fast = 0.0;
    p.beta_slow = 1.0;
    expect_create_error("yarn beta_fast 0", &p, ROPE_STATUS_INVALID_ARGUMENT, "beta_fast", "0");
    p.beta_fast = NAN;
    expect_create_error("yarn beta_fast nan", &p, ROPE_STATUS_INVALID_ARGUMENT, "beta_fast", "nan");
    p.beta_fast = 32.0;
    p.beta_slow = 0.0;
    expect_create_error("yarn beta_slow 0", &p, ROPE_STATUS_INVALID_ARGUMENT, "beta_slow", "0");
    p.beta_slow = 32.0;
    expect_create_ok("yarn beta_slow = beta_fast", &p);
    p.beta_slow = 1.0;
    p.mscale = -1.0;
    expect_create_error("yarn mscale -1", &p, ROPE_STATUS_INVALID_ARGUMENT, "mscale", "-1");
    p.mscale = NAN;
    expect_create_error("yarn mscale nan", &p, ROPE_STATUS_INVALID_ARGUMENT, "mscale", "nan");
    p.mscale = 0.0;
    p.mscale_all_dim = -0.5;
    expect_create_error("yarn mscale_all_dim -0.5", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "mscale_all_dim", "-0.5");
    p.mscale_all_dim = 0.0;
    const double bad_attention[] = {0.0, -1.0, INFINITY};
    const char *bad_attention_text[] = {"0", "-1", "inf"};
    for (size_t i = 0; i < 3; i++) {
        p.attention_factor = bad_attention[i];
        snprintf(what, sizeof what, "yarn attention_factor %s", bad_attention_text[i]);
        expect_create_error(what, &p, ROPE_STATUS_INVALID_ARGUMENT, "attention_factor",
                            bad_attention_text[i]);
    }
    p.attention_factor = 0.75;
    r = NULL;
    expect_ok("yarn attention_factor 0.75", rope_create(&p, &r));
    check(rope_attention_scaling(r) == 0.75, "yarn: attention_factor 0.75 gives scaling %.17g",
          rope_attention_scaling(r));
    rope_free(r);

    /* llama3. */
    rope_params_init(&p, ROPE_TYPE_LLAMA3, 64);
    p.factor = 8.0;
    p.original_max_position_embeddings = 8192;
    p.high_freq_factor = 4.0;
    expect_create_error("llama3 low_freq_factor missing", &p, ROPE_STATUS_MISSING_PARAMETER,
                        "low_freq_factor", "missing");
    p.low_freq_factor = 1.0;
    p.high_freq_factor = NAN;
    expect_create_error("llama3 high_freq_factor missing", &p, ROPE_STATUS_MISSING_PARAMETER,
                        "high_freq_factor", "missing");
    p.high_freq_factor = 4.0;
    p.original_max_position_embeddings = 0;
    expect_create_error("llama3 original missing", &p, ROPE_STATUS_MISSING_PARAMETER,
                        "original_max_position_embeddings", "missing");
    p.original_max_position_embeddings = 8192;
    p.low_freq_factor = 4.0;
    expect_create_error("llama3 low = high", &p, ROPE_STATUS_INVALID_ARGUMENT, "high_freq_factor",
                        "4");
    p.low_freq_factor = 6.0;
    expect_create_error("llama3 low > high", &p, ROPE_STATUS_INVALID_ARGUMENT, "high_freq_factor",
                        "4");
    p.low_freq_factor = 0.0;
    expect_create_error("llama3 low 0", &p, ROPE_STATUS_INVALID_ARGUMENT, "low_freq_factor", "0");
    p.low_freq_factor = 1.0;
    p.high_freq_factor = INFINITY;
    expect_create_error("llama3 high inf", &p, ROPE_STATUS_INVALID_ARGUMENT, "high_freq_factor",
                        "inf");
    p.high_freq_factor = 4.0;
    expect_create_ok("llama3 complete", &p);

    /* longrope: 32 pairs for head_dim 64. */
    double short_f[32], long_f[32];
    for (int i = 0; i < 32; i++) {
        short_f[i] = 1.0 + 0.125 * i;
        long_f[i] = 2.0 + 0.5 * i;
    }
    rope_params_init(&p, ROPE_TYPE_LONGROPE, 64);
    p.original_max_position_embeddings = 4096;
    p.short_factor = short_f;
    p.long_factor = long_f;
    p.n_factors = 32;
    expect_create_error("longrope max missing", &p, ROPE_STATUS_MISSING_PARAMETER,
                        "max_position_embeddings", "missing");
    p.max_position_embeddings = 131072;
    p.n_factors = 31;
    expect_create_error("longrope n_factors 31", &p, ROPE_STATUS_INVALID_ARGUMENT, "n_factors",
                        "31");
    p.n_factors = 0;
    expect_create_error("longrope n_factors 0", &p, ROPE_STATUS_INVALID_ARGUMENT, "n_factors", "0");
    p.n_factors = 64;
    expect_create_error("longrope n_factors 64", &p, ROPE_STATUS_INVALID_ARGUMENT, "n_factors",
                        "64");
    p.n_factors = 32;
    p.short_factor = NULL;
    expect_create_error("longrope short_factor NULL", &p, ROPE_STATUS_MISSING_PARAMETER,
                        "short_factor", "missing");
    p.short_factor = short_f;
    p.long_factor = NULL;
    expect_create_error("longrope long_factor NULL", &p, ROPE_STATUS_MISSING_PARAMETER,
                        "long_factor", "missing");
    p.long_factor = long_f;
    short_f[5] = 0.0;
    expect_create_error("longrope short_factor[5] 0", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "short_factor[5]", "0");
    short_f[5] = 1.0;
    long_f[31] = -1.0;
    expect_create_error("longrope long_factor[31] -1", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "long_factor[31]", "-1");
    long_f[31] = NAN;
    expect_create_error("longrope long_factor[31] nan", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "long_factor[31]", "nan");
    long_f[31] = INFINITY;
    expect_create_error("longrope long_factor[31] inf", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "long_factor[31]", "inf");
    long_f[31] = 17.5;
    p.attention_factor = 0.0;
    expect_create_error("longrope attention_factor 0", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "attention_factor", "0");
    /* Valid in sign, but scaled float32 rows would flush to zero. */
    p.attention_factor = 1e-40;
    expect_create_error("longrope attention_factor 1e-40", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "attention scaling", "1e-40");
    p.attention_factor = NAN;
    p.original_max_position_embeddings = 262144;
    expect_create_error("longrope original > max", &p, ROPE_STATUS_INVALID_ARGUMENT,
                        "original_max_position_embeddings", "262144");
    /* An original length of 1 makes ln L = 0 in sqrt(1 + ln s / ln L). */
    p.original_max_position_embeddings = 1;
    expect_create_error("longrope original 1", &p, ROPE_STATUS_INVALID_ARGUMENT, "original",
                        "1");
    p.original_max_position_embeddings = 4096;

    /* rope_create copies the factor lists: changing them afterwards must
     * not change the frequencies. */
    r = NULL;
    expect_ok("longrope complete", rope_create(&p, &r));
    if (r != NULL) {
        double before[32], after[32];
        rope_status s1 = rope_inv_freq(r, 1, before, 32);
        for (int i = 0; i < 32; i++) {
            short_f[i] = 1000.0;
        }
        rope_status s2 = rope_inv_freq(r, 1, after, 32);
        check(s1 == ROPE_STATUS_OK && s2 == ROPE_STATUS_OK &&
                  memcmp(before, after, sizeof before) == 0,
              "longrope: frequencies follow the caller's short_factor after rope_create");
        rope_free(r);
    }
}

static void test_call_rejections(void) {
    rope_params p;
    rope_params_init(&p, ROPE_TYPE_DYNAMIC, 16); /* 8 pairs */
    p.factor = 2.0;
    p.max_position_embeddings = 64;
    rope *r = create_or_die(&p, "dynamic 16");
    if (r == NULL) {
        return;
    }

    /* rope_inv_freq. */
    double freq[8 + GUARD];
    for (size_t i = 0; i < 8 + GUARD; i++) {
        freq[i] = guard_d;
    }
    expect_error("rope_inv_freq r NULL", rope_inv_freq(NULL, 1, freq, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "r", "NULL");
    expect_error("rope_inv_freq seq_len 0", rope_inv_freq(r, 0, freq, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "seq_len", "0");
    expect_error("rope_inv_freq seq_len -3", rope_inv_freq(r, -3, freq, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "seq_len", "-3");
    expect_error("rope_inv_freq out_len 7", rope_inv_freq(r, 100, freq, 7),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "out", "7");
    size_t changed = 0;
    for (size_t i = 7; i < 8 + GUARD; i++) {
        changed += freq[i] != guard_d;
    }
    check(changed == 0, "rope_inv_freq out_len 7: %zu entries from index 7 on changed", changed);
    expect_error("rope_inv_freq out NULL", rope_inv_freq(r, 100, NULL, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "out", "NULL");
    expect_ok("rope_inv_freq after failures", rope_inv_freq(r, 100, freq, 8));
    changed = 0;
    for (size_t i = 8; i < 8 + GUARD; i++) {
        changed += freq[i] != guard_d;
    }
    check(changed == 0, "rope_inv_freq wrote past out_len");

    /* rope_table_f32: 3 positions of 8 pairs need 24 values. */
    const int32_t positions[3] = {0, 5, 9};
    const int32_t negative[4] = {0, 5, 2147483647, -3};
    float *cos_out = alloc_floats_guarded(24);
    float *sin_out = alloc_floats_guarded(24);
    expect_error("rope_table_f32 r NULL", rope_table_f32(NULL, positions, 3, 0, cos_out, sin_out, 24),
                 ROPE_STATUS_INVALID_ARGUMENT, "r", "NULL");
    expect_error("rope_table_f32 n_positions -1",
                 rope_table_f32(r, positions, -1, 0, cos_out, sin_out, 24),
                 ROPE_STATUS_INVALID_ARGUMENT, "n_positions", "-1");
    expect_error("rope_table_f32 positions NULL", rope_table_f32(r, NULL, 3, 0, cos_out, sin_out, 24),
                 ROPE_STATUS_INVALID_ARGUMENT, "positions", "NULL");
    expect_error("rope_table_f32 negative position",
                 rope_table_f32(r, negative, 4, 0, cos_out, sin_out, 32),
                 ROPE_STATUS_INVALID_ARGUMENT, "positions[3]", "-3");
    expect_error("rope_table_f32 seq_len -1", rope_table_f32(r, positions, 3, -1, cos_out, sin_out, 24),
                 ROPE_STATUS_INVALID_ARGUMENT, "seq_len", "-1");
    expect_error("rope_table_f32 out_len 23", rope_table_f32(r, positions, 3, 0, cos_out, sin_out, 23),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "out", "23");
    check(floats_changed_from(cos_out, 23, 24) == 0 && floats_changed_from(sin_out, 23, 24) == 0,
          "rope_table_f32 out_len 23: entries from index 23 on changed");
    expect_error("rope_table_f32 cos_out NULL", rope_table_f32(r, positions, 3, 0, NULL, sin_out, 24),
                 ROPE_STATUS_INVALID_ARGUMENT, "cos_out", "NULL");
    expect_error("rope_table_f32 sin_out NULL", rope_table_f32(r, positions, 3, 0, cos_out, NULL, 24),
                 ROPE_STATUS_INVALID_ARGUMENT, "sin_out", "NULL");
    expect_ok("rope_table_f32 after failures",
              rope_table_f32(r, positions, 3, 0, cos_out, sin_out, 24));
    check(floats_changed_from(cos_out, 24, 24) == 0 && floats_changed_from(sin_out, 24, 24) == 0,
          "rope_table_f32 wrote past out_len");
    free(cos_out);
    free(sin_out);

    /* rope_apply_f32 on [3 tokens, 2 q heads / 1 k head, 16]. */
    const size_t q_len = 3 * 2 * 16, k_len = 3 * 1 * 16;
    float *q = alloc_floats_guarded(q_len);
    float *k = alloc_floats_guarded(k_len);
    for (size_t i = 0; i < q_len; i++) {
        q[i] = rng_unit();
    }
    for (size_t i = 0; i < k_len; i++) {
        k[i] = rng_unit();
    }
    rope_qk_f32 good = {0};
    good.q = q;
    good.q_len = q_len;
    good.n_q_heads = 2;
    good.k = k;
    good.k_len = k_len;
    good.n_k_heads = 1;
    good.n_tokens = 3;
    good.positions = positions;
    good.layout = ROPE_LAYOUT_TOKENS_HEADS_DIM;
    rope_qk_f32 qk;

    expect_error("rope_apply_f32 r NULL", rope_apply_f32(NULL, &good), ROPE_STATUS_INVALID_ARGUMENT,
                 "r", "NULL");
    expect_error("rope_apply_f32 qk NULL", rope_apply_f32(r, NULL), ROPE_STATUS_INVALID_ARGUMENT,
                 "qk", "NULL");
    qk = good;
    qk.n_tokens = -1;
    expect_error("rope_apply_f32 n_tokens -1", rope_apply_f32(r, &qk), ROPE_STATUS_INVALID_ARGUMENT,
                 "n_tokens", "-1");
    qk = good;
    qk.layout = (rope_layout)2;
    expect_error("rope_apply_f32 layout 2", rope_apply_f32(r, &qk), ROPE_STATUS_INVALID_ARGUMENT,
                 "layout", "2");
    qk.layout = (rope_layout)-1;
    expect_error("rope_apply_f32 layout -1", rope_apply_f32(r, &qk), ROPE_STATUS_INVALID_ARGUMENT,
                 "layout", "-1");
    qk = good;
    qk.n_q_heads = 0;
    expect_error("rope_apply_f32 n_q_heads 0", rope_apply_f32(r, &qk), ROPE_STATUS_INVALID_ARGUMENT,
                 "n_q_heads", "0");
    qk.n_q_heads = -2;
    expect_error("rope_apply_f32 n_q_heads -2", rope_apply_f32(r, &qk), ROPE_STATUS_INVALID_ARGUMENT,
                 "n_q_heads", "-2");
    qk = good;
    qk.n_k_heads = -1;
    expect_error("rope_apply_f32 n_k_heads -1", rope_apply_f32(r, &qk), ROPE_STATUS_INVALID_ARGUMENT,
                 "n_k_heads", "-1");
    /* A NULL buffer is an invalid argument in every function. */
    qk = good;
    qk.q = NULL;
    expect_error("rope_apply_f32 q NULL", rope_apply_f32(r, &qk), ROPE_STATUS_INVALID_ARGUMENT, "q",
                 "NULL");
    qk = good;
    qk.k = NULL;
    expect_error("rope_apply_f32 k NULL with 1 head", rope_apply_f32(r, &qk),
                 ROPE_STATUS_INVALID_ARGUMENT, "k", "NULL");
    qk = good;
    qk.q_len = q_len - 1;
    expect_error("rope_apply_f32 q_len short", rope_apply_f32(r, &qk), ROPE_STATUS_BUFFER_TOO_SMALL,
                 "q_len", "95");
    qk = good;
    qk.k_len = k_len - 1;
    expect_error("rope_apply_f32 k_len short", rope_apply_f32(r, &qk), ROPE_STATUS_BUFFER_TOO_SMALL,
                 "k_len", "47");
    qk = good;
    qk.k_len = 0;
    expect_error("rope_apply_f32 k_len 0", rope_apply_f32(r, &qk), ROPE_STATUS_BUFFER_TOO_SMALL,
                 "k_len", "0");
    /* n_tokens * n_heads * head_dim overflows size_t here (2^31 * 2^31 * 16). */
    qk = good;
    qk.n_tokens = INT32_MAX;
    qk.n_q_heads = INT32_MAX;
    qk.q_len = SIZE_MAX;
    expect_error("rope_apply_f32 q size overflow", rope_apply_f32(r, &qk),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "q_len", "2147483647");
    qk = good;
    qk.positions = NULL;
    expect_error("rope_apply_f32 positions NULL", rope_apply_f32(r, &qk),
                 ROPE_STATUS_INVALID_ARGUMENT, "positions", "NULL");
    const int32_t negative_apply[3] = {4, -1, 7};
    qk = good;
    qk.positions = negative_apply;
    expect_error("rope_apply_f32 negative position", rope_apply_f32(r, &qk),
                 ROPE_STATUS_INVALID_ARGUMENT, "positions[1]", "-1");
    const int32_t int_min_position[3] = {INT32_MIN, 0, 0};
    qk.positions = int_min_position;
    expect_error("rope_apply_f32 position INT32_MIN", rope_apply_f32(r, &qk),
                 ROPE_STATUS_INVALID_ARGUMENT, "positions[0]", "-2147483648");
    qk = good;
    qk.seq_len = -1;
    expect_error("rope_apply_f32 seq_len -1", rope_apply_f32(r, &qk), ROPE_STATUS_INVALID_ARGUMENT,
                 "seq_len", "-1");

    /* After a rejection with a short buffer, the slots past the lengths
     * passed stay untouched: q and k are passed one token short. */
    float *q_before = xcalloc(q_len + GUARD, sizeof *q_before);
    float *k_before = xcalloc(k_len + GUARD, sizeof *k_before);
    memcpy(q_before, q, (q_len + GUARD) * sizeof *q);
    memcpy(k_before, k, (k_len + GUARD) * sizeof *k);
    qk = good;
    qk.q_len = 2 * 2 * 16;
    expect_error("rope_apply_f32 q one token short", rope_apply_f32(r, &qk),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "q_len", "64");
    qk = good;
    qk.k_len = 2 * 1 * 16 + 5;
    expect_error("rope_apply_f32 k short by 11", rope_apply_f32(r, &qk),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "k_len", "37");
    check(same_bits_f(q + 64, q_before + 64, q_len + GUARD - 64),
          "rope_apply_f32: slots of q past q_len changed after a rejection");
    check(same_bits_f(k + 37, k_before + 37, k_len + GUARD - 37),
          "rope_apply_f32: slots of k past k_len changed after a rejection");
    free(q_before);
    free(k_before);

    expect_ok("rope_apply_f32 after failures", rope_apply_f32(r, &good));
    check(floats_changed_from(q, q_len, q_len) == 0 && floats_changed_from(k, k_len, k_len) == 0,
          "rope_apply_f32 wrote past q_len or k_len");
    free(q);
    free(k);

    /* A successful rope_create also clears the previous message. */
    rope *r2 = NULL;
    expect_error("rope_create params NULL", rope_create(NULL, &r2), ROPE_STATUS_INVALID_ARGUMENT,
                 "params", "NULL");
    expect_ok("rope_create after a failure", rope_create(&p, &r2));
    rope_free(r2);

    /* NULL handles. */
    rope_free(NULL);
    check(rope_head_dim(NULL) == 0 && rope_rotary_dim(NULL) == 0 &&
              isnan(rope_attention_scaling(NULL)),
          "accessors on NULL return head_dim %d, rotary_dim %d, scaling %g", (int)rope_head_dim(NULL),
          (int)rope_rotary_dim(NULL), rope_attention_scaling(NULL));
    rope_free(r);
}

static void test_kernels_and_messages(void) {
    /* Natively there is no SIMD128 build: asking for it is UNSUPPORTED and
     * keeps the current kernel. */
    check(rope_has_simd128() == 0, "native build reports SIMD128 kernels");
    check(rope_set_kernel(ROPE_KERNEL_SCALAR) == ROPE_STATUS_OK, "rope_set_kernel(SCALAR) failed");
    expect_error("rope_set_kernel(SIMD128)", rope_set_kernel(ROPE_KERNEL_SIMD128),
                 ROPE_STATUS_UNSUPPORTED, "SIMD128", "2");
    check(rope_active_kernel() == ROPE_KERNEL_SCALAR,
          "rope_set_kernel(SIMD128) changed the active kernel to %d", (int)rope_active_kernel());
    expect_error("rope_set_kernel(3)", rope_set_kernel((rope_kernel)3), ROPE_STATUS_INVALID_ARGUMENT,
                 "kernel", "3");
    expect_error("rope_set_kernel(-1)", rope_set_kernel((rope_kernel)-1),
                 ROPE_STATUS_INVALID_ARGUMENT, "kernel", "-1");
    check(rope_active_kernel() == ROPE_KERNEL_SCALAR,
          "an invalid rope_set_kernel changed the active kernel to %d", (int)rope_active_kernel());
    /* rope_set_kernel is a fallible call like the others, so its success
     * clears the previous failure's message. */
    expect_ok("rope_set_kernel(AUTO) after a failure", rope_set_kernel(ROPE_KERNEL_AUTO));
    check(rope_active_kernel() == ROPE_KERNEL_SCALAR, "AUTO resolves to %d natively, expected SCALAR",
          (int)rope_active_kernel());
    expect_error("rope_set_kernel(SIMD128) again", rope_set_kernel(ROPE_KERNEL_SIMD128),
                 ROPE_STATUS_UNSUPPORTED, "SIMD128", "2");
    expect_ok("rope_set_kernel(SCALAR) after a failure", rope_set_kernel(ROPE_KERNEL_SCALAR));
    rope_set_kernel(ROPE_KERNEL_AUTO);

    const struct {
        rope_status status;
        const char *name;
    } names[] = {
        {ROPE_STATUS_OK, "ROPE_STATUS_OK"},
        {ROPE_STATUS_INVALID_ARGUMENT, "ROPE_STATUS_INVALID_ARGUMENT"},
        {ROPE_STATUS_MISSING_PARAMETER, "ROPE_STATUS_MISSING_PARAMETER"},
        {ROPE_STATUS_BUFFER_TOO_SMALL, "ROPE_STATUS_BUFFER_TOO_SMALL"},
        {ROPE_STATUS_OUT_OF_MEMORY, "ROPE_STATUS_OUT_OF_MEMORY"},
        {ROPE_STATUS_UNSUPPORTED, "ROPE_STATUS_UNSUPPORTED"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *got = rope_status_name(names[i].status);
        check(got != NULL && strcmp(got, names[i].name) == 0, "rope_status_name(%d) is %s",
              (int)names[i].status, got ? got : "NULL");
    }
    const char *unknown = rope_status_name((rope_status)42);
    check(unknown != NULL && unknown[0] != '\0', "rope_status_name(42) is empty or NULL");
}

/* ------------------------------------------------------------------------
 * Allocation failures (only with -DTEST_API_WRAP_MALLOC and --wrap)
 * ---------------------------------------------------------------------- */

#if defined(TEST_API_WRAP_MALLOC)
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);

/* 0: allocate normally. k > 0: the k-th allocation from now and every one
 * after it fail, so that a fallback allocation cannot hide the failure. */
static int fail_from;
static int allocations_seen;

static void fail_allocations_from(int k) {
    fail_from = k;
    allocations_seen = 0;
}

static int allocation_fails(void) {
    return fail_from > 0 && ++allocations_seen >= fail_from;
}

void *__wrap_malloc(size_t size) {
    return allocation_fails() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size) {
    return allocation_fails() ? NULL : __real_calloc(n, size);
}

/* Run `body` in a child process and count it as one check: the child must
 * exit with status 0, and a sanitizer report there exits nonzero. */
static void run_isolated(const char *what, int (*body)(int), int arg) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        check(0, "%s: fork failed", what);
        return;
    }
    if (pid == 0) {
        int saved_failed = n_failed;
        int ok = body(arg);
        fflush(stdout);
        _exit(ok && n_failed == saved_failed ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "%s: the child process %s %d (see the output above)", what,
          WIFEXITED(status) ? "exited with status" : "was killed by signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* rope_create of a longrope with 8 pairs, with allocations failing from
 * the k-th on. It makes four: the object, inv_freq and the two factor
 * copies. */
static int create_with_failure(int k) {
    static const double factors[8] = {1, 1, 1, 1, 2, 2, 2, 2};
    rope_params p;
    rope_params_init(&p, ROPE_TYPE_LONGROPE, 16);
    p.max_position_embeddings = 8192;
    p.original_max_position_embeddings = 4096;
    p.short_factor = factors;
    p.long_factor = factors;
    p.n_factors = 8;
    rope *r = (rope *)(void *)&fail_from;
    fail_allocations_from(k);
    rope_status status = rope_create(&p, &r);
    fail_allocations_from(0);
    char what[64];
    snprintf(what, sizeof what, "rope_create with allocations failing from %d", k);
    expect_error(what, status, ROPE_STATUS_OUT_OF_MEMORY, "memory", "");
    check(r == NULL, "%s: *out is not NULL", what);
    return 1;
}

/* A dynamic rope with 2048 pairs, so that rope_apply_f32 needs heap memory
 * for its frequencies and rows. */
static rope *create_dynamic_4096(void) {
    rope_params p;
    rope_params_init(&p, ROPE_TYPE_DYNAMIC, 4096);
    p.factor = 2.0;
    p.max_position_embeddings = 64;
    rope *r = NULL;
    return rope_create(&p, &r) == ROPE_STATUS_OK ? r : NULL;
}

static int table_with_failure(int k) {
    rope *r = create_dynamic_4096();
    if (r == NULL) {
        return 0;
    }
    const int32_t positions[2] = {1, 100};
    float *buffer = xcalloc(2 * 4096, sizeof *buffer);
    fail_allocations_from(k);
    rope_status status = rope_table_f32(r, positions, 2, 0, buffer, buffer + 4096, 4096);
    fail_allocations_from(0);
    expect_error("rope_table_f32 with every allocation failing", status, ROPE_STATUS_OUT_OF_MEMORY,
                 "memory", "2048");
    free(buffer);
    rope_free(r);
    return 1;
}

/* Run rope_apply_f32 on n_tokens tokens with allocations failing from the
 * k-th on. With expect_oom it must report OUT_OF_MEMORY, otherwise it must
 * produce the same values as without the failure. */
static int apply_with_failure(int k, int32_t n_tokens, int expect_oom) {
    rope *r = create_dynamic_4096();
    if (r == NULL) {
        return 0;
    }
    int32_t *positions = xcalloc((size_t)n_tokens, sizeof *positions);
    for (int32_t t = 0; t < n_tokens; t++) {
        positions[t] = 3 * t + 1;
    }
    const size_t len = (size_t)n_tokens * 4096;
    float *want = xcalloc(len, sizeof *want);
    float *got = xcalloc(len, sizeof *got);
    for (size_t n = 0; n < len; n++) {
        want[n] = got[n] = rng_unit();
    }

    rope_qk_f32 qk = {0};
    qk.q_len = len;
    qk.n_q_heads = 1;
    qk.n_tokens = n_tokens;
    qk.positions = positions;
    qk.q = want;
    rope_status status = rope_apply_f32(r, &qk);

    qk.q = got;
    fail_allocations_from(k);
    rope_status failing_status = rope_apply_f32(r, &qk);
    fail_allocations_from(0);

    char what[96];
    snprintf(what, sizeof what, "rope_apply_f32 on %d tokens, allocations failing from %d",
             (int)n_tokens, k);
    if (expect_oom) {
        expect_error(what, failing_status, ROPE_STATUS_OUT_OF_MEMORY, "memory", "2048");
    } else {
        check(status == ROPE_STATUS_OK && failing_status == ROPE_STATUS_OK &&
                  same_bits_f(want, got, len),
              "%s: status %s, results %s", what, rope_status_name(failing_status),
              same_bits_f(want, got, len) ? "equal" : "differ");
    }
    free(positions);
    free(want);
    free(got);
    rope_free(r);
    return 1;
}

static int apply_needed_failure(int k) {
    return apply_with_failure(k, 2, 1);
}

/* The allocations of rope_apply_f32 for 40 tokens of 2048 pairs are the
 * frequencies, the rows and (from 16 tokens on) an optional speed-up table,
 * whose failure must not change the result. */
static int apply_optional_failure(int k) {
    return apply_with_failure(k, 40, 0);
}

static void test_allocation_failures(void) {
    char what[96];
    for (int k = 1; k <= 4; k++) {
        snprintf(what, sizeof what, "rope_create, allocations failing from %d of 4", k);
        run_isolated(what, create_with_failure, k);
    }
    run_isolated("rope_table_f32, every allocation failing", table_with_failure, 1);
    for (int k = 1; k <= 2; k++) {
        snprintf(what, sizeof what, "rope_apply_f32, allocations failing from %d", k);
        run_isolated(what, apply_needed_failure, k);
    }
    run_isolated("rope_apply_f32, allocations failing from 3", apply_optional_failure, 3);
}
#endif

/* rope_scores_f32: every q_m . k_n against a double loop, then each rejection. */
static void test_scores(void) {
    enum { N_Q = 5, N_K = 3, DIM = 19 };
    float q[N_Q * DIM];
    float k[N_K * DIM];
    for (int i = 0; i < N_Q * DIM; i++) q[i] = (float)((i * 37) % 23 - 11) / 8.0f;
    for (int i = 0; i < N_K * DIM; i++) k[i] = (float)((i * 53) % 29 - 14) / 16.0f;
    double out[N_Q * N_K + GUARD];
    for (int i = 0; i < N_Q * N_K + GUARD; i++) out[i] = -12345.0;

    expect_ok("rope_scores_f32", rope_scores_f32(q, N_Q, k, N_K, DIM, out, N_Q * N_K));
    for (int m = 0; m < N_Q; m++) {
        for (int n = 0; n < N_K; n++) {
            double exact = 0.0;
            for (int j = 0; j < DIM; j++) exact += (double)q[m * DIM + j] * (double)k[n * DIM + j];
            /* The inputs are multiples of 1/16 with small numerators, so
             * every partial sum is exact and the scalar kernel must match. */
            check(out[m * N_K + n] == exact, "rope_scores_f32 [%d][%d]: %.17g, expected %.17g", m, n,
                  out[m * N_K + n], exact);
        }
    }
    for (int i = N_Q * N_K; i < N_Q * N_K + GUARD; i++) {
        check(out[i] == -12345.0, "rope_scores_f32 wrote past out_len at index %d", i);
    }

    expect_error("rope_scores_f32 n_q -1", rope_scores_f32(q, -1, k, N_K, DIM, out, 100),
                 ROPE_STATUS_INVALID_ARGUMENT, "n_q", "-1");
    expect_error("rope_scores_f32 n_k -2", rope_scores_f32(q, N_Q, k, -2, DIM, out, 100),
                 ROPE_STATUS_INVALID_ARGUMENT, "n_k", "-2");
    expect_error("rope_scores_f32 dim 0", rope_scores_f32(q, N_Q, k, N_K, 0, out, 100),
                 ROPE_STATUS_INVALID_ARGUMENT, "dim", "0");
    expect_error("rope_scores_f32 q NULL", rope_scores_f32(NULL, N_Q, k, N_K, DIM, out, 100),
                 ROPE_STATUS_INVALID_ARGUMENT, "q", "NULL");
    expect_error("rope_scores_f32 out NULL", rope_scores_f32(q, N_Q, k, N_K, DIM, NULL, 100),
                 ROPE_STATUS_INVALID_ARGUMENT, "out", "NULL");
    expect_error("rope_scores_f32 out_len 14", rope_scores_f32(q, N_Q, k, N_K, DIM, out, 14),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "out_len", "14");
    expect_ok("rope_scores_f32 no rows", rope_scores_f32(NULL, 0, NULL, 0, DIM, NULL, 0));
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s REFERENCE_FILE [SEED]\n", argv[0]);
        return 2;
    }
    ref_path = argv[1];
    if (argc == 3) {
        rng_state = strtoull(argv[2], NULL, 10);
        if (rng_state == 0) {
            rng_state = 1; /* xorshift stays at 0 forever */
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep order with sanitizer reports on stderr */
    printf("seed %llu\n", (unsigned long long)rng_state);
    check(rope_error_message() != NULL && rope_error_message()[0] == '\0',
          "the message is not empty before any call");

    ref_file = fopen(ref_path, "r");
    if (ref_file == NULL) {
        perror(ref_path);
        return 2;
    }
    ref_expect("vectors");
    int32_t n_vectors = ref_int32();
    printf("reference vectors (%d):\n", (int)n_vectors);
    for (int32_t n = 0; n < n_vectors; n++) {
        ref_vector v;
        memset(&v, 0, sizeof v);
        ref_read_vector(&v);
        test_reference_vector(&v);
        test_properties(&v);
        ref_free_vector(&v);
    }
    fclose(ref_file);

    test_apply_paths();
    test_create_rejections();
    test_call_rejections();
    test_kernels_and_messages();
    test_scores();
#if defined(TEST_API_WRAP_MALLOC)
    test_allocation_failures();
#else
    printf("allocation failure tests skipped: build with -DTEST_API_WRAP_MALLOC and "
           "-Wl,--wrap=malloc,--wrap=calloc\n");
#endif

    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed > 0 ? 1 : 0;
}
