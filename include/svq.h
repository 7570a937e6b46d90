/*
 * svq.h — the C API of libsvq, the SVQ runtime: images → semantic codes → images, and new scenes from
 * the semantic prior. C99; usable from C++.
 *
 *   svq_model * model = NULL;
 *   if (svq_model_load_file("model.safetensors", &model) != SVQ_STATUS_OK) {
 *       fprintf(stderr, "%s\n", svq_last_error());
 *       return 1;
 *   }
 *   svq_info info;
 *   svq_model_info(model, &info);
 *   // codes: batch · num_slots · num_blocks int32 values, each in 0 .. codebook_size-1
 *   svq_encode_u8(model, pixels, 1, info.image_size, info.image_size, info.image_channels, NULL,
 *                 codes, n_codes, NULL, 0, NULL, 0);
 *   svq_decode_u8(model, codes, 1, NULL, pixels, n_pixels);
 *   svq_model_free(model);
 *
 * Conventions
 * - Every function that can fail returns an svq_status. SVQ_STATUS_OK is 0. svq_status_string() names a
 *   status; svq_last_error() gives the message of the most recent call on the calling thread.
 * - Images are NHWC (batch, height, width, channels), row-major: float in [0, 1] (the _f32 functions) or
 *   uint8 in 0..255 (the _u8 functions). Codes are int32, [batch, num_slots, num_blocks], row-major; code
 *   (n, m) of an image picks entry 0..codebook_size-1 of block m's codebook for object n.
 * - Outputs go to caller-allocated buffers whose capacity (in elements, not bytes) is passed alongside.
 *   A buffer that is too small gives SVQ_STATUS_BUFFER_TOO_SMALL, and the message states how many
 *   elements are needed (the sizes follow from svq_model_info). Capacities are read as the unsigned
 *   values they are: any capacity at or above what a call writes, up to SIZE_MAX, is large enough. On any error, output buffers may have
 *   been partly written and must not be used; *out_model is set to NULL.
 * - Params structs come from svq_*_default_params() and are passed by pointer; NULL means the defaults.
 * - Nothing in the library aborts on bad input: NULL pointers, wrong sizes, NaN or infinite pixels,
 *   out-of-range codes, bad files and freed model handles all return an error status.
 * - Outputs are never NaN or infinite. A file's weights are checked to be finite when it loads, but finite
 *   weights can still be large enough (1e20, say) to make a computation overflow; every call checks what it
 *   computed (slot attention and slot distances in encode, token scores and pixels in decode, code scores
 *   in prior sampling) and returns SVQ_STATUS_INVALID_MODEL, naming what overflowed, instead of results
 *   drawn from NaN. Trained weights are many orders of magnitude below that.
 *
 * State, ownership and threads
 * - A struct svq_model is created by svq_model_load_file / svq_model_load_memory and owned by the caller
 *   until svq_model_free. It holds the weights only and is never modified after loading.
 * - Thread safety: one loaded model may be used from any number of threads at once; every call gives the
 *   same result as the same call made alone. (Each call keeps its working state to itself.)
 *   svq_model_free may even race with calls on the same model: a call that has started keeps the model
 *   alive until it returns, and a call that starts after the free returns SVQ_STATUS_INVALID_ARGUMENT
 *   (handles are never reused, so a freed handle is always recognised).
 * - Handles are not addresses: they are drawn from a per-process random permutation, so they differ
 *   from run to run and a pointer that no load returned (0x10, a neighbour of a handle, a flipped bit)
 *   names no model, except by a chance below 2^-24: it gives SVQ_STATUS_INVALID_ARGUMENT.
 * - svq_set_threads changes a process-wide setting: call it before starting work, not while other
 *   threads are inside the library.
 * - Inside a call, the work is spread over the library's own worker threads (made on first use; OpenBLAS
 *   and oneDNN run on the calling thread only). Idle workers spin for a few microseconds and then sleep,
 *   so they leave the cores to the host program and to other processes; a call that finds the workers
 *   busy with another thread's call runs on its own thread. A process may fork after using the library
 *   (as Python's multiprocessing does): the child makes its own workers on its first call. Fork while no
 *   other thread is inside the library.
 * - Results depend only on the inputs, the params (including seeds) and the model, never on the thread
 *   count or on other threads.
 */
#ifndef SVQ_H
#define SVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#    define SVQ_API __attribute__((visibility("default")))
#else
#    define SVQ_API
#endif

/* Version of this header's API. Bumped on any change to it (new functions, fields or statuses, a changed
 * behaviour); svq_api_version() returns the value the library was built with, so a program can check that
 * the two agree. 3: svq_set_callbacks and SVQ_STATUS_CANCELLED; an untrained prior is no prior; decoding
 * draws tokens at 0.75 by default (was greedy). */
