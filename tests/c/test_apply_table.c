/*
 * test_apply_table.c: native tests of rope_apply_table_f32 and of the rows
 * that calls share (the offset rows made by rope_create and the per-thread
 * anchor row).
 *
 * Usage: test_apply_table [SEED]
 *
 * For every rope, layout, pairing and token count below, rows written by
 * rope_table_f32 and passed to rope_apply_table_f32 must rotate q and k to
 * exactly the bits rope_apply_f32 gives for the same positions. The call
 * must leave the floats past each tensor and the rows untouched, and it
 * must accept NULL positions. Then every rejection is checked for its
 * status and its message. The last line is "N passed, M failed"; the exit status is 1
 * when M > 0.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rope.h"

#include "check.h"

static uint64_t rng_state = 1;

static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform in [-1, 1). */
static float rng_unit(void) {
    return (float)((double)(rng_next() >> 40) / (double)(1u << 24) * 2.0 - 1.0);
}

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes == 0 ? 1 : bytes);
    if (p == NULL) {
        fprintf(stderr, "test_apply_table: out of memory\n");
        exit(2);
    }
    return p;
}

/* Values written past the end of every buffer; a call must leave them. */
#define GUARD 16
static const float guard_value = -4321.75f;

static float *guarded_floats(size_t n) {
    float *p = xmalloc((n + GUARD) * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i] = rng_unit();
    }
    for (size_t i = n; i < n + GUARD; i++) {
        p[i] = guard_value;
    }
    return p;
}

static int guards_intact(const float *p, size_t n) {
    for (size_t i = n; i < n + GUARD; i++) {
        if (memcmp(&p[i], &guard_value, sizeof guard_value) != 0) {
            return 0;
        }
    }
    return 1;
}

static int same_bits(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof *a) == 0;
}

static rope *make_rope(const rope_params *p, const char *what) {
    rope *r = NULL;
    rope_status status = rope_create(p, &r);
    if (!check(status == ROPE_STATUS_OK, "%s: rope_create returned %s: %s", what,
               rope_status_name(status), rope_error_message())) {
        return NULL;
    }
    return r;
}

/* ------------------------------------------------------------------------
 * Equality with rope_apply_f32
 * ---------------------------------------------------------------------- */

typedef enum { POSITIONS_CONSECUTIVE, POSITIONS_RANDOM, POSITIONS_FAR } positions_kind;

static void fill_positions(int32_t *positions, int32_t n, positions_kind kind) {
    for (int32_t t = 0; t < n; t++) {
        switch (kind) {
        case POSITIONS_CONSECUTIVE: positions[t] = 7 + t; break;
        case POSITIONS_RANDOM: positions[t] = (int32_t)(rng_next() % 300000); break;
        case POSITIONS_FAR: positions[t] = 2147483647 - (int32_t)(rng_next() % 100000); break;
        }
    }
}

static const char *kind_name(positions_kind kind) {
    switch (kind) {
    case POSITIONS_CONSECUTIVE: return "consecutive";
    case POSITIONS_RANDOM: return "random";
    case POSITIONS_FAR: return "far";
    }
    return "?";
}

/* One case: rows from rope_table_f32, then both apply functions on copies
 * of the same q and k. */
