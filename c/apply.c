/*
 * apply.c: rope_apply_f32, which checks a q/k description, builds cos/sin
 * rows for a block of tokens at a time and hands them to the kernel chosen
 * by rope_select_kernel; and rope_apply_table_f32, which takes the rows
 * from the caller.
 */
#include <stdlib.h>

#include "internal.h"
#include "kernels.h"

/* cos and sin rows for up to this many pair values live on the stack; the
 * block of tokens per pass is sized to fit (at least one token). */
#define ROPE_STACK_TABLE_FLOATS 1024
/* Frequencies and row-plan tables up to these pair counts live on the
 * stack too (2 KB and 18 KB of the 64 KB stack). */
#define ROPE_STACK_FREQS 256
#define ROPE_STACK_PLAN_PAIRS 64
/* [heads, tokens, head_dim] walks ROPE_HTD_HEAD_GROUP heads at a time,
 * token by token, so each row serves the whole group. Measured with rows
 * from a table, 32 heads of 128 dims, 2048 and 8192 tokens (AMD EPYC, V8):
 * one head at a time 0.50-0.63 ns per element, groups of 4 about
 * 0.24-0.28, of 8 about 0.17-0.22, of 16 about 0.5-0.65. The last is
 * probably cache-set conflicts: with a power-of-two head stride, 16 heads'
 * lines exceed the 8 ways of an L1 set. */
#define ROPE_HTD_HEAD_GROUP 8
/* rope_apply_f32 fills rows for blocks of up to this many bytes (on the
 * heap) in [heads, tokens, head_dim], so they stay in L2 for every group. */
#define ROPE_HTD_ROW_BYTES (128 * 1024)
/* Walk choice for one tensor (measured with rows from a table, 32 heads,
 * AMD EPYC with 1 MiB L2 and 32 MiB L3, V8; ns per element):
 * - up to ROPE_IN_CACHE_BYTES the paired walk (two heads per step sharing
 *   each cos/sin load): 0.11-0.14 against 0.13-0.20 one head at a time.
 *   The interleaved pairing takes the grouped walk there (see choose_walk).
 * - Beyond it, from DRAM, two streams 512 bytes or more apart run slowly.
 *   The paired walk at head_dim 128 took 0.23-0.26 against 0.19-0.21 for
 *   rotate-half, and 0.30-0.60 against 0.16-0.20 for interleaved. The
 *   halves of rotate-half from rotary_dim 256 took 0.59, against 0.27 for
 *   the staged walk, which reads and writes in order.
 * - So larger tensors pair heads only when heads are under 128 floats (d64:
 *   0.20 against 0.22), and take the staged walk for rotate-half from
 *   rotary_dim 256.
 * NOTE: the size limit follows the cache size, so on a machine with a
 * smaller L3 it lies lower. */
#define ROPE_IN_CACHE_BYTES ((size_t)8 << 20)
#define ROPE_PAIRED_WALK_MAX_HEAD_DIM 127
#define ROPE_STAGED_WALK_MIN_ROTARY_DIM 256

/* Rows start on a cache line, so that no 16-byte load of them straddles two. */
#define ROPE_LINE_BYTES 64

static float *line_aligned(float *p) {
    const uintptr_t address = (uintptr_t)p;
    return (float *)(address + (ROPE_LINE_BYTES - address % ROPE_LINE_BYTES) % ROPE_LINE_BYTES);
}

static rope_status check_tensor(const char *name, const float *data, size_t len, int32_t n_heads,
                                int32_t n_tokens, int32_t head_dim, int required) {
    if (n_heads < 0 || (required && n_heads == 0)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "n_%s_heads is %d; expected an integer >= %d",
                          name, (int)n_heads, required ? 1 : 0);
    }
    if (n_heads == 0) {
        return ROPE_STATUS_OK;
    }
    if (data == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "%s is NULL; expected a buffer for %d heads", name, (int)n_heads);
    }
    size_t needed = 0;
    if (__builtin_mul_overflow((size_t)n_tokens, (size_t)n_heads, &needed) ||
        __builtin_mul_overflow(needed, (size_t)head_dim, &needed) || len < needed) {
        return rope__fail(ROPE_STATUS_BUFFER_TOO_SMALL,
                          "%s_len is %zu; expected at least n_tokens * n_%s_heads * head_dim = "
                          "%d * %d * %d",
                          name, len, name, (int)n_tokens, (int)n_heads, (int)head_dim);
    }
    return ROPE_STATUS_OK;
}

