// The official IRIS code's tiny random models and their outputs (Fixtures/iris-tiny, copied from
// shared/golden/iris-tiny; its README says what each tensor is).

import Foundation
import XCTest
import SafeTensors
import SVQEngine
import IRISModels

enum IRISGolden {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("iris-tiny")

    static func file(_ name: String) -> SafeTensorsFile {
        try! SafeTensorsFile(contentsOf: directory.appendingPathComponent(name))
    }

    static let outputs = file("golden.safetensors")
    static let config = try! IRISConfig(officialJSON: Data(contentsOf: directory.appendingPathComponent("config.json")))
    /// The rest of config.json: the actor-critic's γ, λ and entropy weight.
    static let settings = try! JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as! [String: Any]

    static func tensor(_ name: String) -> Tensor {
        Tensor(try! outputs.floats(name), shape: outputs.info(name)!.shape)
    }

    static func ints(_ name: String) -> IntTensor {
        IntTensor(try! outputs.ints(name), shape: outputs.info(name)!.shape)
    }
}

/// Asserts `actual` matches the golden tensor `name` elementwise within `tol` and prints the largest error.
func assertMatchesGolden(_ actual: Tensor, _ name: String, tol: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) {
    let expected = IRISGolden.tensor(name)
    XCTAssertEqual(actual.count, expected.count, "\(name): \(actual.shape) vs golden \(expected.shape)", file: file, line: line)
    guard actual.count == expected.count else { return }
    var worst: Float = 0, at = 0
    for i in 0..<actual.count {
        let d = abs(actual.data[i] - expected.data[i])
        if !(d <= worst) { worst = d; at = i }
    }
    XCTAssert(worst <= tol, "\(name): max |error| \(worst) at \(at) exceeds \(tol)", file: file, line: line)
    print("IRIS golden \(name): max |error| = \(worst)")
}
