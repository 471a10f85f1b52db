/*
 * error.c: the per-thread message behind rope_error_message(), and the
 * small formatter that writes it.
 *
 * The formatter replaces vsnprintf, which would add about 10 KB to each
 * WebAssembly module. It handles %d, %lld, %zu, %s, %g and %%; %g prints the
 * shortest decimal that reads back as the same double (format_double.c),
 * so a message never shows a rounded value such as "factor is 1" for
 * 0.9999999.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>

#include "internal.h"

#define ROPE_ERROR_MESSAGE_BYTES 320

static _Thread_local char error_message[ROPE_ERROR_MESSAGE_BYTES];

/* Appends to a fixed buffer, dropping what does not fit; always NUL-terminated. */
typedef struct message_writer {
    char *data;
    size_t length;
    size_t capacity;
} message_writer;

static void put_char(message_writer *w, char c) {
    if (w->length + 1 < w->capacity) {
        w->data[w->length++] = c;
        w->data[w->length] = '\0';
    }
}

static void put_string(message_writer *w, const char *s) {
    for (; s != NULL && *s != '\0'; s++) {
        put_char(w, *s);
    }
}

static void put_unsigned(message_writer *w, unsigned long long value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    while (n > 0) {
        put_char(w, digits[--n]);
    }
}

static void put_signed(message_writer *w, long long value) {
    if (value < 0) {
        put_char(w, '-');
        put_unsigned(w, 0ull - (unsigned long long)value);
    } else {
        put_unsigned(w, (unsigned long long)value);
    }
}

static void put_double(message_writer *w, double x) {
    if (isnan(x)) {
        put_string(w, "NaN");
        return;
    }
    if (signbit(x)) {
        put_char(w, '-');
        x = -x;
    }
    if (isinf(x)) {
        put_string(w, "Infinity");
        return;
    }
    if (x == 0.0) {
        put_char(w, '0');
        return;
    }
    char digits[17];
    int exponent = 0;
    int n = rope__shortest_digits(x, digits, &exponent);

    /* Plain notation for 1e-5 <= x < 1e17, as JavaScript prints numbers. */
    if (exponent >= -5 && exponent < 17) {
        if (exponent < 0) {
            put_string(w, "0.");
            for (int i = 0; i < -exponent - 1; i++) put_char(w, '0');
            for (int i = 0; i < n; i++) put_char(w, digits[i]);
            return;
        }
        for (int i = 0; i <= exponent || i < n; i++) {
            if (i == exponent + 1) put_char(w, '.');
            put_char(w, i < n ? digits[i] : '0');
        }
        return;
    }
    put_char(w, digits[0]);
    if (n > 1) {
        put_char(w, '.');
        for (int i = 1; i < n; i++) put_char(w, digits[i]);
    }
    put_char(w, 'e');
    put_char(w, exponent < 0 ? '-' : '+');
    put_unsigned(w, (unsigned long long)(exponent < 0 ? -exponent : exponent));
}

static void format_message(const char *fmt, va_list args) {
    message_writer w = {error_message, 0, sizeof error_message};
    error_message[0] = '\0';
    for (const char *p = fmt; *p != '\0'; p++) {
        if (*p != '%') {
            put_char(&w, *p);
            continue;
        }
        p++;
        if (p[0] == 'd') {
            put_signed(&w, va_arg(args, int));
        } else if (p[0] == 'l' && p[1] == 'l' && p[2] == 'd') {
            put_signed(&w, va_arg(args, long long));
            p += 2;
        } else if (p[0] == 'z' && p[1] == 'u') {
            put_unsigned(&w, va_arg(args, size_t));
            p += 1;
        } else if (p[0] == 's') {
            put_string(&w, va_arg(args, const char *));
        } else if (p[0] == 'g') {
            put_double(&w, va_arg(args, double));
        } else if (p[0] == '%') {
            put_char(&w, '%');
        } else {
            /* Unknown conversion: an internal mistake; print it verbatim. */
            put_char(&w, '%');
            if (p[0] == '\0') break;
            put_char(&w, p[0]);
        }
    }
}

rope_status rope__fail(rope_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    format_message(fmt, args);
    va_end(args);
    return status;
}

void rope__set_error(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    format_message(fmt, args);
    va_end(args);
}

void rope__clear_error(void) {
    error_message[0] = '\0';
}

const char *rope_error_message(void) {
    return error_message;
}

const char *rope_status_name(rope_status status) {
    switch (status) {
    case ROPE_STATUS_OK: return "ROPE_STATUS_OK";
    case ROPE_STATUS_INVALID_ARGUMENT: return "ROPE_STATUS_INVALID_ARGUMENT";
    case ROPE_STATUS_MISSING_PARAMETER: return "ROPE_STATUS_MISSING_PARAMETER";
    case ROPE_STATUS_BUFFER_TOO_SMALL: return "ROPE_STATUS_BUFFER_TOO_SMALL";
    case ROPE_STATUS_OUT_OF_MEMORY: return "ROPE_STATUS_OUT_OF_MEMORY";
    case ROPE_STATUS_UNSUPPORTED: return "ROPE_STATUS_UNSUPPORTED";
    }
    return "ROPE_STATUS_UNKNOWN";
}
