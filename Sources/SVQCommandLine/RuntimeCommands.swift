// `svq encode`, `svq decode`, `svq sample`, `svq edit`: the runtime (import SVQ) from the command line.

import ArgumentParser
import Foundation
import SVQ
import SVQData
import SVQModels

/// The codes file `svq encode` writes and `svq decode` reads.
package struct CodesFile: Codable {
    var numSlots: Int
    var numBlocks: Int
    var codebookSize: Int
    /// One [N][M] code array per image.
    var codes: [[[Int32]]]
}

/// Options shared by the runtime commands.
package struct RuntimeModelOption: ParsableArguments {
    package init() {}

    @Option(help: "Model weights file.") var model = defaultModelPath

    func load() throws -> SVQ.Model {
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("no model at \(model) (the bundled model is \(defaultModelPath); pass --model)")
        }
        return try SVQ.Model(contentsOf: URL(fileURLWithPath: model))
    }
}

/// PNG → NHWC bytes at the model's size.
func readImage(_ path: String, size: Int, resize: Bool) throws -> ShapedArray<UInt8> {
    var image = try PNG.read(contentsOf: URL(fileURLWithPath: path))
    if image.width != size || image.height != size {
        // Stretching changes what the codes describe (a 64×32 circle becomes an ellipse): only on request.
        guard resize else {
            throw ValidationError("\(path) is \(image.width)×\(image.height) pixels, but the model takes \(size)×\(size) images: pass --resize to scale it to \(size)×\(size)")
        }
        image = image.resized(width: size, height: size)
    }
    return try ShapedArray(image.pixels, shape: [1, size, size, 3])
}

/// `--resize` of the commands that read a PNG for the model (encode, edit).
package struct ResizeOption: ParsableArguments {
    package init() {}

    @Flag(help: "Scale an image whose size differs from the model's to fit it (bilinear; the aspect ratio is not kept). Without it, such an image is an error.")
    package var resize = false
}

/// A progress handler that says how far a long call has come, one line per tenth ("decoding 16 scenes: 30%"),
/// on stderr by default: sampling and decoding many scenes takes minutes, and should not look hung.
package func progressLines(_ what: String,
                           write: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
    -> ProgressHandler {
    var shown = 0
    return { fraction in
        let tenths = Int(fraction * 10)
        if tenths > shown {
            shown = tenths
            write("\(what): \(tenths * 10)%")
        }
        return true
    }
}

/// Image `i` of NHWC bytes `[B, H, W, 3]`.
func rgbImage(_ images: ShapedArray<UInt8>, _ i: Int) -> RGBImage {
    let h = images.shape[1], w = images.shape[2], per = h * w * 3
    return RGBImage(width: w, height: h, pixels: Array(images.scalars[(i * per)..<((i + 1) * per)]))
}

func formatCodes(_ codes: [Int32], slots n: Int, blocks m: Int) -> String {
    (0..<n).map { s in "slot \(s): " + (0..<m).map { String(codes[s * m + $0]) }.joined(separator: " ") }.joined(separator: "\n")
}

package struct EncodeCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Print an image's codes: one line per object (slot), one code per block (factor).")

    @Argument(help: "PNG image of the model's size (see --resize).") var image: String
    @OptionGroup var model: RuntimeModelOption
    @OptionGroup package var resizing: ResizeOption
    @Option(help: "Seed of the random slot initialisation.") var seed: UInt64 = 0
    @Option(help: "Also write the codes as JSON (input of `svq decode`).") var json: String?
    @Option(help: "Also write a PNG of each slot's attention mask beside the image.") var masks: String?

    package func run() throws {
        let m = try model.load()
        let info = m.info
        let pixels = try readImage(image, size: info.imageSize, resize: resizing.resize)
        let r = try m.encode(pixels, seed: seed, masks: masks != nil)
        print(formatCodes(r.codes.scalars, slots: info.numSlots, blocks: info.numBlocks))
        if let json {
            let n = info.numSlots, b = info.numBlocks
            let file = CodesFile(numSlots: n, numBlocks: b, codebookSize: info.codebookSize,
                                 codes: [(0..<n).map { s in Array(r.codes.scalars[(s * b)..<((s + 1) * b)]) }])
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try encoder.encode(file).write(to: URL(fileURLWithPath: json), options: .atomic)
        }
        if let masksPath = masks, let maskValues = r.masks {
            let s = info.imageSize, plane = s * s
            let input = rgbImage(pixels, 0)
            var row = [input]
            for slot in 0..<info.numSlots {
                let mask = Array(maskValues.scalars[(slot * plane)..<((slot + 1) * plane)])
                var grey = RGBImage(width: s, height: s)
                for p in 0..<plane { let v = UInt8(min(max(mask[p], 0), 1) * 255); grey.pixels[3 * p] = v; grey.pixels[3 * p + 1] = v; grey.pixels[3 * p + 2] = v }
                row.append(grey)
            }
            try PNG.write(ImageGrid.compose(rows: [row]), to: URL(fileURLWithPath: masksPath))
        }
    }
}

