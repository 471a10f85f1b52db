/*
 * rope.c: parameter defaults, validation shared by every rope type, and the
 * lifetime of a rope object.
 */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static rope_status check_frequencies(const rope *r, const double *inv_freq, int64_t seq_len);

/* Source of rope serials; 0 is never handed out. */
static _Atomic uint64_t last_serial;

static const char *const type_names[] = {"default", "linear", "dynamic",
                                         "yarn", "longrope", "llama3"};

void rope_params_init(rope_params *params, rope_type type, int32_t head_dim) {
    if (params == NULL) {
        return;
    }
    memset(params, 0, sizeof *params);
    params->type = type;
    params->pairing = ROPE_PAIRING_HALF;
    params->head_dim = head_dim;
    params->rotary_dim = 0;
    params->base = 10000.0;
    params->factor = NAN;
    params->beta_fast = 32.0;
    params->beta_slow = 1.0;
    params->mscale = 0.0;
    params->mscale_all_dim = 0.0;
    params->attention_factor = NAN;
    params->truncate = 1;
    params->low_freq_factor = NAN;
    params->high_freq_factor = NAN;
}

int rope__is_finite_at_least(double x, double lo) {
    return isfinite(x) && x >= lo;
}

int rope__depends_on_seq_len(rope_type type) {
    return type == ROPE_TYPE_DYNAMIC || type == ROPE_TYPE_LONGROPE;
}

/* Checks every type shares: enums, dims, base, and the context lengths. */
static rope_status validate_common(const rope_params *p, int32_t *rotary_dim) {
    if ((unsigned)p->type > (unsigned)ROPE_TYPE_LLAMA3) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "type is %d; expected 0 (default) to 5 (llama3)", (int)p->type);
    }
    if ((unsigned)p->pairing > (unsigned)ROPE_PAIRING_INTERLEAVED) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "pairing is %d; expected 0 (half) or 1 (interleaved)", (int)p->pairing);
    }
    if (p->head_dim < 2 || p->head_dim > ROPE_MAX_HEAD_DIM || p->head_dim % 2 != 0) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "head_dim is %d; expected an even integer from 2 to %d",
                          (int)p->head_dim, ROPE_MAX_HEAD_DIM);
    }
    *rotary_dim = p->rotary_dim == 0 ? p->head_dim : p->rotary_dim;
    if (*rotary_dim < 2 || *rotary_dim > p->head_dim || *rotary_dim % 2 != 0) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "rotary_dim is %d; expected an even integer from 2 to head_dim (%d), "
                          "or 0 for head_dim",
                          (int)p->rotary_dim, (int)p->head_dim);
    }
    if (!(isfinite(p->base) && p->base > 1.0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "base is %g; expected a finite number greater than 1", p->base);
    }
    if (p->max_position_embeddings < 0) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "max_position_embeddings is %d; expected a positive integer, "
                          "or 0 for unset",
                          (int)p->max_position_embeddings);
    }
    if (p->original_max_position_embeddings < 0) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "original_max_position_embeddings is %d; expected a positive "
                          "integer, or 0 for unset",
                          (int)p->original_max_position_embeddings);
    }
    if (p->max_position_embeddings > 0 && p->original_max_position_embeddings >
                                              p->max_position_embeddings) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "original_max_position_embeddings is %d; expected at most "
                          "max_position_embeddings (%d)",
                          (int)p->original_max_position_embeddings,
                          (int)p->max_position_embeddings);
    }
    return ROPE_STATUS_OK;
}

static rope_status validate_type(const rope_params *p) {
    switch (p->type) {
    case ROPE_TYPE_DEFAULT: return ROPE_STATUS_OK;
    case ROPE_TYPE_LINEAR: return rope__validate_linear(p);
    case ROPE_TYPE_DYNAMIC: return rope__validate_dynamic(p);
    case ROPE_TYPE_YARN: return rope__validate_yarn(p);
    case ROPE_TYPE_LONGROPE: return rope__validate_longrope(p);
    case ROPE_TYPE_LLAMA3: return rope__validate_llama3(p);
    }
    return ROPE_STATUS_INVALID_ARGUMENT;
}

static double *copy_doubles(const double *src, int32_t n) {
    double *dst = malloc((size_t)n * sizeof *dst);
    if (dst != NULL) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
    }
    return dst;
}

