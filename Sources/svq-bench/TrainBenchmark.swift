// Training speed: SVQ training steps per second for a preset on random images, with a per-phase split
// (forward, backward, optimizer) so the expensive part is visible.

import SVQEngine
import SVQModel
import SVQTrain

#if canImport(Glibc)
import Glibc
#endif

func runTrainBenchmark(preset: String, batch: Int, steps: Int, dropout: Float? = nil) {
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
    print("train \(preset) batch \(batch): \(format(per * 1e3, 1)) ms/step, \(format(1 / per, 2)) steps/s, \(format(Double(batch) / per, 1)) images/s (threads \(Engine.threadCount), \(model.parameterCount) parameters)")
}
