/* Terrace's C harness: runs a compiled model's `terrace_main` once, on files.
 *
 *   model_run WEIGHTS.bin IN_0.bin ... IN_n-1.bin OUT_0.bin ... OUT_m-1.bin
 *
 * Every input and output file is the tensor's raw bytes, little-endian, C order, exactly the
 * size model.h gives (the artifact's manifest.json has the same names, shapes and dtypes).
 * Built against an artifact's model.h (`-I OUT`) and linked with its model.o; parallel loops
 * run on libgomp (OMP_NUM_THREADS sets their threads). Exit status: 0 when the outputs are
 * written, 1 on a usage error, 2 on a file that cannot be read or written, 3 when an index
 * check failed (stderr names it by number; manifest.json's index_checks lists them). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

enum {
    ALIGNMENT = 64, /* of every buffer: the code's vector loads assume it of the workspace */
    N_IN = TERRACE_NUM_INPUTS,
    N_OUT = TERRACE_NUM_OUTPUTS,
    N_STATUS = TERRACE_HAS_STATUS,
    N_WEIGHTS = TERRACE_NUM_WEIGHTS,
    N_BUFFERS = N_IN + N_OUT + N_STATUS + N_WEIGHTS + 1,
    EXIT_USAGE = 1,
    EXIT_IO = 2,
    EXIT_INDEX_CHECK = 3,
};

/* Zeroed memory on a 64-byte boundary (zeroed: a zero-sized tensor still gets a pointer). */
static void *aligned_buffer(size_t bytes) {
    size_t rounded = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    void *data = aligned_alloc(ALIGNMENT, rounded ? rounded : ALIGNMENT);
    if (data == NULL) {
        fprintf(stderr, "model_run: out of memory allocating %zu bytes\n", bytes);
        exit(EXIT_IO);
    }
    for (size_t i = 0; i < rounded; i++) ((unsigned char *)data)[i] = 0;
    return data;
}

/* Reads exactly `bytes` bytes of `path` (a file of another size is an error). */
static void read_exactly(const char *path, void *data, size_t bytes) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        exit(EXIT_IO);
    }
    size_t got = fread(data, 1, bytes, file);
    int longer = fgetc(file) != EOF;
    fclose(file);
    if (got != bytes || longer) {
        fprintf(stderr, "model_run: %s: expected exactly %zu bytes\n", path, bytes);
        exit(EXIT_IO);
    }
}

static void write_all(const char *path, const void *data, size_t bytes) {
    FILE *file = fopen(path, "wb");
    if (file == NULL || fwrite(data, 1, bytes, file) != bytes || fclose(file) != 0) {
        perror(path);
        exit(EXIT_IO);
    }
}

int main(int argc, char **argv) {
    if (argc != 2 + N_IN + N_OUT) {
        fprintf(stderr, "usage: %s WEIGHTS.bin (%d input files) (%d output files)\n", argv[0],
                N_IN, N_OUT);
        return EXIT_USAGE;
    }
    void *buffers[N_BUFFERS];
    char *weights = aligned_buffer(TERRACE_WEIGHTS_BYTES);
    read_exactly(argv[1], weights, TERRACE_WEIGHTS_BYTES);
    for (int i = 0; i < N_IN; i++) {
        buffers[i] = aligned_buffer(terrace_input_bytes[i]);
        read_exactly(argv[2 + i], buffers[i], terrace_input_bytes[i]);
    }
    for (int i = 0; i < N_OUT; i++) buffers[N_IN + i] = aligned_buffer(terrace_output_bytes[i]);
    int64_t *status = aligned_buffer(3 * sizeof(int64_t));
    if (N_STATUS) buffers[N_IN + N_OUT] = status;
    for (int i = 0; i < N_WEIGHTS; i++)
        buffers[N_IN + N_OUT + N_STATUS + i] = weights + terrace_weight_offsets[i];
    buffers[N_BUFFERS - 1] = aligned_buffer(TERRACE_WORKSPACE_BYTES);

    terrace_main(buffers);

    if (status[0] != 0) {
        /* the status is [check number from 1, axis, index] (runtime/abi.py) */
        fprintf(stderr, "model_run: index check %lld failed: axis %lld, index %lld\n",
                (long long)status[0], (long long)status[1], (long long)status[2]);
        return EXIT_INDEX_CHECK;
    }
    for (int i = 0; i < N_OUT; i++)
        write_all(argv[2 + N_IN + i], buffers[N_IN + i], terrace_output_bytes[i]);
    return 0;
}
