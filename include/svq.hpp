// svq.hpp — a header-only C++17 wrapper over the SVQ runtime's C API (svq.h): a move-only svq::model
// that frees itself, std::vector inputs and outputs, and svq::error exceptions carrying the status and
// the library's message.
//
//   svq::model m("model.safetensors");
//   std::vector<int32_t> codes = m.encode(pixels);           // uint8 or float NHWC, any batch
//   std::vector<uint8_t> image = m.decode_u8(codes);
//   std::vector<int32_t> scenes = m.sample_prior(4, {0.9f, 0, 7});  // temperature, top_k, seed
//
// Thread safety is the C API's: one model may be used from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "svq.h"

namespace svq {

/// A failed call: status() is the C status, what() the library's message.
class error : public std::runtime_error {
public:
    error(svq_status status, const std::string & message)
        : std::runtime_error(std::string(svq_status_string(status)) + ": " + message), status_(status) {}
    svq_status status() const noexcept { return status_; }

private:
    svq_status status_;
};

/// Throws svq::error unless `status` is SVQ_STATUS_OK.
inline void check(svq_status status) {
    if (status != SVQ_STATUS_OK) throw error(status, svq_last_error());
}

/// Threads used inside each call (0: one per core). Process-wide; set it before starting work.
inline void set_threads(int n) { check(svq_set_threads(n)); }

/// What encode_with returns: codes [B, N, M], and masks [B, N, H, W] / slots [B, N, S] if requested.
struct encoding {
    std::vector<int32_t> codes;
    std::vector<float> masks;
    std::vector<float> slots;
};

/// Parameters of sample_prior (the C defaults: temperature 1, all codes, seed 0).
struct prior_options {
    float temperature = 1.0f;
    int32_t top_k = 0;
    uint64_t seed = 0;
};

/// A loaded model; frees itself. Move-only.
class model {
public:
    explicit model(const std::string & path) { check(svq_model_load_file(path.c_str(), &m_)); init(); }

    /// From the bytes of a weights file (copied).
    model(const void * data, std::size_t size) { check(svq_model_load_memory(data, size, &m_)); init(); }

    ~model() { svq_model_free(m_); }
    model(model && other) noexcept : m_(std::exchange(other.m_, nullptr)), info_(other.info_) {}
    model & operator=(model && other) noexcept {
        if (this != &other) {
            svq_model_free(m_);
            m_ = std::exchange(other.m_, nullptr);
            info_ = other.info_;
        }
        return *this;
    }
    model(const model &) = delete;
    model & operator=(const model &) = delete;

    const svq_info & info() const noexcept { return info_; }
    std::size_t values_per_image() const noexcept {
        return std::size_t(info_.image_size) * std::size_t(info_.image_size) * std::size_t(info_.image_channels);
    }
    std::size_t codes_per_image() const noexcept { return std::size_t(info_.num_slots) * std::size_t(info_.num_blocks); }

    /// Codes [B, N, M] of NHWC images (B whole images of image_size² · channels values each).
    std::vector<int32_t> encode(const std::vector<uint8_t> & images, uint64_t seed = 0) const {
        return encode_with(images, seed, false, false).codes;
    }
    std::vector<int32_t> encode(const std::vector<float> & images, uint64_t seed = 0) const {
        return encode_with(images, seed, false, false).codes;
    }

    /// Codes and, if asked for, the attention masks and quantized slots.
    template <typename Pixel>
    encoding encode_with(const std::vector<Pixel> & images, uint64_t seed, bool masks, bool slots) const {
        const int32_t b = batch_of(images.size(), values_per_image(), "images");
        const std::size_t n = std::size_t(b) * std::size_t(info_.num_slots);
        encoding out;
        out.codes.resize(std::size_t(b) * codes_per_image());
        if (masks) out.masks.resize(n * std::size_t(info_.image_size) * std::size_t(info_.image_size));
        if (slots) out.slots.resize(n * std::size_t(info_.slot_size));
        svq_encode_params params = svq_encode_default_params();
        params.seed = seed;
        const int32_t s = info_.image_size, c = info_.image_channels;
        check(call_encode(images.data(), b, s, c, &params, out, masks, slots));
        return out;
    }

