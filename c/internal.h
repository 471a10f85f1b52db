/*
 * internal.h: declarations shared by the C sources (private).
 */
#ifndef ROPE_INTERNAL_H
#define ROPE_INTERNAL_H

#include "rope.h"

#define ROPE_MAX_HEAD_DIM 65536

/* 2 pi rounded to double; M_PI is not in strict ISO C. */
#define ROPE_TWO_PI 6.283185307179586476925286766559

struct rope {
    rope_params params;       /* validated copy; factor pointers below */
    double *short_factor;     /* owned copies (LongRoPE only), else NULL */
    double *long_factor;
    int32_t n_pairs;          /* rotary_dim / 2 */
    double attention_scaling;
    double *inv_freq;         /* n_pairs entries, for types whose
                                 frequencies do not depend on seq_len */
    /* cos(d * inv_freq[i]) for d = 0 .. ROPE_ANCHOR_SPAN - 1, row d at
     * offset_cos + d * n_pairs, and the sines likewise; computed once by
     * rope_create for the fixed-frequency types with at most
     * ROPE_OFFSET_ROWS_MAX_PAIRS pairs, else NULL (rows are then computed
     * per call, with the same bits). */
    double *offset_cos;
    double *offset_sin;
    /* Nonzero and unique among the ropes of this process: the key under
     * which a thread caches its last anchor row for this rope (table.c). */
    uint64_t serial;
};

/* Largest pair count whose offset rows rope_create keeps (64 KB). */
#define ROPE_OFFSET_ROWS_MAX_PAIRS 256

/* Store a formatted message for rope_error_message() and return `status`,
 * so a check reads `return rope__fail(ROPE_STATUS_..., "...", ...)`. */
rope_status rope__fail(rope_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Write the shortest significant digits (1 to 17, no leading or trailing
 * zeros) that read back as x, a finite double > 0, and set *exponent so
 * that x = d0.d1d2... * 10^exponent. Returns the digit count. */
int rope__shortest_digits(double x, char *digits, int *exponent);

/* Clear the message at the start of a public call. */
void rope__clear_error(void);

/* The same as rope__fail without the status, for callers that track it. */
void rope__set_error(const char *fmt, ...);

/* theta_i = base^(-2i/d) for i < d/2, in double (RoFormer, Su et al. 2021, eq. 15). */
void rope__default_inv_freq(double base, int32_t rotary_dim, double *out);

/* One file per rope type under rope_types/: each validates the fields it
 * reads, computes its attention scaling, and its frequencies. seq_len is
 * >= 1 and matters only to dynamic and longrope. */
rope_status rope__validate_linear(const rope_params *p);
rope_status rope__validate_dynamic(const rope_params *p);
rope_status rope__validate_yarn(const rope_params *p);
rope_status rope__validate_longrope(const rope_params *p);
rope_status rope__validate_llama3(const rope_params *p);

double rope__attention_yarn(const rope_params *p);
double rope__attention_longrope(const rope_params *p);

void rope__inv_freq_linear(const rope *r, double *out);
void rope__inv_freq_dynamic(const rope *r, int64_t seq_len, double *out);
void rope__inv_freq_yarn(const rope *r, double *out);
void rope__inv_freq_longrope(const rope *r, int64_t seq_len, double *out);
void rope__inv_freq_llama3(const rope *r, double *out);

/* Lower-case name of a type as in transformers' rope_type ("yarn"). */
const char *rope__type_name(rope_type type);

/* Nonzero when the type's frequencies depend on the sequence length. */
int rope__depends_on_seq_len(rope_type type);

/* Set *inv_freq to the frequencies in effect for seq_len (already
 * validated, >= 1): r->inv_freq, or `scratch` (n_pairs entries) filled for
 * the length-dependent types, which are checked here because extreme
 * lengths can push a frequency to 0 or infinity. */
rope_status rope__frequencies(const rope *r, int64_t seq_len, double *scratch,
                              const double **inv_freq);

/* Fill cos/sin rows (n_pairs floats each, times the attention scaling)
 * for n_positions already-validated positions. */
void rope__fill_table(const rope *r, const double *inv_freq, const int32_t *positions,
                      int32_t n_positions, float *cos_out, float *sin_out);

/* Check a positions array: non-NULL when n > 0, every entry >= 0. On
 * success *max_position is the largest entry (-1 when n is 0). */
rope_status rope__check_positions(const int32_t *positions, int32_t n, int32_t *max_position);

/* Resolve a caller's seq_len (0 = max position + 1) and validate it. */
rope_status rope__resolve_seq_len(int64_t seq_len, int32_t max_position, int64_t *out);

/* Finite and >= lo (x may be NaN or infinite). */
int rope__is_finite_at_least(double x, double lo);

/* Positions are split as p = A + d with A a multiple of this span (a power
 * of two) and 0 <= d < span; see table.c. */
#define ROPE_ANCHOR_SPAN 16

/* State for filling many cos/sin rows with the same frequencies. scratch,
 * when not NULL, holds rope__row_scratch_doubles(n_pairs) doubles and
 * keeps the offset table and the last anchor's values between calls. */
typedef struct rope_row_plan {
    const double *inv_freq;
    int32_t n_pairs;
    double scale;
    double *scratch;
    int32_t anchor;        /* anchor whose values are in scratch, or -1 */
    /* The ROPE_ANCHOR_SPAN offset rows (n_pairs doubles each), in the
     * rope or in scratch, or NULL to compute them per position. */
    const double *offset_cos;
    const double *offset_sin;
    /* r->serial when the anchor values may go through the calling thread's
     * one-row cache (the rope's own frequencies and offset rows), else 0. */
    uint64_t cache_key;
} rope_row_plan;

/* Fill the ROPE_ANCHOR_SPAN offset rows for n frequencies: cos_out and
 * sin_out get ROPE_ANCHOR_SPAN * n doubles each, row d = d * inv_freq. */
void rope__offset_rows(const double *inv_freq, int32_t n, double *cos_out, double *sin_out);

/* Doubles of scratch a row plan uses for n_pairs frequencies. */
size_t rope__row_scratch_doubles(int32_t n_pairs);

/* Prepare a plan for about n_positions rows; scratch may be NULL. The
 * rope's own offset rows are used when inv_freq is r->inv_freq. */
void rope__row_plan_init(rope_row_plan *plan, const rope *r, const double *inv_freq, double *scratch,
                         int32_t n_positions);

/* Fill n_positions rows (n_pairs floats each, times the attention scaling)
 * for validated positions. The bits of a row depend only on its position
 * and the frequencies, never on the plan's scratch or the other positions. */
void rope__fill_rows(rope_row_plan *plan, const int32_t *positions, int32_t n_positions,
                     float *cos_out, float *sin_out);

#endif /* ROPE_INTERNAL_H */
