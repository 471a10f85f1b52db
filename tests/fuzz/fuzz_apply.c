/*
 * fuzz_apply.c: rope_apply_f32 on q/k descriptions with arbitrary counts,
 * layouts, lengths and positions, over heap buffers of exactly q_len and
 * k_len floats so that ASan reports any access past them.
 *
 * Input: the rope_params wire format (fuzz_common.h; a block rope_create
 * rejects is replaced by a small default rope), then
 *   u8  kernel      0 AUTO, 1 SCALAR, 2 SIMD128, else passed through as is
 *   u8  layout      passed as (int8_t)
 *   u8  mode        bit 0: counts as read (else small: n_tokens mod 33,
 *                          q heads 1 + mod 8, k heads mod 9)
 *                   bits 1-2: q_len exact / + adjust / - adjust / adjust
 *                   bits 3-4: the same for k_len
 *                   bit 5: seq_len as read (else 0)
 *                   bit 6: q/k values are raw float bits (else int16 / 64)
 *                   bit 7: positions as read (else the sign bit cleared)
 *   u8  nulls       bit 0: q NULL, bit 1: k NULL, bit 2: positions NULL,
 *                   bit 3: give k a buffer even with 0 k heads
 *   i32 n_tokens, i32 n_q_heads, i32 n_k_heads
 *   u16 q_adjust, u16 k_adjust
 *   i64 seq_len
 *   i32 positions[n_tokens] as far as the input goes, then t * step
 *   then q and k values, as far as the input goes, then a fixed sequence
 *
 * Invariants:
 *   - the status is the one the description calls for, with the message
 *     contract of rope.h; rope_set_kernel answers as rope.h says and leaves
 *     rope_active_kernel on SCALAR or SIMD128;
 *   - on success, every rotary pair equals the kernel contract of
 *     c/kernels.h applied to the rows rope_table_f32 gives for the same
 *     positions (bit for bit), and is within float rounding of the double
 *     rotation scaling * (a cos - b sin, a sin + b cos);
 *   - slots rotary_dim .. head_dim - 1 keep their bits, and a k buffer
 *     with n_k_heads 0 is not touched.
 */
#include <float.h>

#include "fuzz_common.h"

#define MAX_ELEMS (1 << 17)

typedef struct tensor {
    const char *name;
    float *data;     /* rotated in place by the library */
    float *original; /* copy of the input values */
    size_t len;
    int32_t n_heads;
} tensor;

/* Deterministic filler once the input has run out. */
static uint32_t filler_state;
static float filler_value(void) {
    filler_state = filler_state * 1664525u + 1013904223u;
    return (float)((int32_t)(filler_state >> 8) % 2048) / 64.0f;
}

