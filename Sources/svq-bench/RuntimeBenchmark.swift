// The runtime side of the ONNX Runtime comparison (bench/compare.py drives both sides):
//
//   svq-bench prepare (--model PATH | --random-preset NAME [--seed S]) --out DIR [--batch B]
//       writes DIR/model.safetensors (the weights both sides load) and DIR/inputs.safetensors: images
//       [B, C, I, I] (sprite scenes), the slot noise that `encode(seed: 0)` draws, our codes for them, and
//       our greedy decode of the first two codes — so the ONNX side can check it computes the same thing.
//   svq-bench runtime MODEL INPUTS --op encode|decode|sample --batch B [--threads N] [--budget S]
//       times one operation of the public Swift API (`import SVQ`) in this process alone and prints one
//       JSON object: seconds per call, items/s, peak RSS, weights and activation bytes, encode GFLOP/s.
//
// One operation per process, so that each peak RSS belongs to that operation.

import Foundation
import SafeTensors
import SVQ
import SVQData
import SVQEngine
import SVQModels

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Memory readings

/// Resident set size now, in bytes (/proc/self/statm).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The process's peak resident set size so far, in bytes.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024   // kilobytes on Linux
}

// MARK: - FLOPs

/// Multiply-add FLOPs (2 per MAC) of encoding one image: the convolutions and every matrix product of the
/// encoder, slot attention (all iterations) and the quantizer. Elementwise work is left out.
func encodeFlopsPerImage(_ c: SVQConfig) -> Double {
    var flops = 0.0
    var side = c.imageSize
    let chans = [c.imageChannels, c.cnnHiddenSize, c.cnnHiddenSize, c.cnnHiddenSize, c.dModel]
    for (i, stride) in c.encoderStrides.enumerated() {
        side = (side + 4 - 5) / stride + 1
        flops += 2 * Double(chans[i + 1] * side * side) * Double(chans[i] * 25)
    }
    let l = Double(c.numInputs), d = Double(c.dModel), s = Double(c.slotSize), n = Double(c.numSlots)
    let m = Double(c.numBlocks), h = Double(c.mlpHiddenSize), p = Double(c.numPrototypes)
    flops += 2 * 2 * l * d * d                      // encoder MLP
    flops += 2 * 2 * l * d * s                      // keys and values
    let perIteration = 2 * n * s * s                // queries
        + 2 * 2 * n * l * s                         // attention logits and weighted means
        + 2 * 2 * 3 * n * s * s / m                 // block GRU (input and hidden, three gates)
        + 2 * 2 * n * s * h / m                     // block MLP
        + 2 * n * m * p * s / m                     // distances to every code of the block's codebook
    return flops + Double(c.numIterations) * perIteration
}

// MARK: - prepare

func runPrepare(_ args: [String]) {
    var modelPath: String?, preset: String?, out: String?
    var batch = 16, seed: UInt64 = 0
    var rest = args[...]
    while let a = rest.popFirst() {
        switch a {
        case "--model": modelPath = rest.popFirst()
        case "--random-preset": preset = rest.popFirst()
        case "--out": out = rest.popFirst()
        case "--batch": batch = rest.popFirst().flatMap { Int($0) } ?? 0
        case "--seed": seed = rest.popFirst().flatMap { UInt64($0) } ?? 0
        default: fail("prepare: unknown argument \(a)")
        }
    }
    guard let out, (modelPath == nil) != (preset == nil), batch >= 2 else {
        fail("usage: svq-bench prepare (--model PATH | --random-preset NAME [--seed S]) --out DIR [--batch B ≥ 2]")
    }
    let dir = URL(fileURLWithPath: out)
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let modelURL = dir.appendingPathComponent("model.safetensors")

    let model: SVQModel
    do {
        if let preset {
            guard let config = SVQConfig.presets[preset] else { fail("unknown preset \(preset)") }
            var rng = RandomGenerator(seed: seed)
            model = try SVQModel(config: config, rng: &rng)
            try model.save(to: modelURL)
        } else {
            let data = try Data(contentsOf: URL(fileURLWithPath: modelPath!))
            model = try SVQModel(file: try SafeTensorsFile(data: data))
            try data.write(to: modelURL, options: .atomic)
        }
    } catch { fail("prepare: \(error)") }
    model.freeze()
    model.train(false)

    let c = model.config
    let sprites: [SpriteSample]
    do {
        let scale = c.imageSize / 64
        let options = SpriteOptions(imageSize: c.imageSize, minObjectSize: 14 * max(1, scale),
                                    maxObjectSize: 20 * max(1, scale), seed: seed)
        sprites = try SpriteGenerator(options: options).samples(0..<batch)
    } catch { fail("prepare: cannot draw sprite scenes at \(c.imageSize) px: \(error)") }
    let images = stack(sprites.map { $0.image.tensor() })                       // [B, 3, I, I]

    // The noise `Model.encode(seed: 0)` draws, so both sides start slot attention from the same slots.
    var rng = RandomGenerator(seed: 0)
    let noise = model.slotNoise(batch: batch, rng: &rng)
    let codes = withoutGradients { model.encode(images, noise: noise).codes }
    var decodeRng = RandomGenerator(seed: 0)
    let firstCodes = IntTensor(Array(codes.values[0..<(2 * c.numSlots * c.numBlocks)]), shape: [2, c.numSlots, c.numBlocks])
    let decoded: Tensor
    do {
        decoded = try withoutGradients { try model.decode(codes: firstCodes, rng: &decodeRng) }
    } catch {
        fail("decoding the first images: \(error)")
    }

    var writer = SafeTensorsWriter(metadata: ["format": "svq-bench-inputs", "seed": "\(seed)"])
    do {
        try writer.add("images", floats: images.scalars, shape: images.shape)
        try writer.add("noise", floats: noise.scalars, shape: noise.shape)
        try writer.add("codes", int32s: codes.values, shape: [batch, c.numSlots, c.numBlocks])
        try writer.add("decoded", floats: decoded.scalars, shape: decoded.shape)
        try writer.write(to: dir.appendingPathComponent("inputs.safetensors"))
    } catch { fail("prepare: \(error)") }
    print("wrote \(modelURL.path) and \(dir.appendingPathComponent("inputs.safetensors").path)")
}

