/*
 * table.c: cos/sin tables, rope_table_f32, and the position checks shared
 * with rope_apply_f32.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "internal.h"

rope_status rope__check_positions(const int32_t *positions, int32_t n, int32_t *max_position) {
    *max_position = -1;
    if (n < 0) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "n_positions is %d; expected an integer >= 0", (int)n);
    }
    if (n > 0 && positions == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "positions is NULL; expected %d positions", (int)n);
    }
    for (int32_t t = 0; t < n; t++) {
        if (positions[t] < 0) {
            return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                              "positions[%d] is %d; expected an integer from 0 to 2147483647",
                              (int)t, (int)positions[t]);
        }
        if (positions[t] > *max_position) {
            *max_position = positions[t];
        }
    }
    return ROPE_STATUS_OK;
}

rope_status rope__resolve_seq_len(int64_t seq_len, int32_t max_position, int64_t *out) {
    if (seq_len < 0) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "seq_len is %lld; expected an integer >= 1, or 0 for the largest "
                          "position + 1",
                          (long long)seq_len);
    }
    *out = seq_len > 0 ? seq_len : (int64_t)max_position + 1;
    if (*out < 1) {
        *out = 1; /* no positions: any length gives the same empty result */
    }
    return ROPE_STATUS_OK;
}

/*
 * Exact cos/sin rows.
 *
 * Every entry is float32(scaling * cos(p * theta)) with p * theta formed in
 * double. The position is split as p = A + d with A = p rounded down to a
 * multiple of ROPE_ANCHOR_SPAN and 0 <= d < ROPE_ANCHOR_SPAN, and
 *     cos(A t + d t) = cos(A t) cos(d t) - sin(A t) sin(d t)
 *     sin(A t + d t) = sin(A t) cos(d t) + cos(A t) sin(d t)
 * (angle addition) combines two double sincos values with four products
 * and two sums. The split depends on p alone, so a position gets the same
 * bits whatever call computes it and whatever else is in that call; what
 * changes between paths is only how often the two sincos values are
 * recomputed: a long call computes the ROPE_ANCHOR_SPAN values of cos(d t)
 * once and cos(A t) once per run of positions sharing A.
 *
 * sincos itself: k = nearest integer to x * 2/pi, r = x - k pi/2 with pi/2
 * split in three parts (Cody and Waite): the first two have at most 21
 * significant bits, so k * part is exact for |k| < 2^31 and the reduced r
 * is off by about 3 * 2^-54; then Taylor polynomials of degree 13 (sin)
 * and 14 (cos) on |r| <= pi/4, whose truncation error is below 3e-14, and
 * the quadrant k mod 4 picks signs and swaps. |x| >= 2^31 (only possible
 * with a frequency above 1) falls back to libm. Both angles are products of
 * a double frequency and an integer below 2^31, so each is within an ulp of
 * the exact angle; the combined result is within a few double ulps of
 * cos(p theta), far below the float32 rounding that follows.
 *
 * The SIMD128 build runs the same double operations two lanes at a time,
 * in the same order and without fused multiply-add, so both builds produce
 * the same bits.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define ROPE_INV_PIO2 0x1.45f306dc9c883p-1   /* 2 / pi */
#define ROPE_PIO2_1 0x1.921fb00000000p+0     /* pi/2, first 21 bits */
#define ROPE_PIO2_2 0x1.5110b00000000p-22    /* next 21 bits */
#define ROPE_PIO2_3 0x1.18469898cc517p-44    /* rest, rounded to double */
#define ROPE_ROUND_MAGIC 0x1.8p52            /* x + 1.5 * 2^52 rounds x to an integer */
#define ROPE_FAST_LIMIT 0x1p31               /* |x| below this takes the polynomial path */

/* (-1)^k / (2k+1)! and (-1)^k / (2k)!, rounded to double. */
#define ROPE_S1 -0x1.5555555555555p-3
#define ROPE_S2 0x1.1111111111111p-7
#define ROPE_S3 -0x1.a01a01a01a01ap-13
#define ROPE_S4 0x1.71de3a556c734p-19
#define ROPE_S5 -0x1.ae64567f544e4p-26
#define ROPE_S6 0x1.6124613a86d09p-33
#define ROPE_C1 -0.5
#define ROPE_C2 0x1.5555555555555p-5
#define ROPE_C3 -0x1.6c16c16c16c17p-10
#define ROPE_C4 0x1.a01a01a01a01ap-16
#define ROPE_C5 -0x1.27e4fb7789f5cp-22
#define ROPE_C6 0x1.1eed8eff8d898p-29
#define ROPE_C7 -0x1.93974a8c07c9dp-37

