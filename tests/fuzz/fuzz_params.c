/*
 * fuzz_params.c: rope_create on arbitrary parameter blocks, then
 * rope_inv_freq and rope_attention_scaling on whatever it accepts.
 *
 * Input: the rope_params wire format (fuzz_common.h), then
 *   i64 seq_len   one more length for rope_inv_freq (any value)
 *   u8  mode      bit 0: also try the NULL-argument paths
 *
 * Invariants:
 *   - every failure leaves *out NULL and a non-empty message, every success
 *     an empty one;
 *   - an accepted rope reports the dims, type and pairing it was given;
 *   - the library owns copies of the factor lists (the caller's blocks are
 *     freed before the first rope_inv_freq, so ASan reports a read through a
 *     stale pointer);
 *   - attention scaling is finite and > 0;
 *   - for seq_len 1, 2, around both context lengths, 2^31, INT64_MAX and the
 *     fuzzed one, every theta_i is finite and > 0 and obeys its type's rule
 *     (default/linear/longrope against a direct formula, dynamic/yarn/llama3
 *     between theta_i / factor and theta_i);
 *   - frequencies of the length-independent types do not vary with seq_len;
 *   - bad seq_len, NULL or short output are rejected without writing.
 */
#include <float.h>

#include "fuzz_common.h"

/* |a - b| within `rel` of b, with slack for subnormal results. */
static int close_rel(double a, double b, double rel) {
    return fabs(a - b) <= rel * fabs(b) + 4 * DBL_TRUE_MIN;
}

static void check_rule(const rope *r, const rope_params *p, const double *short_copy,
                       const double *long_copy, int64_t seq_len, const double *freq, int32_t n) {
    char rule[48];
    fz_typed_tag(rule, sizeof rule, "inv-freq-rule", r);
    const int32_t d = 2 * n;
    const double rel = 1e-12;
    for (int32_t i = 0; i < n; i++) {
        /* theta_i of RoFormer eq. 15, the starting point of every rule. */
        const double theta = pow(p->base, -(double)(2 * i) / (double)d);
        const double got = freq[i];
        switch (p->type) {
        case ROPE_TYPE_DEFAULT:
            FZ_CHECK(close_rel(got, theta, rel), rule,
                     "default: theta[%d] = %.17g, expected %.17g", (int)i, got, theta);
            break;
        case ROPE_TYPE_LINEAR:
            FZ_CHECK(close_rel(got, theta / p->factor, rel), rule,
                     "linear: theta[%d] = %.17g, expected %.17g", (int)i, got, theta / p->factor);
            break;
        case ROPE_TYPE_LONGROPE: {
            const int32_t context = p->original_max_position_embeddings > 0
                                        ? p->original_max_position_embeddings
                                        : p->max_position_embeddings;
            const double ext = seq_len > context ? long_copy[i] : short_copy[i];
            FZ_CHECK(close_rel(got, theta / ext, rel), rule,
                     "longrope: seq_len %lld, theta[%d] = %.17g, expected %.17g",
                     (long long)seq_len, (int)i, got, theta / ext);
            break;
        }
        case ROPE_TYPE_DYNAMIC:
            /* The base only grows, so every theta only shrinks; at or below
             * the trained length nothing changes. */
            if (seq_len <= p->max_position_embeddings) {
                FZ_CHECK(close_rel(got, theta, rel), rule,
                         "dynamic: seq_len %lld <= max_position_embeddings, theta[%d] = %.17g, "
                         "expected %.17g",
                         (long long)seq_len, (int)i, got, theta);
            } else {
                FZ_CHECK(got <= theta * (1 + rel), rule,
                         "dynamic: seq_len %lld, theta[%d] = %.17g above the unscaled %.17g",
                         (long long)seq_len, (int)i, got, theta);
            }
            break;
        case ROPE_TYPE_YARN:
        case ROPE_TYPE_LLAMA3:
            /* Both blend theta and theta / factor with a weight in [0, 1]. */
            FZ_CHECK(got >= theta / p->factor * (1 - rel) - 4 * DBL_TRUE_MIN &&
                         got <= theta * (1 + rel) + 4 * DBL_TRUE_MIN,
                     rule,
                     "%s: theta[%d] = %.17g outside [theta / factor, theta] = [%.17g, %.17g]",
                     p->type == ROPE_TYPE_YARN ? "yarn" : "llama3", (int)i, got,
                     theta / p->factor, theta);
            break;
        }
    }
}

