// Keeps docs/weights.md honest. The document is parsed and compared with the code:
// - every tensor name the model writes is documented, and every documented name still exists;
// - each tensor's documented shape (in config symbols) evaluates to the real shape for several configs;
// - each tensor's documented kind (param / buffer) matches whether it is trained by gradients;
// - the official names in the tables cover the official tiny checkpoints and name only real keys;
// - the config table lists exactly the config's JSON keys, with the right defaults and preset values;
// - the metadata example matches what `SVQModel` writes.
//
// Tensor rows are table rows whose first cell is one backticked name starting with a component prefix,
// followed by shape and kind cells. `{i}`-style placeholders in a name match any integer; a row with
// fewer placeholders takes precedence (so `dvae.encoder.0.weight` overrides `dvae.encoder.{i}.weight`).

import Foundation
import XCTest
import SVQEngine
import SVQModels
import SVQTestSupport

final class WeightsDocTests: XCTestCase {

    // MARK: - The tests

    func testEveryTensorIsDocumentedWithItsShapeAndKind() throws {
        let doc = try WeightsDoc(text: Self.documentText())
        XCTAssertGreaterThan(doc.tensorRows.count, 50, "found too few tensor rows in docs/weights.md: has its table layout changed?")
        let result = WeightsDoc.audit(doc, models: try Self.models())
        XCTAssertTrue(doc.malformed.isEmpty, "malformed tensor rows in docs/weights.md:\n" + doc.malformed.joined(separator: "\n"))
        XCTAssertTrue(result.missing.isEmpty,
                      "\(result.missing.count) tensors are not documented in docs/weights.md:\n" + result.missing.joined(separator: "\n"))
        XCTAssertTrue(result.extra.isEmpty,
                      "docs/weights.md documents \(result.extra.count) names that no model has (or that other rows shadow):\n"
                      + result.extra.joined(separator: "\n"))
        XCTAssertTrue(result.ambiguous.isEmpty, "tensors documented by more than one row:\n" + result.ambiguous.joined(separator: "\n"))
        XCTAssertTrue(result.shapeErrors.isEmpty, "wrong shapes in docs/weights.md:\n" + result.shapeErrors.joined(separator: "\n"))
        XCTAssertTrue(result.kindErrors.isEmpty, "wrong kinds in docs/weights.md:\n" + result.kindErrors.joined(separator: "\n"))
    }

