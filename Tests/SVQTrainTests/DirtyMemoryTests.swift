// Kernels must not read memory they did not write. Training keeps freed buffers in the heap
// (`Engine.retainFreedMemory`), so a new tensor may hold an old tensor's values: here the heap is first
// filled with NaN, then a whole training step must produce finite gradients everywhere.

import SVQEngine
import SVQModels
import SVQTrain
import XCTest

final class DirtyMemoryTests: XCTestCase {
    func testATrainingStepOnADirtyHeapHasFiniteGradients() throws {
        Engine.retainFreedMemory()
        var config = SVQConfig.cpuSprites
        config.dropout = 0.1   // cover the unfused attention path too
        for _ in 0..<3 {
            // NaN-filled blocks of many sizes, freed at once, so later allocations reuse them.
            var junk: [Tensor] = []
            for size in [1 << 10, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22] {
                for _ in 0..<4 { junk.append(Tensor(Array(repeating: .nan, count: size), shape: [size])) }
            }
            junk.removeAll()
        }
        var rng = RandomGenerator(seed: 11)
        let model = try SVQModel(config: config, rng: &rng)
        let images = ImageSet(planar: (0..<(8 * 3 * 64 * 64)).map { _ in UInt8(truncatingIfNeeded: rng.nextUInt32()) },
                              count: 8, channels: 3, height: 64, width: 64)
        var options = SVQTrainingOptions.cpu(steps: 3, batchSize: 4, seed: 1)
        options.dropout = 0.1
        let trainer = try SVQTrainer(model: model, images: images, options: options)
        for _ in 0..<2 {
            let m = trainer.trainStep()
            XCTAssert(m.loss.isFinite, "loss \(m.loss)")
            XCTAssert(m.gradientMax.isFinite, "gradient max \(m.gradientMax)")
        }
        for (name, t) in model.namedTensors() {
            XCTAssert(t.scalars.allSatisfy(\.isFinite), "\(name) has non-finite values after training on a dirty heap")
        }
    }
}
