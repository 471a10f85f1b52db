/*
 * fuzz_format.c: the message formatter of c/error.c, through rope__fail and
 * rope__set_error (c/internal.h), with arbitrary values and literal text.
 *
 * Input:
 *   u8  status    returned by rope__fail as given
 *   i32 d, i64 lld, u64 zu, f64 g1, f64 g2
 *   u8  flags     bit 0: %s gets NULL; bit 1: use rope__set_error
 *   u8  s_len, then s_len bytes for %s (NUL bytes end it early)
 *   the rest: up to 7 literal segments separated by 0xFF bytes
 *
 * The format is segment0 %d segment1 %lld segment2 %zu segment3 %s
 * segment4 %g segment5 %g segment6. Segments are made safe first: NUL
 * becomes a space, and a '%' that would start a conversion consuming an
 * argument (d, l, z, s, g, or the end of the segment) becomes '#', so the
 * argument list always matches. Other '%x' pairs are kept: the formatter
 * prints unknown conversions verbatim and "%%" as '%'.
 *
 * Invariants:
 *   - the message is NUL-terminated within 320 bytes and equals the
 *     expected text cut to 319 bytes; rope__fail returns its status;
 *   - %d, %lld, %zu print what printf prints; %s the string ("" for NULL);
 *   - %g: NaN, Infinity, -Infinity, 0, -0 for the special values; others
 *     in JavaScript's form (plain for 1e-5 <= |x| < 1e17, else d.ddde+N),
 *     with at most 17 significant digits, reading back with strtod as the
 *     same double and with no shorter such decimal; within 1e-290 of zero
 *     or above 1e290 ("near the ends", see c/error.c) the read-back value
 *     may differ by 1e-15 relative and shortness is not required.
 */
#include <float.h>

#include "fuzz_common.h"
#include "internal.h"

#define MESSAGE_BYTES 320

/* Appends to a fixed expected-text buffer, cutting at MESSAGE_BYTES - 1. */
typedef struct text {
    char data[1 << 16];
    size_t len;
} text;

static void text_put(text *t, const char *s, size_t n) {
    for (size_t i = 0; i < n && t->len + 1 < sizeof t->data; i++) {
        t->data[t->len++] = s[i];
    }
    t->data[t->len] = '\0';
}

static void text_puts(text *t, const char *s) {
    text_put(t, s, strlen(s));
}

/* Make one literal segment safe (see the header comment) and append the
 * text the formatter prints for it to *expected. */
