/*
 * format_double.c: the shortest decimal that reads back as a given double,
 * for error messages (printf would add about 10 KB to each WASM module).
 *
 * Method: a finite double is f * 2^e with an integer f < 2^53, so its exact
 * decimal expansion is f * 2^e (e >= 0) or f * 5^-e / 10^-e (e < 0), an
 * integer of at most 770 digits. The doubles next to x give the interval
 * of decimals that round to x: the midpoints between x and its neighbours,
 * expanded exactly the same way. The shortest rounding of x's expansion
 * that lies inside that interval is the result, so no floating-point
 * arithmetic decides a digit.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Base-1e9 limbs, least significant first. The largest expansion,
 * 2^55 * 5^1076, has 769 digits: 86 limbs. */
#define LIMB_BASE 1000000000u
#define MAX_LIMBS 90
#define MAX_DIGITS (MAX_LIMBS * 9)

typedef struct big {
    uint32_t limb[MAX_LIMBS];
    int n;
} big;

/* An exact decimal: digits d[0] d[1] ... with value 0.d0d1d2... * 10^point. */
typedef struct decimal {
    char digit[MAX_DIGITS];
    int n;
    int point;
} decimal;

static void big_set(big *b, uint64_t value) {
    b->n = 0;
    do {
        b->limb[b->n++] = (uint32_t)(value % LIMB_BASE);
        value /= LIMB_BASE;
    } while (value != 0);
}

static void big_multiply_small(big *b, uint32_t factor) {
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t product = (uint64_t)b->limb[i] * factor + carry;
        b->limb[i] = (uint32_t)(product % LIMB_BASE);
        carry = product / LIMB_BASE;
    }
    while (carry != 0 && b->n < MAX_LIMBS) {
        b->limb[b->n++] = (uint32_t)(carry % LIMB_BASE);
        carry /= LIMB_BASE;
    }
}

/* b *= base^count, in steps whose factor fits a limb multiply. */
static void big_multiply_power(big *b, uint32_t base, int count, uint32_t step_factor, int step) {
    for (; count >= step; count -= step) {
        big_multiply_small(b, step_factor);
    }
    for (; count > 0; count--) {
        big_multiply_small(b, base);
    }
}

/* The exact decimal of f * 2^e. */
static void exact_decimal(uint64_t f, int e, decimal *out) {
    big b;
    big_set(&b, f);
    int scale = 0; /* value = b * 10^scale */
    if (e >= 0) {
        big_multiply_power(&b, 2, e, 1u << 29, 29);
    } else {
        big_multiply_power(&b, 5, -e, 1220703125u, 13); /* 5^13 */
        scale = e;
    }

    /* Write the limbs most significant first, without leading zeros. */
    char text[MAX_DIGITS];
    int length = 0;
    for (int i = b.n - 1; i >= 0; i--) {
        uint32_t limb = b.limb[i];
        char chunk[9];
        for (int k = 8; k >= 0; k--) {
            chunk[k] = (char)('0' + limb % 10u);
            limb /= 10u;
        }
        for (int k = 0; k < 9; k++) {
            if (length > 0 || chunk[k] != '0') {
                text[length++] = chunk[k];
            }
        }
    }
    int all_digits = length;
    while (length > 1 && text[length - 1] == '0') {
        length--; /* trailing zeros carry no information; `point` keeps the value */
    }
    memcpy(out->digit, text, (size_t)length);
    out->n = length;
    out->point = all_digits + scale;
}

/* Compares two decimals by value (both positive, digits without leading zeros). */
static int decimal_compare(const decimal *a, const decimal *b) {
    if (a->point != b->point) {
        return a->point < b->point ? -1 : 1;
    }
    int n = a->n > b->n ? a->n : b->n;
    for (int i = 0; i < n; i++) {
        char da = i < a->n ? a->digit[i] : '0';
        char db = i < b->n ? b->digit[i] : '0';
        if (da != db) {
            return da < db ? -1 : 1;
        }
    }
    return 0;
}

/* x rounded to `precision` significant digits, half to even. */
static void decimal_round(const decimal *x, int precision, decimal *out) {
    *out = *x;
    if (x->n <= precision) {
        return;
    }
    int round_up = 0;
    char next = x->digit[precision];
    if (next > '5') {
        round_up = 1;
    } else if (next == '5') {
        int beyond = 0;
        for (int i = precision + 1; i < x->n; i++) {
            beyond |= x->digit[i] != '0';
        }
        round_up = beyond || ((x->digit[precision - 1] - '0') % 2 == 1);
    }
    out->n = precision;
    if (round_up) {
        int i = precision - 1;
        while (i >= 0 && out->digit[i] == '9') {
            out->digit[i--] = '0';
        }
        if (i < 0) {
            out->digit[0] = '1'; /* 999 -> 1000: one digit, point moves up */
            out->n = 1;
            out->point++;
        } else {
            out->digit[i]++;
        }
    }
    while (out->n > 1 && out->digit[out->n - 1] == '0') {
        out->n--;
    }
}

/* f and e of a finite positive double x = f * 2^e, f < 2^53. */
static void decompose(double x, uint64_t *f, int *e) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int biased = (int)((bits >> 52) & 0x7ff);
    uint64_t fraction = bits & ((1ull << 52) - 1);
    if (biased == 0) {
        *f = fraction;
        *e = -1074;
    } else {
        *f = fraction | (1ull << 52);
        *e = biased - 1075;
    }
}

int rope__shortest_digits(double x, char *digits, int *exponent) {
    decimal exact, low, high, candidate;
    uint64_t f;
    int e;
    decompose(x, &f, &e);
    exact_decimal(f, e, &exact);

    /* Decimals strictly between the midpoints to the neighbouring doubles
     * read back as x. Above x the neighbour is 2^e away (also past the
     * largest double, where rounding goes to infinity beyond that point);
     * below, 2^(e-1) away when f is a power of two that is not subnormal.
     * A midpoint itself reads back as x when ties-to-even picks x (f even). */
    exact_decimal(2 * f + 1, e - 1, &high);
    if (f == (1ull << 52) && e > -1074) {
        exact_decimal(4 * f - 1, e - 2, &low);
    } else {
        exact_decimal(2 * f - 1, e - 1, &low);
    }
    int ties_read_back = (f % 2u) == 0;

    for (int precision = 1; precision <= 17; precision++) {
        decimal_round(&exact, precision, &candidate);
        int above_low = decimal_compare(&candidate, &low);
        int below_high = decimal_compare(&candidate, &high);
        int inside = (above_low > 0 || (above_low == 0 && ties_read_back)) &&
                     (below_high < 0 || (below_high == 0 && ties_read_back));
        if (inside || precision == 17) {
            memcpy(digits, candidate.digit, (size_t)candidate.n);
            *exponent = candidate.point - 1;
            return candidate.n;
        }
    }
    return 0; /* not reached: precision 17 always returns */
}
