// A model from either file a run leaves behind: a weights file (model.safetensors, the bundled model) or a
// training checkpoint (checkpoint.safetensors, to look at a run that is still going).

import Foundation
import SafeTensors
import SVQModels

extension SVQModel {
    /// The model in a weights file, or the model tensors of a training checkpoint (told apart by the
    /// checkpoint's metadata `format`).
    public static func load(weightsOrCheckpoint url: URL) throws -> SVQModel {
        let file = try SafeTensorsFile(contentsOf: url)
        if file.metadata["format"] == Checkpoint.format { return try Checkpoint.loadModel(file) }
        return try SVQModel(file: file)
    }
}