    /// The audit really fails: a copy of the document with one row removed, one invented, one shape and
    /// one kind changed must be reported exactly so.
    func testAuditReportsMissingExtraWrongShapeAndKind() throws {
        var lines = try Self.documentText().components(separatedBy: "\n")
        let removed = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("| `slot_attention.gru.bias_hh` |") })
        lines.remove(at: removed)
        let positions = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("| `image_decoder.positions` |") })
        lines[positions] = lines[positions].replacingOccurrences(of: "`[T, D]`", with: "`[D, T]`")
        let codebooks = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("| `slot_attention.quantizer.codebooks` |") })
        lines[codebooks] = lines[codebooks].replacingOccurrences(of: "| buffer |", with: "| param |")
        lines.insert("| `image_decoder.transformer.blocks.{l}.gate.weight` | `[D]` | param | invented | none |", at: positions)

        let result = WeightsDoc.audit(try WeightsDoc(text: lines.joined(separator: "\n")), models: try Self.models())
        XCTAssertEqual(result.missing, ["slot_attention.gru.bias_hh"])
        XCTAssertEqual(result.extra, ["image_decoder.transformer.blocks.{l}.gate.weight"])
        XCTAssertTrue(result.ambiguous.isEmpty)
        XCTAssertEqual(result.shapeErrors.count, 4, result.shapeErrors.joined(separator: "\n"))   // one per model
        XCTAssertTrue(result.shapeErrors.allSatisfy { $0.contains("image_decoder.positions") })
        XCTAssertEqual(result.kindErrors.count, 4, result.kindErrors.joined(separator: "\n"))
        XCTAssertTrue(result.kindErrors.allSatisfy { $0.contains("slot_attention.quantizer.codebooks") })
    }

    func testOfficialNamesCoverTheOfficialCheckpoints() throws {
        let doc = try WeightsDoc(text: Self.documentText())
        let svqKeys = Golden.svqStateDict.file.names, priorKeys = Golden.priorStateDict.file.names
        XCTAssertFalse(svqKeys.isEmpty)
        XCTAssertFalse(priorKeys.isEmpty)
        let tokens = doc.tensorRows.flatMap { row in row.officialNames.map { (row: row, official: $0) } }

        // Every official key is named in some row (the prior's keys in the prior table).
        var unnamed: [String] = []
        for (keys, isPrior) in [(svqKeys, false), (priorKeys, true)] {
            for key in keys where !tokens.contains(where: { $0.row.isPrior == isPrior && WeightsDoc.matches($0.official, key) }) {
                unnamed.append(isPrior ? "prior state_dict: \(key)" : key)
            }
        }
        XCTAssertTrue(unnamed.isEmpty, "official keys not named in docs/weights.md:\n" + unnamed.sorted().joined(separator: "\n"))

        // Every official name in a row whose tensor the random-init tiny model has is a real official key.
        var rng = RandomGenerator(seed: 0)
        let ours = try SVQModel(config: .goldenTiny, rng: &rng).namedTensors().map(\.name)
        var invented: [String] = []
        for (row, official) in tokens where ours.contains(where: { WeightsDoc.matches(row.pattern, $0) }) {
            let keys = row.isPrior ? priorKeys : svqKeys
            if !keys.contains(where: { WeightsDoc.matches(official, $0) }) { invented.append("\(row.pattern): \(official)") }
        }
        XCTAssertTrue(invented.isEmpty, "official names in docs/weights.md that the official checkpoints do not have:\n"
                      + invented.joined(separator: "\n"))
    }

    func testConfigTableMatchesTheConfig() throws {
        let doc = try WeightsDoc(text: Self.documentText())
        XCTAssertFalse(doc.configHeader.isEmpty, "no config table under \"\(WeightsDoc.configHeading)\"")
        let keyColumn = 0
        let documented = doc.configRows.compactMap { WeightsDoc.backticked($0[keyColumn]) }

        // Exactly the JSON keys of a config with a prior, nested ones as `prior.key`.
        let json = try Self.json(.goldenTiny)
        var expected: [String] = []
        for (key, value) in json {
            expected.append(key)
            if let nested = value as? [String: Any] { expected += nested.keys.map { "\(key).\($0)" } }
        }
        let missing = Set(expected).subtracting(documented).sorted(), extra = Set(documented).subtracting(expected).sorted()
        XCTAssertTrue(missing.isEmpty, "config keys missing from the table in docs/weights.md: \(missing)")
        XCTAssertTrue(extra.isEmpty, "the config table in docs/weights.md lists keys the config does not have: \(extra)")
        XCTAssertEqual(documented.count, Set(documented).count, "a config key is listed twice")

        // Columns headed by a backticked config name: every preset, and the golden fixture's test config.
        let named = SVQConfig.presets.merging(["golden-tiny": .goldenTiny]) { preset, _ in preset }
        var columns: [(index: Int, label: String, json: [String: Any])] = []
        for (i, title) in doc.configHeader.enumerated() {
            if let name = WeightsDoc.backticked(title), let config = named[name] {
                columns.append((i, "config \(name)", try Self.json(config)))
            }
        }
        XCTAssertEqual(Set(columns.map(\.label)), Set(named.keys.map { "config \($0)" }),
                       "the config table needs one column per preset and one for golden-tiny")
        // Leaving out every argument without a default shows the defaults; the sentinel marks the required ones.
        let sentinel = -7
        let defaults = SVQConfig(imageSize: sentinel, cnnHiddenSize: sentinel, dModel: sentinel, mlpHiddenSize: sentinel,
                                 numSlots: sentinel, slotSize: sentinel, numBlocks: sentinel, numPrototypes: sentinel,
                                 vocabSize: sentinel, numDecoderLayers: sentinel, numDecoderHeads: sentinel)
        let defaultColumn = try XCTUnwrap(doc.configHeader.firstIndex(of: "default"), "no \"default\" column")
        columns.append((defaultColumn, "default", try Self.json(defaults)))

        var wrong: [String] = []
        for row in doc.configRows {
            guard let key = WeightsDoc.backticked(row[keyColumn]) else { continue }
            for column in columns {
                guard let value = Self.lookup(key, in: column.json), !(value is [String: Any]) else { continue }
                guard column.index < row.count else { wrong.append("\(key): no \(column.label) cell"); continue }
                let cell = row[column.index].trimmingCharacters(in: CharacterSet(charactersIn: "`\" "))
                if column.label == "default", let n = value as? NSNumber, n.intValue == sentinel {
                    if cell != "required" { wrong.append("\(key): default is \"\(cell)\" but the argument is required") }
                } else if !Self.cell(cell, equals: value) {
                    wrong.append("\(key): \(column.label) is \"\(cell)\" but the config has \(value)")
                }
            }
        }
        XCTAssertTrue(wrong.isEmpty, "wrong values in the config table of docs/weights.md:\n" + wrong.joined(separator: "\n"))
    }

    func testMetadataIsDescribed() throws {
        let text = try Self.documentText()
        var rng = RandomGenerator(seed: 0)
        let model = try SVQModel(config: .goldenTiny, rng: &rng)
        XCTAssertEqual(Set(model.metadata.keys), ["format", "format_version", "config", "prior_trained"])
        for key in model.metadata.keys {
            XCTAssertTrue(text.contains("| `\(key)` |"), "metadata key \(key) has no row in docs/weights.md")
        }
        model.priorTrained = true
        let metadata = model.metadata
        XCTAssertEqual(Set(metadata.keys), ["format", "format_version", "config"])
        for key in metadata.keys {
            XCTAssertTrue(text.contains("| `\(key)` |"), "metadata key \(key) has no row in docs/weights.md")
        }
        XCTAssertTrue(text.contains("\"format\": \"svq\""))
        XCTAssertTrue(text.contains("\"format_version\": \"\(SVQModel.formatVersion)\""),
                      "docs/weights.md does not describe format version \(SVQModel.formatVersion)")
        // The example metadata shows the real config JSON of the golden-tiny test model.
        let escaped = metadata["config"]!.replacingOccurrences(of: "\"", with: "\\\"")
        XCTAssertTrue(text.contains("\"config\": \"\(escaped)\""), "the metadata example in docs/weights.md is not what SVQModel writes:\n\(escaped)")
    }

    // MARK: - Inputs

    static func documentText() throws -> String {
        let root = URL(fileURLWithPath: #filePath)   // <root>/Tests/SVQModelsTests/WeightsDocTests.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs/weights.md"), encoding: .utf8)
    }

    /// The golden-tiny model (with prior), its learned-init variant, and a config whose sizes are (nearly)
    /// all different, so that a shape written with the wrong symbol is caught.
    static func models() throws -> [(label: String, model: SVQModel)] {
        var learned = SVQConfig.goldenTiny
        learned.slotInit = .learned
        var distinct = SVQConfig(imageSize: 20, cnnHiddenSize: 6, dModel: 12, mlpHiddenSize: 22, numSlots: 5, slotSize: 14,
                                 numBlocks: 2, numPrototypes: 13, vocabSize: 17, numDecoderLayers: 2, numDecoderHeads: 3,
                                 prior: PriorConfig(dModel: 18, numHeads: 3, numLayers: 1))
        distinct.featureSize = 10
        distinct.dvaeHiddenSize = 9
        var distinctLearned = distinct
        distinctLearned.slotInit = .learned
        var rng = RandomGenerator(seed: 0)
        return try [("golden-tiny", SVQConfig.goldenTiny), ("golden-tiny learned", learned),
                    ("distinct", distinct), ("distinct learned", distinctLearned)].map {
            (label: $0.0, model: try SVQModel(config: $0.1, rng: &rng))
        }
    }

    static func json(_ config: SVQConfig) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any])
    }

    /// `key` or `outer.inner` in a config's JSON.
    static func lookup(_ key: String, in json: [String: Any]) -> Any? {
        var value: Any? = json
        for part in key.split(separator: ".") { value = (value as? [String: Any])?[String(part)] }
        return value
    }

    static func cell(_ cell: String, equals value: Any) -> Bool {
        if let s = value as? String { return cell == s }
        if let n = value as? NSNumber, let d = Double(cell) { return d == n.doubleValue }
        return false
    }
}

