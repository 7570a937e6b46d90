// svq-bench load MODEL [--runs R]: how long loading a model takes against reading the same file's bytes,
// as one JSON object. Loading does strictly more (parse the header, build the model, check every value), but
// it should cost a small multiple of the read, not a random initialisation of every tensor first.
// Both are timed with the file in the page cache (a warm-up of each first), alternately, the median of R.

import Foundation
import SVQ

#if canImport(Glibc)
import Glibc
#endif

func runLoad(_ args: [String]) {
    var positional: [String] = []
    var runs = 9
    var rest = args[...]
    while let a = rest.popFirst() {
        switch a {
        case "--runs": runs = rest.popFirst().flatMap { Int($0) } ?? 0
        default: positional.append(a)
        }
    }
    guard positional.count == 1, runs >= 1 else { fail("usage: svq-bench load MODEL [--runs R]") }
    let url = URL(fileURLWithPath: positional[0])

    func read() -> Double {
        timed {
            guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else {
                fail("cannot read \(url.path)")
            }
        }
    }
    func load() -> Double {
        timed {
            do { _ = try SVQ.Model(contentsOf: url) } catch { fail("cannot load \(url.path): \(error)") }
        }
    }
    _ = read()
    _ = load()
    var reads: [Double] = [], loads: [Double] = []
    for _ in 0..<runs {
        reads.append(read())
        loads.append(load())
    }
    reads.sort()
    loads.sort()
    let readSeconds = reads[runs / 2], loadSeconds = loads[runs / 2]
    let bytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
    print("{\"bytes\": \(bytes), \"runs\": \(runs), \"read_seconds\": \(readSeconds), \"load_seconds\": \(loadSeconds), \"load_over_read\": \(loadSeconds / readSeconds)}")
}