#define SVQ_API_VERSION 3

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded model (opaque). */
typedef struct svq_model svq_model;

/* What a call did. Values are stable; new ones may be added at the end. */
typedef enum svq_status {
    SVQ_STATUS_OK               = 0,
    SVQ_STATUS_INVALID_ARGUMENT = 1, /* a NULL pointer, batch <= 0, a bad param, a freed model handle */
    SVQ_STATUS_SHAPE_MISMATCH   = 2, /* image size or channels differ from the model's */
    SVQ_STATUS_INVALID_VALUE    = 3, /* a NaN, infinite or out-of-range pixel; a code out of range */
    SVQ_STATUS_BUFFER_TOO_SMALL = 4, /* an output capacity is below what the call writes */
    SVQ_STATUS_IO_ERROR         = 5, /* the file cannot be opened or read */
    SVQ_STATUS_INVALID_MODEL    = 6, /* not an SVQ weights file, truncated, corrupt or unsupported; or finite
                                        weights so large that a call's computation overflows float32 */
    SVQ_STATUS_NO_PRIOR         = 7, /* the model has no semantic prior, or one that was never trained */
    SVQ_STATUS_INTERNAL_ERROR   = 8, /* a bug in the library: please report it with the message */
    SVQ_STATUS_CANCELLED        = 9  /* the abort callback stopped the call (svq_set_callbacks) */
} svq_status;

/* How the image decoder chooses each dVAE token. */
typedef enum svq_sampling {
    SVQ_SAMPLING_GREEDY = 0, /* the most likely token (deterministic; seed unused) */
    SVQ_SAMPLING_SAMPLE = 1  /* a draw from softmax(logits / temperature) among the top_k tokens */
} svq_sampling;

/* Sizes of a loaded model. */
typedef struct svq_info {
    int32_t image_size;       /* height = width of input and output images, in pixels */
    int32_t image_channels;   /* channels of the images (3 = RGB) */
    int32_t num_slots;        /* N: objects per image */
    int32_t num_blocks;       /* M: codes per object (one per factor) */
    int32_t codebook_size;    /* P: values per code, 0 .. P-1 */
    int32_t slot_size;        /* S: width of a slot vector; a code's prototype vector has S / M values */
    int32_t vocab_size;       /* dVAE vocabulary (tokens per 4x4 patch) */
    int32_t tokens_per_image; /* dVAE tokens the decoder writes per image: (image_size / 4)^2 */
    bool    has_prior;        /* whether svq_prior_sample is available: the model has a semantic prior and
                               * it was trained (`svq train` writes models whose prior is not, yet) */
} svq_info;

typedef struct svq_encode_params {
    uint64_t seed; /* seed of the random slot initialisation; same seed and images -> same codes. Default 0 */
} svq_encode_params;

/* Decoding. The default (svq_decode_default_params, and NULL params) draws each token at temperature 0.75:
 * greedy decoding writes background wherever an object's first token is a little less likely than it, so it
 * drops objects (3.0 of 3.5 per scene on the bundled model's validation split), and 0.75 was the best of
 * 0.25-1.0 there. Sampled results are reproducible per seed. SVQ_SAMPLING_GREEDY takes the most likely token
 * (needs no seed); a zero-initialised struct ({0}) is greedy. */
typedef struct svq_decode_params {
    svq_sampling sampling;    /* default SVQ_SAMPLING_SAMPLE */
    float        temperature; /* SAMPLE only: > 0 and finite; 1 = the model's distribution. Default 0.75 */
    int32_t      top_k;       /* SAMPLE only: keep the k most likely tokens; 0 = all; < 0 is an error. Default 0 */
    uint64_t     seed;        /* SAMPLE only: seed of the draws. Default 0 */
    int32_t      candidates;  /* SAMPLE only: images drawn per code set, keeping the one whose re-encoding
                               * gives back the codes most closely; 1 .. 64, 0 = 1 (GREEDY: 0 or
                               * 1). Default 1 */
} svq_decode_params;

typedef struct svq_prior_params {
    float    temperature; /* > 0 and finite; 1 = the prior's distribution, lower = more typical. Default 1 */
    int32_t  top_k;       /* keep the k most likely codes at each step; 0 = all; < 0 is an error. Default 0 */
    uint64_t seed;        /* seed of the draws; same seed and params -> same codes. Default 0 */
} svq_prior_params;

/* ---- Library ---- */

/* SVQ_API_VERSION as the library was built. */
SVQ_API int32_t svq_api_version(void);

/* The library version, e.g. "0.1.0" (a static string). */
SVQ_API const char * svq_version(void);