static inline void sincos_1(double x, double *s_out, double *c_out) {
    if (!(fabs(x) < ROPE_FAST_LIMIT)) {
        *s_out = sin(x);
        *c_out = cos(x);
        return;
    }
    const double t = x * ROPE_INV_PIO2 + ROPE_ROUND_MAGIC;
    const double k = t - ROPE_ROUND_MAGIC;
    double r = x - k * ROPE_PIO2_1;
    r = r - k * ROPE_PIO2_2;
    r = r - k * ROPE_PIO2_3;
    const double z = r * r;
    const double ps = ROPE_S1 + z * (ROPE_S2 + z * (ROPE_S3 + z * (ROPE_S4 + z * (ROPE_S5 + z * ROPE_S6))));
    const double pc = ROPE_C1 + z * (ROPE_C2 + z * (ROPE_C3 + z * (ROPE_C4 + z * (ROPE_C5 + z * (ROPE_C6 + z * ROPE_C7)))));
    const double s = r + (r * z) * ps;
    const double c = 1.0 + z * pc;
    /* The low mantissa bits of t hold k mod 4 (two's complement). */
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    const uint64_t swap = 0 - (bits & 1);
    const uint64_t sin_sign = (bits << 62) & 0x8000000000000000u;
    const uint64_t cos_sign = ((bits + 1) << 62) & 0x8000000000000000u;
    uint64_t sb, cb;
    memcpy(&sb, &s, sizeof sb);
    memcpy(&cb, &c, sizeof cb);
    const uint64_t sin_bits = ((cb & swap) | (sb & ~swap)) ^ sin_sign;
    const uint64_t cos_bits = ((sb & swap) | (cb & ~swap)) ^ cos_sign;
    memcpy(s_out, &sin_bits, sizeof *s_out);
    memcpy(c_out, &cos_bits, sizeof *c_out);
}

#if defined(__wasm_simd128__)
/* sincos_1 on both lanes of x, operation for operation. */
static inline void sincos_2(v128_t x, v128_t *s_out, v128_t *c_out) {
    const v128_t magic = wasm_f64x2_splat(ROPE_ROUND_MAGIC);
    const v128_t t = wasm_f64x2_add(wasm_f64x2_mul(x, wasm_f64x2_splat(ROPE_INV_PIO2)), magic);
    const v128_t k = wasm_f64x2_sub(t, magic);
    v128_t r = wasm_f64x2_sub(x, wasm_f64x2_mul(k, wasm_f64x2_splat(ROPE_PIO2_1)));
    r = wasm_f64x2_sub(r, wasm_f64x2_mul(k, wasm_f64x2_splat(ROPE_PIO2_2)));
    r = wasm_f64x2_sub(r, wasm_f64x2_mul(k, wasm_f64x2_splat(ROPE_PIO2_3)));
    const v128_t z = wasm_f64x2_mul(r, r);
#define ROPE_STEP(acc, coef) wasm_f64x2_add(wasm_f64x2_splat(coef), wasm_f64x2_mul(z, acc))
    v128_t ps = wasm_f64x2_splat(ROPE_S6);
    ps = ROPE_STEP(ps, ROPE_S5);
    ps = ROPE_STEP(ps, ROPE_S4);
    ps = ROPE_STEP(ps, ROPE_S3);
    ps = ROPE_STEP(ps, ROPE_S2);
    ps = ROPE_STEP(ps, ROPE_S1);
    v128_t pc = wasm_f64x2_splat(ROPE_C7);
    pc = ROPE_STEP(pc, ROPE_C6);
    pc = ROPE_STEP(pc, ROPE_C5);
    pc = ROPE_STEP(pc, ROPE_C4);
    pc = ROPE_STEP(pc, ROPE_C3);
    pc = ROPE_STEP(pc, ROPE_C2);
    pc = ROPE_STEP(pc, ROPE_C1);
#undef ROPE_STEP
    const v128_t s = wasm_f64x2_add(r, wasm_f64x2_mul(wasm_f64x2_mul(r, z), ps));
    const v128_t c = wasm_f64x2_add(wasm_f64x2_splat(1.0), wasm_f64x2_mul(z, pc));
    const v128_t swap = wasm_i64x2_shr(wasm_i64x2_shl(t, 63), 63);
    const v128_t sign = wasm_i64x2_splat((int64_t)0x8000000000000000u);
    const v128_t sin_sign = wasm_v128_and(wasm_i64x2_shl(t, 62), sign);
    const v128_t cos_sign = wasm_v128_and(wasm_i64x2_shl(wasm_i64x2_add(t, wasm_i64x2_splat(1)), 62), sign);
    v128_t sin_v = wasm_v128_xor(wasm_v128_bitselect(c, s, swap), sin_sign);
    v128_t cos_v = wasm_v128_xor(wasm_v128_bitselect(s, c, swap), cos_sign);
    /* Rare: a lane at or past the polynomial's range goes through libm. */
    const v128_t in_range = wasm_f64x2_lt(wasm_f64x2_abs(x), wasm_f64x2_splat(ROPE_FAST_LIMIT));
    if (!wasm_i64x2_all_true(in_range)) {
        double lanes_s[2], lanes_c[2];
        wasm_v128_store(lanes_s, sin_v);
        wasm_v128_store(lanes_c, cos_v);
        for (int j = 0; j < 2; j++) {
            const double xj = j == 0 ? wasm_f64x2_extract_lane(x, 0) : wasm_f64x2_extract_lane(x, 1);
            sincos_1(xj, &lanes_s[j], &lanes_c[j]);
        }
        sin_v = wasm_v128_load(lanes_s);
        cos_v = wasm_v128_load(lanes_c);
    }
    *s_out = sin_v;
    *c_out = cos_v;
}
#endif

