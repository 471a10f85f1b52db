/*
 * fuzz_common.h: helpers shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * Included by exactly one harness source per binary, so everything here is
 * static. Provides
 *   - a little-endian byte reader that yields zeros once the input runs
 *     out (a short input is still a complete, valid test case);
 *   - the rope_params wire format that every harness and
 *     tests/fuzz/make_seeds.mjs share (layout in docs/fuzzing.md);
 *   - finding reports: a failed invariant prints one line naming a tag and
 *     aborts, so libFuzzer keeps the input as a crash. Tags listed in the
 *     environment variable ROPE_FUZZ_TOLERATE (comma-separated) are
 *     reported once per process (on stderr and appended to the file named
 *     by ROPE_FUZZ_NOTES, if set) and the input is abandoned instead, so a
 *     long run can look past a finding that is already being fixed;
 *   - a list of allocations released both on the normal path and when a
 *     tolerated finding abandons an input, so LeakSanitizer stays quiet.
 */
#ifndef ROPE_FUZZ_COMMON_H
#define ROPE_FUZZ_COMMON_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rope.h"

/* ------------------------------------------------------------------------
 * Byte reader
 * ---------------------------------------------------------------------- */

typedef struct fz_reader {
    const uint8_t *data;
    size_t size;
    size_t pos;
} fz_reader;

