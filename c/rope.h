/*
 * rope.h: Rotary Position Embedding (RoPE) for float32 query/key tensors.
 *
 * RoPE (Su et al. 2021, "RoFormer", eq. 13-16) rotates each pair of rotary
 * dimensions of a query or key vector by the angle m * theta_i, where m is
 * the token's position and theta_i = base^(-2i/d) for i = 0 .. d/2 - 1, so
 * that the score q_m . k_n depends on m - n only. Scaling rules change the
 * theta_i to stretch a model past its trained context; this library
 * implements every rule that Hugging Face transformers names in
 * `modeling_rope_utils` (default, linear, dynamic, yarn, longrope, llama3)
 * with the same parameters and defaults.
 *
 * Units: positions are token indices (int32, >= 0), angles and frequencies
 * are radians per token, sizes are element counts unless the name ends in
 * `_bytes`. Frequencies and angles are formed in double precision; tables
 * and tensors are float32.
 *
 * Example:
 *
 *     rope_params params;
 *     rope_params_init(&params, ROPE_TYPE_DEFAULT, 128);   // head_dim 128
 *     params.base = 10000.0;
 *     rope *r = NULL;
 *     if (rope_create(&params, &r) != ROPE_STATUS_OK) {
 *         fprintf(stderr, "%s\n", rope_error_message());
 *         return 1;
 *     }
 *     int32_t positions[2] = {0, 1};
 *     rope_qk_f32 qk = {0};
 *     qk.q = q; qk.q_len = 2 * 32 * 128; qk.n_q_heads = 32;   // [2, 32, 128]
 *     qk.k = k; qk.k_len = 2 * 8 * 128;  qk.n_k_heads = 8;    // [2, 8, 128]
 *     qk.n_tokens = 2;
 *     qk.positions = positions;
 *     qk.layout = ROPE_LAYOUT_TOKENS_HEADS_DIM;
 *     rope_apply_f32(r, &qk);
 *     rope_free(r);
 *
 * Pairings, for head_dim 8 and rotary_dim 8 (x[j] is element j of one head,
 * "(a, b)" is a pair rotated together by frequency theta_i):
 *
 *     half (rotate_half; GPT-NeoX, Hugging Face Llama):
 *         slot:  0   1   2   3   4   5   6   7
 *         pair:  i0  i1  i2  i3  i0  i1  i2  i3     -> (x[i], x[i + 4])
 *     interleaved (GPT-J, Meta's original Llama code):
 *         slot:  0   1   2   3   4   5   6   7
 *         pair:  i0  i0  i1  i1  i2  i2  i3  i3     -> (x[2i], x[2i + 1])
 *
 *   Each pair (a, b) becomes (a cos - b sin, a sin + b cos) for the angle
 *   m * theta_i, times the attention scaling of the rope type. With partial
 *   rotary (rotary_dim < head_dim) the pairs are formed inside the first
 *   rotary_dim slots exactly as above, with rotary_dim in place of
 *   head_dim, and slots rotary_dim .. head_dim - 1 are left bit-identical.
 *
 * Errors: every function that can fail returns a rope_status. On failure,
 * rope_error_message() returns a sentence naming the argument, its value
 * and the valid range; output buffers are then left in an unspecified but
 * in-bounds state. No function aborts, prints, or touches memory outside
 * the buffers and lengths the caller passes.
 *
 * Limitations:
 *   - float32 tensors only (no float16/bfloat16 storage).
 *   - rope_error_message() keeps one message per thread; it is overwritten
 *     by the next failing call on that thread.
 *   - Positions are int32, so contexts are limited to 2^31 - 1 tokens.
 */
#ifndef ROPE_H
#define ROPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result of every fallible call. INVALID is a caller error (a value out of
 * range); UNSUPPORTED is a valid request this build cannot serve. */
typedef enum rope_status {
    ROPE_STATUS_OK = 0,
    ROPE_STATUS_INVALID_ARGUMENT = 1,
    ROPE_STATUS_MISSING_PARAMETER = 2,
    ROPE_STATUS_BUFFER_TOO_SMALL = 3,
    ROPE_STATUS_OUT_OF_MEMORY = 4,
    ROPE_STATUS_UNSUPPORTED = 5
} rope_status;

