/*
 * table.c: cos/sin tables, rope_table_f32, and the position checks shared
 * with rope_apply_f32.
 */
#include <math.h>
#include <stdlib.h>

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

void rope__fill_table(const rope *r, const double *inv_freq, const int32_t *positions,
                      int32_t n_positions, float *cos_out, float *sin_out) {
    const int32_t n_pairs = r->n_pairs;
    const double scale = r->attention_scaling;

    /* The angle is formed in double: at position 2^20 a float32 angle is
     * off by up to 2^20 * 2^-24 rad = 0.06 rad, a double one by ~1e-10. */
    for (int32_t t = 0; t < n_positions; t++) {
        const double position = (double)positions[t];
        float *cos_row = cos_out + (size_t)t * (size_t)n_pairs;
        float *sin_row = sin_out + (size_t)t * (size_t)n_pairs;
        for (int32_t i = 0; i < n_pairs; i++) {
            const double angle = position * inv_freq[i];
            cos_row[i] = (float)(scale * cos(angle));
            sin_row[i] = (float)(scale * sin(angle));
        }
    }
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
    const size_t needed = (size_t)n_positions * (size_t)r->n_pairs;
    if (cos_out == NULL || sin_out == NULL || out_len < needed) {
        return rope__fail(ROPE_STATUS_BUFFER_TOO_SMALL,
                          "cos_out and sin_out hold %zu values%s; expected n_positions * "
                          "rotary_dim / 2 = %zu",
                          out_len, (cos_out == NULL || sin_out == NULL) ? " (one is NULL)" : "",
                          needed);
    }

    double *scratch = malloc((size_t)r->n_pairs * sizeof *scratch);
    if (scratch == NULL) {
        return rope__fail(ROPE_STATUS_OUT_OF_MEMORY, "out of memory allocating %d frequencies",
                          (int)r->n_pairs);
    }
    const double *inv_freq = rope__inv_freq_for(r, resolved_seq_len, scratch);
    rope__fill_table(r, inv_freq, positions, n_positions, cos_out, sin_out);
    free(scratch);
    return ROPE_STATUS_OK;
}
