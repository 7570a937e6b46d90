// Every figure `evaluate` measures, as `svq eval` writes it to report.json.

import Foundation

public struct ReconstructionReport: Codable, Equatable, Sendable {
    public var images: Int
    /// Mean squared error per pixel and channel, images in [0, 1]: the dVAE alone (argmax tokens → decoder).
    public var dvaeMSE: Double
    /// The same through the codes: encode → autoregressive decode (greedy or drawn, see `decodeTemperature`) → dVAE decoder.
    public var decodeMSE: Double
}

public struct EvaluationReport: Codable, Equatable, Sendable {
    public var model: String
    public var data: String
    public var split: String
    public var seed: UInt64
    /// The decoder's token temperature for reconstructions and samples; nil: greedy.
    public var decodeTemperature: Float?
    /// Drawn images per decode, the best by re-encoding kept (nil or 1: a single draw).
    public var decodeCandidates: Int?
    /// The prior's sampling temperature and top-k for the generation figures (nil in reports written before
    /// they were recorded: temperature 1, all codes).
    public var priorTemperature: Float?
    public var priorTopK: Int?
    public var reconstruction: ReconstructionReport
    public var codeUsage: [BlockUsage]
    public var minimumCodeUsage: Double
    public var factorAlignment: FactorAlignmentReport?
    public var generation: GenerationReport?
    /// The parser and rule on the held-out images themselves (ground truth) and on their reconstructions:
    /// the ceiling generation accuracy can reach with this parser.
    public var ruleOnData: GenerationReport?
    public var ruleOnReconstructions: GenerationReport?
    /// The held-out objects read back from the reconstructions: lost, added, shape or colour changed.
    public var objectRecovery: ObjectRecoveryReport?

    /// The report as report.json holds it: snake_case keys, sorted, indented.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }
}
