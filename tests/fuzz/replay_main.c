/*
 * replay_main.c: a main() for the harnesses when clang's libFuzzer runtime
 * is not installed. Runs LLVMFuzzerTestOneInput once on each file named on
 * the command line, like a libFuzzer binary given files; the sanitizers
 * still abort on a finding. Used only by `run.sh regress`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            continue; /* libFuzzer options such as -timeout=10 */
        }
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 2;
        }
        size_t cap = 1 << 16, size = 0;
        uint8_t *data = malloc(cap);
        size_t got;
        while (data != NULL && (got = fread(data + size, 1, cap - size, f)) > 0) {
            size += got;
            if (size == cap) {
                cap *= 2;
                data = realloc(data, cap);
            }
        }
        fclose(f);
        if (data == NULL) {
            fprintf(stderr, "%s: out of memory\n", argv[i]);
            return 2;
        }
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        fprintf(stderr, "Executed %s\n", argv[i]);
    }
    return 0;
}