package struct DecodeCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(commandName: "decode", abstract: "Decode codes (JSON from `svq encode --json`) to an image.")

    @Argument(help: "Codes JSON: {\"codes\": [[[code per block] per slot] per image], …}.") var codes: String
    @OptionGroup var model: RuntimeModelOption
    @Option(name: .shortAndLong, help: "Output PNG (several images are laid side by side).") var output: String
    @OptionGroup var decoding: DecodingOptions
    @Option(help: "Seed of the token draws (with --decode-temperature).") var seed: UInt64 = 0
    // The spellings before sample and eval had prior options of the same words.
    @Option(name: .customLong("temperature"), help: .hidden) var oldTemperature: Float?
    @Option(name: .customLong("candidates"), help: .hidden) var oldCandidates: Int?

    /// The decoder's temperature (nil: greedy) and candidates, the old spellings included.
    package var decoder: (temperature: Float?, candidates: Int) {
        get throws { try decoding.resolved(oldTemperature: oldTemperature, oldCandidates: oldCandidates) }
    }

    package func validate() throws {
        try announce([
            RenamedOption(old: "--temperature", new: "--decode-temperature", oldGiven: oldTemperature != nil,
                          newGiven: decoding.decodeTemperature != nil),
            RenamedOption(old: "--candidates", new: "--decode-candidates", oldGiven: oldCandidates != nil,
                          newGiven: decoding.candidatesOption != nil),
        ])
        _ = try decoder
    }

    package func run() throws {
        let (temperature, candidates) = try decoder
        let m = try model.load()
        let json = JSONDecoder()
        json.keyDecodingStrategy = .convertFromSnakeCase
        let file: CodesFile
        do { file = try json.decode(CodesFile.self, from: Data(contentsOf: URL(fileURLWithPath: codes))) } catch {
            throw ValidationError("\(codes) is not a codes file: \(describe(error, keysIn: .snakeCase))")
        }
        let flat = file.codes.flatMap { $0.flatMap { $0 } }
        let array = try ShapedArray(flat, shape: [file.codes.count, m.info.numSlots, m.info.numBlocks])
        let sampling: Sampling = temperature.map { .sampled(temperature: $0, topK: nil) } ?? .greedy
        let images = try m.decodeUInt8(array, sampling: sampling, seed: seed, candidates: candidates,
                                       progress: progressLines("decoding \(file.codes.count) code sets"))
        let row = (0..<file.codes.count).map { rgbImage(images, $0) }
        try PNG.write(row.count == 1 ? row[0] : ImageGrid.compose(rows: [row]), to: URL(fileURLWithPath: output))
        print("wrote \(output)")
    }
}

