/*
 * fuzz_table.c: rope_table_f32 with arbitrary positions, counts, sequence
 * lengths and output sizes.
 *
 * Input: the rope_params wire format (fuzz_common.h; a block rope_create
 * rejects is replaced by a small default rope), then
 *   i32 n_positions   negative values are kept; others are taken modulo
 *                     MAX_POSITIONS + 1 and lowered until the table fits
 *                     MAX_TABLE floats
 *   i64 seq_len       used as selected by mode bits 0-1
 *   u8  mode          bits 0-1: seq_len 0 / raw / raw & 0xffff / negative
 *                     bit 2: positions as read (else the sign bit cleared)
 *                     bit 3: positions NULL
 *                     bits 4-6: out_len exact / larger / too small /
 *                     arbitrary / 0 / exact with cos NULL / exact with
 *                     sin NULL / exact
 *   u32 len_raw       the amount for "larger", "too small", "arbitrary"
 *   i32 positions[]   as many as the input holds, then t * step
 *
 * Invariants:
 *   - the status is the one the arguments call for (OK exactly when every
 *     argument is valid), with the message contract of rope.h;
 *   - nothing is written at or past out_len (GUARD floats of sentinel after
 *     out_len; ASan covers the rest of the heap);
 *   - on success every value is finite, |value| <= scaling (+1e-6 relative),
 *     and equals scaling * cos/sin(position * theta_i) within float
 *     rounding plus the uncertainty of a double angle of that size;
 *   - a row's bits depend only on its position: the same position asked for
 *     alone gives the same row.
 */
#include <float.h>

#include "fuzz_common.h"

#define MAX_POSITIONS 4096
#define MAX_TABLE (1 << 18)
#define GUARD 16

static const uint32_t SENTINEL_BITS = 0x7fa5a5a5u; /* a quiet NaN */

static float *alloc_with_guard(size_t out_len) {
    float *buf = fz_malloc_exact((out_len + GUARD) * sizeof *buf);
    for (size_t i = 0; i < out_len + GUARD; i++) {
        memcpy(&buf[i], &SENTINEL_BITS, sizeof SENTINEL_BITS);
    }
    return buf;
}

static void check_guard(const char *name, const float *buf, size_t out_len, rope_status st) {
    if (buf == NULL) {
        return;
    }
    for (size_t i = out_len; i < out_len + GUARD; i++) {
        FZ_CHECK(memcmp(&buf[i], &SENTINEL_BITS, sizeof SENTINEL_BITS) == 0, "table-guard",
                 "%s[%zu] written past out_len %zu (status %s)", name, i, out_len,
                 rope_status_name(st));
    }
}

/* Largest error to allow between a float32 table entry and the double
 * reference: float rounding of a value of magnitude <= scale, plus the
 * angle's own uncertainty (a few ulps of |angle|, which any exact method of
 * forming position * theta in double may differ by). */
static double tolerance(double scale, double angle) {
    return scale * (1e-6 + fabs(angle) * 0x1p-50) + 0x1p-140;
}

