// svq-bench: the machine's sgemm rate, and conv2d forward/backward throughput at the SVQ model's layer shapes,
// each reported as a fraction of that sgemm rate; then decode speed (DecodeBenchmark.swift): the cached
// autoregressive decoder against the official full recompute, the dVAE decode and SVQModel.decode(codes:).
//
//   svq-bench prepare … | runtime … | sgemm | train …   (RuntimeBenchmark.swift: the ONNX Runtime comparison;
//                                                     each prints one JSON object)
//   svq-bench load MODEL [--runs R]                     (LoadBenchmark.swift: load time against a plain read)
//   svq-bench [--threads N] [--json PATH] [--all-algorithms] [--filter TEXT]
//             [--decode | --no-decode] [--recompute-budget SECONDS]
//
// --all-algorithms also times every applicable conv2d kernel (the im2col fallback, oneDNN's direct kernels,
// Winograd), not only the automatic choice; --filter keeps only the conv shapes whose name contains TEXT.
// --decode skips the conv2d shapes (sgemm and decode only), --no-decode skips the decode benchmark;
// --recompute-budget (default 15 s) is the longest a full-recompute run may be estimated to take before it is
// timed on sampled steps and extrapolated instead.

import SVQEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Options

struct Options {
    var threads: Int?
    var jsonPath: String?
    var allAlgorithms = false
    var filter: String?
    var runConv = true
    var runDecode = true
    var recomputeBudget = 15.0
    var trainPreset: String?
    var trainBatch = 32
    var trainSteps = 5
}

func usage() -> Never {
    print("usage: svq-bench [--threads N] [--json PATH] [--all-algorithms] [--filter TEXT] [--decode | --no-decode] [--recompute-budget SECONDS] [--train PRESET [--train-batch N] [--train-steps N]]")
    exit(2)
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        switch a {
        case "--threads":
            guard let v = args.popFirst(), let n = Int(v), n >= 1 else { usage() }
            o.threads = n
        case "--json":
            guard let v = args.popFirst() else { usage() }
            o.jsonPath = v
        case "--all-algorithms":
            o.allAlgorithms = true
        case "--filter":
            guard let v = args.popFirst() else { usage() }
            o.filter = v
        case "--decode":
            o.runConv = false
            o.runDecode = true
        case "--no-decode":
            o.runDecode = false
            o.runConv = true
        case "--recompute-budget":
            guard let v = args.popFirst(), let s = Double(v), s > 0 else { usage() }
            o.recomputeBudget = s
        case "--train":
            guard let v = args.popFirst() else { usage() }
            o.trainPreset = v
        case "--train-batch":
            guard let v = args.popFirst(), let n = Int(v), n >= 1 else { usage() }
            o.trainBatch = n
        case "--train-steps":
            guard let v = args.popFirst(), let n = Int(v), n >= 1 else { usage() }
            o.trainSteps = n
        case "-h", "--help":
            usage()
        default:
            print("unknown argument \(a)")
            usage()
        }
    }
    return o
}

// MARK: - Timing

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

struct Timing {
    var best: Double
    var median: Double
    var runs: Int
}

/// Runs `body` (which returns the seconds it measured) after `warmup` untimed calls, at least `minRuns` times
/// and until about `budget` seconds are spent (at most `maxRuns`).
func measure(warmup: Int = 2, minRuns: Int = 5, maxRuns: Int = 400, budget: Double = 0.5,
             _ body: () throws -> Double) rethrows -> Timing {
    for _ in 0..<warmup { _ = try body() }
    var times: [Double] = []
    let start = now()
    while times.count < minRuns || (times.count < maxRuns && now() - start < budget) {
        times.append(try body())
    }
    times.sort()
    return Timing(best: times[0], median: times[times.count / 2], runs: times.count)
}

func timed(_ body: () throws -> Void) rethrows -> Double {
    let t0 = now()
    try body()
    return now() - t0
}

func format(_ v: Double, _ decimals: Int) -> String {
    var s = String(Int((v * pow(10, Double(decimals))).rounded()))
    if decimals > 0 {
        while s.count <= decimals { s = "0" + s }
        s.insert(".", at: s.index(s.endIndex, offsetBy: -decimals))
    }
    return s
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return left ? s + fill : fill + s
}

