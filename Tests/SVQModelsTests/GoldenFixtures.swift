// The official code's tiny random model and its outputs (Fixtures/nlotm-tiny, copied from
// shared/golden/nlotm-tiny; its README says what each tensor is).

import Foundation
import XCTest
import SafeTensors
import SVQEngine
import SVQModels
import SVQTestSupport

enum Golden {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("nlotm-tiny")

    static let outputs: SafeTensorsFile = try! SafeTensorsFile(contentsOf: directory.appendingPathComponent("golden.safetensors"))
    static var svqStateDict: OfficialStateDict {
        try! OfficialStateDict(contentsOf: directory.appendingPathComponent("svq_state_dict.safetensors"))
    }
    static var priorStateDict: OfficialStateDict {
        try! OfficialStateDict(contentsOf: directory.appendingPathComponent("prior_state_dict.safetensors"))
    }
    static let config = SVQConfig.goldenTiny

    static func tensor(_ name: String) -> Tensor {
        let info = outputs.info(name)!
        return Tensor(try! outputs.floats(name), shape: info.shape)
    }

    static func ints(_ name: String) -> IntTensor {
        let info = outputs.info(name)!
        return IntTensor(try! outputs.ints(name), shape: info.shape)
    }
}

/// Asserts `actual` matches the golden tensor `name` within `tol`, and returns the max abs error (for notes).
@discardableResult
func assertMatchesGolden(_ actual: Tensor, _ name: String, tol: Float = 1e-4,
                         file: StaticString = #filePath, line: UInt = #line) -> Float {
    let expected = Golden.tensor(name)
    XCTAssertEqual(actual.count, expected.count, "\(name): \(actual.shape) vs golden \(expected.shape)", file: file, line: line)
    guard actual.count == expected.count else { return .infinity }
    var worst: Float = 0, at = 0
    for i in 0..<actual.count {
        let d = abs(actual.data[i] - expected.data[i])
        if !(d <= worst) { worst = d; at = i }
    }
    XCTAssert(worst <= tol, "\(name): max |error| \(worst) at \(at) exceeds \(tol)", file: file, line: line)
    print("golden \(name): max |error| = \(worst)")
    return worst
}
