/*
 * error.c: the per-thread message behind rope_error_message().
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#define ROPE_ERROR_MESSAGE_BYTES 256

static _Thread_local char error_message[ROPE_ERROR_MESSAGE_BYTES];

static void format_message(const char *fmt, va_list args) {
    vsnprintf(error_message, sizeof error_message, fmt, args);
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
