/*
 * test_capi: every bad input of the C API gives the documented status and a message, good calls give
 * the same results as the Swift API promises (deterministic per seed), and 8 threads sharing one model
 * get exactly the serial results.
 *
 *   test_capi MODEL_WITH_PRIOR.safetensors MODEL_WITHOUT_PRIOR.safetensors
 *
 * Exits 0 if every check passed, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L /* mkfifo, mkdtemp, clock_gettime under -std=c99 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "svq.h"

static int checks = 0, failures = 0;

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(int ok, const char * what, int line) {
    checks++;
    if (!ok) {
        failures++;
        fprintf(stderr, "FAIL line %d: %s\n", line, what);
    }
}

/* A call must return `expected`, leave a non-empty message containing `fragment`, and be named. */
#define EXPECT(call, expected, fragment) expect_status((call), (expected), (fragment), #call, __LINE__)

static void expect_status(svq_status got, svq_status expected, const char * fragment, const char * call, int line) {
    checks++;
    const char * msg = svq_last_error();
    if (got != expected || msg == NULL || msg[0] == '\0' || strstr(msg, fragment) == NULL) {
        failures++;
        fprintf(stderr, "FAIL line %d: %s\n    returned %s (%d), expected %s; message \"%s\" should contain \"%s\"\n",
                line, call, svq_status_string(got), (int) got, svq_status_string(expected), msg ? msg : "(null)", fragment);
    }
}

#define EXPECT_OK(call) expect_ok((call), #call, __LINE__)

static void expect_ok(svq_status got, const char * call, int line) {
    checks++;
    if (got != SVQ_STATUS_OK || svq_last_error()[0] != '\0') {
        failures++;
        fprintf(stderr, "FAIL line %d: %s\n    returned %s: %s\n", line, call, svq_status_string(got), svq_last_error());
    }
}

static uint8_t * read_file(const char * path, size_t * size) {
    FILE * f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t * data = malloc((size_t) n);
    if (data != NULL && fread(data, 1, (size_t) n, f) != (size_t) n) { free(data); data = NULL; }
    fclose(f);
    *size = (size_t) n;
    return data;
}

/* Deterministic test pixels in [0, 1]. */
static void fill_images(float * images, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        images[i] = (float) ((seed >> 16) & 0xFF) / 255.0f;
    }
}

static svq_info info;
static size_t n_image, n_codes;   /* values per image, codes per image */

static void test_library(void) {
    CHECK(svq_api_version() == SVQ_API_VERSION);
    CHECK(svq_version() != NULL && strlen(svq_version()) > 0);
    for (int s = SVQ_STATUS_OK; s <= SVQ_STATUS_CANCELLED; s++) {
        CHECK(strcmp(svq_status_string((svq_status) s), "unknown status") != 0);
    }
    CHECK(strcmp(svq_status_string((svq_status) 1234), "unknown status") == 0);
    EXPECT(svq_set_threads(-1), SVQ_STATUS_INVALID_ARGUMENT, "-1");
    /* Above SVQ_MAX_THREADS libgomp would end the process on the next call (50000) or crash (100000). */
    EXPECT(svq_set_threads(SVQ_MAX_THREADS + 1), SVQ_STATUS_INVALID_ARGUMENT, "1024");
    EXPECT(svq_set_threads(100000), SVQ_STATUS_INVALID_ARGUMENT, "100000");
    EXPECT(svq_set_threads(INT32_MAX), SVQ_STATUS_INVALID_ARGUMENT, "2147483647");
    EXPECT_OK(svq_set_threads(0));
    CHECK(svq_get_threads() >= 1);
    EXPECT_OK(svq_set_threads(2));
    CHECK(svq_get_threads() == 2);
    svq_decode_params d = svq_decode_default_params();
    CHECK(d.sampling == SVQ_SAMPLING_SAMPLE && d.temperature == 0.75f && d.top_k == 0 && d.seed == 0);
    svq_prior_params p = svq_prior_default_params();
    CHECK(p.temperature == 1.0f && p.top_k == 0 && p.seed == 0);
    CHECK(svq_encode_default_params().seed == 0);
}

