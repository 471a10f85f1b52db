/*
 * apply.c: rope_apply_f32, which checks a q/k description, builds cos/sin
 * rows for a block of tokens at a time and hands them to the kernel chosen
 * by rope_select_kernel.
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

/* Rotate tokens [t0, t0 + n) of one tensor with rows cos/sin for them. */
static void rotate_block(rope_kernel_fn kernel, const rope *r, float *x, int32_t n_heads,
                         int32_t n_tokens, rope_layout layout, int32_t t0, int32_t n,
                         const float *cos, const float *sin) {
    const ptrdiff_t head_dim = r->params.head_dim;
    const int32_t rotary_dim = r->params.rotary_dim;
    if (layout == ROPE_LAYOUT_TOKENS_HEADS_DIM) {
        /* [tokens, heads, head_dim]: the heads of one token are adjacent
         * and share one row. */
        for (int32_t t = 0; t < n; t++) {
            float *token = x + (size_t)(t0 + t) * (size_t)n_heads * (size_t)head_dim;
            kernel(token, n_heads, head_dim, rotary_dim, cos + (size_t)t * (size_t)r->n_pairs,
                   sin + (size_t)t * (size_t)r->n_pairs, 0);
        }
    } else {
        /* [heads, tokens, head_dim]: within a head, consecutive tokens take
         * consecutive rows. (Walking the heads of one token instead would
         * share a row, but heads n_tokens * head_dim apart map to the same
         * cache sets whenever that stride is a large power of two.) */
        for (int32_t h = 0; h < n_heads; h++) {
            float *head = x + ((size_t)h * (size_t)n_tokens + (size_t)t0) * (size_t)head_dim;
            kernel(head, n, head_dim, rotary_dim, cos, sin, r->n_pairs);
        }
    }
}

rope_status rope_apply_f32(const rope *r, const rope_qk_f32 *qk) {
    rope__clear_error();
    if (r == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "r is NULL; expected a rope from rope_create");
    }
    if (qk == NULL) {
        return rope__fail(ROPE_STATUS_INVALID_ARGUMENT, "qk is NULL; expected a rope_qk_f32");
    }

    /* Check the description before touching any buffer. */
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
    status = check_tensor("k", qk->k, qk->k_len, qk->n_k_heads, qk->n_tokens, r->params.head_dim, 0);
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
     * calls long enough to use them. The heap is used only past that. */
    const int32_t n_pairs = r->n_pairs;
    float stack_table[2 * ROPE_STACK_TABLE_FLOATS];
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
        heap_table = malloc(2 * (size_t)n_pairs * sizeof *heap_table);
        cos = heap_table;
    }
    if ((rope__depends_on_seq_len(r->params.type) && freq_scratch == NULL) || cos == NULL) {
        free(heap_freq);
        free(heap_table);
        return rope__fail(ROPE_STATUS_OUT_OF_MEMORY, "out of memory allocating %d-pair tables",
                          (int)n_pairs);
    }
    if (qk->n_tokens >= ROPE_ANCHOR_SPAN) {
        /* Optional: without it the rows are the same, only slower. */
        plan_scratch = n_pairs <= ROPE_STACK_PLAN_PAIRS
                           ? stack_plan
                           : (heap_plan = malloc(rope__row_scratch_doubles(n_pairs) * sizeof *heap_plan));
    }
    float *sin = cos + (size_t)block * (size_t)n_pairs;
    const double *inv_freq = NULL;
    status = rope__frequencies(r, seq_len, freq_scratch, &inv_freq);
    if (status != ROPE_STATUS_OK) {
        free(heap_freq);
        free(heap_table);
        free(heap_plan);
        return status;
    }
    rope_kernel_fn kernel = rope_select_kernel(r->params.pairing);
    rope_row_plan plan;
    rope__row_plan_init(&plan, r, inv_freq, plan_scratch, qk->n_tokens);

    /* Rotate block by block so the rows stay in cache for every head. */
    for (int32_t t0 = 0; t0 < qk->n_tokens; t0 += block) {
        int32_t n = qk->n_tokens - t0 < block ? qk->n_tokens - t0 : block;
        rope__fill_rows(&plan, qk->positions + t0, n, cos, sin);
        rotate_block(kernel, r, qk->q, qk->n_q_heads, qk->n_tokens, qk->layout, t0, n, cos, sin);
        if (qk->n_k_heads > 0) {
            rotate_block(kernel, r, qk->k, qk->n_k_heads, qk->n_tokens, qk->layout, t0, n, cos, sin);
        }
    }

    free(heap_freq);
    free(heap_table);
    free(heap_plan);
    return ROPE_STATUS_OK;
}