/* Frequencies of the types that do not depend on the sequence length. */
static void compute_fixed_inv_freq(rope *r) {
    switch (r->params.type) {
    case ROPE_TYPE_DEFAULT:
        rope__default_inv_freq(r->params.base, r->params.rotary_dim, r->inv_freq);
        break;
    case ROPE_TYPE_LINEAR: rope__inv_freq_linear(r, r->inv_freq); break;
    case ROPE_TYPE_YARN: rope__inv_freq_yarn(r, r->inv_freq); break;
    case ROPE_TYPE_LLAMA3: rope__inv_freq_llama3(r, r->inv_freq); break;
    case ROPE_TYPE_DYNAMIC:
    case ROPE_TYPE_LONGROPE: break;
    }
}

rope_status rope_create(const rope_params *params, rope **out) {
    rope__clear_error();
    if (out == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "out is NULL; expected a pointer to a rope *");
    }
    *out = NULL;
    if (params == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "params is NULL; expected parameters from rope_params_init");
    }

    /* Validate before allocating anything. */
    int32_t rotary_dim = 0;
    rope_status status = validate_common(params, &rotary_dim);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    rope_params resolved = *params;
    resolved.rotary_dim = rotary_dim;
    status = validate_type(&resolved);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    double attention_scaling = 1.0;
    switch (resolved.type) {
    case ROPE_TYPE_YARN: attention_scaling = rope__attention_yarn(&resolved); break;
    case ROPE_TYPE_LONGROPE: attention_scaling = rope__attention_longrope(&resolved); break;
    default: break;
    }
    /* Tables are float32: a larger scaling would turn cos and sin into
     * infinities, a much smaller one would flush them to zero (a huge or
     * tiny attention_factor, or an mscale ratio). */
    if (!(isfinite(attention_scaling) && attention_scaling >= 1e-30 && attention_scaling <= FLT_MAX)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "attention scaling is %g (from attention_factor %g, mscale %g, "
                          "mscale_all_dim %g); expected a number from 1e-30 to 3.4e38 so that "
                          "scaled cos/sin stay normal float32 values",
                          attention_scaling, resolved.attention_factor, resolved.mscale,
                          resolved.mscale_all_dim);
    }

    /* Allocate the object and its owned arrays. */
    rope *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return rope__fail(ROPE_STATUS_OUT_OF_MEMORY, "out of memory allocating a rope");
    }
    r->params = resolved;
    r->n_pairs = rotary_dim / 2;
    r->serial = atomic_fetch_add_explicit(&last_serial, 1, memory_order_relaxed) + 1;
    r->inv_freq = malloc((size_t)r->n_pairs * sizeof *r->inv_freq);
    if (resolved.type == ROPE_TYPE_LONGROPE) {
        r->short_factor = copy_doubles(resolved.short_factor, r->n_pairs);
        r->long_factor = copy_doubles(resolved.long_factor, r->n_pairs);
    }
    r->params.short_factor = r->short_factor;
    r->params.long_factor = r->long_factor;
    if (r->inv_freq == NULL ||
        (resolved.type == ROPE_TYPE_LONGROPE && (r->short_factor == NULL || r->long_factor == NULL))) {
        rope_free(r);
        return rope__fail(ROPE_STATUS_OUT_OF_MEMORY, "out of memory allocating %d frequencies",
                          (int)(rotary_dim / 2));
    }

    /* Precompute what does not depend on the call, and check it. */
    r->attention_scaling = attention_scaling;
    compute_fixed_inv_freq(r);
    if (resolved.type == ROPE_TYPE_LONGROPE) {
        /* Both factor lists, so a bad one fails here, not at the first long call. */
        int32_t original = resolved.original_max_position_embeddings > 0
                               ? resolved.original_max_position_embeddings
                               : resolved.max_position_embeddings;
        rope__inv_freq_longrope(r, original, r->inv_freq);
        status = check_frequencies(r, r->inv_freq, original);
        if (status == ROPE_STATUS_OK) {
            rope__inv_freq_longrope(r, (int64_t)original + 1, r->inv_freq);
            status = check_frequencies(r, r->inv_freq, (int64_t)original + 1);
        }
    } else if (resolved.type == ROPE_TYPE_DYNAMIC) {
        /* The grown base only increases with the length, so frequencies
         * that are fine at the longest length are fine at every length. */
        rope__inv_freq_dynamic(r, INT64_MAX, r->inv_freq);
        status = check_frequencies(r, r->inv_freq, INT64_MAX);
    } else {
        status = check_frequencies(r, r->inv_freq, 0);
    }
    if (status != ROPE_STATUS_OK) {
        rope_free(r);
        return status;
    }
    /* Offset rows for every later call with these frequencies. Optional:
     * without them (no memory, or a large head) each call computes them,
     * with the same bits, so a failure here is not an error. */
    if (!rope__depends_on_seq_len(resolved.type) && r->n_pairs <= ROPE_OFFSET_ROWS_MAX_PAIRS) {
        r->offset_cos = malloc(2 * (size_t)ROPE_ANCHOR_SPAN * (size_t)r->n_pairs * sizeof *r->offset_cos);
        if (r->offset_cos != NULL) {
            r->offset_sin = r->offset_cos + (size_t)ROPE_ANCHOR_SPAN * (size_t)r->n_pairs;
            rope__offset_rows(r->inv_freq, r->n_pairs, r->offset_cos, r->offset_sin);
        }
    }

    *out = r;
    return ROPE_STATUS_OK;
}