/* Frequency rules, named as in transformers' `rope_type`. */
typedef enum rope_type {
    ROPE_TYPE_DEFAULT = 0,  /* theta_i = base^(-2i/d) */
    ROPE_TYPE_LINEAR = 1,   /* position interpolation: theta_i / factor */
    ROPE_TYPE_DYNAMIC = 2,  /* dynamic NTK: base grows with the sequence length */
    ROPE_TYPE_YARN = 3,     /* YaRN, Peng et al. 2023 */
    ROPE_TYPE_LONGROPE = 4, /* LongRoPE, Ding et al. 2024 (legacy name "su") */
    ROPE_TYPE_LLAMA3 = 5    /* Llama 3.1 band-wise scaling */
} rope_type;

/* How the rotary slots form pairs; see the drawing above. */
typedef enum rope_pairing {
    ROPE_PAIRING_HALF = 0,
    ROPE_PAIRING_INTERLEAVED = 1
} rope_pairing;

/* Memory layout of a q or k tensor (row-major, last index fastest). */
typedef enum rope_layout {
    ROPE_LAYOUT_TOKENS_HEADS_DIM = 0, /* [n_tokens, n_heads, head_dim] */
    ROPE_LAYOUT_HEADS_TOKENS_DIM = 1  /* [n_heads, n_tokens, head_dim] */
} rope_layout;

/* Kernel choice for rope_apply_f32. AUTO takes the fastest variant this
 * build has; SCALAR forces the portable loop in any build. */
typedef enum rope_kernel {
    ROPE_KERNEL_AUTO = 0,
    ROPE_KERNEL_SCALAR = 1,
    ROPE_KERNEL_SIMD128 = 2
} rope_kernel;

/* Parameters of one rotary embedding. Fill it with rope_params_init, which
 * sets every field to its transformers default or to "unset"; then set the
 * fields your rope type needs. Unset doubles are NaN and unset integers are
 * 0; a required field left unset is reported as ROPE_STATUS_MISSING_PARAMETER.
 *
 * Which fields each type reads (all types read head_dim, rotary_dim, base,
 * pairing):
 *   linear:   factor
 *   dynamic:  factor, max_position_embeddings
 *   yarn:     factor, original_max_position_embeddings (else
 *             max_position_embeddings), beta_fast, beta_slow, mscale,
 *             mscale_all_dim, attention_factor, truncate
 *   longrope: short_factor, long_factor, n_factors (= rotary_dim / 2),
 *             original_max_position_embeddings, max_position_embeddings,
 *             factor, attention_factor
 *   llama3:   factor, low_freq_factor, high_freq_factor,
 *             original_max_position_embeddings
 */
typedef struct rope_params {
    rope_type type;
    rope_pairing pairing;               /* default ROPE_PAIRING_HALF */
    int32_t head_dim;                   /* even, 2 .. 65536 */
    int32_t rotary_dim;                 /* even, 2 .. head_dim; 0 means head_dim */
    double base;                        /* rope_theta; finite, > 1; default 10000 */

    double factor;                      /* >= 1; unset (NaN) */
    int32_t max_position_embeddings;    /* > 0; unset (0) */
    int32_t original_max_position_embeddings; /* > 0; unset (0) */

    /* YaRN */
    double beta_fast;                   /* default 32 */
    double beta_slow;                   /* default 1 */
    double mscale;                      /* 0 (default) means not given */
    double mscale_all_dim;              /* 0 (default) means not given */
    double attention_factor;            /* > 0; unset (NaN) means derived */
    int32_t truncate;                   /* nonzero (default): round the ramp edges */

    /* Llama 3 */
    double low_freq_factor;             /* unset (NaN) */
    double high_freq_factor;            /* unset (NaN), > low_freq_factor */

    /* LongRoPE: per-pair divisors of theta_i, each finite and > 0. The
     * arrays are copied by rope_create. */
    const double *short_factor;
    const double *long_factor;
    int32_t n_factors;
} rope_params;

/* Opaque, immutable after creation; safe to share between threads. */
typedef struct rope rope;

/* Describes one rope_apply_f32 call. q and k are rotated in place and may
 * have different head counts (grouped-query attention); k may be NULL with
 * n_k_heads 0 to rotate q alone. positions[t] is the position of token t
 * for every head; values need not be contiguous or sorted. */
typedef struct rope_qk_f32 {
    float *q;
    size_t q_len;                       /* elements available at q */
    int32_t n_q_heads;
    float *k;
    size_t k_len;                       /* elements available at k */
    int32_t n_k_heads;
    int32_t n_tokens;
    const int32_t *positions;           /* n_tokens entries, each >= 0 */
    rope_layout layout;
    /* Sequence length for the length-dependent types (dynamic, longrope);
     * 0 means max(positions) + 1. Ignored by the other types. */
    int64_t seq_len;
} rope_qk_f32;

