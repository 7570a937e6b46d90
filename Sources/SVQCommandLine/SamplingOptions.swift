// The options that say how codes and images are drawn, one meaning each across commands: --prior-* for the
// semantic prior's draws (sample, eval), --decode-* for the decoder's image tokens (decode, sample, eval).

import ArgumentParser
import Foundation
import SVQ

/// How the prior samples scenes (`svq sample`, `svq eval`).
package struct PriorSamplingOptions: ParsableArguments {
    package init() {}

    @Option(name: .customLong("prior-temperature"), help: "Sampling temperature of the prior (default: 1).")
    var temperatureOption: Float?
    @Option(name: .customLong("prior-top-k"), help: "Keep the prior's k most likely codes at each step (default: all).")
    var topKOption: Int?
    // The spellings before the decoder's options had the same words.
    @Option(name: .customLong("temperature"), help: .hidden) var oldTemperature: Float?
    @Option(name: .customLong("top-k"), help: .hidden) var oldTopK: Int?

    package var temperature: Float { temperatureOption ?? oldTemperature ?? 1 }
    package var topK: Int? { topKOption ?? oldTopK }

    package var renamed: [RenamedOption] {
        [RenamedOption(old: "--temperature", new: "--prior-temperature", oldGiven: oldTemperature != nil, newGiven: temperatureOption != nil),
         RenamedOption(old: "--top-k", new: "--prior-top-k", oldGiven: oldTopK != nil, newGiven: topKOption != nil)]
    }

    package func validate() throws {
        try announce(renamed)
        guard temperature > 0 && temperature.isFinite else {
            throw ValidationError("--prior-temperature must be positive and finite, got \(temperature)")
        }
        if let k = topK, k < 1 { throw ValidationError("--prior-top-k must be at least 1, got \(k)") }
    }
}

/// How the decoder draws image tokens (`svq decode`, `svq sample`, `svq eval`).
package struct DecodingOptions: ParsableArguments {
    package init() {}

    @Option(help: "Draw the decoder's image tokens at this temperature (default: \(Sampling.recommendedTemperature), the library's).")
    var decodeTemperature: Float?
    @Flag(help: "Decode with the most likely image token at each step instead (deterministic, as the official code; drops objects).")
    var greedyDecode = false
    @Option(name: .customLong("decode-candidates"),
            help: "Draw this many images per decode and keep the one whose re-encoding gives back the codes most closely (needs drawn tokens; default: 1).")
    var candidatesOption: Int?

    /// The decoder's temperature (nil: greedy) and candidates, checked: the library's default (`Sampling.
    /// recommended`, which says why) unless --decode-temperature or --greedy-decode; `oldTemperature` and
    /// `oldCandidates` are decode's old --temperature and --candidates.
    func resolved(oldTemperature: Float? = nil, oldCandidates: Int? = nil) throws -> (temperature: Float?, candidates: Int) {
        let given = decodeTemperature ?? oldTemperature
        if greedyDecode, let t = given {
            throw ValidationError("--greedy-decode takes the most likely token: it has no temperature (got \(t))")
        }
        if let t = given, !(t > 0 && t.isFinite) {
            throw ValidationError("--decode-temperature must be positive and finite, got \(t)")
        }
        let candidates = candidatesOption ?? oldCandidates ?? 1
        guard candidates >= 1 else { throw ValidationError("--decode-candidates must be at least 1, got \(candidates)") }
        if candidates > 1 && greedyDecode {
            throw ValidationError("--decode-candidates \(candidates) needs drawn tokens, not --greedy-decode: greedy decoding gives the same image every time")
        }
        return (greedyDecode ? nil : given ?? Sampling.recommendedTemperature, candidates)
    }
}

/// An option's old spelling, hidden from help and kept working for scripts written before the rename.
package struct RenamedOption: Equatable {
    var old: String
    var new: String
    package var oldGiven: Bool
    var newGiven: Bool

    package var note: String { "note: \(old) is deprecated; use \(new)" }
}

/// A note on stderr for each old spelling given; an error when a value is given under both names.
func announce(_ options: [RenamedOption]) throws {
    for option in options where option.oldGiven {
        if option.newGiven { throw ValidationError("\(option.old) is the old spelling of \(option.new): give only \(option.new)") }
        FileHandle.standardError.write(Data((option.note + "\n").utf8))
    }
}