/* A short static description of a status ("invalid argument"); unknown values give "unknown status". */
SVQ_API const char * svq_status_string(svq_status status);

/* The message of the most recent svq_* call on the calling thread that returns an svq_status: empty
 * after a success, a description of the problem after a failure. Never NULL. The string belongs to the
 * library and stays valid until the thread's next svq_* call. */
SVQ_API const char * svq_last_error(void);

/* The most threads svq_set_threads accepts: above the hardware threads of any current machine (two
 * 128-core sockets with SMT have 512). Each is a real thread, made on first use. */
#define SVQ_MAX_THREADS 1024

/* Sets the threads used inside each call (matrix products, convolutions, parallel loops), process-wide.
 * n_threads in 1 .. SVQ_MAX_THREADS, or 0 for one per CPU core (the default; at most SVQ_MAX_THREADS).
 * Returns SVQ_STATUS_INVALID_ARGUMENT (and keeps the setting) if n_threads < 0 or > SVQ_MAX_THREADS.
 * The process must be allowed that many threads: they are made on the first call that uses them. Call it
 * before starting work, not while other threads are inside the library. */
SVQ_API svq_status svq_set_threads(int32_t n_threads);

/* The current thread setting (>= 1). */
SVQ_API int32_t svq_get_threads(void);

SVQ_API svq_encode_params svq_encode_default_params(void);
SVQ_API svq_decode_params svq_decode_default_params(void);
SVQ_API svq_prior_params  svq_prior_default_params(void);

/* ---- Models ---- */

/* Loads an SVQ weights file (safetensors, our format; see docs/weights.md). On success *out_model is a
 * new model to free with svq_model_free; on error it is NULL.
 * Only regular files are read: a FIFO, device or directory is SVQ_STATUS_IO_ERROR at once (its type is
 * checked before anything waits on it).
 * Returns: SVQ_STATUS_INVALID_ARGUMENT (path or out_model NULL), SVQ_STATUS_IO_ERROR (cannot read the
 * file, or not a regular file), SVQ_STATUS_INVALID_MODEL (not a valid SVQ weights file: bad header, truncated, wrong or missing
 * tensors, non-finite weights, unsupported format version, sizes out of bounds). */
SVQ_API svq_status svq_model_load_file(const char * path, svq_model ** out_model);

/* Like svq_model_load_file, from the `size` bytes at `data` (read during the call only, never kept: the
 * caller may free them after it). Returns SVQ_STATUS_INVALID_ARGUMENT if data is NULL with size > 0,
 * out_model is NULL or size is above 2^60 (no buffer is that large: SIZE_MAX, say), or
 * SVQ_STATUS_INVALID_MODEL. */
SVQ_API svq_status svq_model_load_memory(const void * data, size_t size, svq_model ** out_model);

/* Frees a model. NULL is a no-op, and so is a handle that is not (or no longer) a loaded model. */
SVQ_API void svq_model_free(svq_model * model);

/* Writes the model's sizes to *out_info. Returns SVQ_STATUS_INVALID_ARGUMENT for a NULL pointer or a
 * handle that is not a loaded model. */
SVQ_API svq_status svq_model_info(const svq_model * model, svq_info * out_info);

/* ---- Encoding: images -> codes ---- */

/* Encodes `batch` images (NHWC float in [0, 1]; height = width = image_size, channels = image_channels).
 * Writes:
 * - codes: batch · N · M int32 values [batch, N, M] (required);
 * - masks: batch · N · image_size · image_size floats [batch, N, H, W], each object's share of every
 *   pixel (sums to 1 over the N objects), or NULL to skip;
 * - slots: batch · N · S floats [batch, N, S], the quantized slot vectors, or NULL to skip.
 * Each capacity is counted in elements; the capacity of a NULL output is ignored.
 * Returns: SVQ_STATUS_INVALID_ARGUMENT (model, images or codes NULL; batch <= 0), SVQ_STATUS_SHAPE_MISMATCH
 * (height, width or channels differ from the model), SVQ_STATUS_INVALID_VALUE (a pixel NaN, infinite or
 * outside [0, 1]), SVQ_STATUS_BUFFER_TOO_SMALL. */
SVQ_API svq_status svq_encode_f32(const svq_model * model,
                                  const float * images, int32_t batch, int32_t height, int32_t width,
                                  int32_t channels, const svq_encode_params * params,
                                  int32_t * codes, size_t codes_capacity,
                                  float * masks, size_t masks_capacity,
                                  float * slots, size_t slots_capacity);

/* svq_encode_f32 for uint8 pixels (0..255, read as value / 255). Same outputs and statuses (no
 * SVQ_STATUS_INVALID_VALUE: every uint8 is a valid pixel). */
