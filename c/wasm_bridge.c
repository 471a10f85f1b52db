/*
 * wasm_bridge.c: what the JavaScript wrapper needs beyond rope.h. The
 * wrapper writes rope_params and rope_qk_f32 straight into WASM memory, so
 * it reads their size and field offsets from here instead of hard-coding
 * them; and the memory tests read the allocator's bytes in use.
 */
#include <malloc.h>
#include <stddef.h>

#include "rope.h"

/* [sizeof, then byte offsets in the order the wrapper lists the fields]. */
static const uint32_t params_layout[] = {
    sizeof(rope_params),
    offsetof(rope_params, type),
    offsetof(rope_params, pairing),
    offsetof(rope_params, head_dim),
    offsetof(rope_params, rotary_dim),
    offsetof(rope_params, base),
    offsetof(rope_params, factor),
    offsetof(rope_params, max_position_embeddings),
    offsetof(rope_params, original_max_position_embeddings),
    offsetof(rope_params, beta_fast),
    offsetof(rope_params, beta_slow),
    offsetof(rope_params, mscale),
    offsetof(rope_params, mscale_all_dim),
    offsetof(rope_params, attention_factor),
    offsetof(rope_params, truncate),
    offsetof(rope_params, low_freq_factor),
    offsetof(rope_params, high_freq_factor),
    offsetof(rope_params, short_factor),
    offsetof(rope_params, long_factor),
    offsetof(rope_params, n_factors),
};

static const uint32_t qk_layout[] = {
    sizeof(rope_qk_f32),
    offsetof(rope_qk_f32, q),
    offsetof(rope_qk_f32, q_len),
    offsetof(rope_qk_f32, n_q_heads),
    offsetof(rope_qk_f32, k),
    offsetof(rope_qk_f32, k_len),
    offsetof(rope_qk_f32, n_k_heads),
    offsetof(rope_qk_f32, n_tokens),
    offsetof(rope_qk_f32, positions),
    offsetof(rope_qk_f32, layout),
    offsetof(rope_qk_f32, seq_len),
};

const uint32_t *rope_wasm_params_layout(void) { return params_layout; }
const uint32_t *rope_wasm_qk_layout(void) { return qk_layout; }

/* Bytes currently allocated by malloc (dlmalloc's uordblks). */
size_t rope_wasm_heap_in_use(void) {
    struct mallinfo info = mallinfo();
    return (size_t)info.uordblks;
}