void rope_free(rope *r) {
    if (r == NULL) {
        return;
    }
    free(r->inv_freq);
    free(r->offset_cos); /* offset_sin points into the same block */
    free(r->short_factor);
    free(r->long_factor);
    free(r);
}

int32_t rope_head_dim(const rope *r) { return r ? r->params.head_dim : 0; }
int32_t rope_rotary_dim(const rope *r) { return r ? r->params.rotary_dim : 0; }
rope_pairing rope_get_pairing(const rope *r) { return r ? r->params.pairing : ROPE_PAIRING_HALF; }
rope_type rope_get_type(const rope *r) { return r ? r->params.type : ROPE_TYPE_DEFAULT; }
double rope_attention_scaling(const rope *r) { return r ? r->attention_scaling : NAN; }

/* Every angle position * theta must be finite for positions below 2^31,
 * and theta > 0, or the tables fill with NaN or stop rotating. Extreme
 * parameters (a factor near DBL_MAX, a subnormal LongRoPE factor, a
 * dynamic base grown past DBL_MAX) can break either. */
static rope_status check_frequencies(const rope *r, const double *inv_freq, int64_t seq_len) {
    for (int32_t i = 0; i < r->n_pairs; i++) {
        double theta = inv_freq[i];
        if (!(theta > 0.0 && isfinite(theta * 2147483647.0))) {
            return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                              "theta_%d is %g for %s scaling (base %g, factor %g, seq_len %lld); "
                              "expected a frequency > 0 whose angle stays finite up to position "
                              "2^31 - 1, so reduce the factor or check the factor lists",
                              (int)i, theta, rope__type_name(r->params.type), r->params.base,
                              r->params.factor, (long long)seq_len);
        }
    }
    return ROPE_STATUS_OK;
}

rope_status rope__frequencies(const rope *r, int64_t seq_len, double *scratch,
                              const double **inv_freq) {
    switch (r->params.type) {
    case ROPE_TYPE_DYNAMIC:
        rope__inv_freq_dynamic(r, seq_len, scratch);
        *inv_freq = scratch;
        return check_frequencies(r, scratch, seq_len);
    case ROPE_TYPE_LONGROPE:
        rope__inv_freq_longrope(r, seq_len, scratch);
        *inv_freq = scratch;
        return check_frequencies(r, scratch, seq_len);
    default:
        *inv_freq = r->inv_freq; /* checked by rope_create */
        return ROPE_STATUS_OK;
    }
}

rope_status rope_inv_freq(const rope *r, int64_t seq_len, double *out, size_t out_len) {
    rope__clear_error();
    if (r == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "r is NULL; expected a rope from rope_create");
    }
    if (seq_len < 1) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "seq_len is %lld; expected an integer >= 1", (long long)seq_len);
    }
    if (out == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "out is NULL; expected a buffer of rotary_dim / 2 = %d doubles",
                          (int)r->n_pairs);
    }
    if (out_len < (size_t)r->n_pairs) {
        return rope__fail(ROPE_STATUS_BUFFER_TOO_SMALL,
                          "out_len is %zu; expected at least rotary_dim / 2 = %d", out_len,
                          (int)r->n_pairs);
    }
    const double *freq = NULL;
    rope_status status = rope__frequencies(r, seq_len, out, &freq);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    if (freq != out) {
        memcpy(out, freq, (size_t)r->n_pairs * sizeof *out);
    }
    return ROPE_STATUS_OK;
}

const char *rope__type_name(rope_type type) {
    return (unsigned)type <= (unsigned)ROPE_TYPE_LLAMA3 ? type_names[type] : "unknown";
}