    /// NHWC float images in [0, 1] for codes [B, N, M]; params NULL = the defaults (tokens drawn at 0.75).
    std::vector<float> decode(const std::vector<int32_t> & codes, const svq_decode_params * params = nullptr) const {
        const int32_t b = batch_of(codes.size(), codes_per_image(), "codes");
        std::vector<float> images(std::size_t(b) * values_per_image());
        check(svq_decode_f32(m_, codes.data(), b, params, images.data(), images.size()));
        return images;
    }

    /// decode as bytes.
    std::vector<uint8_t> decode_u8(const std::vector<int32_t> & codes, const svq_decode_params * params = nullptr) const {
        const int32_t b = batch_of(codes.size(), codes_per_image(), "codes");
        std::vector<uint8_t> images(std::size_t(b) * values_per_image());
        check(svq_decode_u8(m_, codes.data(), b, params, images.data(), images.size()));
        return images;
    }

    /// `count` code sets [count, N, M] from the semantic prior.
    std::vector<int32_t> sample_prior(int32_t count, const prior_options & options = {}) const {
        return sample(count, options, nullptr, nullptr);
    }

    /// Completes partial code sets: keeps fixed[i] where mask[i] != 0 and samples the rest.
    std::vector<int32_t> complete(const std::vector<int32_t> & fixed, const std::vector<uint8_t> & mask,
                                  const prior_options & options = {}) const {
        const int32_t count = batch_of(fixed.size(), codes_per_image(), "fixed codes");
        if (mask.size() != fixed.size()) {
            throw error(SVQ_STATUS_SHAPE_MISMATCH, "the mask must have one entry per fixed code");
        }
        return sample(count, options, fixed.data(), mask.data());
    }

    /// Block `block`'s codebook [P, S / M].
    std::vector<float> codebook(int32_t block) const {
        std::vector<float> out(std::size_t(info_.codebook_size) * std::size_t(info_.slot_size / info_.num_blocks));
        check(svq_codebook(m_, block, out.data(), out.size()));
        return out;
    }

    /// The C handle, for calls this wrapper does not cover. Still owned by this object.
    const svq_model * get() const noexcept { return m_; }

private:
    svq_model * m_ = nullptr;
    svq_info info_{};

    void init() { check(svq_model_info(m_, &info_)); }

    /// Whole items of `per` values in `size`, or a shape-mismatch error (the C API takes counts, not sizes).
    static int32_t batch_of(std::size_t size, std::size_t per, const char * what) {
        if (size == 0 || size % per != 0 || size / per > std::size_t(INT32_MAX)) {
            throw error(SVQ_STATUS_SHAPE_MISMATCH, std::string(what) + ": " + std::to_string(size) +
                        " values are not a whole number of items of " + std::to_string(per));
        }
        return int32_t(size / per);
    }

    svq_status call_encode(const uint8_t * images, int32_t b, int32_t s, int32_t c, const svq_encode_params * p,
                           encoding & out, bool masks, bool slots) const {
        return svq_encode_u8(m_, images, b, s, s, c, p, out.codes.data(), out.codes.size(),
                             masks ? out.masks.data() : nullptr, out.masks.size(),
                             slots ? out.slots.data() : nullptr, out.slots.size());
    }
    svq_status call_encode(const float * images, int32_t b, int32_t s, int32_t c, const svq_encode_params * p,
                           encoding & out, bool masks, bool slots) const {
        return svq_encode_f32(m_, images, b, s, s, c, p, out.codes.data(), out.codes.size(),
                              masks ? out.masks.data() : nullptr, out.masks.size(),
                              slots ? out.slots.data() : nullptr, out.slots.size());
    }

    std::vector<int32_t> sample(int32_t count, const prior_options & o, const int32_t * fixed,
                                const uint8_t * mask) const {
        if (count < 1) throw error(SVQ_STATUS_INVALID_ARGUMENT, "count must be at least 1");
        svq_prior_params params = svq_prior_default_params();
        params.temperature = o.temperature;
        params.top_k = o.top_k;
        params.seed = o.seed;
        std::vector<int32_t> codes(std::size_t(count) * codes_per_image());
        check(svq_prior_sample(m_, count, &params, fixed, mask, codes.data(), codes.size()));
        return codes;
    }
};

}  // namespace svq