static void check_case(const char *name, const rope *r, rope_layout layout, int32_t n_tokens,
                       int32_t n_q_heads, int32_t n_k_heads, positions_kind kind, int64_t seq_len) {
    const int32_t head_dim = rope_head_dim(r);
    const size_t n_pairs = (size_t)(rope_rotary_dim(r) / 2);
    const size_t q_len = (size_t)n_tokens * (size_t)n_q_heads * (size_t)head_dim;
    const size_t k_len = (size_t)n_tokens * (size_t)n_k_heads * (size_t)head_dim;
    const size_t rows = (size_t)n_tokens * n_pairs;
    int32_t *positions = xmalloc((size_t)n_tokens * sizeof *positions + 1);
    fill_positions(positions, n_tokens, kind);

    float *q_want = guarded_floats(q_len);
    float *k_want = guarded_floats(k_len);
    float *q_got = xmalloc((q_len + GUARD) * sizeof *q_got);
    float *k_got = xmalloc((k_len + GUARD) * sizeof *k_got);
    memcpy(q_got, q_want, (q_len + GUARD) * sizeof *q_got);
    memcpy(k_got, k_want, (k_len + GUARD) * sizeof *k_got);
    float *cos = guarded_floats(rows);
    float *sin = guarded_floats(rows);

    char what[256];
    snprintf(what, sizeof what, "%s, %s, %d tokens, %d+%d heads, %s positions, seq_len %lld", name,
             layout == ROPE_LAYOUT_TOKENS_HEADS_DIM ? "thd" : "htd", (int)n_tokens, (int)n_q_heads,
             (int)n_k_heads, kind_name(kind), (long long)seq_len);

    rope_status status = rope_table_f32(r, positions, n_tokens, seq_len, cos, sin, rows);
    check(status == ROPE_STATUS_OK, "%s: rope_table_f32 returned %s: %s", what,
          rope_status_name(status), rope_error_message());
    float *cos_before = xmalloc((rows + GUARD) * sizeof *cos_before);
    float *sin_before = xmalloc((rows + GUARD) * sizeof *sin_before);
    memcpy(cos_before, cos, (rows + GUARD) * sizeof *cos);
    memcpy(sin_before, sin, (rows + GUARD) * sizeof *sin);

    rope_qk_f32 qk = {0};
    qk.q = q_want;
    qk.q_len = q_len;
    qk.n_q_heads = n_q_heads;
    qk.k = n_k_heads > 0 ? k_want : NULL;
    qk.k_len = k_len;
    qk.n_k_heads = n_k_heads;
    qk.n_tokens = n_tokens;
    qk.positions = positions;
    qk.layout = layout;
    qk.seq_len = seq_len;
    status = rope_apply_f32(r, &qk);
    check(status == ROPE_STATUS_OK, "%s: rope_apply_f32 returned %s: %s", what,
          rope_status_name(status), rope_error_message());

    /* The table call ignores positions and seq_len: pass neither. */
    qk.q = q_got;
    qk.k = n_k_heads > 0 ? k_got : NULL;
    qk.positions = NULL;
    qk.seq_len = 0;
    status = rope_apply_table_f32(r, &qk, cos, sin, rows);
    check(status == ROPE_STATUS_OK, "%s: rope_apply_table_f32 returned %s: %s", what,
          rope_status_name(status), rope_error_message());
    check(rope_error_message()[0] == '\0', "%s: a successful call left the message \"%s\"", what,
          rope_error_message());
    check(same_bits(q_got, q_want, q_len), "%s: q differs from rope_apply_f32", what);
    check(same_bits(k_got, k_want, k_len), "%s: k differs from rope_apply_f32", what);
    check(guards_intact(q_got, q_len) && guards_intact(k_got, k_len),
          "%s: a float past the end of q or k changed", what);
    check(same_bits(cos, cos_before, rows + GUARD) && same_bits(sin, sin_before, rows + GUARD),
          "%s: the rows or the floats past them changed", what);

    free(positions);
    free(q_want);
    free(k_want);
    free(q_got);
    free(k_got);
    free(cos);
    free(sin);
    free(cos_before);
    free(sin_before);
}

