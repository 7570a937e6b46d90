// One model, many threads: 8 threads each run every call of a mixed workload (encode, decode greedy and
// sampled, prior sampling, codebooks) in its own order, and every result must equal the serial one.

import Foundation
import SVQ
import XCTest

final class ConcurrencyTests: XCTestCase {
    /// One call of the workload and its result, as bytes to compare.
    typealias Job = @Sendable () throws -> [UInt8]

    static func jobs(_ model: SVQ.Model) -> [Job] {
        var jobs: [Job] = []
        for i in 0..<4 {
            let images = testImages(batch: 1 + i % 2, seed: UInt64(20 + i))
            let u8 = testImageBytes(batch: 1, seed: UInt64(30 + i))
            jobs.append { let r = try model.encode(images, seed: UInt64(i), masks: true, slots: true)
                          return bytes(r.codes.scalars) + bytes(r.masks!.scalars) + bytes(r.slots!.scalars) }
            jobs.append { bytes(try model.encode(u8, seed: UInt64(i)).codes.scalars) }
            jobs.append { bytes(try model.decode(try model.samplePrior(count: 1 + i % 2, seed: UInt64(i))).scalars) }
            jobs.append { bytes(try model.decodeUInt8(try model.samplePrior(count: 1, seed: UInt64(50 + i)),
                                                     sampling: .sampled(temperature: 0.8, topK: 5), seed: UInt64(i)).scalars) }
            jobs.append { bytes(try model.samplePrior(count: 3, seed: UInt64(60 + i), temperature: 0.7, topK: 3).scalars) }
            jobs.append { bytes(try model.codebook(block: i).scalars) }
        }
        return jobs
    }

    /// Results collected from all threads.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var failures: [String] = []
        private(set) var completed = 0
        func record(_ failure: String?) {
            lock.lock()
            defer { lock.unlock() }
            if let failure { failures.append(failure) } else { completed += 1 }
        }
    }

    func testEightThreadsGiveTheSerialResults() throws {
        let model = TestModels.tiny
        let jobs = Self.jobs(model)
        let serial = try jobs.map { try $0() }
        let threads = 8
        let tally = Tally()
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                for k in 0..<jobs.count {
                    let j = (k * (t + 1) + t) % jobs.count      // a different order on every thread
                    do {
                        let same = try jobs[j]() == serial[j]
                        tally.record(same ? nil : "thread \(t), job \(j): differs from the serial result")
                    } catch {
                        tally.record("thread \(t), job \(j): \(error)")
                    }
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 600), .success)
        XCTAssertTrue(tally.failures.isEmpty, tally.failures.prefix(5).joined(separator: "\n"))
        XCTAssertEqual(tally.completed, threads * jobs.count)
    }
}

/// The raw bytes of an array, for exact comparisons of any element type.
func bytes<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
