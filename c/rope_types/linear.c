/*
 * linear.c: position interpolation (Chen et al. 2023), theta_i / factor,
 * which squeezes factor times more positions into the trained angle range.
 */
#include <math.h>

#include "../internal.h"

rope_status rope__validate_linear(const rope_params *p) {
    if (isnan(p->factor)) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "factor is missing; linear scaling needs a finite factor >= 1");
    }
    if (!rope__is_finite_at_least(p->factor, 1.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "factor is %g; expected a finite number >= 1", p->factor);
    }
    return ROPE_STATUS_OK;
}

void rope__inv_freq_linear(const rope *r, double *out) {
    rope__default_inv_freq(r->params.base, r->params.rotary_dim, out);
    for (int32_t i = 0; i < r->n_pairs; i++) {
        out[i] /= r->params.factor;
    }
}
