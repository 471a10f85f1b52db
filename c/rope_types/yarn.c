/*
 * yarn.c: YaRN (Peng et al. 2023, "YaRN: Efficient Context Window Extension
 * of Large Language Models"), with the parameters and defaults of
 * transformers' `_compute_yarn_parameters`.
 *
 * Pairs that turn many times within the original context L keep theta_i
 * (extrapolation); pairs that turn less than once are divided by factor
 * (interpolation); a linear ramp over the pair index joins the two. The
 * ramp's ends are the dimensions where a pair completes beta_fast and
 * beta_slow turns in L:
 *     dim(r) = d * ln(L / (2 pi r)) / (2 ln base).
 * Attention logits are scaled by 0.1 ln(factor) + 1, folded into
 * cos and sin.
 *
 * Where transformers releases differ: some 4.4x releases replaced the
 * configured factor by max_position_embeddings / L when L was given; this
 * follows the current release and uses the configured factor.
 */
#include <math.h>

#include "../internal.h"

/* Effective original context: original_max_position_embeddings, else
 * max_position_embeddings. */
static int32_t original_context(const rope_params *p) {
    return p->original_max_position_embeddings > 0 ? p->original_max_position_embeddings
                                                   : p->max_position_embeddings;
}

rope_status rope__validate_yarn(const rope_params *p) {
    if (isnan(p->factor)) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "factor is missing; yarn scaling needs a finite factor >= 1");
    }
    if (!rope__is_finite_at_least(p->factor, 1.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "factor is %g; expected a finite number >= 1", p->factor);
    }
    if (original_context(p) == 0) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "original_max_position_embeddings and max_position_embeddings are "
                          "missing; yarn scaling needs the original context length");
    }
    if (!(isfinite(p->beta_fast) && p->beta_fast > 0.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "beta_fast is %g; expected a finite number > 0", p->beta_fast);
    }
    if (!(isfinite(p->beta_slow) && p->beta_slow > 0.0 && p->beta_slow <= p->beta_fast)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "beta_slow is %g; expected a finite number > 0 and at most "
                          "beta_fast (%g)",
                          p->beta_slow, p->beta_fast);
    }
    if (!rope__is_finite_at_least(p->mscale, 0.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "mscale is %g; expected a finite number >= 0 (0 means not given)",
                          p->mscale);
    }
    if (!rope__is_finite_at_least(p->mscale_all_dim, 0.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "mscale_all_dim is %g; expected a finite number >= 0 "
                          "(0 means not given)",
                          p->mscale_all_dim);
    }
    if (!isnan(p->attention_factor) && !(isfinite(p->attention_factor) && p->attention_factor > 0.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "attention_factor is %g; expected a finite number > 0, or NaN to "
                          "derive it from factor",
                          p->attention_factor);
    }
    return ROPE_STATUS_OK;
}

/* YaRN's logit temperature sqrt(1/t) = 0.1 ln(s) + 1, with the
 * mscale multiplier that DeepSeek-V2 configs add. */
static double yarn_mscale(double scale, double mscale) {
    return scale <= 1.0 ? 1.0 : 0.1 * mscale * log(scale) + 1.0;
}

double rope__attention_yarn(const rope_params *p) {
    if (!isnan(p->attention_factor)) {
        return p->attention_factor;
    }
    if (p->mscale != 0.0 && p->mscale_all_dim != 0.0) {
        return yarn_mscale(p->factor, p->mscale) / yarn_mscale(p->factor, p->mscale_all_dim);
    }
    return yarn_mscale(p->factor, 1.0);
}

/* Dimension index at which a pair completes `turns` rotations in `context`
 * tokens (the YaRN turn count, solved for the dimension). */
static double correction_dim(double turns, double d, double base, double context) {
    return d * log(context / (turns * ROPE_TWO_PI)) / (2.0 * log(base));
}

void rope__inv_freq_yarn(const rope *r, double *out) {
    const rope_params *p = &r->params;
    double d = (double)p->rotary_dim;
    double context = (double)original_context(p);

    /* Ramp edges, rounded outwards unless truncate is off, kept in [0, d - 1]. */
    double low = correction_dim(p->beta_fast, d, p->base, context);
    double high = correction_dim(p->beta_slow, d, p->base, context);
    if (p->truncate) {
        low = floor(low);
        high = ceil(high);
    }
    low = fmax(low, 0.0);
    high = fmin(high, d - 1.0);
    if (low == high) {
        high += 0.001; /* keeps the ramp's slope finite, as transformers does */
    }

    /* Blend: ramp 0 keeps theta_i, ramp 1 divides it by factor. */
    rope__default_inv_freq(p->base, p->rotary_dim, out);
    for (int32_t i = 0; i < r->n_pairs; i++) {
        double ramp = ((double)i - low) / (high - low);
        ramp = fmin(fmax(ramp, 0.0), 1.0);
        double theta = out[i];
        out[i] = (theta / p->factor) * ramp + theta * (1.0 - ramp);
    }
}
