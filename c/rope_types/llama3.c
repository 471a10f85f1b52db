/*
 * llama3.c: the band-wise scaling of Llama 3.1 (Meta's reference code and
 * transformers' `_compute_llama3_parameters`). With L = the original
 * context and wavelength w_i = 2 pi / theta_i:
 *   w_i <  L / high_freq_factor             -> theta_i unchanged,
 *   w_i >  L / low_freq_factor              -> theta_i / factor,
 *   otherwise (edges included), with s = (L / w_i - low) / (high - low):
 *                                           -> (1 - s) theta_i / factor + s theta_i.
 */
#include <math.h>

#include "../internal.h"

rope_status rope__validate_llama3(const rope_params *p) {
    if (isnan(p->factor)) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "factor is missing; llama3 scaling needs a finite factor >= 1");
    }
    if (!rope__is_finite_at_least(p->factor, 1.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "factor is %g; expected a finite number >= 1", p->factor);
    }
    if (isnan(p->low_freq_factor)) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "low_freq_factor is missing; llama3 scaling needs a finite number > 0");
    }
    if (isnan(p->high_freq_factor)) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "high_freq_factor is missing; llama3 scaling needs a finite number "
                          "greater than low_freq_factor");
    }
    if (!(isfinite(p->low_freq_factor) && p->low_freq_factor > 0.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "low_freq_factor is %g; expected a finite number > 0",
                          p->low_freq_factor);
    }
    if (!(isfinite(p->high_freq_factor) && p->high_freq_factor > p->low_freq_factor)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "high_freq_factor is %g; expected a finite number greater than "
                          "low_freq_factor (%g)",
                          p->high_freq_factor, p->low_freq_factor);
    }
    if (p->original_max_position_embeddings == 0) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "original_max_position_embeddings is missing; llama3 scaling needs "
                          "the pre-training context length (a positive integer)");
    }
    return ROPE_STATUS_OK;
}

void rope__inv_freq_llama3(const rope *r, double *out) {
    const rope_params *p = &r->params;
    double context = (double)p->original_max_position_embeddings;
    double low_freq_wavelength = context / p->low_freq_factor;
    double high_freq_wavelength = context / p->high_freq_factor;

    rope__default_inv_freq(p->base, p->rotary_dim, out);
    for (int32_t i = 0; i < r->n_pairs; i++) {
        double theta = out[i];
        double wavelength = ROPE_TWO_PI / theta;
        if (wavelength < high_freq_wavelength) {
            continue;
        }
        if (wavelength > low_freq_wavelength) {
            out[i] = theta / p->factor;
            continue;
        }
        double smooth = (context / wavelength - p->low_freq_factor) /
                        (p->high_freq_factor - p->low_freq_factor);
        /* Inside the band smooth is in [0, 1]; rounding can step past an
         * edge when the two factors are nearly equal, which would make the
         * blend negative. */
        smooth = fmin(fmax(smooth, 0.0), 1.0);
        out[i] = (1.0 - smooth) * theta / p->factor + smooth * theta;
    }
}
