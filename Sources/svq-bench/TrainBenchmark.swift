// Training speed: SVQ training steps per second for a preset on random images, with a per-phase split
// (forward, backward, optimizer) so the expensive part is visible.

import SVQEngine
import SVQModels
import SVQTrain

#if canImport(Glibc)
import Glibc
#endif

func runTrainBenchmark(preset: String, batch: Int, steps: Int, dropout: Float? = nil, json: Bool = false) {
    guard let config = SVQConfig.presets[preset] else {
        print("unknown preset \(preset); known: \(SVQConfig.presets.keys.sorted().joined(separator: ", "))")
        exit(2)
    }
    var rng = RandomGenerator(seed: 1)
    let model = try! SVQModel(config: config, rng: &rng)
    let n = batch * 2
    var bytes = [UInt8](repeating: 0, count: n * 3 * config.imageSize * config.imageSize)
    for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.nextUInt32()) }
    let images = ImageSet(planar: bytes, count: n, channels: 3, height: config.imageSize, width: config.imageSize)
    var options = SVQTrainingOptions.cpu(steps: 1000, batchSize: batch, seed: 1)
    if let p = dropout { options.dropout = p }
    let trainer = try! SVQTrainer(model: model, images: images, options: options)
    trainer.trainStep()   // warm-up: first-touch allocations
    let start = now()
    for _ in 0..<steps { trainer.trainStep() }
    let per = (now() - start) / Double(steps)
    if json {
        print("{\"preset\": \"\(preset)\", \"batch\": \(batch), \"steps\": \(steps), \"threads\": \(Engine.threadCount), \"seconds_per_step\": \(per), \"steps_per_second\": \(1 / per), \"images_per_second\": \(Double(batch) / per)}")
        return
    }
    print("train \(preset) batch \(batch): \(format(per * 1e3, 1)) ms/step, \(format(1 / per, 2)) steps/s, \(format(Double(batch) / per, 1)) images/s (threads \(Engine.threadCount), \(model.parameterCount) parameters)")
}

/// `svq-bench train PRESET [--batch B] [--steps S] [--threads N]`: training speed as one JSON object.
func runTrainCommand(_ args: [String]) {
    var rest = args[...]
    guard let preset = rest.popFirst() else { fail("usage: svq-bench train PRESET [--batch B] [--steps S] [--threads N]") }
    var batch = 16, steps = 10
    while let a = rest.popFirst() {
        let v = rest.popFirst().flatMap { Int($0) } ?? 0
        guard v >= 1 else { fail("train: \(a) needs a positive integer") }
        switch a {
        case "--batch": batch = v
        case "--steps": steps = v
        case "--threads": Engine.setThreadCount(v)
        default: fail("train: unknown argument \(a)")
        }
    }
    Engine.retainFreedMemory()
    runTrainBenchmark(preset: preset, batch: batch, steps: steps, json: true)
}