/* The walk for one [tokens, heads, head_dim] tensor of `bytes` bytes (see
 * ROPE_IN_CACHE_BYTES). */
static int choose_walk(const rope *r, size_t bytes) {
    if (bytes <= ROPE_IN_CACHE_BYTES) {
        /* In cache the interleaved pairing takes the grouped walk: for one
         * token of 32 q heads at head_dim 128 it measured 0.118-0.120 ns
         * per element against 0.135 paired, and 128 tokens (2 MiB) ran as
         * fast as paired. From DRAM (head_dim 80) and in [heads, tokens,
         * head_dim] it was 1.1-1.7x slower than paired, so it is kept to
         * this case. */
        return r->params.pairing == ROPE_PAIRING_INTERLEAVED ? ROPE_WALK_GROUPED : ROPE_WALK_PAIRED;
    }
    if (r->params.rotary_dim >= ROPE_STAGED_WALK_MIN_ROTARY_DIM) {
        return ROPE_WALK_STAGED; /* the ONE walk for the interleaved pairing */
    }
    return r->params.head_dim <= ROPE_PAIRED_WALK_MAX_HEAD_DIM ? ROPE_WALK_PAIRED : ROPE_WALK_ONE;
}

/* Rotate tokens [t0, t0 + n) of one tensor with rows cos/sin for them. */
static void rotate_block(const rope *r, float *x, int32_t n_heads, int32_t n_tokens,
                         rope_layout layout, int32_t t0, int32_t n, const float *cos,
                         const float *sin) {
    const ptrdiff_t head_dim = r->params.head_dim;
    const int32_t rotary_dim = r->params.rotary_dim;
    const size_t n_pairs = (size_t)r->n_pairs;
    const size_t bytes = (size_t)n_tokens * (size_t)n_heads * (size_t)head_dim * sizeof(float);
    if (layout == ROPE_LAYOUT_TOKENS_HEADS_DIM) {
        /* [tokens, heads, head_dim]: the heads of one token are adjacent
         * and share one row. */
        const rope_kernel_fn kernel = rope_select_kernel(r->params.pairing, choose_walk(r, bytes));
        for (int32_t t = 0; t < n; t++) {
            float *token = x + (size_t)(t0 + t) * (size_t)n_heads * (size_t)head_dim;
            kernel(token, n_heads, head_dim, rotary_dim, cos + (size_t)t * n_pairs,
                   sin + (size_t)t * n_pairs, 0);
        }
    } else {
        /* [heads, tokens, head_dim]: a group of heads walks the tokens
         * together, each row serving the whole group, so the walk is
         * ROPE_HTD_HEAD_GROUP sequential streams. */
        const ptrdiff_t head_stride = (ptrdiff_t)n_tokens * head_dim;
        /* Paired measured faster here (2048 tokens: 0.155 against 0.177 ns per
         * element for half, 0.19 against 0.21 for interleaved). The exception
         * is rotate-half with halves 512 bytes or more apart in large tensors.
         * At head_dim 256 paired took 0.19 at 16 MiB but 0.35-0.43 at 64 MiB,
         * and staged 0.21-0.26 and 0.22. */
        const int staged = bytes > 2 * ROPE_IN_CACHE_BYTES && rotary_dim >= ROPE_STAGED_WALK_MIN_ROTARY_DIM &&
                           r->params.pairing == ROPE_PAIRING_HALF;
        const rope_kernel_fn kernel =
            rope_select_kernel(r->params.pairing, staged ? ROPE_WALK_STAGED : ROPE_WALK_PAIRED);
        /* The staged walk streams both halves of each head: 4 heads measured
         * 0.22 ns per element against 0.32 for 8 (head_dim 256, 2048 tokens). */
        const int32_t per_group = staged ? ROPE_HTD_HEAD_GROUP / 2 : ROPE_HTD_HEAD_GROUP;
        for (int32_t h0 = 0; h0 < n_heads; h0 += per_group) {
            const int32_t group = n_heads - h0 < per_group ? n_heads - h0 : per_group;
            float *first = x + ((size_t)h0 * (size_t)n_tokens + (size_t)t0) * (size_t)head_dim;
            for (int32_t t = 0; t < n; t++) {
                kernel(first + (size_t)t * (size_t)head_dim, group, head_stride, rotary_dim,
                       cos + (size_t)t * n_pairs, sin + (size_t)t * n_pairs, 0);
            }
        }
    }
}