SVQ_API svq_status svq_encode_u8(const svq_model * model,
                                 const uint8_t * images, int32_t batch, int32_t height, int32_t width,
                                 int32_t channels, const svq_encode_params * params,
                                 int32_t * codes, size_t codes_capacity,
                                 float * masks, size_t masks_capacity,
                                 float * slots, size_t slots_capacity);

/* ---- Decoding: codes -> images ---- */

/* Decodes `batch` code sets (batch · N · M int32 values, each in 0 .. P-1) to images: writes
 * batch · image_size · image_size · image_channels floats in [0, 1], NHWC.
 * Returns: SVQ_STATUS_INVALID_ARGUMENT (NULL pointer; batch <= 0; a bad param), SVQ_STATUS_INVALID_VALUE
 * (a code out of range), SVQ_STATUS_BUFFER_TOO_SMALL. */
SVQ_API svq_status svq_decode_f32(const svq_model * model, const int32_t * codes, int32_t batch,
                                  const svq_decode_params * params, float * images, size_t images_capacity);

/* svq_decode_f32 writing uint8 pixels (round(value · 255)). */
SVQ_API svq_status svq_decode_u8(const svq_model * model, const int32_t * codes, int32_t batch,
                                 const svq_decode_params * params, uint8_t * images, size_t images_capacity);

/* ---- The semantic prior: new code sets ---- */

/* Samples `count` code sets [count, N, M] from the prior, object by object, into codes (count · N · M).
 * To complete partial code sets, pass fixed_codes and fixed_mask, both count · N · M values: where
 * fixed_mask is nonzero the code of fixed_codes (in 0 .. P-1) is kept and the rest is sampled to fit it;
 * codes where the mask is zero are ignored. Pass both NULL to sample freely.
 * Returns: SVQ_STATUS_INVALID_ARGUMENT (model or codes NULL; count <= 0; a bad param; only one of
 * fixed_codes / fixed_mask given), SVQ_STATUS_INVALID_VALUE (a fixed code out of range),
 * SVQ_STATUS_NO_PRIOR, SVQ_STATUS_BUFFER_TOO_SMALL. */
SVQ_API svq_status svq_prior_sample(const svq_model * model, int32_t count, const svq_prior_params * params,
                                    const int32_t * fixed_codes, const uint8_t * fixed_mask,
                                    int32_t * codes, size_t codes_capacity);

/* ---- Progress and cancellation of long calls ---- */

/* Called after each step of a long call with the fraction done, 0 < progress <= 1, never decreasing. The
 * steps: the image decoder's tokens (svq_decode_*: tokens_per_image steps; with candidates > 1, the
 * re-encoding that follows reports 1), the prior's positions (svq_prior_sample: N · M steps), slot
 * attention's iterations (svq_encode_*). */
typedef void (*svq_progress_callback)(float progress, void * user_data);

/* Polled after each step; returning true stops the call, which then returns SVQ_STATUS_CANCELLED (its
 * outputs are not written). */
typedef bool (*svq_abort_callback)(void * user_data);

/* As whisper.cpp's progress_callback and abort_callback. Either callback may be NULL. */
typedef struct svq_callbacks {
    svq_progress_callback progress_callback;
    void *                progress_callback_user_data;
    svq_abort_callback    abort_callback;
    void *                abort_callback_user_data;
} svq_callbacks;

/* Sets the callbacks of the calling thread's later svq_encode_*, svq_decode_* and svq_prior_sample calls
 * (the struct is copied; NULL removes them). They are per thread, as svq_last_error is: they run on the
 * calling thread, inside its calls, and calls on other threads are not affected. Returns SVQ_STATUS_OK.
 *
 *   static bool stop_requested(void * flag) { return *(volatile bool *) flag; }
 *   svq_callbacks cb = { NULL, NULL, stop_requested, &flag };
 *   svq_set_callbacks(&cb);
 *   if (svq_decode_u8(model, codes, batch, NULL, pixels, n) == SVQ_STATUS_CANCELLED) ...
 *   svq_set_callbacks(NULL); */
SVQ_API svq_status svq_set_callbacks(const svq_callbacks * callbacks);

/* ---- Codebooks ---- */

/* Writes block `block`'s codebook (0 <= block < M): P prototype vectors of S / M floats, [P, S / M];
 * code p of that block stands for row p. Returns SVQ_STATUS_INVALID_ARGUMENT (NULL pointer; block out
 * of range) or SVQ_STATUS_BUFFER_TOO_SMALL. */
SVQ_API svq_status svq_codebook(const svq_model * model, int32_t block, float * out, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* SVQ_H */