static void test_loading(const char * path) {
    svq_model * m = (svq_model *) 0x10;
    EXPECT(svq_model_load_file(NULL, &m), SVQ_STATUS_INVALID_ARGUMENT, "path");
    CHECK(m == NULL);
    EXPECT(svq_model_load_file(path, NULL), SVQ_STATUS_INVALID_ARGUMENT, "out_model");
    EXPECT(svq_model_load_file("/nonexistent/model.safetensors", &m), SVQ_STATUS_IO_ERROR, "/nonexistent/model.safetensors");
    EXPECT(svq_model_load_file("/tmp", &m), SVQ_STATUS_IO_ERROR, "not a regular file");
    EXPECT(svq_model_load_file("/dev/zero", &m), SVQ_STATUS_IO_ERROR, "not a regular file");
    EXPECT(svq_model_load_memory(NULL, 100, &m), SVQ_STATUS_INVALID_ARGUMENT, "data");
    EXPECT(svq_model_load_memory(NULL, 0, &m), SVQ_STATUS_INVALID_MODEL, "safetensors");
    uint8_t junk[64];
    for (int i = 0; i < 64; i++) junk[i] = (uint8_t) (i * 37 + 11);
    EXPECT(svq_model_load_memory(junk, sizeof junk, &m), SVQ_STATUS_INVALID_MODEL, "safetensors");
    CHECK(m == NULL);

    size_t size = 0;
    uint8_t * data = read_file(path, &size);
    CHECK(data != NULL && size > 100);
    if (data == NULL) return;
    const size_t cuts[] = {0, 1, 7, 8, 9, 100, size / 3, size / 2, size - 4, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        EXPECT(svq_model_load_memory(data, cuts[i], &m), SVQ_STATUS_INVALID_MODEL, "");
        CHECK(m == NULL);
    }
    /* Sizes above 2^60 are refused (no buffer is that large); a size larger than the buffer but within it
     * reads only where the header points, so the file reads as truncated. */
    EXPECT(svq_model_load_memory(data, SIZE_MAX, &m), SVQ_STATUS_INVALID_ARGUMENT, "size");
    EXPECT(svq_model_load_memory(data, (size_t) 1 << 63, &m), SVQ_STATUS_INVALID_ARGUMENT, "size");
    EXPECT(svq_model_load_memory(data, ((size_t) 1 << 60) + 1, &m), SVQ_STATUS_INVALID_ARGUMENT, "size");
    EXPECT(svq_model_load_memory(data, (size_t) 1 << 60, &m), SVQ_STATUS_INVALID_MODEL, "");
    CHECK(m == NULL);
    EXPECT_OK(svq_model_load_memory(data, size, &m));
    CHECK(m != NULL);
    svq_info i2;
    EXPECT_OK(svq_model_info(m, &i2));
    /* Field by field: memcmp would compare the struct's padding bytes, which nothing sets. */
    CHECK(i2.image_size == info.image_size && i2.image_channels == info.image_channels
          && i2.num_slots == info.num_slots && i2.num_blocks == info.num_blocks
          && i2.codebook_size == info.codebook_size && i2.slot_size == info.slot_size
          && i2.vocab_size == info.vocab_size && i2.tokens_per_image == info.tokens_per_image
          && i2.has_prior == info.has_prior);
    svq_model_free(m);
    EXPECT(svq_model_info(m, &i2), SVQ_STATUS_INVALID_ARGUMENT, "not a loaded model");   /* freed handle */
    svq_model_free(m);     /* double free: no-op */
    svq_model_free(NULL);
    EXPECT(svq_model_info((const svq_model *) 0x7777, &i2), SVQ_STATUS_INVALID_ARGUMENT, "not a loaded model");
    /* Stray pointers are not handles: handles used to be 16 x the load number, so 0x10 was the first model
     * loaded (here, the test model still loaded in main) and small aligned values the others. */
    EXPECT(svq_model_info((const svq_model *) 0x10, &i2), SVQ_STATUS_INVALID_ARGUMENT, "not a loaded model");
    int forged = 0;
    for (uintptr_t k = 1; k <= 65536; k++) forged += svq_model_info((const svq_model *) (k << 4), &i2) == SVQ_STATUS_OK;
    CHECK(forged == 0);
    EXPECT(svq_model_info(NULL, &i2), SVQ_STATUS_INVALID_ARGUMENT, "model");
    free(data);
}

