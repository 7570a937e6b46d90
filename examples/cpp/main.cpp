// The C++ wrapper in use: sample scenes from the prior, decode them, encode the images again and compare
// the codes, complete a half-fixed code set, and catch an error.
//
//   svq_cpp_example MODEL.safetensors
//
// Build against the installed libsvq (scripts/install.sh PREFIX), with CMake (CMakeLists.txt here):
//   cmake -S examples/cpp -B build -DCMAKE_PREFIX_PATH=PREFIX && cmake --build build
// or with pkg-config:  c++ -std=c++17 main.cpp $(pkg-config --cflags --libs svq) -o svq_cpp_example

#include <cstdio>
#include <iostream>

#include <svq.hpp>

int main(int argc, char ** argv) {
    if (argc != 2) {
        std::cerr << "usage: " << argv[0] << " MODEL.safetensors\n";
        return 2;
    }
    try {
        svq::model model(argv[1]);
        const svq_info & info = model.info();
        std::cout << "model: " << info.image_size << "x" << info.image_size << " images, " << info.num_slots
                  << " objects x " << info.num_blocks << " codes of " << info.codebook_size << " values\n";
        if (!info.has_prior) {
            std::cout << "no prior in this model; nothing to sample\n";
            return 0;
        }

        // Two scenes from the prior, as images, then back to codes.
        const std::vector<int32_t> scenes = model.sample_prior(2, {0.8f, 0, 7});
        const std::vector<uint8_t> images = model.decode_u8(scenes);
        const std::vector<int32_t> again = model.encode(images, /*seed=*/1);
        std::size_t same = 0;
        for (std::size_t i = 0; i < scenes.size(); i++) same += scenes[i] == again[i];
        std::cout << "sampled 2 scenes; re-encoding their images recovers " << same << " of " << scenes.size()
                  << " codes (a trained model recovers most; a random one few)\n";

        // Keep the first object of scene 0, let the prior fill in the rest.
        std::vector<int32_t> fixed(model.codes_per_image(), 0);
        std::vector<uint8_t> mask(model.codes_per_image(), 0);
        for (int m = 0; m < info.num_blocks; m++) {
            fixed[std::size_t(m)] = scenes[std::size_t(m)];
            mask[std::size_t(m)] = 1;
        }
        const std::vector<int32_t> completed = model.complete(fixed, mask, {1.0f, 0, 3});
        std::cout << "completed scene, object 0 kept:";
        for (int32_t c : completed) std::cout << ' ' << c;
        std::cout << '\n';

        // Errors are exceptions with the C status and the library's message.
        try {
            model.decode(std::vector<int32_t>(model.codes_per_image(), info.codebook_size));
            std::cerr << "expected an error for out-of-range codes\n";
            return 1;
        } catch (const svq::error & e) {
            std::cout << "caught as expected (status " << int(e.status()) << "): " << e.what() << '\n';
            if (e.status() != SVQ_STATUS_INVALID_VALUE) return 1;
        }
    } catch (const svq::error & e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
