/*
 * default.c: the unscaled frequencies of RoFormer (Su et al. 2021, eq. 15),
 * theta_i = base^(-2i/d), which every other rope type starts from.
 */
#include <math.h>

#include "../internal.h"

void rope__default_inv_freq(double base, int32_t rotary_dim, double *out) {
    /* pow rather than exp(-x * log(base)): pow is correctly rounded to
     * within an ulp, and exp(log) loses about log2(x * ln base) bits. */
    for (int32_t i = 0; i < rotary_dim / 2; i++) {
        out[i] = pow(base, -(double)(2 * i) / (double)rotary_dim);
    }
}