// MARK: - runtime

func runRuntime(_ args: [String]) {
    var positional: [String] = []
    var op = "", batch = 1, threads = Engine.threadCount, budget = 3.0, minRuns = 2
    var rest = args[...]
    while let a = rest.popFirst() {
        switch a {
        case "--op": op = rest.popFirst() ?? ""
        case "--batch": batch = rest.popFirst().flatMap { Int($0) } ?? 0
        case "--threads": threads = rest.popFirst().flatMap { Int($0) } ?? 0
        case "--budget": budget = rest.popFirst().flatMap { Double($0) } ?? 0
        case "--min-runs": minRuns = rest.popFirst().flatMap { Int($0) } ?? 0
        default: positional.append(a)
        }
    }
    guard positional.count == 2, ["encode", "decode", "sample"].contains(op), batch >= 1, threads >= 1,
          budget > 0, minRuns >= 1 else {
        fail("usage: svq-bench runtime MODEL INPUTS --op encode|decode|sample --batch B [--threads N] [--budget S] [--min-runs R]")
    }
    try? Runtime.setThreadCount(threads)
    let inputs: SafeTensorsFile
    do { inputs = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: positional[1])) } catch {
        fail("cannot read inputs \(positional[1]): \(error)")
    }

    // The baseline is taken with the engine's libraries initialised — oneDNN's engine, JIT and OpenMP pool
    // are per-process costs, as ONNX Runtime's are counted before its baseline (after `import onnxruntime`).
    _ = withoutGradients { conv2d(Tensor(zeros: [1, 16, 8, 8]), weight: Tensor(zeros: [16, 16, 3, 3]), padding: 1) }
    let rssBefore = residentBytes()
    TensorMemory.startTracking()
    let model: SVQ.Model
    do { model = try SVQ.Model(contentsOf: URL(fileURLWithPath: positional[0])) } catch {
        fail("cannot load \(positional[0]): \(error)")
    }
    let info = model.info
    let weightsBytes = TensorMemory.liveBytes

    // Arguments as a caller holds them (NHWC images, local codes), built before timing starts.
    let operation: () throws -> Void
    do {
        switch op {
        case "encode":
            let all = try inputs.floats("images")
            let (s, ch) = (info.imageSize, info.imageChannels)
            guard all.count >= batch * ch * s * s else { fail("inputs hold fewer than \(batch) images") }
            var nhwc = [Float](repeating: 0, count: batch * s * s * ch)
            for b in 0..<batch { for c in 0..<ch { for p in 0..<(s * s) {
                nhwc[(b * s * s + p) * ch + c] = all[(b * ch + c) * s * s + p]
            } } }
            let images = try ShapedArray(nhwc, shape: [batch, s, s, ch])
            operation = { _ = try model.encode(images, seed: 0) }
        case "decode":
            let all = try inputs.int32s("codes")
            let per = info.numSlots * info.numBlocks
            guard all.count >= batch * per else { fail("inputs hold fewer than \(batch) code sets") }
            let codes = try ShapedArray(Array(all[0..<(batch * per)]), shape: [batch, info.numSlots, info.numBlocks])
            operation = { _ = try model.decode(codes, sampling: .greedy) }   // as the ONNX graphs decode
        default:
            guard info.hasPrior else { fail("this model has no prior") }
            operation = { _ = try model.samplePrior(count: batch, seed: 0) }
        }
    } catch { fail("runtime: \(error)") }

    let activationsBase = TensorMemory.liveBytes
    TensorMemory.resetPeak()
    var times: [Double] = []
    do {
        try operation()                                   // warm-up: first-touch allocations, BLAS buffers
        let start = now()
        while times.count < minRuns || (now() - start < budget && times.count < 50) {
            let t0 = now()
            try operation()
            times.append(now() - t0)
        }
    } catch { fail("runtime: \(op) failed: \(error)") }
    times.sort()
    let median = times[times.count / 2]
    let activations = TensorMemory.peakBytes - activationsBase

    var fields: [(String, String)] = [
        ("impl", "\"svq\""), ("op", "\"\(op)\""), ("batch", "\(batch)"), ("threads", "\(Engine.threadCount)"),
        ("runs", "\(times.count)"), ("seconds", "\(median)"), ("seconds_best", "\(times[0])"),
        ("items_per_second", "\(Double(batch) / median)"),
        ("rss_before_model_bytes", "\(rssBefore)"), ("rss_peak_bytes", "\(peakResidentBytes())"),
        ("weights_bytes", "\(weightsBytes)"), ("activation_bytes", "\(activations)"),
    ]
    if op == "encode", let config = configOf(positional[0]) {
        let gflop = encodeFlopsPerImage(config) * Double(batch) / 1e9
        fields.append(("gflop", "\(gflop)"))
        fields.append(("gflops", "\(gflop / median)"))
    }
    print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
}

/// The config in a weights file's metadata (without loading its tensors).
func configOf(_ path: String) -> SVQConfig? {
    guard let file = try? SafeTensorsFile(contentsOf: URL(fileURLWithPath: path)),
          let json = file.metadata["config"]?.data(using: .utf8) else { return nil }
    return try? JSONDecoder().decode(SVQConfig.self, from: json)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(2)
}