/* The checks rope_apply_f32 and rope_apply_table_f32 share: the rope, the
 * description, the layout and both tensors. */
static rope_status check_qk(const rope *r, const rope_qk_f32 *qk) {
    if (r == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "r is NULL; expected a rope from rope_create");
    }
    if (qk == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "qk is NULL; expected a rope_qk_f32");
    }
    if (qk->n_tokens < 0) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "n_tokens is %d; expected an integer >= 0",
                          (int)qk->n_tokens);
    }
    if ((unsigned)qk->layout > (unsigned)ROPE_LAYOUT_HEADS_TOKENS_DIM) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "layout is %d; expected 0 ([tokens, heads, head_dim]) or 1 "
                          "([heads, tokens, head_dim])",
                          (int)qk->layout);
    }
    rope_status status = check_tensor("q", qk->q, qk->q_len, qk->n_q_heads, qk->n_tokens,
                                      r->params.head_dim, 1);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    return check_tensor("k", qk->k, qk->k_len, qk->n_k_heads, qk->n_tokens, r->params.head_dim, 0);
}

/* Rotate tokens [t0, t0 + n) of q and k with their rows cos/sin. */
static void rotate_qk_block(const rope *r, const rope_qk_f32 *qk, int32_t t0, int32_t n,
                            const float *cos, const float *sin) {
    rotate_block(r, qk->q, qk->n_q_heads, qk->n_tokens, qk->layout, t0, n, cos, sin);
    if (qk->n_k_heads > 0) {
        rotate_block(r, qk->k, qk->n_k_heads, qk->n_tokens, qk->layout, t0, n, cos, sin);
    }
}