/* Loading a FIFO must be refused at once: opening one to read waits for a writer. The load runs on a
 * thread; if it has not returned within 10 s the check fails, and a writer is opened to release it. */
typedef struct {
    const char * path;
    svq_status status;
    char message[256];
    int done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} fifo_load;

static void * load_fifo(void * arg) {
    fifo_load * f = arg;
    svq_model * m = NULL;
    const svq_status status = svq_model_load_file(f->path, &m);
    svq_model_free(m);
    pthread_mutex_lock(&f->lock);
    f->status = status;
    snprintf(f->message, sizeof f->message, "%s", svq_last_error());
    f->done = 1;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

static void test_fifo(void) {
    char dir[] = "/tmp/svq-capi-XXXXXX", path[64];
    if (mkdtemp(dir) == NULL) {
        CHECK(!"mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(mkfifo(path, 0600) == 0);
    fifo_load f = {path, SVQ_STATUS_OK, "", 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, load_fifo, &f) == 0);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&f.lock);
    while (!f.done && pthread_cond_timedwait(&f.cond, &f.lock, &deadline) == 0) {}
    const int blocked = !f.done;
    pthread_mutex_unlock(&f.lock);
    CHECK(!blocked);
    if (blocked) {
        const int writer = open(path, O_WRONLY | O_NONBLOCK);
        if (writer >= 0) close(writer);
    }
    pthread_join(thread, NULL);
    CHECK(f.status == SVQ_STATUS_IO_ERROR && strstr(f.message, "not a regular file") != NULL);
    unlink(path);
    rmdir(dir);
}

static void test_encode(const svq_model * m) {
    const int s = info.image_size, c = info.image_channels;
    float * images = malloc(2 * n_image * sizeof(float));
    uint8_t * bytes = malloc(2 * n_image);
    int32_t codes[2 * 256], codes2[2 * 256];
    float * masks = malloc(2 * (size_t) info.num_slots * (size_t) s * (size_t) s * sizeof(float));
    float * slots = malloc(2 * (size_t) info.num_slots * (size_t) info.slot_size * sizeof(float));
    if (n_codes > 256) { fprintf(stderr, "test model too large\n"); exit(1); }
    fill_images(images, 2 * n_image, 1);
    memset(bytes, 128, 2 * n_image);
    const size_t nc = 2 * n_codes;
    const size_t nm = 2 * (size_t) info.num_slots * (size_t) s * (size_t) s;
    const size_t ns = 2 * (size_t) info.num_slots * (size_t) info.slot_size;

    EXPECT(svq_encode_f32(NULL, images, 2, s, s, c, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_INVALID_ARGUMENT, "model");
    EXPECT(svq_encode_f32(m, NULL, 2, s, s, c, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_INVALID_ARGUMENT, "images");
    EXPECT(svq_encode_f32(m, images, 2, s, s, c, NULL, NULL, nc, NULL, 0, NULL, 0), SVQ_STATUS_INVALID_ARGUMENT, "codes");
    EXPECT(svq_encode_f32(m, images, 0, s, s, c, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_INVALID_ARGUMENT, "batch");
    EXPECT(svq_encode_f32(m, images, -1, s, s, c, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_INVALID_ARGUMENT, "batch");
    EXPECT(svq_encode_f32(m, images, 2, s / 2, s, c, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_SHAPE_MISMATCH, "images");
    EXPECT(svq_encode_f32(m, images, 2, s, s + 4, c, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_SHAPE_MISMATCH, "images");
    EXPECT(svq_encode_f32(m, images, 2, s, s, c + 1, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_SHAPE_MISMATCH, "channels");
    EXPECT(svq_encode_u8(m, bytes, 1, s, s, 1, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_SHAPE_MISMATCH, "channels");
    EXPECT(svq_encode_f32(m, images, 2, s, s, c, NULL, codes, nc - 1, NULL, 0, NULL, 0), SVQ_STATUS_BUFFER_TOO_SMALL, "codes");
    EXPECT(svq_encode_f32(m, images, 2, s, s, c, NULL, codes, nc, masks, nm - 1, NULL, 0), SVQ_STATUS_BUFFER_TOO_SMALL, "masks");
    EXPECT(svq_encode_f32(m, images, 2, s, s, c, NULL, codes, nc, NULL, 0, slots, ns - 1), SVQ_STATUS_BUFFER_TOO_SMALL, "slots");
    /* Capacities are unsigned: SIZE_MAX and 2^63 are large enough (not -1 and a negative number). */
    EXPECT_OK(svq_encode_f32(m, images, 2, s, s, c, NULL, codes, SIZE_MAX, masks, SIZE_MAX, slots, (size_t) 1 << 63));
    EXPECT_OK(svq_encode_u8(m, bytes, 2, s, s, c, NULL, codes, (size_t) 1 << 63, NULL, 0, NULL, 0));
    const float bad[] = {NAN, INFINITY, -INFINITY, -0.001f, 1.001f, 255.0f};
    const char * why[] = {"NaN", "infinite", "infinite", "outside", "outside", "outside"};
    for (int i = 0; i < 6; i++) {
        float keep = images[n_image + 5];
        images[n_image + 5] = bad[i];
        EXPECT(svq_encode_f32(m, images, 2, s, s, c, NULL, codes, nc, NULL, 0, NULL, 0), SVQ_STATUS_INVALID_VALUE, why[i]);
        images[n_image + 5] = keep;
    }

    /* Good calls: codes in range, deterministic per seed, u8 == f32 of byte / 255. */
    svq_encode_params p = svq_encode_default_params();
    p.seed = 3;
    EXPECT_OK(svq_encode_f32(m, images, 2, s, s, c, &p, codes, nc, masks, nm, slots, ns));
    int in_range = 1;
    for (size_t i = 0; i < nc; i++) in_range &= codes[i] >= 0 && codes[i] < info.codebook_size;
    CHECK(in_range);
    float sum = 0;
    for (int n = 0; n < info.num_slots; n++) sum += masks[(size_t) n * (size_t) s * (size_t) s + 17];
    CHECK(fabsf(sum - 1.0f) < 1e-4f);
    EXPECT_OK(svq_encode_f32(m, images, 2, s, s, c, &p, codes2, nc, NULL, 0, NULL, 0));
    CHECK(memcmp(codes, codes2, nc * sizeof(int32_t)) == 0);
    for (size_t i = 0; i < 2 * n_image; i++) {
        bytes[i] = (uint8_t) lrintf(images[i] * 255.0f);
        images[i] = (float) bytes[i] / 255.0f;
    }
    EXPECT_OK(svq_encode_f32(m, images, 2, s, s, c, &p, codes, nc, NULL, 0, NULL, 0));
    EXPECT_OK(svq_encode_u8(m, bytes, 2, s, s, c, &p, codes2, nc, NULL, 0, NULL, 0));
    CHECK(memcmp(codes, codes2, nc * sizeof(int32_t)) == 0);
    free(images);
    free(bytes);
    free(masks);
    free(slots);
}

static void test_decode(const svq_model * m) {
    int32_t codes[2 * 256];
    float * out = malloc(2 * n_image * sizeof(float));
    uint8_t * out8 = malloc(2 * n_image);
    float * again = malloc(2 * n_image * sizeof(float));
    for (size_t i = 0; i < 2 * n_codes; i++) codes[i] = (int32_t) (i % (size_t) info.codebook_size);
    const size_t ni = 2 * n_image;

    EXPECT(svq_decode_f32(NULL, codes, 2, NULL, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "model");
    EXPECT(svq_decode_f32(m, NULL, 2, NULL, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "codes");
    EXPECT(svq_decode_f32(m, codes, 2, NULL, NULL, ni), SVQ_STATUS_INVALID_ARGUMENT, "images");
    EXPECT(svq_decode_u8(m, codes, 0, NULL, out8, ni), SVQ_STATUS_INVALID_ARGUMENT, "batch");
    EXPECT(svq_decode_f32(m, codes, -3, NULL, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "batch");
    EXPECT(svq_decode_f32(m, codes, 2, NULL, out, ni - 1), SVQ_STATUS_BUFFER_TOO_SMALL, "images");
    EXPECT(svq_decode_u8(m, codes, 2, NULL, out8, ni - 1), SVQ_STATUS_BUFFER_TOO_SMALL, "images");
    EXPECT_OK(svq_decode_f32(m, codes, 2, NULL, out, SIZE_MAX));
    EXPECT_OK(svq_decode_u8(m, codes, 2, NULL, out8, (size_t) 1 << 63));
    codes[7] = info.codebook_size;
    EXPECT(svq_decode_f32(m, codes, 2, NULL, out, ni), SVQ_STATUS_INVALID_VALUE, "outside");
    codes[7] = -1;
    EXPECT(svq_decode_u8(m, codes, 2, NULL, out8, ni), SVQ_STATUS_INVALID_VALUE, "-1");
    codes[7] = 0;
    svq_decode_params d = svq_decode_default_params();
    d.sampling = (svq_sampling) 5;
    EXPECT(svq_decode_f32(m, codes, 2, &d, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "sampling");
    d = svq_decode_default_params();
    d.sampling = SVQ_SAMPLING_SAMPLE;
    d.top_k = -1;
    EXPECT(svq_decode_f32(m, codes, 2, &d, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "top_k");
    d.top_k = 0;
    d.temperature = 0;
    EXPECT(svq_decode_f32(m, codes, 2, &d, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "temperature");
    d.temperature = NAN;
    EXPECT(svq_decode_f32(m, codes, 2, &d, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "temperature");
    d = svq_decode_default_params();
    CHECK(d.candidates == 1);
    d.sampling = SVQ_SAMPLING_GREEDY;
    d.candidates = 3; /* greedy decoding draws one image */
    EXPECT(svq_decode_f32(m, codes, 2, &d, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "greedy");
    d.sampling = SVQ_SAMPLING_SAMPLE;
    d.candidates = 65;
    EXPECT(svq_decode_f32(m, codes, 2, &d, out, ni), SVQ_STATUS_INVALID_ARGUMENT, "candidates");

    EXPECT_OK(svq_decode_f32(m, codes, 2, NULL, out, ni));
    int in_range = 1;
    for (size_t i = 0; i < ni; i++) in_range &= out[i] >= 0.0f && out[i] <= 1.0f;
    CHECK(in_range);
    EXPECT_OK(svq_decode_u8(m, codes, 2, NULL, out8, ni));
    int same = 1;
    for (size_t i = 0; i < ni; i++) same &= out8[i] == (uint8_t) lrintf(out[i] * 255.0f);
    CHECK(same);
    d = svq_decode_default_params();
    d.sampling = SVQ_SAMPLING_SAMPLE;
    d.seed = 9;
    EXPECT_OK(svq_decode_f32(m, codes, 2, &d, out, ni));
    EXPECT_OK(svq_decode_f32(m, codes, 2, &d, again, ni));
    CHECK(memcmp(out, again, ni * sizeof(float)) == 0);
    d.candidates = 4; /* best of four draws: reproducible per seed too */
    EXPECT_OK(svq_decode_f32(m, codes, 2, &d, out, ni));
    EXPECT_OK(svq_decode_f32(m, codes, 2, &d, again, ni));
    CHECK(memcmp(out, again, ni * sizeof(float)) == 0);
    free(out);
    free(out8);
    free(again);
}

static void test_prior(const svq_model * m, const svq_model * no_prior) {
    int32_t codes[3 * 256], fixed[3 * 256], again[3 * 256];
    uint8_t mask[3 * 256];
    const size_t nc = 3 * n_codes;
    memset(mask, 1, sizeof mask);
    for (size_t i = 0; i < nc; i++) fixed[i] = (int32_t) ((i * 5) % (size_t) info.codebook_size);

    EXPECT(svq_prior_sample(NULL, 3, NULL, NULL, NULL, codes, nc), SVQ_STATUS_INVALID_ARGUMENT, "model");
    EXPECT(svq_prior_sample(m, 3, NULL, NULL, NULL, NULL, nc), SVQ_STATUS_INVALID_ARGUMENT, "codes");
    EXPECT(svq_prior_sample(m, 0, NULL, NULL, NULL, codes, nc), SVQ_STATUS_INVALID_ARGUMENT, "count");
    EXPECT(svq_prior_sample(m, -2, NULL, NULL, NULL, codes, nc), SVQ_STATUS_INVALID_ARGUMENT, "count");
    EXPECT(svq_prior_sample(m, 3, NULL, NULL, NULL, codes, nc - 1), SVQ_STATUS_BUFFER_TOO_SMALL, "codes");
    EXPECT_OK(svq_prior_sample(m, 3, NULL, NULL, NULL, codes, SIZE_MAX));
    EXPECT(svq_prior_sample(m, 3, NULL, NULL, mask, codes, nc), SVQ_STATUS_INVALID_ARGUMENT, "mask");
    EXPECT(svq_prior_sample(m, 3, NULL, fixed, NULL, codes, nc), SVQ_STATUS_INVALID_ARGUMENT, "mask");
    EXPECT(svq_prior_sample(no_prior, 3, NULL, NULL, NULL, codes, nc), SVQ_STATUS_NO_PRIOR, "prior");
    svq_prior_params p = svq_prior_default_params();
    p.temperature = -1;
    EXPECT(svq_prior_sample(m, 3, &p, NULL, NULL, codes, nc), SVQ_STATUS_INVALID_ARGUMENT, "temperature");
    p = svq_prior_default_params();
    p.top_k = -4;
    EXPECT(svq_prior_sample(m, 3, &p, NULL, NULL, codes, nc), SVQ_STATUS_INVALID_ARGUMENT, "top_k");
    fixed[4] = info.codebook_size + 3;
    EXPECT(svq_prior_sample(m, 3, NULL, fixed, mask, codes, nc), SVQ_STATUS_INVALID_VALUE, "outside");
    mask[4] = 0;   /* an unmasked code is ignored, whatever its value */
    EXPECT_OK(svq_prior_sample(m, 3, NULL, fixed, mask, codes, nc));
    int kept = 1;
    for (size_t i = 0; i < nc; i++) kept &= !mask[i] || codes[i] == fixed[i];
    CHECK(kept);

    p = svq_prior_default_params();
    p.seed = 5;
    p.top_k = 3;
    EXPECT_OK(svq_prior_sample(m, 3, &p, NULL, NULL, codes, nc));
    EXPECT_OK(svq_prior_sample(m, 3, &p, NULL, NULL, again, nc));
    CHECK(memcmp(codes, again, nc * sizeof(int32_t)) == 0);
    int in_range = 1;
    for (size_t i = 0; i < nc; i++) in_range &= codes[i] >= 0 && codes[i] < info.codebook_size;
    CHECK(in_range);
}

static void test_codebook(const svq_model * m) {
    const size_t n = (size_t) info.codebook_size * (size_t) (info.slot_size / info.num_blocks);
    float * book = malloc(n * sizeof(float));
    EXPECT(svq_codebook(NULL, 0, book, n), SVQ_STATUS_INVALID_ARGUMENT, "model");
    EXPECT(svq_codebook(m, 0, NULL, n), SVQ_STATUS_INVALID_ARGUMENT, "out");
    EXPECT(svq_codebook(m, -1, book, n), SVQ_STATUS_INVALID_ARGUMENT, "block");
    EXPECT(svq_codebook(m, info.num_blocks, book, n), SVQ_STATUS_INVALID_ARGUMENT, "block");
    EXPECT(svq_codebook(m, 0, book, n - 1), SVQ_STATUS_BUFFER_TOO_SMALL, "out");
    EXPECT_OK(svq_codebook(m, 0, book, SIZE_MAX));
    EXPECT_OK(svq_codebook(m, info.num_blocks - 1, book, n));
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(book[i]);
    CHECK(finite);
    free(book);
}

/* ---- Concurrency: 8 threads, one model, the serial results ---- */

enum { JOBS = 6, THREADS = 8, ROUNDS = 3 };

typedef struct { float * data; size_t n; } result;

static const svq_model * shared;
static float * job_images;
static result serial[JOBS];

/* Runs job j; returns its output as floats (codes converted) in a malloc'd buffer. */
static result run_job(int j) {
    const int s = info.image_size, c = info.image_channels;
    result r = {NULL, 0};
    int32_t codes[2 * 256];
    svq_status st = SVQ_STATUS_INTERNAL_ERROR;
    switch (j % 3) {
    case 0: { /* encode with masks */
        svq_encode_params p = {(uint64_t) j};
        r.n = n_codes + (size_t) info.num_slots * (size_t) s * (size_t) s;
        r.data = malloc(r.n * sizeof(float));
        st = svq_encode_f32(shared, job_images + (size_t) j * n_image, 1, s, s, c, &p, codes, n_codes,
                            r.data + n_codes, r.n - n_codes, NULL, 0);
        for (size_t i = 0; i < n_codes; i++) r.data[i] = (float) codes[i];
        break;
    }
    case 1: { /* prior sample, then decode greedily */
        svq_prior_params p = svq_prior_default_params();
        p.seed = (uint64_t) j;
        r.n = 2 * n_image;
        r.data = malloc(r.n * sizeof(float));
        st = svq_prior_sample(shared, 2, &p, NULL, NULL, codes, 2 * n_codes);
        if (st == SVQ_STATUS_OK) st = svq_decode_f32(shared, codes, 2, NULL, r.data, r.n);
        break;
    }
    default: { /* sampled decode of fixed codes */
        svq_decode_params p = svq_decode_default_params();
        p.sampling = SVQ_SAMPLING_SAMPLE;
        p.temperature = 0.7f;
        p.seed = (uint64_t) j;
        for (size_t i = 0; i < n_codes; i++) codes[i] = (int32_t) ((i + (size_t) j) % (size_t) info.codebook_size);
        r.n = n_image;
        r.data = malloc(r.n * sizeof(float));
        st = svq_decode_f32(shared, codes, 1, &p, r.data, r.n);
        break;
    }
    }
    if (st != SVQ_STATUS_OK) {
        fprintf(stderr, "job %d failed: %s\n", j, svq_last_error());
        free(r.data);
        r.data = NULL;
    }
    return r;
}

static int thread_mismatches[THREADS];

static void * worker(void * arg) {
    const int t = (int) (intptr_t) arg;
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < JOBS; k++) {
            const int j = (k * (t + 1) + t + round) % JOBS;   /* a different order on every thread */
            result r = run_job(j);
            if (r.data == NULL || r.n != serial[j].n || memcmp(r.data, serial[j].data, r.n * sizeof(float)) != 0) {
                thread_mismatches[t]++;
            }
            free(r.data);
        }
    }
    return NULL;
}

static void test_threads(const svq_model * m) {
    shared = m;
    job_images = malloc(JOBS * n_image * sizeof(float));
    fill_images(job_images, JOBS * n_image, 7);
    for (int j = 0; j < JOBS; j++) {
        serial[j] = run_job(j);
        CHECK(serial[j].data != NULL);
    }
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, worker, (void *) (intptr_t) t) == 0);
    int mismatches = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        mismatches += thread_mismatches[t];
    }
    if (mismatches) fprintf(stderr, "%d of %d concurrent results differ from the serial ones\n", mismatches, THREADS * ROUNDS * JOBS);
    CHECK(mismatches == 0);
    for (int j = 0; j < JOBS; j++) free(serial[j].data);
    free(job_images);
}

/* What the callbacks saw: reports in order, and after how many polls the abort callback says stop (0: never). */
typedef struct watch {
    int   reports, polls, stop_after;
    float last;
    int   in_order;
} watch;

static void on_progress(float progress, void * user_data) {
    watch * w = user_data;
    if (!(progress > w->last && progress <= 1.0f)) w->in_order = 0;
    w->last = progress;
    w->reports++;
}

static bool should_abort(void * user_data) {
    watch * w = user_data;
    w->polls++;
    return w->stop_after > 0 && w->polls >= w->stop_after;
}

static void * decode_unwatched(void * arg) {
    const svq_model * m = arg;
    int32_t * codes = calloc(n_codes, sizeof *codes);
    uint8_t * pixels = malloc(n_image);
    svq_status st = svq_decode_u8(m, codes, 1, NULL, pixels, n_image);
    free(codes), free(pixels);
    return (void *) (intptr_t) st;
}

static void test_callbacks(const svq_model * m) {
    int32_t * codes = calloc(2 * n_codes, sizeof *codes);
    uint8_t * plain = malloc(2 * n_image), * pixels = malloc(2 * n_image);
    EXPECT_OK(svq_decode_u8(m, codes, 2, NULL, plain, 2 * n_image));

    watch w = { 0, 0, 0, 0.0f, 1 };
    svq_callbacks cb = { on_progress, &w, should_abort, &w };
    EXPECT_OK(svq_set_callbacks(&cb));
    EXPECT_OK(svq_decode_u8(m, codes, 2, NULL, pixels, 2 * n_image));
    CHECK(w.reports == info.tokens_per_image && w.polls == info.tokens_per_image);   /* one per decoder step */
    CHECK(w.in_order && w.last == 1.0f);
    CHECK(memcmp(pixels, plain, 2 * n_image) == 0);                                   /* watching changes nothing */

    /* Another thread's calls are not watched. */
    pthread_t thread;
    void * result = NULL;
    w.reports = w.polls = 0;
    CHECK(pthread_create(&thread, NULL, decode_unwatched, (void *) m) == 0);
    CHECK(pthread_join(thread, &result) == 0);
    CHECK((intptr_t) result == SVQ_STATUS_OK && w.reports == 0 && w.polls == 0);

    w = (watch) { 0, 0, 5, 0.0f, 1 };
    EXPECT(svq_decode_u8(m, codes, 2, NULL, pixels, 2 * n_image), SVQ_STATUS_CANCELLED, "cancelled");
    CHECK(w.polls == 5);                                                              /* stopped at once */
    w = (watch) { 0, 0, 2, 0.0f, 1 };
    EXPECT(svq_prior_sample(m, 1, NULL, NULL, NULL, codes, n_codes), SVQ_STATUS_CANCELLED, "cancelled");
    CHECK(w.polls == 2);
    w = (watch) { 0, 0, 1, 0.0f, 1 };
    float * images = calloc(n_image, sizeof *images);
    EXPECT(svq_encode_f32(m, images, 1, info.image_size, info.image_size, info.image_channels, NULL,
                          codes, n_codes, NULL, 0, NULL, 0), SVQ_STATUS_CANCELLED, "cancelled");
    CHECK(w.polls == 1);

    /* Removed: the call runs to the end unwatched. */
    EXPECT_OK(svq_set_callbacks(NULL));
    w = (watch) { 0, 0, 1, 0.0f, 1 };
    EXPECT_OK(svq_decode_u8(m, codes, 2, NULL, pixels, 2 * n_image));
    CHECK(w.polls == 0 && memcmp(pixels, plain, 2 * n_image) == 0);
    free(images), free(codes), free(plain), free(pixels);
}

int main(int argc, char ** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_WITH_PRIOR MODEL_WITHOUT_PRIOR\n", argv[0]);
        return 2;
    }
    svq_model * m = NULL, * no_prior = NULL;
    if (svq_model_load_file(argv[1], &m) != SVQ_STATUS_OK || svq_model_load_file(argv[2], &no_prior) != SVQ_STATUS_OK) {
        fprintf(stderr, "cannot load the test models: %s\n", svq_last_error());
        return 1;
    }
    EXPECT_OK(svq_model_info(m, &info));
    EXPECT(svq_model_info(m, NULL), SVQ_STATUS_INVALID_ARGUMENT, "out_info");
    CHECK(info.has_prior);
    svq_info other;
    EXPECT_OK(svq_model_info(no_prior, &other));
    CHECK(!other.has_prior);
    n_image = (size_t) info.image_size * (size_t) info.image_size * (size_t) info.image_channels;
    n_codes = (size_t) info.num_slots * (size_t) info.num_blocks;

    test_library();
    test_loading(argv[1]);
    test_fifo();
    test_encode(m);
    test_decode(m);
    test_prior(m, no_prior);
    test_codebook(m);
    test_threads(m);
    test_callbacks(m);

    svq_model_free(m);
    svq_model_free(no_prior);
    printf("test_capi: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