package struct SampleCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(commandName: "sample", abstract: "Sample new scenes from the semantic prior and decode them.")

    @OptionGroup var model: RuntimeModelOption
    @Option(name: [.customShort("n"), .long], help: "Number of scenes.") package var samples = 16
    @Option(name: .shortAndLong, help: "Output PNG grid.") var output = "samples.png"
    @Option(help: "Seed.") var seed: UInt64 = 0
    @OptionGroup package var prior: PriorSamplingOptions
    @OptionGroup var decoding: DecodingOptions

    /// The decoder's temperature (nil: greedy) and candidates.
    package var decoder: (temperature: Float?, candidates: Int) {
        get throws { try decoding.resolved() }
    }

    package func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1, got \(samples)") }
        _ = try decoder
    }

    package func run() throws {
        let (decodeTemperature, candidates) = try decoder
        let n = samples
        let m = try model.load()
        let codes = try m.samplePrior(count: n, seed: seed, temperature: prior.temperature, topK: prior.topK,
                                      progress: progressLines("sampling \(n) scenes"))
        let sampling: Sampling = decodeTemperature.map { .sampled(temperature: $0, topK: nil) } ?? .greedy
        let images = try m.decodeUInt8(codes, sampling: sampling, seed: seed, candidates: candidates,
                                       progress: progressLines("decoding \(n) scenes"))
        let all = (0..<n).map { rgbImage(images, $0) }
        let perRow = Int(Double(n).squareRoot().rounded(.up))
        let rows = stride(from: 0, to: n, by: perRow).map { Array(all[$0..<min(n, $0 + perRow)]) }
        try PNG.write(ImageGrid.compose(rows: rows), to: URL(fileURLWithPath: output))
        for i in 0..<min(n, 4) {
            let per = m.info.codesPerImage
            print("scene \(i):\n" + formatCodes(Array(codes.scalars[(i * per)..<((i + 1) * per)]), slots: m.info.numSlots, blocks: m.info.numBlocks))
        }
        print("wrote \(n) scenes to \(output)")
    }
}

package struct EditCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Change one code of an image and decode it (the paper's latent traversal).",
        discussion: "Encodes IMAGE, sets code (--slot, --block) to --code, and decodes. Without --code, writes every value of that code side by side.")

    @Argument(help: "PNG image of the model's size (see --resize).") var image: String
    @OptionGroup var model: RuntimeModelOption
    @OptionGroup package var resizing: ResizeOption
    @Option(help: "Slot (object) to edit.") var slot: Int
    @Option(help: "Block (factor) to edit.") var block: Int
    @Option(help: "New code; omit to traverse all values.") var code: Int?
    @Option(name: .shortAndLong, help: "Output PNG.") var output: String
    @Option(help: "Seed of the encoding.") var seed: UInt64 = 0

    package func run() throws {
        let m = try model.load()
        let info = m.info
        guard (0..<info.numSlots).contains(slot) else { throw ValidationError("--slot must be from 0 to \(info.numSlots - 1), got \(slot)") }
        guard (0..<info.numBlocks).contains(block) else { throw ValidationError("--block must be from 0 to \(info.numBlocks - 1), got \(block)") }
        if let code, !(0..<info.codebookSize).contains(code) { throw ValidationError("--code must be from 0 to \(info.codebookSize - 1), got \(code)") }
        let pixels = try readImage(image, size: info.imageSize, resize: resizing.resize)
        let original = try m.encode(pixels, seed: seed).codes.scalars
        let values = code.map { [$0] } ?? Array(0..<info.codebookSize)
        var batch: [Int32] = []
        for v in values {
            var c = original
            c[slot * info.numBlocks + block] = Int32(v)
            batch += c
        }
        let images = try m.decodeUInt8(try ShapedArray(batch, shape: [values.count, info.numSlots, info.numBlocks]))
        let edited = (0..<values.count).map { rgbImage(images, $0) }
        let out = values.count == 1 ? edited[0] : ImageGrid.compose(rows: [[rgbImage(pixels, 0)] + edited])
        try PNG.write(out, to: URL(fileURLWithPath: output))
        print("slot \(slot) block \(block): code \(original[slot * info.numBlocks + block]) → \(values.count == 1 ? String(values[0]) : "0…\(info.codebookSize - 1)"); wrote \(output)")
    }
}