/* cos/sin (double) of position * inv_freq[i] for i in [0, n). */
static void sincos_row(double position, const double *inv_freq, int32_t n, double *c_out,
                       double *s_out) {
    int32_t i = 0;
#if defined(__wasm_simd128__)
    const v128_t p = wasm_f64x2_splat(position);
    for (; i + 2 <= n; i += 2) {
        v128_t s, c;
        sincos_2(wasm_f64x2_mul(p, wasm_v128_load(inv_freq + i)), &s, &c);
        wasm_v128_store(c_out + i, c);
        wasm_v128_store(s_out + i, s);
    }
#endif
    for (; i < n; i++) {
        sincos_1(position * inv_freq[i], &s_out[i], &c_out[i]);
    }
}

/* One float32 row from anchor and offset sincos values (angle addition). */
static void combine_row(const double *ac, const double *as, const double *dc, const double *ds,
                        int32_t n, double scale, float *cos_row, float *sin_row) {
    int32_t i = 0;
#if defined(__wasm_simd128__)
    const v128_t sc = wasm_f64x2_splat(scale);
    for (; i + 4 <= n; i += 4) {
        /* Both halves written out: at -Os a loop over them kept c and s in
         * memory, which made a decode row about 25 ns slower. */
        const v128_t a_c0 = wasm_v128_load(ac + i);
        const v128_t a_c1 = wasm_v128_load(ac + i + 2);
        const v128_t a_s0 = wasm_v128_load(as + i);
        const v128_t a_s1 = wasm_v128_load(as + i + 2);
        const v128_t d_c0 = wasm_v128_load(dc + i);
        const v128_t d_c1 = wasm_v128_load(dc + i + 2);
        const v128_t d_s0 = wasm_v128_load(ds + i);
        const v128_t d_s1 = wasm_v128_load(ds + i + 2);
        const v128_t c0 =
            wasm_f64x2_mul(sc, wasm_f64x2_sub(wasm_f64x2_mul(a_c0, d_c0), wasm_f64x2_mul(a_s0, d_s0)));
        const v128_t c1 =
            wasm_f64x2_mul(sc, wasm_f64x2_sub(wasm_f64x2_mul(a_c1, d_c1), wasm_f64x2_mul(a_s1, d_s1)));
        const v128_t s0 =
            wasm_f64x2_mul(sc, wasm_f64x2_add(wasm_f64x2_mul(a_s0, d_c0), wasm_f64x2_mul(a_c0, d_s0)));
        const v128_t s1 =
            wasm_f64x2_mul(sc, wasm_f64x2_add(wasm_f64x2_mul(a_s1, d_c1), wasm_f64x2_mul(a_c1, d_s1)));
        /* Demote each pair of doubles to floats in lanes 0-1 and join them. */
        const v128_t c_lo = wasm_f32x4_demote_f64x2_zero(c0);
        const v128_t c_hi = wasm_f32x4_demote_f64x2_zero(c1);
        const v128_t s_lo = wasm_f32x4_demote_f64x2_zero(s0);
        const v128_t s_hi = wasm_f32x4_demote_f64x2_zero(s1);
        wasm_v128_store(cos_row + i, wasm_i32x4_shuffle(c_lo, c_hi, 0, 1, 4, 5));
        wasm_v128_store(sin_row + i, wasm_i32x4_shuffle(s_lo, s_hi, 0, 1, 4, 5));
    }
#endif
    for (; i < n; i++) {
        cos_row[i] = (float)(scale * (ac[i] * dc[i] - as[i] * ds[i]));
        sin_row[i] = (float)(scale * (as[i] * dc[i] + ac[i] * ds[i]));
    }
}