// MARK: - Parsing and checking the document

struct WeightsDoc {
    struct TensorRow {
        let pattern: String
        let shape: String
        let kind: String
        /// Backticked official state_dict names in the last column.
        let officialNames: [String]
        var isPrior: Bool { pattern.hasPrefix("prior.") }
        var placeholders: Int { pattern.filter { $0 == "{" }.count }
    }

    static let componentPrefixes = ["dvae.", "image_encoder.", "slot_attention.", "image_decoder.", "prior."]
    static let configHeading = "### The `config` key"

    var tensorRows: [TensorRow] = []
    var malformed: [String] = []
    var configHeader: [String] = []
    var configRows: [[String]] = []

    init(text: String) throws {
        var inConfig = false
        for line in text.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") { inConfig = trimmed == Self.configHeading; continue }
            guard trimmed.hasPrefix("|") else { continue }
            var cells = trimmed.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            cells = Array(cells.dropFirst())
            if cells.last == "" { cells.removeLast() }
            if cells.allSatisfy({ !$0.isEmpty && $0.allSatisfy { "-:".contains($0) } }) { continue }   // |---|---|
            if inConfig {
                if configHeader.isEmpty { configHeader = cells } else { configRows.append(cells) }
                continue
            }
            guard let name = Self.backticked(cells[0]), Self.componentPrefixes.contains(where: name.hasPrefix) else { continue }
            guard cells.count >= 4, let shape = Self.backticked(cells[1]) else {
                malformed.append(trimmed)
                continue
            }
            let official = cells.count >= 5 ? Self.officialNames(in: cells[cells.count - 1]) : []
            tensorRows.append(TensorRow(pattern: name, shape: shape, kind: cells[2], officialNames: official))
        }
    }

    /// The content of a cell that is exactly one backticked token.
    static func backticked(_ cell: String) -> String? {
        guard cell.count >= 2, cell.hasPrefix("`"), cell.hasSuffix("`") else { return nil }
        let inner = cell.dropFirst().dropLast()
        return inner.contains("`") ? nil : String(inner)
    }

    /// Backticked tokens of a cell that look like state_dict keys (identifiers, dots, `{i}` placeholders).
    static func officialNames(in cell: String) -> [String] {
        let parts = cell.components(separatedBy: "`")
        return stride(from: 1, to: parts.count, by: 2).map { parts[$0] }.filter { token in
            guard let first = token.first, first.isLetter || first == "_" else { return false }
            return token.allSatisfy { $0.isLetter || $0.isNumber || "_.{}".contains($0) }
        }
    }

    /// Whether `name` matches `pattern`, where each `{…}` in the pattern matches one or more digits.
    static func matches(_ pattern: String, _ name: String) -> Bool { matches(Substring(pattern), Substring(name)) }

    private static func matches(_ pattern: Substring, _ name: Substring) -> Bool {
        guard let p = pattern.first else { return name.isEmpty }
        if p == "{" {
            guard let close = pattern.firstIndex(of: "}") else { return false }
            let rest = pattern[pattern.index(after: close)...]
            let digits = name.prefix { $0.isASCII && $0.isNumber }.count
            return digits > 0 && (1...digits).contains { matches(rest, name.dropFirst($0)) }
        }
        guard name.first == p else { return false }
        return matches(pattern.dropFirst(), name.dropFirst())
    }

    /// The values of the shape symbols for `config`: those of the config table's symbol column, plus the
    /// derived w = S/M and T = (I/4)².
    func symbols(for config: SVQConfig) throws -> [String: Int] {
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any])
        var out = ["w": config.blockSize, "T": config.tokensPerImage]
        guard let symbolColumn = configHeader.firstIndex(of: "symbol") else { return out }
        for row in configRows where row.count > symbolColumn {
            guard let key = Self.backticked(row[0]), let symbol = Self.backticked(row[symbolColumn]) else { continue }
            if let value = WeightsDocTests.lookup(key, in: json) as? NSNumber { out[symbol] = value.intValue }
        }
        return out
    }

    /// `[h, C, 4, 4]`-style shapes: each dimension a product/quotient of factors like `4`, `D`, `3w`, `4Dp`.
    static func evaluate(shape: String, symbols: [String: Int]) -> [Int]? {
        guard shape.hasPrefix("["), shape.hasSuffix("]") else { return nil }
        let inner = shape.dropFirst().dropLast()
        if inner.trimmingCharacters(in: .whitespaces).isEmpty { return [] }
        var dims: [Int] = []
        for dim in inner.split(separator: ",") {
            guard let v = evaluate(dim.trimmingCharacters(in: .whitespaces), symbols) else { return nil }
            dims.append(v)
        }
        return dims
    }

    private static func evaluate(_ expression: String, _ symbols: [String: Int]) -> Int? {
        var result = 1, op: Character = "·", factor = ""
        func apply() -> Bool {
            let digits = factor.prefix { $0.isASCII && $0.isNumber }
            let symbol = String(factor.dropFirst(digits.count))
            guard !factor.isEmpty, var value = digits.isEmpty ? 1 : Int(digits) else { return false }
            if !symbol.isEmpty {
                guard let s = symbols[symbol] else { return false }
                value *= s
            }
            if op == "/" {
                guard value != 0, result % value == 0 else { return false }
                result /= value
            } else {
                result *= value
            }
            factor = ""
            return true
        }
        for ch in expression where ch != " " {
            if ch == "·" || ch == "/" {
                guard apply() else { return nil }
                op = ch
            } else {
                factor.append(ch)
            }
        }
        return apply() ? result : nil
    }

    struct Audit {
        var missing: [String] = []
        var extra: [String] = []
        var ambiguous: [String] = []
        var shapeErrors: [String] = []
        var kindErrors: [String] = []
    }

    /// Compares the tensor rows with the tensors of `models`.
    static func audit(_ doc: WeightsDoc, models: [(label: String, model: SVQModel)]) -> Audit {
        var result = Audit()
        var used = Set<Int>()
        var missing = Set<String>(), ambiguous = Set<String>()
        for (label, model) in models {
            let symbols: [String: Int]
            do { symbols = try doc.symbols(for: model.config) } catch {
                result.shapeErrors.append("\(label): config symbols: \(error)")
                continue
            }
            for (name, tensor) in model.namedTensors() {
                let candidates = doc.tensorRows.indices.filter { matches(doc.tensorRows[$0].pattern, name) }
                guard let fewest = candidates.map({ doc.tensorRows[$0].placeholders }).min() else {
                    missing.insert(name)
                    continue
                }
                let best = candidates.filter { doc.tensorRows[$0].placeholders == fewest }
                if best.count > 1 {
                    ambiguous.insert("\(name): " + best.map { doc.tensorRows[$0].pattern }.joined(separator: ", "))
                }
                used.insert(best[0])
                let row = doc.tensorRows[best[0]]
                if let shape = evaluate(shape: row.shape, symbols: symbols) {
                    if shape != tensor.shape {
                        result.shapeErrors.append("\(label): \(name) is \(tensor.shape) but \(row.pattern) is documented as \(row.shape) = \(shape)")
                    }
                } else {
                    result.shapeErrors.append("\(label): cannot evaluate the shape \(row.shape) of \(row.pattern)")
                }
                let kind = tensor.requiresGrad ? "param" : "buffer"
                if row.kind != kind {
                    result.kindErrors.append("\(label): \(name) is a \(kind) but \(row.pattern) is documented as \"\(row.kind)\"")
                }
            }
        }
        result.missing = missing.sorted()
        result.ambiguous = ambiguous.sorted()
        result.extra = doc.tensorRows.indices.filter { !used.contains($0) }.map { doc.tensorRows[$0].pattern }
        return result
    }
}