/// Deterministic pseudo-random values in [-1, 1).
func filled(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    let n = shape.reduce(1, *)
    let t = Tensor(zeros: shape, zeroed: false)
    for i in 0..<n {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        t.data[i] = (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
    return t
}

// MARK: - sgemm

func benchSgemm(size n: Int) -> Timing {
    let a = filled([n, n], seed: 1), b = filled([n, n], seed: 2), c = Tensor(zeros: [n, n])
    return measure(warmup: 2, minRuns: 8, maxRuns: 30, budget: 1.0) {
        timed { BLAS.sgemm(m: n, n: n, k: n, a: a.data, b: b.data, c: c.data) }
    }
}

// MARK: - conv2d

struct ConvShape {
    let name: String
    let batch, cin, h, w, cout, kh, kw, stride, padding: Int

    var ho: Int { (h + 2 * padding - kh) / stride + 1 }
    var wo: Int { (w + 2 * padding - kw) / stride + 1 }
    var forwardFlops: Double { 2.0 * Double(batch * cout * ho * wo) * Double(cin * kh * kw) }
}

struct ConvResult {
    let shape: ConvShape
    let algorithm: String
    let forward: Timing
    let backward: Timing
}

func benchConv(_ s: ConvShape, algorithm: Conv2dAlgorithm) -> ConvResult {
    let x = filled([s.batch, s.cin, s.h, s.w], seed: 3)
    let wt = filled([s.cout, s.cin, s.kh, s.kw], seed: 4, scale: 0.1)
    let bias = filled([s.cout], seed: 5)
    let dy = filled([s.batch, s.cout, s.ho, s.wo], seed: 6)
    func run() -> Tensor {
        conv2d(x, weight: wt, bias: bias, stride: (s.stride, s.stride), padding: (s.padding, s.padding),
               algorithm: algorithm)
    }

    let fwd = measure { timed { _ = withoutGradients { run() } } }

    // Backward: dX + dW + db through the recorded graph (the forward pass is not timed).
    x.requiresGrad = true; wt.requiresGrad = true; bias.requiresGrad = true
    let bwd = measure {
        let y = run()
        x.grad = nil; wt.grad = nil; bias.grad = nil
        return timed { y.backward(seed: dy) }
    }
    x.requiresGrad = false; wt.requiresGrad = false; bias.requiresGrad = false
    return ConvResult(shape: s, algorithm: "\(algorithm)", forward: fwd, backward: bwd)
}

// MARK: - Main

switch CommandLine.arguments.dropFirst().first {
case "prepare":
    runPrepare(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
case "runtime":
    runRuntime(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
case "load":
    runLoad(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
case "sgemm":
    // svq-bench sgemm [--threads N]: the machine's 1024³ sgemm rate, as one JSON object.
    let args = Array(CommandLine.arguments.dropFirst(2))
    if args.count == 2, args[0] == "--threads", let n = Int(args[1]), n >= 1 { Engine.setThreadCount(n) }
    else if !args.isEmpty { fail("usage: svq-bench sgemm [--threads N]") }
    let t = benchSgemm(size: 1024)
    let flops = 2.0 * 1024 * 1024 * 1024
    print("{\"threads\": \(Engine.threadCount), \"gflops\": \(flops / t.best / 1e9), \"median_gflops\": \(flops / t.median / 1e9), \"blas\": \(jsonString(Engine.blasConfig)), \"blas_core\": \(jsonString(Engine.blasCore))}")
    exit(0)
case "train":
    runTrainCommand(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
default:
    break
}

let options = parseOptions()
if let t = options.threads { Engine.setThreadCount(t) } else { Engine.setThreadCount(Engine.threadCount) }
if let preset = options.trainPreset {
    Engine.retainFreedMemory()
    runTrainBenchmark(preset: preset, batch: options.trainBatch, steps: options.trainSteps,
                      dropout: getenv("SVQ_BENCH_DROPOUT").flatMap { Float(String(cString: $0)) })
    exit(0)
}

let benchStart = now()
print("svq-bench — threads: \(Engine.threadCount), BLAS: \(Engine.blasConfig)")

let gemm = benchSgemm(size: 1024)
let gemmFlops = 2.0 * 1024 * 1024 * 1024
let gemmRate = gemmFlops / gemm.best / 1e9
print("sgemm 1024×1024×1024: \(format(gemmRate, 1)) GFLOP/s best (median \(format(gemmFlops / gemm.median / 1e9, 1)), \(gemm.runs) runs)")
print("")

let shapes: [ConvShape] = [
    ConvShape(name: "enc 5x5 64->64 64x64 b8 p2", batch: 8, cin: 64, h: 64, w: 64, cout: 64, kh: 5, kw: 5, stride: 1, padding: 2),
    ConvShape(name: "enc first 5x5 s2 3->64 128x128 b8", batch: 8, cin: 3, h: 128, w: 128, cout: 64, kh: 5, kw: 5, stride: 2, padding: 2),
    ConvShape(name: "dVAE 1x1 64->64 16x16 b8", batch: 8, cin: 64, h: 16, w: 16, cout: 64, kh: 1, kw: 1, stride: 1, padding: 0),
    ConvShape(name: "dVAE first 4x4 s4 3->64 128x128 b8", batch: 8, cin: 3, h: 128, w: 128, cout: 64, kh: 4, kw: 4, stride: 4, padding: 0),
    ConvShape(name: "clevr 5x5 512->512 64x64 b1 p2", batch: 1, cin: 512, h: 64, w: 64, cout: 512, kh: 5, kw: 5, stride: 1, padding: 2),
    ConvShape(name: "clevr 5x5 512->192 64x64 b1 p2", batch: 1, cin: 512, h: 64, w: 64, cout: 192, kh: 5, kw: 5, stride: 1, padding: 2),
    ConvShape(name: "wide 5x5 128->128 32x32 b4 p2", batch: 4, cin: 128, h: 32, w: 32, cout: 128, kh: 5, kw: 5, stride: 1, padding: 2),
    ConvShape(name: "wide 3x3 128->128 32x32 b4 p1", batch: 4, cin: 128, h: 32, w: 32, cout: 128, kh: 3, kw: 3, stride: 1, padding: 1),
    ConvShape(name: "wide 3x3 256->256 32x32 b4 p1", batch: 4, cin: 256, h: 32, w: 32, cout: 256, kh: 3, kw: 3, stride: 1, padding: 1),
    ConvShape(name: "dVAE 3x3 64->64 32x32 b16 p1", batch: 16, cin: 64, h: 32, w: 32, cout: 64, kh: 3, kw: 3, stride: 1, padding: 1),
    ConvShape(name: "3x3 64->64 16x16 b8 p1", batch: 8, cin: 64, h: 16, w: 16, cout: 64, kh: 3, kw: 3, stride: 1, padding: 1),
    // The encoder CNN of both cpu-sprites presets (64 px, 32 channels, 32×32 features) at batch 1 and 16.
    ConvShape(name: "cpu first 5x5 s2 3->32 64x64 b1", batch: 1, cin: 3, h: 64, w: 64, cout: 32, kh: 5, kw: 5, stride: 2, padding: 2),
    ConvShape(name: "cpu 5x5 32->32 32x32 b1", batch: 1, cin: 32, h: 32, w: 32, cout: 32, kh: 5, kw: 5, stride: 1, padding: 2),
    ConvShape(name: "cpu last 5x5 32->64 32x32 b1", batch: 1, cin: 32, h: 32, w: 32, cout: 64, kh: 5, kw: 5, stride: 1, padding: 2),
    ConvShape(name: "cpu first 5x5 s2 3->32 64x64 b16", batch: 16, cin: 3, h: 64, w: 64, cout: 32, kh: 5, kw: 5, stride: 2, padding: 2),
    ConvShape(name: "cpu 5x5 32->32 32x32 b16", batch: 16, cin: 32, h: 32, w: 32, cout: 32, kh: 5, kw: 5, stride: 1, padding: 2),
    ConvShape(name: "cpu last 5x5 32->64 32x32 b16", batch: 16, cin: 32, h: 32, w: 32, cout: 64, kh: 5, kw: 5, stride: 1, padding: 2),
]

var results: [ConvResult] = []
for s in shapes where options.runConv && (options.filter.map({ s.name.contains($0) }) ?? true) {
    var algos: [Conv2dAlgorithm] = [.automatic]
    if options.allAlgorithms {
        algos.append(.im2col)
        algos.append(.direct)
        if s.stride == 1 && s.kh == s.kw && (s.kh == 3 || s.kh == 5) { algos.append(.winograd) }
    }
    for a in algos { results.append(benchConv(s, algorithm: a)) }
}

if options.runConv {
    let header = pad("conv2d shape", 36, left: true) + pad("algorithm", 10) + " |" + pad("fwd ms", 9) + pad("GFLOP/s", 9)
        + pad("×sgemm", 8) + " |" + pad("bwd ms", 9) + pad("GFLOP/s", 9) + pad("×sgemm", 8)
    print(header)
    print(String(repeating: "-", count: header.count))
    for r in results {
        let ff = r.shape.forwardFlops, bf = 2 * ff
        let fr = ff / r.forward.best / 1e9, br = bf / r.backward.best / 1e9
        print(pad(r.shape.name, 36, left: true) + pad(r.algorithm, 10) + " |"
              + pad(format(r.forward.best * 1e3, 2), 9) + pad(format(fr, 1), 9) + pad(format(fr / gemmRate, 2), 8) + " |"
              + pad(format(r.backward.best * 1e3, 2), 9) + pad(format(br, 1), 9) + pad(format(br / gemmRate, 2), 8))
    }
    print("")
    print("(best of several runs after a warm-up; backward = dX + dW + db via Tensor.backward; FLOPs: forward 2·B·Cout·Ho·Wo·Cin·kh·kw, backward twice that)")
    print("")
}

let decodeResults = options.runDecode ? try runDecodeBenchmarks(recomputeBudget: options.recomputeBudget) : []
if options.runDecode { print("") }
print("total time \(format(now() - benchStart, 1)) s")

// MARK: - JSON

func jsonString(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default:
            if ch.value < 0x20 {
                let hex = String(ch.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(ch)
            }
        }
    }
    return out + "\""
}

if let path = options.jsonPath {
    func num(_ v: Double) -> String { format(v, 4) }
    var convs: [String] = []
    for r in results {
        let s = r.shape
        let ff = s.forwardFlops, bf = 2 * ff
        let fr = ff / r.forward.best / 1e9, br = bf / r.backward.best / 1e9
        convs.append("""
            {"name": \(jsonString(s.name)), "algorithm": \(jsonString(r.algorithm)), \
        "batch": \(s.batch), "cin": \(s.cin), "h": \(s.h), "w": \(s.w), "cout": \(s.cout), \
        "kh": \(s.kh), "kw": \(s.kw), "stride": \(s.stride), "padding": \(s.padding), \
        "forward_ms": \(num(r.forward.best * 1e3)), "forward_median_ms": \(num(r.forward.median * 1e3)), \
        "forward_gflops": \(num(fr)), "forward_ratio": \(num(fr / gemmRate)), \
        "backward_ms": \(num(r.backward.best * 1e3)), "backward_median_ms": \(num(r.backward.median * 1e3)), \
        "backward_gflops": \(num(br)), "backward_ratio": \(num(br / gemmRate))}
        """)
    }
    let json = """
    {
      "threads": \(Engine.threadCount),
      "blas": \(jsonString(Engine.blasConfig)),
      "sgemm": {"m": 1024, "n": 1024, "k": 1024, "gflops": \(num(gemmRate)), \
    "median_gflops": \(num(gemmFlops / gemm.median / 1e9)), "runs": \(gemm.runs)},
      "conv2d": [
    \(convs.joined(separator: ",\n"))
      ],
      "decode": [
    \(decodeJSON(decodeResults))
      ]
    }

    """
    guard let f = fopen(path, "w") else {
        print("cannot write \(path)")
        exit(1)
    }
    fputs(json, f)
    fclose(f)
    print("wrote \(path)")
}