static inline uint8_t fz_u8(fz_reader *in) {
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint64_t fz_bits(fz_reader *in, int n_bytes) {
    uint64_t v = 0;
    for (int i = 0; i < n_bytes; i++) {
        v |= (uint64_t)fz_u8(in) << (8 * i);
    }
    return v;
}

static inline uint16_t fz_u16(fz_reader *in) { return (uint16_t)fz_bits(in, 2); }
static inline uint32_t fz_u32(fz_reader *in) { return (uint32_t)fz_bits(in, 4); }
static inline int32_t fz_i32(fz_reader *in) { return (int32_t)fz_u32(in); }
static inline int64_t fz_i64(fz_reader *in) { return (int64_t)fz_bits(in, 8); }

/* Raw IEEE bits, so NaN payloads, infinities and denormals all occur. */
static inline double fz_f64(fz_reader *in) {
    uint64_t bits = fz_bits(in, 8);
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static inline size_t fz_remaining(const fz_reader *in) {
    return in->pos < in->size ? in->size - in->pos : 0;
}

/* Returns position t of a fuzzed list: the next 4 input bytes while they
 * last (sign bit cleared unless allow_negative), else t * *step, where
 * *step is the last value read from 1 to 2^20 - 1 (1 before any). */
static inline int32_t fz_position(fz_reader *in, size_t t, int allow_negative, int32_t *step) {
    if (fz_remaining(in) < 4) {
        return (int32_t)(((int64_t)t * *step) & INT32_MAX);
    }
    int32_t v = fz_i32(in);
    if (!allow_negative) {
        v &= INT32_MAX;
    }
    *step = v > 0 && v < (1 << 20) ? v : *step;
    return v;
}

/* ------------------------------------------------------------------------
 * Findings
 * ---------------------------------------------------------------------- */

static jmp_buf fz_abandon;
static int fz_abandon_armed;

static inline int fz_tag_tolerated(const char *tag) {
    const char *list = getenv("ROPE_FUZZ_TOLERATE");
    size_t n = strlen(tag);
    while (list != NULL && *list != '\0') {
        const char *end = strchr(list, ',');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        if (len == n && strncmp(list, tag, n) == 0) {
            return 1;
        }
        list = end ? end + 1 : NULL;
    }
    return 0;
}

/* Tags already announced as tolerated in this process. */
static char fz_seen_tags[32][48];
static int fz_n_seen_tags;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void fz_finding(const char *tag, const char *fmt, ...) {
    va_list args;
    if (fz_abandon_armed && fz_tag_tolerated(tag)) {
        int seen = 0;
        for (int i = 0; i < fz_n_seen_tags; i++) {
            seen |= strcmp(fz_seen_tags[i], tag) == 0;
        }
        if (!seen && fz_n_seen_tags < 32) {
            snprintf(fz_seen_tags[fz_n_seen_tags++], sizeof fz_seen_tags[0], "%s", tag);
            /* libFuzzer's fork mode drops a child's own output, so the
             * note can also go to the file ROPE_FUZZ_NOTES names. */
            const char *notes = getenv("ROPE_FUZZ_NOTES");
            FILE *streams[2] = {stderr, notes && *notes ? fopen(notes, "a") : NULL};
            for (int i = 0; i < 2; i++) {
                if (streams[i] == NULL) {
                    continue;
                }
                fprintf(streams[i], "rope-fuzz tolerated [%s]: ", tag);
                va_start(args, fmt);
                vfprintf(streams[i], fmt, args);
                va_end(args);
                fputc('\n', streams[i]);
            }
            if (streams[1] != NULL) {
                fclose(streams[1]);
            }
        }
        longjmp(fz_abandon, 1);
    }
    fprintf(stderr, "rope-fuzz finding [%s]: ", tag);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

#define FZ_CHECK(cond, tag, ...)                 \
    do {                                         \
        if (!(cond)) {                           \
            fz_finding(tag, __VA_ARGS__);        \
        }                                        \
    } while (0)

/* ------------------------------------------------------------------------
 * Allocations owned by the current input
 * ---------------------------------------------------------------------- */

#define FZ_MAX_OWNED 32

static struct {
    void *ptr;
    void (*release)(void *);
} fz_owned[FZ_MAX_OWNED];
static int fz_n_owned;

static inline void *fz_own(void *ptr, void (*release)(void *)) {
    if (ptr != NULL) {
        if (fz_n_owned == FZ_MAX_OWNED) {
            fprintf(stderr, "rope-fuzz: harness bug, more than %d allocations\n", FZ_MAX_OWNED);
            abort();
        }
        fz_owned[fz_n_owned].ptr = ptr;
        fz_owned[fz_n_owned].release = release;
        fz_n_owned++;
    }
    return ptr;
}

/* malloc that never returns NULL for size 0 and aborts on real failure:
 * the harnesses keep sizes far below -rss_limit_mb. */
static inline void *fz_malloc(size_t bytes) {
    void *p = malloc(bytes == 0 ? 1 : bytes);
    if (p == NULL) {
        fprintf(stderr, "rope-fuzz: harness could not allocate %zu bytes\n", bytes);
        abort();
    }
    return fz_own(p, free);
}

/* The same, sized to exactly `bytes` so that ASan flags any access past
 * the end (malloc(0) is a valid, zero-sized block under ASan). */
static inline void *fz_malloc_exact(size_t bytes) {
    void *p = malloc(bytes);
    if (p == NULL && bytes != 0) {
        fprintf(stderr, "rope-fuzz: harness could not allocate %zu bytes\n", bytes);
        abort();
    }
    return fz_own(p, free);
}

static inline void fz_release_rope(void *r) { rope_free((rope *)r); }

static inline void fz_release_all(void) {
    while (fz_n_owned > 0) {
        fz_n_owned--;
        fz_owned[fz_n_owned].release(fz_owned[fz_n_owned].ptr);
    }
}

/* Wraps one harness body: abandoning an input via a tolerated finding
 * returns here, and every owned allocation is released either way. */
#define FZ_RUN(body_call)                         \
    do {                                          \
        fz_n_owned = 0;                           \
        if (setjmp(fz_abandon) == 0) {            \
            fz_abandon_armed = 1;                 \
            body_call;                            \
        }                                         \
        fz_abandon_armed = 0;                     \
        fz_release_all();                         \
    } while (0)

/* Forget a pointer already released by the caller. */
static inline void fz_disown(void *ptr) {
    for (int i = 0; i < fz_n_owned; i++) {
        if (fz_owned[i].ptr == ptr) {
            fz_owned[i] = fz_owned[--fz_n_owned];
            return;
        }
    }
}

/* ------------------------------------------------------------------------
 * Error-message contract shared by every public call
 * ---------------------------------------------------------------------- */

/* rope.h: a failing call leaves a sentence, a succeeding one leaves "". */
static inline void fz_check_message(const char *call, rope_status status) {
    const char *m = rope_error_message();
    FZ_CHECK(m != NULL, "message-null", "%s: rope_error_message() is NULL", call);
    size_t n = strnlen(m, 320);
    FZ_CHECK(n < 320, "message-unterminated", "%s: message has no NUL within 320 bytes", call);
    if (status == ROPE_STATUS_OK) {
        FZ_CHECK(n == 0, "message-after-success", "%s succeeded but left the message \"%s\"", call,
                 m);
    } else {
        FZ_CHECK(n > 0, "message-empty", "%s failed with %s and an empty message", call,
                 rope_status_name(status));
    }
    FZ_CHECK(status >= ROPE_STATUS_OK && status <= ROPE_STATUS_UNSUPPORTED, "status-range",
             "%s returned status %d", call, (int)status);
}

/* ------------------------------------------------------------------------
 * rope_params wire format
 * ---------------------------------------------------------------------- */

/* Longest factor list the decoder builds; above the largest rotary_dim / 2
 * (32768), so every n_factors the library may accept can be given. */
#define FZ_MAX_FACTORS 40000

#define FZ_LIST_SHORT 1u
#define FZ_LIST_LONG 2u
#define FZ_LIST_EXPLICIT_COUNT 4u

/* Decodes one rope_params. Factor lists are heap blocks of exactly
 * n_factors doubles (the length rope.h says the caller provides), filled
 * from the input and then with 1.0; when n_factors is negative or above
 * FZ_MAX_FACTORS the blocks hold `list_len` entries instead, and the library
 * must reject n_factors before reading them. */
static inline void fz_read_params(fz_reader *in, rope_params *p) {
    memset(p, 0, sizeof *p);
    p->type = (rope_type)(int8_t)fz_u8(in);
    p->pairing = (rope_pairing)(int8_t)fz_u8(in);
    p->head_dim = fz_i32(in);
    p->rotary_dim = fz_i32(in);
    p->base = fz_f64(in);
    p->factor = fz_f64(in);
    p->max_position_embeddings = fz_i32(in);
    p->original_max_position_embeddings = fz_i32(in);
    p->beta_fast = fz_f64(in);
    p->beta_slow = fz_f64(in);
    p->mscale = fz_f64(in);
    p->mscale_all_dim = fz_f64(in);
    p->attention_factor = fz_f64(in);
    p->truncate = fz_i32(in);
    p->low_freq_factor = fz_f64(in);
    p->high_freq_factor = fz_f64(in);

    unsigned flags = fz_u8(in);
    uint32_t list_len = fz_u16(in);
    int32_t explicit_count = fz_i32(in);
    if (list_len > FZ_MAX_FACTORS) {
        list_len = FZ_MAX_FACTORS;
    }
    int32_t n_factors = (flags & FZ_LIST_EXPLICIT_COUNT) ? explicit_count : (int32_t)list_len;
    size_t alloc = (n_factors >= 0 && n_factors <= FZ_MAX_FACTORS) ? (size_t)n_factors : list_len;
    p->n_factors = n_factors;
    for (int which = 0; which < 2; which++) {
        if (!(flags & (which == 0 ? FZ_LIST_SHORT : FZ_LIST_LONG))) {
            continue;
        }
        double *list = fz_malloc_exact(alloc * sizeof *list);
        for (size_t i = 0; i < alloc; i++) {
            list[i] = i < list_len ? fz_f64(in) : 1.0;
        }
        if (which == 0) {
            p->short_factor = list;
        } else {
            p->long_factor = list;
        }
    }
}

/* A rope for harnesses that need one whatever the input: the decoded params
 * when rope_create takes them, else a small default rope whose head_dim
 * still follows the input, so that the table and apply paths keep running
 * on malformed parameter blocks. */
static inline rope *fz_create_rope_or_fallback(const rope_params *p) {
    rope *r = NULL;
    rope_status st = rope_create(p, &r);
    fz_check_message("rope_create", st);
    if (st == ROPE_STATUS_OK) {
        FZ_CHECK(r != NULL, "create-null", "rope_create returned OK and a NULL rope");
        return fz_own(r, fz_release_rope);
    }
    FZ_CHECK(r == NULL, "create-out-on-failure", "rope_create failed but set *out");
    rope_params fallback;
    uint32_t h = (uint32_t)p->head_dim;
    rope_params_init(&fallback, ROPE_TYPE_DEFAULT, (int32_t)(2 * (1 + h % 64)));
    fallback.pairing = (p->pairing == ROPE_PAIRING_INTERLEAVED) ? ROPE_PAIRING_INTERLEAVED
                                                                : ROPE_PAIRING_HALF;
    uint32_t rd = (uint32_t)p->rotary_dim;
    fallback.rotary_dim = (int32_t)(2 * (1 + rd % (uint32_t)(fallback.head_dim / 2)));
    st = rope_create(&fallback, &r);
    FZ_CHECK(st == ROPE_STATUS_OK, "create-fallback", "rope_create rejected head_dim %d "
             "rotary_dim %d: %s", (int)fallback.head_dim, (int)fallback.rotary_dim,
             rope_error_message());
    return fz_own(r, fz_release_rope);
}

/* "<what>-<type name>", so that a finding in one rope type can be
 * tolerated without hiding the same symptom in another. */
static inline const char *fz_typed_tag(char *buf, size_t size, const char *prefix, const rope *r) {
    static const char *const names[] = {"default", "linear", "dynamic", "yarn", "longrope", "llama3"};
    const unsigned t = (unsigned)rope_get_type(r);
    snprintf(buf, size, "%s-%s", prefix, t < 6 ? names[t] : "unknown");
    return buf;
}

/* Frequencies must be finite and > 0 (a zero or negative theta is not a
 * rotation a model was trained with, and inf makes every angle NaN). */
static inline void fz_check_freqs(const rope *r, int64_t seq_len, const double *freq, int32_t n) {
    char tag[48];
    for (int32_t i = 0; i < n; i++) {
        FZ_CHECK(isfinite(freq[i]), fz_typed_tag(tag, sizeof tag, "inv-freq-nonfinite", r),
                 "seq_len %lld: theta[%d] = %.17g", (long long)seq_len, (int)i, freq[i]);
        FZ_CHECK(freq[i] > 0.0, fz_typed_tag(tag, sizeof tag, "inv-freq-nonpositive", r),
                 "seq_len %lld: theta[%d] = %.17g", (long long)seq_len, (int)i, freq[i]);
    }
}

static inline void fz_check_scaling(const rope *r) {
    char tag[48];
    double s = rope_attention_scaling(r);
    FZ_CHECK(isfinite(s) && s > 0.0, fz_typed_tag(tag, sizeof tag, "scaling-invalid", r),
             "attention scaling %.17g", s);
}

#endif /* ROPE_FUZZ_COMMON_H */