size_t rope__row_scratch_doubles(int32_t n_pairs) {
    return (size_t)(2 * ROPE_ANCHOR_SPAN + 4) * (size_t)n_pairs;
}

void rope__offset_rows(const double *inv_freq, int32_t n, double *cos_out, double *sin_out) {
    for (int32_t d = 0; d < ROPE_ANCHOR_SPAN; d++) {
        sincos_row((double)d, inv_freq, n, cos_out + (size_t)d * (size_t)n,
                   sin_out + (size_t)d * (size_t)n);
    }
}

/* The last anchor row this thread computed with a rope's own frequencies.
 * A decode loop needs the same anchor for 16 consecutive positions and
 * once per layer for each, so most calls skip the anchor's sincos row. The
 * values are exactly those sincos_row gives, so a hit changes no bit; the
 * cache is per thread, so a shared rope stays read-only. */
typedef struct anchor_cache {
    uint64_t key;                 /* rope serial, 0 = empty */
    int32_t anchor;
    double cos[ROPE_OFFSET_ROWS_MAX_PAIRS];
    double sin[ROPE_OFFSET_ROWS_MAX_PAIRS];
} anchor_cache;

static _Thread_local anchor_cache last_anchor;

void rope__row_plan_init(rope_row_plan *plan, const rope *r, const double *inv_freq, double *scratch,
                         int32_t n_positions) {
    const int32_t n = r->n_pairs;
    plan->inv_freq = inv_freq;
    plan->n_pairs = n;
    plan->scale = r->attention_scaling;
    plan->scratch = scratch;
    plan->anchor = -1;
    plan->offset_cos = NULL;
    plan->offset_sin = NULL;
    plan->cache_key = 0;
    if (inv_freq == r->inv_freq && r->offset_cos != NULL) {
        /* offset_cos is set only for n <= ROPE_OFFSET_ROWS_MAX_PAIRS. */
        plan->offset_cos = r->offset_cos;
        plan->offset_sin = r->offset_sin;
        plan->cache_key = r->serial;
    } else if (scratch != NULL && n_positions >= ROPE_ANCHOR_SPAN) {
        /* The offset table costs ROPE_ANCHOR_SPAN sincos rows and saves
         * one per position, so it pays off from about that many positions. */
        double *dc = scratch + 4 * (size_t)n;
        double *ds = dc + (size_t)ROPE_ANCHOR_SPAN * (size_t)n;
        rope__offset_rows(inv_freq, n, dc, ds);
        plan->offset_cos = dc;
        plan->offset_sin = ds;
    }
}

