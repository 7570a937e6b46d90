// A model from the files an official run leaves: its training arguments as JSON and its state_dicts, dumped
// as safetensors (scripts/convert_official_checkpoint.py turns PyTorch files into these).

import Foundation
import SafeTensors
import SVQEngine

extension SVQModel {
    /// The official model whose training arguments (`args.py` names; missing ones take the official defaults)
    /// are the JSON object in `officialArguments`, with the state_dicts `svq` and, when given, `prior`.
    /// - Throws: `SVQModelError` (`.invalidConfig` for arguments that are not a JSON object, `.unsupported` for
    ///   a PyTorch file, as for the config and the tensors otherwise), or the error of a file it cannot read.
    public convenience init(officialArguments: URL, svq: URL, prior: URL?) throws {
        let data = try Data(contentsOf: officialArguments)
        guard let arguments = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw SVQModelError(.invalidConfig, "\(officialArguments.relativePath) must hold a JSON object of the official training arguments")
        }
        var rng = RandomGenerator(seed: 0)
        try self.init(config: try SVQConfig(officialArguments: arguments, includePrior: prior != nil), rng: &rng)
        try loadOfficial(svq: try OfficialStateDict(safetensorsDump: svq), prior: try prior.map { try OfficialStateDict(safetensorsDump: $0) })
    }
}

extension OfficialStateDict {
    /// The state_dict dumped as safetensors at `url`; a PyTorch file is refused with the way to convert it.
    convenience init(safetensorsDump url: URL) throws {
        guard !["pt", "pth", "ckpt"].contains(url.pathExtension.lowercased()) else {
            throw SVQModelError(.unsupported, "official checkpoint: \(url.relativePath) is a PyTorch file: convert it to "
                + "safetensors first with python3 scripts/convert_official_checkpoint.py \(url.relativePath)")
        }
        try self.init(contentsOf: url)
    }
}