static void run(const uint8_t *data, size_t size) {
    fz_reader in = {data, size, 0};
    rope_params p;
    fz_read_params(&in, &p);
    const int64_t extra_seq_len = fz_i64(&in);
    const unsigned mode = fz_u8(&in);

    if (mode & 1u) {
        rope *unused = (rope *)&in; /* must be overwritten with NULL */
        rope_status st = rope_create(NULL, &unused);
        fz_check_message("rope_create(NULL params)", st);
        FZ_CHECK(st == ROPE_STATUS_INVALID_ARGUMENT && unused == NULL, "null-args",
                 "rope_create(NULL, &r) returned %s", rope_status_name(st));
        st = rope_create(&p, NULL);
        fz_check_message("rope_create(NULL out)", st);
        FZ_CHECK(st == ROPE_STATUS_INVALID_ARGUMENT, "null-args",
                 "rope_create(&p, NULL) returned %s", rope_status_name(st));
    }

    rope *r = (rope *)&in;
    rope_status st = rope_create(&p, &r);
    fz_check_message("rope_create", st);
    if (st != ROPE_STATUS_OK) {
        FZ_CHECK(r == NULL, "create-out-on-failure", "rope_create failed (%s) but *out is %p",
                 rope_status_name(st), (void *)r);
        return;
    }
    FZ_CHECK(r != NULL, "create-null", "rope_create returned OK and a NULL rope");
    fz_own(r, fz_release_rope);

    const int32_t rotary_dim = p.rotary_dim == 0 ? p.head_dim : p.rotary_dim;
    FZ_CHECK(rope_head_dim(r) == p.head_dim && rope_rotary_dim(r) == rotary_dim &&
                 rope_get_type(r) == p.type && rope_get_pairing(r) == p.pairing,
             "getters", "rope reports head_dim %d rotary_dim %d type %d pairing %d for %d %d %d %d",
             (int)rope_head_dim(r), (int)rope_rotary_dim(r), (int)rope_get_type(r),
             (int)rope_get_pairing(r), (int)p.head_dim, (int)rotary_dim, (int)p.type,
             (int)p.pairing);
    const int32_t n = rotary_dim / 2;

    /* Keep private copies for the longrope rule, then free the caller's
     * lists: from here on only the library's own copies may be read. */
    double *short_copy = NULL, *long_copy = NULL;
    if (p.type == ROPE_TYPE_LONGROPE) {
        short_copy = fz_malloc((size_t)n * sizeof *short_copy);
        long_copy = fz_malloc((size_t)n * sizeof *long_copy);
        memcpy(short_copy, p.short_factor, (size_t)n * sizeof *short_copy);
        memcpy(long_copy, p.long_factor, (size_t)n * sizeof *long_copy);
    }
    for (int which = 0; which < 2; which++) {
        double *list = (double *)(which == 0 ? p.short_factor : p.long_factor);
        if (list != NULL) {
            fz_disown(list);
            free(list);
        }
    }
    p.short_factor = NULL;
    p.long_factor = NULL;

    fz_check_scaling(r);

    double *freq = fz_malloc_exact((size_t)n * sizeof *freq);
    double *first = fz_malloc((size_t)n * sizeof *first);
    const int64_t lengths[] = {
        1,
        2,
        (int64_t)p.max_position_embeddings - 1,
        p.max_position_embeddings,
        (int64_t)p.max_position_embeddings + 1,
        p.original_max_position_embeddings,
        (int64_t)p.original_max_position_embeddings + 1,
        (int64_t)1 << 31,
        INT64_MAX,
        extra_seq_len,
    };
    int have_first = 0;
    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
        const int64_t seq_len = lengths[k];
        if (seq_len < 1) {
            continue;
        }
        st = rope_inv_freq(r, seq_len, freq, (size_t)n);
        fz_check_message("rope_inv_freq", st);
        FZ_CHECK(st == ROPE_STATUS_OK, "inv-freq-status", "rope_inv_freq(seq_len %lld) returned %s: %s",
                 (long long)seq_len, rope_status_name(st), rope_error_message());
        fz_check_freqs(r, seq_len, freq, n);
        check_rule(r, &p, short_copy, long_copy, seq_len, freq, n);
        if (p.type != ROPE_TYPE_DYNAMIC && p.type != ROPE_TYPE_LONGROPE) {
            if (!have_first) {
                memcpy(first, freq, (size_t)n * sizeof *first);
                have_first = 1;
            }
            FZ_CHECK(memcmp(first, freq, (size_t)n * sizeof *first) == 0, "inv-freq-varies",
                     "type %d: frequencies differ between seq_len values", (int)p.type);
        }
    }

    /* Rejections must not write: fill a sentinel and look at it after. */
    const uint64_t sentinel = 0x7ff4a5a5a5a5a5a5u; /* a signalling NaN */
    for (int32_t i = 0; i < n; i++) {
        memcpy(&freq[i], &sentinel, sizeof sentinel);
    }
    const int64_t bad_seq_len = extra_seq_len < 1 ? extra_seq_len : 0;
    st = rope_inv_freq(r, bad_seq_len, freq, (size_t)n);
    fz_check_message("rope_inv_freq(bad seq_len)", st);
    FZ_CHECK(st == ROPE_STATUS_INVALID_ARGUMENT, "inv-freq-status",
             "rope_inv_freq(seq_len %lld) returned %s", (long long)bad_seq_len, rope_status_name(st));
    st = rope_inv_freq(r, 1, freq, (size_t)n - 1);
    fz_check_message("rope_inv_freq(short out)", st);
    FZ_CHECK(st == ROPE_STATUS_BUFFER_TOO_SMALL, "inv-freq-status",
             "rope_inv_freq(out_len %d for %d pairs) returned %s", (int)n - 1, (int)n,
             rope_status_name(st));
    st = rope_inv_freq(r, 1, NULL, (size_t)n);
    fz_check_message("rope_inv_freq(NULL out)", st);
    /* rope.h does not say which of the two a NULL buffer is. */
    FZ_CHECK(st == ROPE_STATUS_BUFFER_TOO_SMALL || st == ROPE_STATUS_INVALID_ARGUMENT,
             "inv-freq-status", "rope_inv_freq(NULL out) returned %s", rope_status_name(st));
    for (int32_t i = 0; i < n; i++) {
        FZ_CHECK(memcmp(&freq[i], &sentinel, sizeof sentinel) == 0, "write-on-failure",
                 "a rejected rope_inv_freq wrote out[%d]", (int)i);
    }
    st = rope_inv_freq(NULL, 1, freq, (size_t)n);
    fz_check_message("rope_inv_freq(NULL rope)", st);
    FZ_CHECK(st == ROPE_STATUS_INVALID_ARGUMENT, "inv-freq-status",
             "rope_inv_freq(NULL rope) returned %s", rope_status_name(st));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FZ_RUN(run(data, size));
    return 0;
}