void rope__fill_rows(rope_row_plan *plan, const int32_t *positions, int32_t n_positions,
                     float *cos_out, float *sin_out) {
    const int32_t n = plan->n_pairs;
    if (plan->cache_key != 0) {
        anchor_cache *cache = &last_anchor;
        for (int32_t t = 0; t < n_positions; t++) {
            const int32_t p = positions[t];
            const int32_t anchor = p & ~(int32_t)(ROPE_ANCHOR_SPAN - 1);
            const size_t offset = (size_t)(p & (ROPE_ANCHOR_SPAN - 1));
            if (cache->key != plan->cache_key || cache->anchor != anchor) {
                sincos_row((double)anchor, plan->inv_freq, n, cache->cos, cache->sin);
                cache->key = plan->cache_key;
                cache->anchor = anchor;
            }
            combine_row(cache->cos, cache->sin, plan->offset_cos + offset * (size_t)n,
                        plan->offset_sin + offset * (size_t)n, n, plan->scale,
                        cos_out + (size_t)t * (size_t)n, sin_out + (size_t)t * (size_t)n);
        }
        return;
    }
    /* Without scratch, rows are done in chunks of up to 64 pairs on the
     * stack, and the anchor values last only for this call. */
    double local[4 * 64];
    double *buf = plan->scratch != NULL ? plan->scratch : local;
    const int32_t chunk = plan->scratch != NULL ? n : 64;
    const int keep_anchor = n <= chunk;
    if (plan->scratch == NULL) {
        plan->anchor = -1;
    }
    for (int32_t i0 = 0; i0 < n; i0 += chunk) {
        const int32_t m = n - i0 < chunk ? n - i0 : chunk;
        const double *freq = plan->inv_freq + i0;
        double *ac = buf, *as = buf + m, *dc_one = buf + 2 * m, *ds_one = buf + 3 * m;
        for (int32_t t = 0; t < n_positions; t++) {
            const int32_t p = positions[t];
            const int32_t anchor = p & ~(int32_t)(ROPE_ANCHOR_SPAN - 1);
            const int32_t offset = p & (ROPE_ANCHOR_SPAN - 1);
            if (!keep_anchor || anchor != plan->anchor) {
                sincos_row((double)anchor, freq, m, ac, as);
                plan->anchor = keep_anchor ? anchor : -1;
            }
            const double *dc, *ds;
            if (plan->offset_cos != NULL) {
                dc = plan->offset_cos + (size_t)offset * (size_t)n + i0;
                ds = plan->offset_sin + (size_t)offset * (size_t)n + i0;
            } else {
                sincos_row((double)offset, freq, m, dc_one, ds_one);
                dc = dc_one;
                ds = ds_one;
            }
            combine_row(ac, as, dc, ds, m, plan->scale, cos_out + (size_t)t * (size_t)n + i0,
                        sin_out + (size_t)t * (size_t)n + i0);
        }
    }
}

void rope__fill_table(const rope *r, const double *inv_freq, const int32_t *positions,
                      int32_t n_positions, float *cos_out, float *sin_out) {
    rope_row_plan plan;
    rope__row_plan_init(&plan, r, inv_freq, NULL, n_positions);
    rope__fill_rows(&plan, positions, n_positions, cos_out, sin_out);
}

rope_status rope_table_f32(const rope *r, const int32_t *positions, int32_t n_positions,
                           int64_t seq_len, float *cos_out, float *sin_out, size_t out_len) {
    rope__clear_error();
    if (r == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "r is NULL; expected a rope from rope_create");
    }
    int32_t max_position = -1;
    rope_status status = rope__check_positions(positions, n_positions, &max_position);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    int64_t resolved_seq_len = 0;
    status = rope__resolve_seq_len(seq_len, max_position, &resolved_seq_len);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    /* size_t is 32-bit in wasm32, so the product can overflow there. */
    size_t needed = 0;
    if (__builtin_mul_overflow((size_t)n_positions, (size_t)r->n_pairs, &needed)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "n_positions is %d; n_positions * rotary_dim / 2 = %d * %d does not fit "
                          "size_t",
                          (int)n_positions, (int)n_positions, (int)r->n_pairs);
    }
    if (cos_out == NULL || sin_out == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "%s is NULL; expected a buffer of n_positions * rotary_dim / 2 = %zu "
                          "floats",
                          cos_out == NULL ? "cos_out" : "sin_out", needed);
    }
    if (out_len < needed) {
        return rope__fail(ROPE_STATUS_BUFFER_TOO_SMALL,
                          "out_len is %zu; expected at least n_positions * rotary_dim / 2 = %zu",
                          out_len, needed);
    }

    /* One block: frequencies, then the row plan's scratch. Without the
     * latter the rows come out the same, only slower. */
    const size_t n_pairs = (size_t)r->n_pairs;
    double *scratch = malloc((n_pairs + rope__row_scratch_doubles(r->n_pairs)) * sizeof *scratch);
    double *freq_scratch = scratch;
    if (scratch == NULL) {
        freq_scratch = malloc(n_pairs * sizeof *freq_scratch);
        if (freq_scratch == NULL) {
            return rope__fail(ROPE_STATUS_OUT_OF_MEMORY, "out of memory allocating %d frequencies",
                              (int)r->n_pairs);
        }
    }
    const double *inv_freq = NULL;
    status = rope__frequencies(r, resolved_seq_len, freq_scratch, &inv_freq);
    if (status != ROPE_STATUS_OK) {
        free(freq_scratch);
        return status;
    }
    rope_row_plan plan;
    rope__row_plan_init(&plan, r, inv_freq, scratch != NULL ? scratch + n_pairs : NULL, n_positions);
    rope__fill_rows(&plan, positions, n_positions, cos_out, sin_out);
    free(freq_scratch);
    return ROPE_STATUS_OK;
}