static float read_value(fz_reader *in, int raw) {
    if (raw && fz_remaining(in) >= 4) {
        uint32_t bits = fz_u32(in);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    if (fz_remaining(in) >= 2) {
        return (float)(int16_t)fz_u16(in) / 64.0f;
    }
    return filler_value();
}

/* Length for a tensor needing `needed` elements (SIZE_MAX: more than
 * MAX_ELEMS or not computable), chosen by a 2-bit selector. */
static size_t pick_len(size_t needed, unsigned selector, uint16_t adjust) {
    if (needed > MAX_ELEMS) {
        return adjust % (MAX_ELEMS + 1);
    }
    switch (selector) {
    case 0: return needed;
    case 1: return needed + adjust % 64 > MAX_ELEMS ? needed : needed + adjust % 64;
    case 2: return needed > 0 ? needed - 1 - adjust % needed : 0;
    default: return adjust % (MAX_ELEMS + 1);
    }
}

/* Elements n_tokens * n_heads * head_dim, or SIZE_MAX when any count is
 * negative or the product passes MAX_ELEMS. */
static size_t elements(int32_t n_tokens, int32_t n_heads, int32_t head_dim) {
    if (n_tokens < 0 || n_heads < 0) {
        return SIZE_MAX;
    }
    unsigned __int128 n = (unsigned __int128)n_tokens * (unsigned)n_heads * (unsigned)head_dim;
    return n > MAX_ELEMS ? SIZE_MAX : (size_t)n;
}

static int same_bits(float a, float b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

static void check_tensor(const rope *r, const tensor *x, int32_t n_tokens, rope_layout layout,
                         const int32_t *positions, const float *cos_rows, const float *sin_rows,
                         const double *freq) {
    const int32_t head_dim = rope_head_dim(r);
    const int32_t rotary_dim = rope_rotary_dim(r);
    const int32_t n_pairs = rotary_dim / 2;
    const int interleaved = rope_get_pairing(r) == ROPE_PAIRING_INTERLEAVED;
    const double scale = rope_attention_scaling(r);
    for (int32_t t = 0; t < n_tokens; t++) {
        for (int32_t h = 0; h < x->n_heads; h++) {
            const size_t vec = layout == ROPE_LAYOUT_TOKENS_HEADS_DIM
                                   ? ((size_t)t * (size_t)x->n_heads + (size_t)h) * (size_t)head_dim
                                   : ((size_t)h * (size_t)n_tokens + (size_t)t) * (size_t)head_dim;
            for (int32_t j = rotary_dim; j < head_dim; j++) {
                FZ_CHECK(same_bits(x->data[vec + j], x->original[vec + j]), "apply-passthrough",
                         "%s token %d head %d slot %d (rotary_dim %d) changed from %.9g to %.9g",
                         x->name, (int)t, (int)h, (int)j, (int)rotary_dim, x->original[vec + j],
                         x->data[vec + j]);
            }
            for (int32_t i = 0; i < n_pairs; i++) {
                const size_t ia = vec + (size_t)(interleaved ? 2 * i : i);
                const size_t ib = vec + (size_t)(interleaved ? 2 * i + 1 : i + n_pairs);
                const float a = x->original[ia], b = x->original[ib];
                const float c = cos_rows[(size_t)t * (size_t)n_pairs + (size_t)i];
                const float s = sin_rows[(size_t)t * (size_t)n_pairs + (size_t)i];
                /* c/kernels.h: one float rounding per operation, in this
                 * order, no fused multiply-add (built with -ffp-contract=off). */
                const float ea = a * c - b * s;
                const float eb = a * s + b * c;
                const float ga = x->data[ia], gb = x->data[ib];
                FZ_CHECK((same_bits(ga, ea) || (isnan(ga) && isnan(ea))) &&
                             (same_bits(gb, eb) || (isnan(gb) && isnan(eb))),
                         "apply-kernel-contract",
                         "%s token %d (position %d) head %d pair %d: (%.9g, %.9g) became "
                         "(%.9g, %.9g), the table rows give (%.9g, %.9g)",
                         x->name, (int)t, (int)positions[t], (int)h, (int)i, a, b, ga, gb, ea, eb);

                /* Double reference, where the values and the angle are
                 * meaningful in float32. */
                const double angle = (double)positions[t] * freq[i];
                const double ra = scale * ((double)a * cos(angle) - (double)b * sin(angle));
                const double rb = scale * ((double)a * sin(angle) + (double)b * cos(angle));
                const double mag = fabs((double)a) + fabs((double)b);
                if (!isfinite(mag) || scale * mag > 1e37 || fabs(angle) * 0x1p-52 > 1e-3) {
                    continue;
                }
                /* The rows are float32 too: below FLT_MIN a row value is
                 * off by up to 2^-150 absolute, which |a| and |b| magnify
                 * (a tiny scaling makes the whole row 0). */
                const double tol = scale * mag * (4 * (double)FLT_EPSILON + fabs(angle) * 0x1p-50) +
                                   mag * 0x1p-149 + 0x1p-140;
                FZ_CHECK(fabs(ga - ra) <= tol && fabs(gb - rb) <= tol, "apply-mismatch",
                         "%s token %d (position %d) head %d pair %d: (%.9g, %.9g) became "
                         "(%.9g, %.9g), reference (%.9g, %.9g), theta %.17g, scaling %.17g",
                         x->name, (int)t, (int)positions[t], (int)h, (int)i, a, b, ga, gb, ra, rb,
                         freq[i], scale);
            }
        }
    }
}

static void check_kernel_choice(unsigned kernel) {
    const rope_kernel before = rope_active_kernel();
    rope_status st = rope_set_kernel((rope_kernel)kernel);
    fz_check_message("rope_set_kernel", st);
    rope_status want;
    if (kernel == ROPE_KERNEL_AUTO || kernel == ROPE_KERNEL_SCALAR) {
        want = ROPE_STATUS_OK;
    } else if (kernel == ROPE_KERNEL_SIMD128) {
        want = rope_has_simd128() ? ROPE_STATUS_OK : ROPE_STATUS_UNSUPPORTED;
    } else {
        want = ROPE_STATUS_INVALID_ARGUMENT;
    }
    FZ_CHECK(st == want, "set-kernel", "rope_set_kernel(%u) returned %s, expected %s", kernel,
             rope_status_name(st), rope_status_name(want));
    const rope_kernel now = rope_active_kernel();
    FZ_CHECK(now == ROPE_KERNEL_SCALAR || now == ROPE_KERNEL_SIMD128, "set-kernel",
             "rope_active_kernel() is %d after rope_set_kernel(%u)", (int)now, kernel);
    if (st != ROPE_STATUS_OK) {
        FZ_CHECK(now == before, "set-kernel", "a rejected rope_set_kernel(%u) changed %d to %d",
                 kernel, (int)before, (int)now);
    } else if (kernel == ROPE_KERNEL_SCALAR) {
        FZ_CHECK(now == ROPE_KERNEL_SCALAR, "set-kernel", "SCALAR requested, %d active", (int)now);
    }
}

static void run(const uint8_t *data, size_t size) {
    fz_reader in = {data, size, 0};
    filler_state = (uint32_t)size;
    rope_params p;
    fz_read_params(&in, &p);
    rope *r = fz_create_rope_or_fallback(&p);
    const int32_t head_dim = rope_head_dim(r);
    const int32_t n_pairs = rope_rotary_dim(r) / 2;

    const unsigned kernel = fz_u8(&in);
    const rope_layout layout = (rope_layout)(int8_t)fz_u8(&in);
    const unsigned mode = fz_u8(&in);
    const unsigned nulls = fz_u8(&in);
    int32_t n_tokens = fz_i32(&in);
    int32_t n_q_heads = fz_i32(&in);
    int32_t n_k_heads = fz_i32(&in);
    const uint16_t q_adjust = fz_u16(&in);
    const uint16_t k_adjust = fz_u16(&in);
    int64_t seq_len = fz_i64(&in);
    if (!(mode & 1u)) {
        n_tokens = (int32_t)((uint32_t)n_tokens % 33u);
        n_q_heads = 1 + (int32_t)((uint32_t)n_q_heads % 8u);
        n_k_heads = (int32_t)((uint32_t)n_k_heads % 9u);
    }
    if (!(mode & 32u)) {
        seq_len = 0;
    }
    check_kernel_choice(kernel);

    /* Positions: exactly n_tokens entries. A count too large to allocate
     * can never fit the buffers below, and is sent with NULL positions,
     * which the library must reject either way. */
    const size_t q_needed = elements(n_tokens, n_q_heads, head_dim);
    const size_t k_needed = elements(n_tokens, n_k_heads, head_dim);
    int32_t *positions = NULL;
    int any_negative = 0;
    int32_t max_position = -1;
    if (!(nulls & 4u) && n_tokens >= 0 && n_tokens <= MAX_ELEMS / 2) {
        positions = fz_malloc_exact((size_t)n_tokens * sizeof *positions);
        int32_t step = 1;
        for (int32_t t = 0; t < n_tokens; t++) {
            const int32_t v = fz_position(&in, (size_t)t, (mode & 128u) != 0, &step);
            positions[t] = v;
            any_negative |= v < 0;
            max_position = v > max_position ? v : max_position;
        }
    }

    tensor q = {"q", NULL, NULL, pick_len(q_needed, (mode >> 1) & 3u, q_adjust), n_q_heads};
    tensor k = {"k", NULL, NULL, pick_len(k_needed, (mode >> 3) & 3u, k_adjust), n_k_heads};
    const int raw_values = (mode & 64u) != 0;
    tensor *both[2] = {&q, &k};
    for (int w = 0; w < 2; w++) {
        tensor *x = both[w];
        const int is_null = w == 0 ? (nulls & 1u) : ((nulls & 2u) || (n_k_heads == 0 && !(nulls & 8u)));
        if (is_null) {
            continue;
        }
        x->data = fz_malloc_exact(x->len * sizeof *x->data);
        x->original = fz_malloc(x->len * sizeof *x->original);
        for (size_t i = 0; i < x->len; i++) {
            x->data[i] = x->original[i] = read_value(&in, raw_values);
        }
    }

    /* What rope.h calls for. */
    const int invalid = n_tokens < 0 || ((unsigned)layout > 1u) || n_q_heads < 1 ||
                        q.data == NULL || n_k_heads < 0 || (n_k_heads > 0 && k.data == NULL) ||
                        (n_tokens > 0 && positions == NULL) || any_negative || seq_len < 0;
    const int too_small = (n_q_heads >= 1 && q.len < q_needed) ||
                          (n_k_heads >= 1 && k.len < k_needed);

    rope_qk_f32 qk;
    memset(&qk, 0, sizeof qk);
    qk.q = q.data;
    qk.q_len = q.len;
    qk.n_q_heads = n_q_heads;
    qk.k = k.data;
    qk.k_len = k.len;
    qk.n_k_heads = n_k_heads;
    qk.n_tokens = n_tokens;
    qk.positions = positions;
    qk.layout = layout;
    qk.seq_len = seq_len;
    rope_status st = rope_apply_f32(r, &qk);
    fz_check_message("rope_apply_f32", st);
    if (invalid || too_small) {
        FZ_CHECK(st != ROPE_STATUS_OK, "apply-status",
                 "accepted n_tokens %d, heads %d/%d, q_len %zu (need %zu), k_len %zu (need %zu), "
                 "layout %d, seq_len %lld",
                 (int)n_tokens, (int)n_q_heads, (int)n_k_heads, q.len, q_needed, k.len, k_needed,
                 (int)layout, (long long)seq_len);
        FZ_CHECK(!(invalid && !too_small) || st == ROPE_STATUS_INVALID_ARGUMENT, "apply-status",
                 "invalid description gave %s: %s", rope_status_name(st), rope_error_message());
        FZ_CHECK(!(too_small && !invalid) || st == ROPE_STATUS_BUFFER_TOO_SMALL, "apply-status",
                 "short buffer gave %s: %s", rope_status_name(st), rope_error_message());
        return;
    }
    FZ_CHECK(st == ROPE_STATUS_OK, "apply-status",
             "rejected a valid description (n_tokens %d, heads %d/%d, q_len %zu, k_len %zu): "
             "%s: %s",
             (int)n_tokens, (int)n_q_heads, (int)n_k_heads, q.len, k.len, rope_status_name(st),
             rope_error_message());
    if (k.data != NULL && n_k_heads == 0) {
        FZ_CHECK(memcmp(k.data, k.original, k.len * sizeof *k.data) == 0, "apply-k-touched",
                 "k changed although n_k_heads is 0");
    }
    if (n_tokens == 0) {
        return;
    }

    fz_check_scaling(r);
    const int64_t resolved = seq_len > 0 ? seq_len : (int64_t)max_position + 1;
    double *freq = fz_malloc((size_t)n_pairs * sizeof *freq);
    st = rope_inv_freq(r, resolved, freq, (size_t)n_pairs);
    FZ_CHECK(st == ROPE_STATUS_OK, "inv-freq-status", "rope_inv_freq(%lld) returned %s",
             (long long)resolved, rope_status_name(st));
    fz_check_freqs(r, resolved, freq, n_pairs);
    const size_t rows = (size_t)n_tokens * (size_t)n_pairs;
    float *cos_rows = fz_malloc(rows * sizeof *cos_rows);
    float *sin_rows = fz_malloc(rows * sizeof *sin_rows);
    st = rope_table_f32(r, positions, n_tokens, resolved, cos_rows, sin_rows, rows);
    FZ_CHECK(st == ROPE_STATUS_OK, "table-status", "rope_table_f32 for the same positions: %s",
             rope_status_name(st));

    check_tensor(r, &q, n_tokens, layout, positions, cos_rows, sin_rows, freq);
    if (n_k_heads > 0) {
        check_tensor(r, &k, n_tokens, layout, positions, cos_rows, sin_rows, freq);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FZ_RUN(run(data, size));
    return 0;
}
