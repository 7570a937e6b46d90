/*
 * encode_decode: the SVQ runtime from C.
 *
 *   encode_decode MODEL.safetensors INPUT.png OUTPUT_PREFIX
 *
 * Reads INPUT.png (any PNG; converted to RGB and, if its size differs from the model's, resized by
 * nearest neighbour), encodes it to N x M codes and prints them, decodes the codes to
 * OUTPUT_PREFIX-recon.png, and, if the model has a semantic prior, samples two new scenes to
 * OUTPUT_PREFIX-sample0.png and OUTPUT_PREFIX-sample1.png.
 *
 * Build:  cc -std=c99 encode_decode.c $(pkg-config --cflags --libs svq libpng) -o encode_decode
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svq.h"

/* Reads a PNG as 8-bit RGB; returns a malloc'd buffer (NULL on error, with a message printed). */
static uint8_t * read_rgb_png(const char * path, int * width, int * height) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) {
        fprintf(stderr, "cannot read %s: %s\n", path, image.message);
        return NULL;
    }
    image.format = PNG_FORMAT_RGB;
    uint8_t * pixels = malloc(PNG_IMAGE_SIZE(image));
    if (pixels == NULL || !png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
        fprintf(stderr, "cannot decode %s: %s\n", path, pixels ? image.message : "out of memory");
        png_image_free(&image);
        free(pixels);
        return NULL;
    }
    *width = (int) image.width;
    *height = (int) image.height;
    return pixels;
}

static int write_rgb_png(const char * path, const uint8_t * pixels, int size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32) size;
    image.height = (png_uint_32) size;
    image.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&image, path, 0, pixels, 0, NULL)) {
        fprintf(stderr, "cannot write %s: %s\n", path, image.message);
        return 0;
    }
    printf("wrote %s\n", path);
    return 1;
}

/* Nearest-neighbour resize of an RGB image (w x h) to size x size. */
static void resize_rgb(const uint8_t * src, int w, int h, uint8_t * dst, int size) {
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            const uint8_t * p = src + 3 * ((size_t) (y * h / size) * (size_t) w + (size_t) (x * w / size));
            memcpy(dst + 3 * ((size_t) y * (size_t) size + (size_t) x), p, 3);
        }
    }
}

/* Prints the status and the library's message, and returns 1 if the call failed. */
static int failed(svq_status status, const char * what) {
    if (status == SVQ_STATUS_OK) return 0;
    fprintf(stderr, "%s failed: %s: %s\n", what, svq_status_string(status), svq_last_error());
    return 1;
}

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.safetensors INPUT.png OUTPUT_PREFIX\n", argv[0]);
        return 2;
    }
    if (svq_api_version() != SVQ_API_VERSION) {
        fprintf(stderr, "libsvq has API version %d, this program was built for %d\n", svq_api_version(), SVQ_API_VERSION);
        return 1;
    }
    int status = 1;
    svq_model * model = NULL;
    uint8_t * png = NULL, * image = NULL, * out = NULL;
    int32_t * codes = NULL;
    char path[4096];

    if (failed(svq_model_load_file(argv[1], &model), "loading the model")) goto done;
    svq_info info;
    if (failed(svq_model_info(model, &info), "svq_model_info")) goto done;
    printf("libsvq %s; model: %dx%dx%d images, %d slots x %d blocks, codes 0..%d, prior: %s\n", svq_version(),
           info.image_size, info.image_size, info.image_channels, info.num_slots, info.num_blocks,
           info.codebook_size - 1, info.has_prior ? "yes" : "no");
    if (info.image_channels != 3) {
        fprintf(stderr, "this example reads RGB images; the model takes %d channels\n", info.image_channels);
        goto done;
    }

    int w = 0, h = 0;
    if ((png = read_rgb_png(argv[2], &w, &h)) == NULL) goto done;
    const int size = info.image_size;
    const size_t n_pixels = (size_t) size * (size_t) size * 3;
    const size_t n_codes = (size_t) info.num_slots * (size_t) info.num_blocks;
    image = malloc(n_pixels);
    out = malloc(2 * n_pixels);
    codes = malloc(2 * n_codes * sizeof *codes);
    if (image == NULL || out == NULL || codes == NULL) { fprintf(stderr, "out of memory\n"); goto done; }
    if (w != size || h != size) printf("resizing %dx%d to %dx%d\n", w, h, size, size);
    resize_rgb(png, w, h, image, size);

    /* Encode: one image, seed 0 (encoding starts from random slots; the seed makes it reproducible). */
    svq_encode_params enc = svq_encode_default_params();
    if (failed(svq_encode_u8(model, image, 1, size, size, 3, &enc, codes, n_codes, NULL, 0, NULL, 0), "encoding")) goto done;
    printf("codes of %s (one row per object):\n", argv[2]);
    for (int n = 0; n < info.num_slots; n++) {
        printf("  object %d:", n);
        for (int m = 0; m < info.num_blocks; m++) printf(" %2d", codes[n * info.num_blocks + m]);
        printf("\n");
    }

    /* Decode the codes back to an image (default params: tokens drawn at 0.75, seed 0). */
    if (failed(svq_decode_u8(model, codes, 1, NULL, out, n_pixels), "decoding")) goto done;
    snprintf(path, sizeof path, "%s-recon.png", argv[3]);
    if (!write_rgb_png(path, out, size)) goto done;

    /* New scenes from the semantic prior. */
    if (info.has_prior) {
        svq_prior_params prior = svq_prior_default_params();
        prior.seed = 42;
        prior.temperature = 0.9f;
        if (failed(svq_prior_sample(model, 2, &prior, NULL, NULL, codes, 2 * n_codes), "sampling the prior")) goto done;
        if (failed(svq_decode_u8(model, codes, 2, NULL, out, 2 * n_pixels), "decoding the samples")) goto done;
        for (int i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "%s-sample%d.png", argv[3], i);
            if (!write_rgb_png(path, out + (size_t) i * n_pixels, size)) goto done;
        }
    }
    status = 0;
done:
    free(codes);
    free(out);
    free(image);
    free(png);
    svq_model_free(model);
    return status;
}