static void test_equality(void) {
    rope_params p;
    const int32_t token_counts[] = {0, 1, 2, 15, 16, 17, 130, 600};
    const int n_counts = (int)(sizeof token_counts / sizeof token_counts[0]);

    struct {
        const char *name;
        rope_type type;
        int32_t head_dim, rotary_dim;
        rope_pairing pairing;
    } shapes[] = {
        {"default d128 half", ROPE_TYPE_DEFAULT, 128, 0, ROPE_PAIRING_HALF},
        {"default d64 interleaved", ROPE_TYPE_DEFAULT, 64, 0, ROPE_PAIRING_INTERLEAVED},
        {"default d80 rotary 40 half", ROPE_TYPE_DEFAULT, 80, 40, ROPE_PAIRING_HALF},
        {"default d10 rotary 6 interleaved", ROPE_TYPE_DEFAULT, 10, 6, ROPE_PAIRING_INTERLEAVED},
        {"yarn d32 half", ROPE_TYPE_YARN, 32, 0, ROPE_PAIRING_HALF},
        {"dynamic d16 half", ROPE_TYPE_DYNAMIC, 16, 0, ROPE_PAIRING_HALF},
        {"default d1024 half (no offset rows kept)", ROPE_TYPE_DEFAULT, 1024, 0, ROPE_PAIRING_HALF},
    };
    const int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
    for (int s = 0; s < n_shapes; s++) {
        rope_params_init(&p, shapes[s].type, shapes[s].head_dim);
        p.rotary_dim = shapes[s].rotary_dim;
        p.pairing = shapes[s].pairing;
        if (shapes[s].type == ROPE_TYPE_YARN) {
            p.factor = 4.0;
            p.original_max_position_embeddings = 4096;
        } else if (shapes[s].type == ROPE_TYPE_DYNAMIC) {
            p.factor = 2.0;
            p.max_position_embeddings = 64;
        }
        rope *r = make_rope(&p, shapes[s].name);
        if (r == NULL) {
            continue;
        }
        const int32_t big = shapes[s].head_dim >= 1024 ? 130 : 600;
        for (int c = 0; c < n_counts; c++) {
            if (token_counts[c] > big) {
                continue;
            }
            for (int layout = 0; layout <= 1; layout++) {
                check_case(shapes[s].name, r, (rope_layout)layout, token_counts[c], 3, 1,
                           (positions_kind)(c % 3), 0);
                check_case(shapes[s].name, r, (rope_layout)layout, token_counts[c], 9, 0,
                           POSITIONS_CONSECUTIVE, 0);
            }
        }
        if (shapes[s].type == ROPE_TYPE_DYNAMIC) {
            /* Rows made for a longer sequence carry its frequencies. */
            check_case(shapes[s].name, r, ROPE_LAYOUT_TOKENS_HEADS_DIM, 17, 2, 2, POSITIONS_RANDOM,
                       1000000);
            check_case(shapes[s].name, r, ROPE_LAYOUT_HEADS_TOKENS_DIM, 17, 2, 2, POSITIONS_RANDOM,
                       1000000);
        }
        rope_free(r);
    }
}

/* ------------------------------------------------------------------------
 * Rows shared between calls and between ropes
 * ---------------------------------------------------------------------- */

/* |row value - scaling * cos(p theta)| stays at float32 rounding, so a row
 * built from another rope's cached anchor values (a different base) would
 * be far off. */
static double worst_row_error(const rope *r, const int32_t *positions, int32_t n) {
    const size_t n_pairs = (size_t)(rope_rotary_dim(r) / 2);
    float *row_c = xmalloc((size_t)n * n_pairs * sizeof *row_c);
    float *row_s = xmalloc((size_t)n * n_pairs * sizeof *row_s);
    double *theta = xmalloc(n_pairs * sizeof *theta);
    double worst = INFINITY;
    if (rope_table_f32(r, positions, n, 0, row_c, row_s, (size_t)n * n_pairs) == ROPE_STATUS_OK &&
        rope_inv_freq(r, 1, theta, n_pairs) == ROPE_STATUS_OK) {
        worst = 0.0;
        for (int32_t t = 0; t < n; t++) {
            for (size_t i = 0; i < n_pairs; i++) {
                const double angle = (double)positions[t] * theta[i];
                const double dc = fabs((double)row_c[(size_t)t * n_pairs + i] - cos(angle));
                const double ds = fabs((double)row_s[(size_t)t * n_pairs + i] - sin(angle));
                worst = fmax(worst, fmax(dc, ds));
            }
        }
    }
    free(row_c);
    free(row_s);
    free(theta);
    return worst;
}