/* Fill *params with defaults for `type` and `head_dim` (base 10000, half
 * pairing, full rotary dims, YaRN betas 32 and 1, truncate on, every other
 * field unset). */
void rope_params_init(rope_params *params, rope_type type, int32_t head_dim);

/* Validate *params and build a rope. On success *out owns a new object
 * that rope_free releases. */
rope_status rope_create(const rope_params *params, rope **out);

/* Release a rope from rope_create; NULL is a no-op. */
void rope_free(rope *r);

int32_t rope_head_dim(const rope *r);
int32_t rope_rotary_dim(const rope *r);
rope_pairing rope_get_pairing(const rope *r);
rope_type rope_get_type(const rope *r);

/* Attention scaling that the rope type implies (YaRN's mscale, LongRoPE's
 * sqrt(1 + ln s / ln L); 1 for the others). Tables and rope_apply_f32
 * already multiply cos and sin by it. */
double rope_attention_scaling(const rope *r);

/* Write the rotary_dim / 2 frequencies theta_i (radians per token) in
 * effect for a sequence of seq_len tokens to out[0 .. rotary_dim/2 - 1].
 * seq_len matters for dynamic and longrope only and must be >= 1. */
rope_status rope_inv_freq(const rope *r, int64_t seq_len, double *out, size_t out_len);

/* Write cos and sin tables of shape [n_positions, rotary_dim / 2]:
 * cos[p * rotary_dim/2 + i] = scaling * cos(positions[p] * theta_i).
 * seq_len as in rope_inv_freq; 0 means max(positions) + 1. */
rope_status rope_table_f32(const rope *r, const int32_t *positions, int32_t n_positions,
                           int64_t seq_len, float *cos_out, float *sin_out, size_t out_len);

/* Rotate q and k in place as described by *qk, with the fastest kernel
 * allowed by rope_set_kernel. */
rope_status rope_apply_f32(const rope *r, const rope_qk_f32 *qk);

/* Rotate q and k in place as rope_apply_f32 does, with cos/sin rows that
 * the caller made once for many calls (a table computed per step and used
 * by every layer). Row t, rotary_dim / 2 floats at cos + t * rotary_dim/2
 * and likewise in sin, serves token t of every head, as rope_table_f32
 * writes them, so rows from rope_table_f32 for qk's positions give results
 * bit-identical to rope_apply_f32. The rows already hold the attention
 * scaling and the frequencies for their sequence length, so qk->positions
 * (which may be NULL) and qk->seq_len are ignored. The rows are only read.
 *
 * table_len is the number of floats available at each of cos and sin.
 * Errors: INVALID_ARGUMENT for a NULL rope, qk, cos or sin, or a value of
 * *qk that rope_apply_f32 rejects; BUFFER_TOO_SMALL for q_len or k_len as
 * in rope_apply_f32, or table_len below n_tokens * rotary_dim / 2. */
rope_status rope_apply_table_f32(const rope *r, const rope_qk_f32 *qk, const float *cos,
                                 const float *sin, size_t table_len);

/* Write out[m * n_k + n] = q_m . k_n for n_q query rows and n_k key rows of
 * dim floats each (row-major, contiguous): the attention scores of rotated
 * q and k before the 1/sqrt(d) scaling. Products are exact in double; the
 * SIMD128 kernel sums them in float32 within 16-slot chunks and the chunk
 * sums in double, the scalar one in double throughout. */
rope_status rope_scores_f32(const float *q, int32_t n_q, const float *k, int32_t n_k, int32_t dim,
                            double *out, size_t out_len);

/* Choose the kernel that rope_apply_f32 uses in this process (one dispatch
 * point for the whole library). Asking for SIMD128 in a build without it
 * returns ROPE_STATUS_UNSUPPORTED and keeps the current choice. */
rope_status rope_set_kernel(rope_kernel kernel);

/* The kernel rope_apply_f32 runs now: SCALAR or SIMD128, never AUTO. */
rope_kernel rope_active_kernel(void);

/* Nonzero when this build contains the SIMD128 kernels. */
int rope_has_simd128(void);

/* Constant name of a status, such as "ROPE_STATUS_INVALID_ARGUMENT". */
const char *rope_status_name(rope_status status);

/* Sentence describing the last failure on this thread ("" if none). */
const char *rope_error_message(void);

#ifdef __cplusplus
}
#endif

#endif /* ROPE_H */
