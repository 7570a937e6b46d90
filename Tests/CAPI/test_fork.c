/*
 * test_fork: a process that has used the library on several threads forks (as Python's multiprocessing
 * does by default on Linux), and the child keeps working: its encode and decode finish and give the
 * parent's results, on several threads and on one; a grandchild forked by that child too; and the parent
 * keeps working after the fork.
 *
 *   test_fork MODEL.safetensors
 *
 * A child that hangs is killed after 60 s (alarm) and counts as a failure. Exits 0 if every check passed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svq.h"

static int checks = 0, failures = 0;

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(int ok, const char * what, int line) {
    checks++;
    if (!ok) {
        failures++;
        fprintf(stderr, "FAIL line %d (pid %d): %s\n", line, (int) getpid(), what);
    }
}

static const svq_model * model;
static svq_info info;
static size_t n_image, n_codes;
static uint8_t * images;                /* 2 images */
static int32_t * parent_codes;          /* their codes, from the parent before the fork */
static uint8_t * parent_pixels;         /* those codes decoded, from the parent before the fork */

/* Encodes and decodes the two images; 1 if both calls succeed and give the parent's results. */
static int same_as_parent(void) {
    int32_t * codes = malloc(2 * n_codes * sizeof(int32_t));
    uint8_t * pixels = malloc(2 * n_image);
    svq_encode_params e = svq_encode_default_params();
    e.seed = 7;
    svq_decode_params d = svq_decode_default_params();
    d.seed = 7;
    const int s = info.image_size;
    int ok = svq_encode_u8(model, images, 2, s, s, info.image_channels, &e, codes, 2 * n_codes, NULL, 0, NULL, 0)
                 == SVQ_STATUS_OK
        && svq_decode_u8(model, codes, 2, &d, pixels, 2 * n_image) == SVQ_STATUS_OK
        && memcmp(codes, parent_codes, 2 * n_codes * sizeof(int32_t)) == 0
        && memcmp(pixels, parent_pixels, 2 * n_image) == 0;
    if (!ok) fprintf(stderr, "pid %d: %s\n", (int) getpid(), svq_last_error());
    free(codes);
    free(pixels);
    return ok;
}

/* Forks; the child runs `body` (its exit status: 0 when it passed) and must finish within 60 s.
 * 1 if the child exited 0. */
static int in_child(int (*body)(void)) {
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        alarm(60);   /* a hang ends as SIGALRM, a failure the parent sees */
        _exit(body() ? 0 : 1);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 0;
    if (WIFSIGNALED(status)) fprintf(stderr, "child %d killed by signal %d (a hang if 14)\n", (int) pid, WTERMSIG(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int on_one_thread(void) { return svq_set_threads(1) == SVQ_STATUS_OK && same_as_parent(); }

/* The child: the parent's thread setting, then one thread, then a grandchild of its own. */
static int child(void) {
    return same_as_parent() && same_as_parent() && in_child(on_one_thread) && in_child(same_as_parent)
        && same_as_parent();
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    svq_model * m = NULL;
    if (svq_model_load_file(argv[1], &m) != SVQ_STATUS_OK || svq_model_info(m, &info) != SVQ_STATUS_OK) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], svq_last_error());
        return 1;
    }
    model = m;
    n_image = (size_t) info.image_size * (size_t) info.image_size * (size_t) info.image_channels;
    n_codes = (size_t) info.num_slots * (size_t) info.num_blocks;
    images = malloc(2 * n_image);
    parent_codes = malloc(2 * n_codes * sizeof(int32_t));
    parent_pixels = malloc(2 * n_image);
    for (size_t i = 0; i < 2 * n_image; i++) images[i] = (uint8_t) ((i * 2654435761u) >> 24);

    /* The parent's results, on two threads: the pool (and any runtime's workers) now exist. */
    CHECK(svq_set_threads(2) == SVQ_STATUS_OK);
    svq_encode_params e = svq_encode_default_params();
    e.seed = 7;
    svq_decode_params d = svq_decode_default_params();
    d.seed = 7;
    const int s = info.image_size;
    CHECK(svq_encode_u8(m, images, 2, s, s, info.image_channels, &e, parent_codes, 2 * n_codes, NULL, 0, NULL, 0)
          == SVQ_STATUS_OK);
    CHECK(svq_decode_u8(m, parent_codes, 2, &d, parent_pixels, 2 * n_image) == SVQ_STATUS_OK);
    /* The results do not depend on the thread count: one thread in the parent gives them too. */
    CHECK(svq_set_threads(1) == SVQ_STATUS_OK && same_as_parent());
    CHECK(svq_set_threads(2) == SVQ_STATUS_OK && same_as_parent());

    CHECK(in_child(child));
    CHECK(same_as_parent());   /* the parent's pool survives the fork */
    CHECK(in_child(same_as_parent));

    svq_model_free(m);
    free(images);
    free(parent_codes);
    free(parent_pixels);
    printf("test_fork: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
