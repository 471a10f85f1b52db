/*
 * check.h: the pass/fail counters shared by the native C tests. Each test
 * program includes it once and prints "n_passed passed, n_failed failed"
 * as its last line.
 */
#ifndef ROPE_TEST_CHECK_H
#define ROPE_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int n_passed;
static int n_failed;

/* Count one check; on failure print "FAIL: " and the formatted reason. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int check(int ok, const char *fmt, ...) {
    if (ok) {
        n_passed++;
        return 1;
    }
    n_failed++;
    va_list args;
    va_start(args, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, args);
    fputc('\n', stdout);
    va_end(args);
    return 0;
}

#endif /* ROPE_TEST_CHECK_H */