static void test_shared_rows(void) {
    rope_params a, b;
    rope_params_init(&a, ROPE_TYPE_DEFAULT, 64);
    rope_params_init(&b, ROPE_TYPE_DEFAULT, 64);
    b.base = 500000.0;
    const int32_t first[1] = {4100};
    const int32_t second[1] = {4101}; /* same anchor (4096) as first */

    /* Alternate two ropes on positions with one anchor. */
    rope *ra = make_rope(&a, "base 10000");
    rope *rb = make_rope(&b, "base 500000");
    if (ra != NULL && rb != NULL) {
        for (int round = 0; round < 3; round++) {
            check(worst_row_error(ra, first, 1) < 1e-6, "round %d: base 10000 row off", round);
            check(worst_row_error(rb, second, 1) < 1e-6, "round %d: base 500000 row off", round);
        }
    }
    rope_free(ra);
    rope_free(rb);

    /* A rope created after another is freed may reuse its address; it must
     * not reuse the other's anchor values. */
    for (int round = 0; round < 4; round++) {
        rope *r = make_rope(round % 2 == 0 ? &a : &b, "recreated rope");
        if (r != NULL) {
            check(worst_row_error(r, round < 2 ? first : second, 1) < 1e-6,
                  "recreated rope %d: row off (stale anchor values?)", round);
        }
        rope_free(r);
    }

    /* One position, asked for alone, inside a long call, and again alone,
     * gives the same bits each time. */
    rope *r = make_rope(&a, "bits by path");
    if (r != NULL) {
        const size_t n_pairs = 32;
        int32_t positions[40];
        for (int32_t t = 0; t < 40; t++) {
            positions[t] = 4090 + t;
        }
        float all_c[40 * 32], all_s[40 * 32], one_c[32], one_s[32];
        check(rope_table_f32(r, positions, 40, 0, all_c, all_s, 40 * n_pairs) == ROPE_STATUS_OK,
              "bits by path: 40 rows");
        for (int32_t t = 0; t < 40; t += 13) {
            check(rope_table_f32(r, &positions[t], 1, 0, one_c, one_s, n_pairs) == ROPE_STATUS_OK &&
                      same_bits(one_c, &all_c[(size_t)t * n_pairs], n_pairs) &&
                      same_bits(one_s, &all_s[(size_t)t * n_pairs], n_pairs),
                  "bits by path: position %d alone differs from the 40-row call", (int)positions[t]);
        }
    }
    rope_free(r);
}

/* ------------------------------------------------------------------------
 * Rejections
 * ---------------------------------------------------------------------- */

static void expect_error(const char *what, rope_status got, rope_status want, const char *part1,
                         const char *part2) {
    const char *message = rope_error_message();
    check(got == want, "%s: status %s, expected %s", what, rope_status_name(got),
          rope_status_name(want));
    check(strstr(message, part1) != NULL && strstr(message, part2) != NULL &&
              strstr(message, "expected") != NULL,
          "%s: message \"%s\" lacks \"%s\", \"%s\" or \"expected\"", what, message, part1, part2);
}

