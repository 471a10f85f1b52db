/*
 * longrope.c: LongRoPE (Ding et al. 2024), as used by Phi-3 and named "su"
 * in older configs. Each pair's theta_i is divided by a searched factor;
 * one list serves sequences up to the original context L, another longer
 * ones (transformers' `_compute_longrope_parameters`):
 *     theta'_i = theta_i / ext_i,  ext = seq_len > L ? long_factor : short_factor.
 * Attention is scaled by sqrt(1 + ln s / ln L), s = context extension factor.
 *
 * Where L comes from: original_max_position_embeddings, in which case
 * s = max_position_embeddings / L, as in the current transformers release;
 * otherwise L = max_position_embeddings and s = the configured factor.
 */
#include <math.h>

#include "../internal.h"

static int32_t original_context(const rope_params *p) {
    return p->original_max_position_embeddings > 0 ? p->original_max_position_embeddings
                                                   : p->max_position_embeddings;
}

static double extension_factor(const rope_params *p) {
    if (p->original_max_position_embeddings > 0) {
        return (double)p->max_position_embeddings / (double)p->original_max_position_embeddings;
    }
    return p->factor;
}

static rope_status validate_factor_list(const char *name, const double *list, int32_t n) {
    if (list == NULL) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "%s is missing; longrope needs rotary_dim / 2 = %d factors", name,
                          (int)n);
    }
    for (int32_t i = 0; i < n; i++) {
        if (!(isfinite(list[i]) && list[i] > 0.0)) {
            return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                              "%s[%d] is %g; expected a finite number > 0", name, (int)i,
                              list[i]);
        }
    }
    return ROPE_STATUS_OK;
}

rope_status rope__validate_longrope(const rope_params *p) {
    int32_t n_pairs = p->rotary_dim / 2;
    if (p->max_position_embeddings == 0) {
        return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                          "max_position_embeddings is missing; longrope needs the extended "
                          "context length (a positive integer)");
    }
    if (p->n_factors != n_pairs) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "n_factors is %d; short_factor and long_factor need rotary_dim / 2 = "
                          "%d entries each",
                          (int)p->n_factors, (int)n_pairs);
    }
    rope_status status = validate_factor_list("short_factor", p->short_factor, n_pairs);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    status = validate_factor_list("long_factor", p->long_factor, n_pairs);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    if (p->original_max_position_embeddings == 0) {
        if (isnan(p->factor)) {
            return rope__fail(ROPE_STATUS_MISSING_PARAMETER,
                              "factor is missing; longrope without "
                              "original_max_position_embeddings needs a finite factor >= 1");
        }
        if (!rope__is_finite_at_least(p->factor, 1.0)) {
            return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                              "factor is %g; expected a finite number >= 1", p->factor);
        }
    }
    if (extension_factor(p) > 1.0 && original_context(p) < 2) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "original context length is %d; longrope's attention factor "
                          "sqrt(1 + ln s / ln L) needs L >= 2",
                          (int)original_context(p));
    }
    if (!isnan(p->attention_factor) && !(isfinite(p->attention_factor) && p->attention_factor > 0.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "attention_factor is %g; expected a finite number > 0, or NaN to "
                          "derive it from the context lengths",
                          p->attention_factor);
    }
    return ROPE_STATUS_OK;
}

double rope__attention_longrope(const rope_params *p) {
    if (!isnan(p->attention_factor)) {
        return p->attention_factor;
    }
    double scale = extension_factor(p);
    if (scale <= 1.0) {
        return 1.0;
    }
    return sqrt(1.0 + log(scale) / log((double)original_context(p)));
}

void rope__inv_freq_longrope(const rope *r, int64_t seq_len, double *out) {
    const rope_params *p = &r->params;
    const double *ext = seq_len > original_context(p) ? r->long_factor : r->short_factor;
    rope__default_inv_freq(p->base, p->rotary_dim, out);
    for (int32_t i = 0; i < r->n_pairs; i++) {
        out[i] /= ext[i];
    }
}
