// `svq import-official`: converts checkpoints of the official PyTorch code (github yfw/nlotm) to our format.

import ArgumentParser
import Foundation
import SafeTensors
import SVQEngine
import SVQModels

struct ImportOfficial: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-official",
        abstract: "Convert an official SVQ checkpoint (and optionally its prior) to an SVQ weights file.",
        discussion: """
        Checkpoints may be safetensors dumps of the state_dicts, or PyTorch .pt/.pth files (read through
        python3 with torch installed; a 'model' entry and DataParallel 'module.' prefixes are handled).
        The configuration is the official training arguments as JSON (args.py names, e.g. {"image_size": 64,
        "num_slots": 4, "num_blocks": 8, ...}); missing arguments take the official defaults.
        """)

    @Option(name: .customLong("svq"), help: "The SVQ model's state_dict (.safetensors, .pt or .pth).")
    var svqPath: String

    @Option(name: .customLong("prior"), help: "The semantic prior's state_dict (optional).")
    var priorPath: String?

    @Option(name: .customLong("config"), help: "JSON of the official training arguments.")
    var configPath: String

    @Option(name: [.short, .customLong("output")], help: "Where to write our weights file.")
    var output: String

    func run() throws {
        let argsData = try Data(contentsOf: URL(fileURLWithPath: configPath))
        guard let args = try JSONSerialization.jsonObject(with: argsData) as? [String: Any] else {
            throw ValidationError("\(configPath) must hold a JSON object of the official arguments")
        }
        let config = try SVQConfig(officialArguments: args, includePrior: priorPath != nil)
        var rng = RandomGenerator(seed: 0)
        let model = try SVQModel(config: config, rng: &rng)
        let svq = OfficialStateDict(try readStateDict(svqPath))
        let prior = try priorPath.map { OfficialStateDict(try readStateDict($0)) }
        try model.loadOfficial(svq: svq, prior: prior)
        try model.save(to: URL(fileURLWithPath: output))
        print("wrote \(output): \(model.namedTensors().count) tensors, \(model.parameterCount) trainable values, prior: \(prior == nil ? "no" : "yes")")
    }
}

/// Reads a state_dict from safetensors, or from a PyTorch file by way of python3 + torch.
func readStateDict(_ path: String) throws -> SafeTensorsFile {
    let url = URL(fileURLWithPath: path)
    guard ["pt", "pth", "ckpt"].contains(url.pathExtension.lowercased()) else {
        return try SafeTensorsFile(contentsOf: url)
    }
    let dump = FileManager.default.temporaryDirectory.appendingPathComponent("svq-import-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: dump) }
    let script = """
    import sys, torch
    from safetensors.torch import save_file
    obj = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
    for key in ("model", "state_dict", "model_state_dict"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    sd = {k: v.detach().float().contiguous() if v.is_floating_point() else v.contiguous()
          for k, v in obj.items() if torch.is_tensor(v)}
    save_file(sd, sys.argv[2])
    """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, url.path, dump.path]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ValidationError("could not read \(path) through python3 (needs torch and safetensors installed); or pass a safetensors dump of the state_dict")
    }
    return try SafeTensorsFile(contentsOf: dump)
}