static void run(const uint8_t *data, size_t size) {
    fz_reader in = {data, size, 0};
    rope_params p;
    fz_read_params(&in, &p);
    rope *r = fz_create_rope_or_fallback(&p);
    const int32_t n_pairs = rope_rotary_dim(r) / 2;

    int32_t n_positions = fz_i32(&in);
    int64_t seq_len = fz_i64(&in);
    const unsigned mode = fz_u8(&in);
    const uint32_t len_raw = fz_u32(&in);

    switch (mode & 3u) {
    case 0: seq_len = 0; break;
    case 1: break;
    case 2: seq_len &= 0xffff; break;
    case 3: seq_len = -1 - (seq_len & 0xff); break;
    }
    if (n_positions >= 0) {
        n_positions %= MAX_POSITIONS + 1;
        if ((int64_t)n_positions * n_pairs > MAX_TABLE) {
            n_positions = MAX_TABLE / n_pairs;
        }
    }

    int32_t *positions = NULL;
    int any_negative = 0;
    int32_t max_position = -1;
    if (!(mode & 8u)) {
        /* Exactly n_positions entries when that is >= 0, so a read past the
         * end is an ASan report; a negative count gets a small array the
         * library must not read. */
        const size_t count = n_positions >= 0 ? (size_t)n_positions : 4;
        positions = fz_malloc_exact(count * sizeof *positions);
        int32_t step = 1;
        for (size_t t = 0; t < count; t++) {
            const int32_t v = fz_position(&in, t, (mode & 4u) != 0, &step);
            positions[t] = v;
            if (n_positions >= 0) {
                any_negative |= v < 0;
                max_position = v > max_position ? v : max_position;
            }
        }
    }

    const size_t needed = n_positions > 0 ? (size_t)n_positions * (size_t)n_pairs : 0;
    size_t out_len = needed;
    int null_cos = 0, null_sin = 0;
    switch ((mode >> 4) & 7u) {
    case 0: break;
    case 1: out_len = needed + len_raw % 64; break;
    case 2: out_len = needed > 0 ? needed - 1 - len_raw % needed : 0; break;
    case 3: out_len = len_raw % (MAX_TABLE + 1); break;
    case 4: out_len = 0; break;
    case 5: null_cos = 1; break;
    case 6: null_sin = 1; break;
    case 7: break;
    }
    float *cos_out = null_cos ? NULL : alloc_with_guard(out_len);
    float *sin_out = null_sin ? NULL : alloc_with_guard(out_len);

    /* What rope.h calls for; when several arguments are wrong any of their
     * errors will do. */
    int invalid = n_positions < 0 || (n_positions > 0 && positions == NULL) || any_negative ||
                  seq_len < 0;
    int too_small = out_len < needed;
    int null_out = cos_out == NULL || sin_out == NULL; /* rope.h does not say which error */

    rope_status st =
        rope_table_f32(r, positions, n_positions, seq_len, cos_out, sin_out, out_len);
    fz_check_message("rope_table_f32", st);
    check_guard("cos_out", cos_out, out_len, st);
    check_guard("sin_out", sin_out, out_len, st);
    if (invalid || too_small || null_out) {
        FZ_CHECK(st != ROPE_STATUS_OK, "table-status",
                 "accepted n_positions %d, seq_len %lld, out_len %zu (need %zu), cos %s, sin %s",
                 (int)n_positions, (long long)seq_len, out_len, needed, cos_out ? "set" : "NULL",
                 sin_out ? "set" : "NULL");
        FZ_CHECK(!(invalid && !too_small && !null_out) || st == ROPE_STATUS_INVALID_ARGUMENT,
                 "table-status", "invalid arguments gave %s", rope_status_name(st));
        FZ_CHECK(!(too_small && !invalid && !null_out) || st == ROPE_STATUS_BUFFER_TOO_SMALL,
                 "table-status", "small output gave %s", rope_status_name(st));
        FZ_CHECK(!(null_out && !invalid && !too_small) || st == ROPE_STATUS_BUFFER_TOO_SMALL ||
                     st == ROPE_STATUS_INVALID_ARGUMENT,
                 "table-status", "NULL output gave %s", rope_status_name(st));
        return;
    }
    FZ_CHECK(st == ROPE_STATUS_OK, "table-status",
             "rejected valid n_positions %d, seq_len %lld, out_len %zu: %s: %s", (int)n_positions,
             (long long)seq_len, out_len, rope_status_name(st), rope_error_message());
    if (n_positions == 0) {
        return;
    }

    const double scale = rope_attention_scaling(r);
    fz_check_scaling(r);
    const int64_t resolved = seq_len > 0 ? seq_len : (int64_t)max_position + 1;
    double *freq = fz_malloc((size_t)n_pairs * sizeof *freq);
    st = rope_inv_freq(r, resolved, freq, (size_t)n_pairs);
    FZ_CHECK(st == ROPE_STATUS_OK, "inv-freq-status", "rope_inv_freq(%lld) returned %s",
             (long long)resolved, rope_status_name(st));
    fz_check_freqs(r, resolved, freq, n_pairs);

    const double bound = scale * (1 + 1e-6) + 0x1p-140;
    for (int32_t t = 0; t < n_positions; t++) {
        for (int32_t i = 0; i < n_pairs; i++) {
            const size_t at = (size_t)t * (size_t)n_pairs + (size_t)i;
            const double c = cos_out[at], s = sin_out[at];
            /* A scaling past FLT_MAX overflows float32 whatever the
             * angle, and an angle position * theta past DBL_MAX has no
             * cosine: each gets its own tag, so that both can be distinguished
             * from a NaN made by the row code. */
            FZ_CHECK(isfinite(c) && isfinite(s),
                     scale > FLT_MAX ? "table-nonfinite-scaling"
                     : !isfinite((double)positions[t] * freq[i]) ? "table-nonfinite-angle"
                                                                 : "table-nonfinite",
                     "position %d pair %d: cos %g sin %g (scaling %.17g, theta %.17g)",
                     (int)positions[t], (int)i, c, s, scale, freq[i]);
            FZ_CHECK(fabs(c) <= bound && fabs(s) <= bound, "table-bound",
                     "position %d pair %d: cos %.9g sin %.9g above scaling %.17g",
                     (int)positions[t], (int)i, c, s, scale);
            const double angle = (double)positions[t] * freq[i];
            if (fabs(angle) * 0x1p-52 > 1e-3) {
                continue; /* the double angle itself is uncertain by more than a milliradian */
            }
            const double tol = tolerance(scale, angle);
            FZ_CHECK(fabs(c - scale * cos(angle)) <= tol && fabs(s - scale * sin(angle)) <= tol,
                     "table-mismatch",
                     "position %d pair %d (theta %.17g, scaling %.17g): cos %.9g sin %.9g, "
                     "expected %.9g %.9g",
                     (int)positions[t], (int)i, freq[i], scale, c, s, scale * cos(angle),
                     scale * sin(angle));
        }
    }

    /* The same positions one at a time (a few of them) must give the same
     * bits, whatever the batch around them. Uses the resolved seq_len so
     * that the length-dependent types see the same frequencies. */
    float *one_cos = fz_malloc_exact((size_t)n_pairs * sizeof *one_cos);
    float *one_sin = fz_malloc_exact((size_t)n_pairs * sizeof *one_sin);
    const int32_t stride = n_positions > 8 ? n_positions / 8 : 1;
    for (int32_t t = n_positions - 1; t >= 0; t -= stride) {
        st = rope_table_f32(r, positions + t, 1, resolved, one_cos, one_sin, (size_t)n_pairs);
        FZ_CHECK(st == ROPE_STATUS_OK, "table-status", "single position %d returned %s",
                 (int)positions[t], rope_status_name(st));
        const size_t row = (size_t)t * (size_t)n_pairs;
        FZ_CHECK(memcmp(one_cos, cos_out + row, (size_t)n_pairs * sizeof *one_cos) == 0 &&
                     memcmp(one_sin, sin_out + row, (size_t)n_pairs * sizeof *one_sin) == 0,
                 "table-row-varies",
                 "position %d (row %d of %d) alone gives different bits than in the batch",
                 (int)positions[t], (int)t, (int)n_positions);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FZ_RUN(run(data, size));
    return 0;
}