static void test_rejections(void) {
    rope_params p;
    rope_params_init(&p, ROPE_TYPE_DEFAULT, 8);
    rope *r = make_rope(&p, "rejections");
    if (r == NULL) {
        return;
    }
    float q[2 * 3 * 8], k[2 * 8], cos[2 * 4], sin[2 * 4];
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        q[i] = (float)i;
    }
    memcpy(k, q, sizeof k);
    for (int i = 0; i < 8; i++) {
        cos[i] = 1.0f;
        sin[i] = 0.0f;
    }
    rope_qk_f32 good = {0};
    good.q = q;
    good.q_len = 2 * 3 * 8;
    good.n_q_heads = 3;
    good.k = k;
    good.k_len = 2 * 8;
    good.n_k_heads = 1;
    good.n_tokens = 2;
    good.layout = ROPE_LAYOUT_TOKENS_HEADS_DIM;
    check(rope_apply_table_f32(r, &good, cos, sin, 8) == ROPE_STATUS_OK, "the good call fails: %s",
          rope_error_message());

    rope_qk_f32 qk = good;
    expect_error("r NULL", rope_apply_table_f32(NULL, &qk, cos, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "r is NULL", "rope_create");
    expect_error("qk NULL", rope_apply_table_f32(r, NULL, cos, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "qk is NULL", "rope_qk_f32");
    expect_error("cos NULL", rope_apply_table_f32(r, &qk, NULL, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "cos is NULL", "8 floats");
    expect_error("sin NULL", rope_apply_table_f32(r, &qk, cos, NULL, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "sin is NULL", "8 floats");
    expect_error("table_len short", rope_apply_table_f32(r, &qk, cos, sin, 7),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "table_len is 7", "2 * 4 = 8");
    qk.n_tokens = -1;
    expect_error("n_tokens negative", rope_apply_table_f32(r, &qk, cos, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "n_tokens is -1", ">= 0");
    qk = good;
    qk.layout = (rope_layout)2;
    expect_error("layout 2", rope_apply_table_f32(r, &qk, cos, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "layout is 2", "[heads, tokens, head_dim]");
    qk = good;
    qk.q = NULL;
    expect_error("q NULL", rope_apply_table_f32(r, &qk, cos, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "q is NULL", "3 heads");
    qk = good;
    qk.n_q_heads = 0;
    expect_error("no q heads", rope_apply_table_f32(r, &qk, cos, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "n_q_heads is 0", ">= 1");
    qk = good;
    qk.q_len = 47;
    expect_error("q_len short", rope_apply_table_f32(r, &qk, cos, sin, 8),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "q_len is 47", "2 * 3 * 8");
    qk = good;
    qk.k = NULL;
    expect_error("k NULL with heads", rope_apply_table_f32(r, &qk, cos, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "k is NULL", "1 heads");
    qk = good;
    qk.k_len = 15;
    expect_error("k_len short", rope_apply_table_f32(r, &qk, cos, sin, 8),
                 ROPE_STATUS_BUFFER_TOO_SMALL, "k_len is 15", "2 * 1 * 8");
    qk = good;
    qk.n_k_heads = -2;
    expect_error("k heads negative", rope_apply_table_f32(r, &qk, cos, sin, 8),
                 ROPE_STATUS_INVALID_ARGUMENT, "n_k_heads is -2", ">= 0");

    /* A rejected call writes nothing. */
    float q_copy[sizeof q / sizeof q[0]];
    memcpy(q_copy, q, sizeof q);
    qk = good;
    rope_apply_table_f32(r, &qk, cos, sin, 7);
    check(same_bits(q, q_copy, sizeof q / sizeof q[0]), "a rejected call changed q");

    /* Zero tokens need no rows at all, but the pointers are still checked. */
    qk = good;
    qk.n_tokens = 0;
    check(rope_apply_table_f32(r, &qk, cos, sin, 0) == ROPE_STATUS_OK,
          "0 tokens with table_len 0 fails: %s", rope_error_message());
    expect_error("0 tokens, cos NULL", rope_apply_table_f32(r, &qk, NULL, sin, 0),
                 ROPE_STATUS_INVALID_ARGUMENT, "cos is NULL", "0 floats");
    rope_free(r);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        rng_state = strtoull(argv[1], NULL, 10) | 1;
    }
    test_equality();
    test_shared_rows();
    test_rejections();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed > 0 ? 1 : 0;
}
