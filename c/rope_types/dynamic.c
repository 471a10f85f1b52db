/*
 * dynamic.c: dynamic NTK-aware scaling. Up to max_position_embeddings the
 * frequencies are the default ones; above it the base grows with the
 * sequence length L as
 *     base' = base * (factor * L / L_max - (factor - 1))^(d / (d - 2)),
 * the rule of transformers' `_compute_dynamic_ntk_parameters`. The result
 * is a pure function of L: there is no cached state between calls.
 */
#include <math.h>

#include "../internal.h"

rope_status rope__validate_dynamic(const rope_params *p) {
    if (isnan(p->factor)) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "factor is missing; dynamic scaling needs a finite factor >= 1");
    }
    if (!rope__is_finite_at_least(p->factor, 1.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "factor is %g; expected a finite number >= 1", p->factor);
    }
    if (p->max_position_embeddings == 0) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "max_position_embeddings is missing; dynamic scaling needs the "
                          "trained context length (a positive integer)");
    }
    if (p->rotary_dim < 4) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "rotary_dim is %d; dynamic scaling needs rotary_dim >= 4 because "
                          "its base exponent is d / (d - 2)",
                          (int)p->rotary_dim);
    }
    return ROPE_STATUS_OK;
}

void rope__inv_freq_dynamic(const rope *r, int64_t seq_len, double *out) {
    const rope_params *p = &r->params;
    double base = p->base;
    if (seq_len > p->max_position_embeddings) {
        double d = (double)p->rotary_dim;
        double growth = p->factor * (double)seq_len / (double)p->max_position_embeddings -
                        (p->factor - 1.0);
        base = p->base * pow(growth, d / (d - 2.0));
    }
    rope__default_inv_freq(base, p->rotary_dim, out);
}