static void sanitize_segment(char *seg, size_t n, text *expected) {
    for (size_t i = 0; i < n; i++) {
        if (seg[i] == '\0') {
            seg[i] = ' ';
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (seg[i] != '%') {
            text_put(expected, &seg[i], 1);
            continue;
        }
        if (i + 1 >= n || strchr("dlzsg", seg[i + 1]) != NULL) {
            seg[i] = '#';
            text_put(expected, "#", 1);
            continue;
        }
        if (seg[i + 1] == '%') {
            text_put(expected, "%", 1);
        } else {
            text_put(expected, &seg[i], 2);
        }
        i++;
    }
}

static const char *message_checked(const char *call) {
    const char *m = rope_error_message();
    FZ_CHECK(m != NULL, "format-terminated", "%s: rope_error_message() is NULL", call);
    FZ_CHECK(strnlen(m, MESSAGE_BYTES) < MESSAGE_BYTES, "format-terminated",
             "%s: no NUL within %d bytes", call, MESSAGE_BYTES);
    return m;
}

/* Fewest significant digits p (1..17) whose correctly rounded decimal reads
 * back as x. */
static int shortest_length(double x) {
    char buf[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        if (strtod(buf, NULL) == x) {
            return p;
        }
    }
    return 17;
}

/* Checks the text printed for %g of x. */
static void check_double_text(double x, const char *m) {
    if (isnan(x)) {
        FZ_CHECK(strcmp(m, "NaN") == 0, "format-special", "NaN printed as \"%s\"", m);
        return;
    }
    if (isinf(x)) {
        FZ_CHECK(strcmp(m, x > 0 ? "Infinity" : "-Infinity") == 0, "format-special",
                 "%g printed as \"%s\"", x, m);
        return;
    }
    if (x == 0.0) {
        FZ_CHECK(strcmp(m, signbit(x) ? "-0" : "0") == 0, "format-special",
                 "%s0 printed as \"%s\"", signbit(x) ? "-" : "", m);
        return;
    }

    /* Grammar: [-] digits [. digits] [e (+|-) digits]. */
    const char *c = m;
    FZ_CHECK((*c == '-') == (x < 0), "format-grammar", "%.17g printed as \"%s\": sign", x, m);
    if (*c == '-') {
        c++;
    }
    char digits[400];
    int n_digits = 0, int_digits = 0, frac_digits = 0, has_point = 0, exp_value = 0, has_exp = 0;
    const char *int_start = c;
    while (*c >= '0' && *c <= '9' && n_digits < 399) {
        digits[n_digits++] = *c++;
        int_digits++;
    }
    if (*c == '.') {
        has_point = 1;
        c++;
        while (*c >= '0' && *c <= '9' && n_digits < 399) {
            digits[n_digits++] = *c++;
            frac_digits++;
        }
    }
    if (*c == 'e') {
        has_exp = 1;
        c++;
        FZ_CHECK(*c == '+' || *c == '-', "format-grammar", "%.17g printed as \"%s\": exponent sign",
                 x, m);
        int negative = *c == '-';
        c++;
        FZ_CHECK(*c >= '0' && *c <= '9', "format-grammar", "%.17g printed as \"%s\": exponent", x, m);
        while (*c >= '0' && *c <= '9' && exp_value < 100000) {
            exp_value = exp_value * 10 + (*c++ - '0');
        }
        exp_value = negative ? -exp_value : exp_value;
    }
    FZ_CHECK(*c == '\0' && int_digits > 0 && (!has_point || frac_digits > 0), "format-grammar",
             "%.17g printed as \"%s\"", x, m);
    FZ_CHECK(!(int_digits > 1 && int_start[0] == '0'), "format-grammar",
             "%.17g printed as \"%s\": leading zero", x, m);
    FZ_CHECK(!has_exp || (int_digits == 1 && int_start[0] != '0'), "format-grammar",
             "%.17g printed as \"%s\": exponent form needs one non-zero leading digit", x, m);

    /* Significant digits and the decimal exponent of the first one. */
    int first = 0;
    while (first < n_digits && digits[first] == '0') {
        first++;
    }
    FZ_CHECK(first < n_digits, "format-grammar", "%.17g printed as \"%s\": no non-zero digit", x, m);
    int last = n_digits - 1;
    while (digits[last] == '0') {
        last--;
    }
    const int significant = last - first + 1;
    const int exponent = has_exp ? exp_value : int_digits - 1 - first;
    FZ_CHECK(significant <= 17, "format-grammar", "%.17g printed as \"%s\": %d significant digits",
             x, m, significant);
    FZ_CHECK(has_exp == (exponent < -5 || exponent >= 17), "format-grammar",
             "%.17g printed as \"%s\": decimal exponent %d in the wrong notation", x, m, exponent);
    const double back = strtod(m, NULL);
    const double ax = fabs(x);
    if (ax >= 1e-290 && ax <= 1e290) {
        FZ_CHECK(back == x, "format-roundtrip", "%.17g printed as \"%s\", which reads back as %.17g",
                 x, m, back);
        FZ_CHECK(!(has_point && digits[n_digits - 1] == '0'), "format-not-shortest",
                 "%.17g printed as \"%s\": trailing zero", x, m);
        const int p = shortest_length(x);
        FZ_CHECK(significant == p, "format-not-shortest",
                 "%.17g printed as \"%s\" (%d digits), %d digits read back the same", x, m,
                 significant, p);
    } else {
        FZ_CHECK(fabs(back - x) <= 1e-15 * ax + 2 * DBL_TRUE_MIN, "format-roundtrip",
                 "%.17g printed as \"%s\", which reads back as %.17g", x, m, back);
    }
}

static void run(const uint8_t *data, size_t size) {
    fz_reader in = {data, size, 0};
    const rope_status status = (rope_status)fz_u8(&in);
    const int d = fz_i32(&in);
    const long long lld = fz_i64(&in);
    const size_t zu = (size_t)fz_bits(&in, 8);
    const double g[2] = {fz_f64(&in), fz_f64(&in)};
    const unsigned flags = fz_u8(&in);
    const size_t s_len = fz_u8(&in);
    char s[256];
    size_t i;
    for (i = 0; i < s_len && fz_remaining(&in) > 0; i++) {
        s[i] = (char)fz_u8(&in);
    }
    s[i] = '\0';
    const char *s_arg = (flags & 1u) ? NULL : s;

    /* Each conversion alone. */
    char single[2][MESSAGE_BYTES];
    for (int k = 0; k < 2; k++) {
        rope_status st = rope__fail(status, "%g", g[k]);
        FZ_CHECK(st == status, "format-status", "rope__fail returned %d for %d", (int)st,
                 (int)status);
        const char *m = message_checked("%g");
        check_double_text(g[k], m);
        snprintf(single[k], sizeof single[k], "%s", m);
    }
    char want[64];
    const char *m;
    rope__fail(status, "%d", d);
    m = message_checked("%d");
    snprintf(want, sizeof want, "%d", d);
    FZ_CHECK(strcmp(m, want) == 0, "format-integer", "%%d of %d printed \"%s\"", d, m);
    rope__fail(status, "%lld", lld);
    m = message_checked("%lld");
    snprintf(want, sizeof want, "%lld", lld);
    FZ_CHECK(strcmp(m, want) == 0, "format-integer", "%%lld of %lld printed \"%s\"", lld, m);
    rope__fail(status, "%zu", zu);
    m = message_checked("%zu");
    snprintf(want, sizeof want, "%zu", zu);
    FZ_CHECK(strcmp(m, want) == 0, "format-integer", "%%zu of %zu printed \"%s\"", zu, m);
    rope__fail(status, "%s", s_arg);
    m = message_checked("%s");
    FZ_CHECK(strcmp(m, s_arg ? s_arg : "") == 0, "format-string", "%%s of \"%s\" printed \"%s\"",
             s_arg ? s_arg : "(NULL)", m);

    /* Everything in one format, with literal text around it. */
    const size_t rest = fz_remaining(&in);
    char *fmt = fz_malloc(rest + 64);
    char *seg = fz_malloc(rest + 1);
    memcpy(seg, data + in.pos, rest);
    text *expected = fz_malloc(sizeof *expected);
    expected->len = 0;
    expected->data[0] = '\0';
    static const char *const conversions[] = {"%d", "%lld", "%zu", "%s", "%g", "%g", ""};
    char number[6][MESSAGE_BYTES];
    snprintf(number[0], sizeof number[0], "%d", d);
    snprintf(number[1], sizeof number[1], "%lld", lld);
    snprintf(number[2], sizeof number[2], "%zu", zu);
    snprintf(number[3], sizeof number[3], "%s", s_arg ? s_arg : "");
    snprintf(number[4], sizeof number[4], "%s", single[0]);
    snprintf(number[5], sizeof number[5], "%s", single[1]);
    size_t fmt_len = 0, start = 0;
    for (int k = 0; k < 7; k++) {
        size_t end = start;
        if (k < 6) {
            while (end < rest && (uint8_t)seg[end] != 0xFF) {
                end++;
            }
        } else {
            end = rest;
        }
        if (start > rest) {
            start = end = rest;
        }
        sanitize_segment(seg + start, end - start, expected);
        memcpy(fmt + fmt_len, seg + start, end - start);
        fmt_len += end - start;
        memcpy(fmt + fmt_len, conversions[k], strlen(conversions[k]));
        fmt_len += strlen(conversions[k]);
        if (k < 6) {
            text_puts(expected, number[k]);
        }
        start = end + 1;
    }
    fmt[fmt_len] = '\0';
    if (expected->len > MESSAGE_BYTES - 1) {
        expected->len = MESSAGE_BYTES - 1;
        expected->data[expected->len] = '\0';
    }

    if (flags & 2u) {
        rope__set_error(fmt, d, lld, zu, s_arg, g[0], g[1]);
    } else {
        rope_status st = rope__fail(status, fmt, d, lld, zu, s_arg, g[0], g[1]);
        FZ_CHECK(st == status, "format-status", "rope__fail returned %d for %d", (int)st,
                 (int)status);
    }
    m = message_checked("combined");
    FZ_CHECK(strcmp(m, expected->data) == 0, "format-mismatch",
             "format \"%s\" printed \"%s\", expected \"%s\"", fmt, m, expected->data);

    rope__clear_error();
    m = message_checked("clear");
    FZ_CHECK(m[0] == '\0', "format-clear", "rope__clear_error left \"%s\"", m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FZ_RUN(run(data, size));
    return 0;
}
