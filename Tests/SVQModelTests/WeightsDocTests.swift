import Foundation
import XCTest
import SVQEngine
import SVQModel

final class WeightsDocTests: XCTestCase {
    func testDump() throws {
        var rng = RandomGenerator(seed: 0)
        var learned = SVQConfig.goldenTiny
        learned.slotInit = .learned
        for c in [SVQConfig.goldenTiny, learned] {
            let m = try SVQModel(config: c, rng: &rng)
            var s = ""
            for (n, t) in m.namedTensors() { s += "\(n)\t\(t.shape)\t\(t.requiresGrad)\n" }
            try s.write(toFile: "/tmp/wd/names-\(c.slotInit).txt", atomically: true, encoding: .utf8)
            let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
            try String(decoding: try e.encode(c), as: UTF8.self).write(toFile: "/tmp/wd/config-\(c.slotInit).json", atomically: true, encoding: .utf8)
        }
    }
}