rope_status rope_apply_f32(const rope *r, const rope_qk_f32 *qk) {
    rope__clear_error();
    /* Check the description before touching any buffer. */
    rope_status status = check_qk(r, qk);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    int32_t max_position = -1;
    status = rope__check_positions(qk->positions, qk->n_tokens, &max_position);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    int64_t seq_len = 0;
    status = rope__resolve_seq_len(qk->seq_len, max_position, &seq_len);
    if (status != ROPE_STATUS_OK) {
        return status;
    }

    /* Scratch on the stack when it fits: frequencies for this length,
     * cos/sin rows for a block of tokens, and the row plan's tables for
     * calls long enough to use them. The heap is used only past that, and
     * for the longer blocks of the [heads, tokens, head_dim] layout. */
    const int32_t n_pairs = r->n_pairs;
    _Alignas(ROPE_LINE_BYTES) float stack_table[2 * ROPE_STACK_TABLE_FLOATS];
    double stack_freq[ROPE_STACK_FREQS];
    double stack_plan[(2 * ROPE_ANCHOR_SPAN + 4) * ROPE_STACK_PLAN_PAIRS];
    float *cos = stack_table;
    int32_t block = ROPE_STACK_TABLE_FLOATS / n_pairs;
    double *freq_scratch = NULL;
    double *heap_freq = NULL;
    float *heap_table = NULL;
    double *plan_scratch = NULL;
    double *heap_plan = NULL;
    if (rope__depends_on_seq_len(r->params.type)) {
        freq_scratch = n_pairs <= ROPE_STACK_FREQS ? stack_freq
                                                    : (heap_freq = malloc((size_t)n_pairs * sizeof *heap_freq));
    }
    if (block == 0) {
        block = 1;
        heap_table = malloc(2 * (size_t)n_pairs * sizeof *heap_table + ROPE_LINE_BYTES);
        cos = heap_table == NULL ? NULL : line_aligned(heap_table);
    } else if (qk->layout == ROPE_LAYOUT_HEADS_TOKENS_DIM && qk->n_tokens > block) {
        /* Optional: without it the stack block is used, with the same rows. */
        int32_t want = (int32_t)(ROPE_HTD_ROW_BYTES / (2 * sizeof(float) * (size_t)n_pairs));
        want = qk->n_tokens < want ? qk->n_tokens : want;
        if (want > block) {
            heap_table = malloc(2 * (size_t)want * (size_t)n_pairs * sizeof *heap_table + ROPE_LINE_BYTES);
            if (heap_table != NULL) {
                cos = line_aligned(heap_table);
                block = want;
            }
        }
    }
    if ((rope__depends_on_seq_len(r->params.type) && freq_scratch == NULL) || cos == NULL) {
        free(heap_freq);
        free(heap_table);
        return rope__fail(ROPE_STATUS_OUT_OF_MEMORY, "out of memory allocating %d-pair tables",
                          (int)n_pairs);
    }
    const double *inv_freq = NULL;
    status = rope__frequencies(r, seq_len, freq_scratch, &inv_freq);
    if (status != ROPE_STATUS_OK) {
        free(heap_freq);
        free(heap_table);
        return status;
    }
    if (qk->n_tokens >= ROPE_ANCHOR_SPAN) {
        /* Optional: without it the rows are the same, only slower. */
        plan_scratch = n_pairs <= ROPE_STACK_PLAN_PAIRS
                           ? stack_plan
                           : (heap_plan = malloc(rope__row_scratch_doubles(n_pairs) * sizeof *heap_plan));
    }
    float *sin = cos + (size_t)block * (size_t)n_pairs;
    rope_row_plan plan;
    rope__row_plan_init(&plan, r, inv_freq, plan_scratch, qk->n_tokens);

    /* Rotate block by block so the rows stay in cache for every head. */
    for (int32_t t0 = 0; t0 < qk->n_tokens; t0 += block) {
        int32_t n = qk->n_tokens - t0 < block ? qk->n_tokens - t0 : block;
        rope__fill_rows(&plan, qk->positions + t0, n, cos, sin);
        rotate_qk_block(r, qk, t0, n, cos, sin);
    }

    free(heap_freq);
    free(heap_table);
    free(heap_plan);
    return ROPE_STATUS_OK;
}

rope_status rope_apply_table_f32(const rope *r, const rope_qk_f32 *qk, const float *cos,
                                 const float *sin, size_t table_len) {
    rope__clear_error();
    rope_status status = check_qk(r, qk);
    if (status != ROPE_STATUS_OK) {
        return status;
    }
    const int32_t n_pairs = r->n_pairs;
    size_t needed = 0;
    if (__builtin_mul_overflow((size_t)qk->n_tokens, (size_t)n_pairs, &needed)) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "n_tokens is %d; n_tokens * rotary_dim / 2 = %d * %d does not fit size_t",
                          (int)qk->n_tokens, (int)qk->n_tokens, (int)n_pairs);
    }
    if (cos == NULL || sin == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT,
                          "%s is NULL; expected n_tokens * rotary_dim / 2 = %zu floats of rows",
                          cos == NULL ? "cos" : "sin", needed);
    }
    if (table_len < needed) {
        return rope__fail(ROPE_STATUS_BUFFER_TOO_SMALL,
                          "table_len is %zu; expected at least n_tokens * rotary_dim / 2 = %d * %d "
                          "= %zu",
                          table_len, (int)qk->n_tokens, (int)n_pairs, needed);
    }
    /* One pass over all tokens: for [heads, tokens, head_dim] each head
     * group then streams the rows once (measured faster than blocks of
     * tokens, which shorten every stream). */
    rotate_qk_block(r, qk, 0, qk->n_tokens, cos, sin);
    return ROPE_STATUS_OK;
}
