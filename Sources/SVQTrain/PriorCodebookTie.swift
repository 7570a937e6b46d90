// Training the prior's code embedding and output layer through the SVQ codebooks (an option of
// `svq train-prior`, not in the official code).
//
// A factor value is often spread over several codes of its block (on the bundled model, each colour over
// three to seven of block 2's 32 codes), and a prior with one free vector per code must learn separately,
// for each of them, what the others already taught it — for instance which colours a scene shares. The
// codebook knows these codes belong together: their prototypes lie close. So while training, each code's
// embedding row and output row is a free vector plus a learned per-block projection of its (unit-length)
// prototype; whatever the projection learns from one code carries over to the codes near it.
//
// The prototypes are fixed while the prior trains, so the sum folds into the ordinary
// `code_embedding.weight` and `head.weight` after every step: weights files, the runtime and the ONNX
// graphs see a plain prior. Only the trainer (and its checkpoints) hold the free parts and projections.

import SVQEngine
import SVQModel

public final class PriorCodebookTie {
    /// Free part of the code embedding `[M·P, D]`.
    public let embeddingFree: Tensor
    /// Per-block projection of the prototypes into the embedding `[M, D, F]`.
    public let embeddingProjection: Tensor
    /// Free part of the output layer `[M·P, D]`.
    public let headFree: Tensor
    /// Per-block projection of the prototypes into the output layer `[M, D, F]`.
    public let headProjection: Tensor

    let blocks: Int, prototypeCount: Int, width: Int
    /// The codebooks with each prototype scaled to unit length `[M, P, F]`.
    let prototypes: Tensor

    /// A tie that starts the prior's embedding and output layer from the prototypes alone: free parts zero,
    /// projections drawn at the scale of the layers they replace (embedding N(0, 1) per entry, output
    /// layer as nn.Linear's default, variance 1/(3D)), so that codes with close prototypes start close.
    public init(prior: SemanticPrior, codebooks: Tensor, rng: inout RandomGenerator) {
        precondition(codebooks.shape.count == 3 && codebooks.shape[0] * codebooks.shape[1] == prior.vocabularySize,
                     "codebooks \(codebooks.shape) do not match the prior's vocabulary \(prior.vocabularySize)")
        blocks = codebooks.shape[0]
        prototypeCount = codebooks.shape[1]
        let features = codebooks.shape[2]
        width = prior.dModel
        var rows = codebooks.scalars
        for r in 0..<(blocks * prototypeCount) {
            var norm: Float = 0
            for f in 0..<features { norm += rows[r * features + f] * rows[r * features + f] }
            let scale = 1 / max(norm.squareRoot(), 1e-12)
            for f in 0..<features { rows[r * features + f] *= scale }
        }
        prototypes = Tensor(rows, shape: codebooks.shape)
        let vocabulary = blocks * prototypeCount
        embeddingFree = Tensor(zeros: [vocabulary, width])
        headFree = Tensor(zeros: [vocabulary, width])
        embeddingProjection = rng.normal([blocks, width, features])
        let bound = 1 / Float(width).squareRoot()
        headProjection = rng.uniform([blocks, width, features], low: -bound, high: bound)
    }

    /// The tensors a checkpoint keeps, by name.
    public func namedTensors() -> [(name: String, tensor: Tensor)] {
        [("embedding_free", embeddingFree), ("embedding_projection", embeddingProjection),
         ("head_free", headFree), ("head_projection", headProjection)]
    }

    /// Writes free + prototypes·projectionᵀ into the prior's code embedding and output layer.
    public func fold(into prior: SemanticPrior) {
        prior.codeEmbedding.weight.assign(combined(embeddingFree, embeddingProjection))
        prior.head.weight.assign(combined(headFree, headProjection))
    }

    /// Moves the gradients `backward()` left on the prior's code embedding and output layer onto the
    /// free parts and projections (the chain rule through `fold`), and clears the prior's.
    public func takeGradients(from prior: SemanticPrior) {
        for (weight, free, projection) in [(prior.codeEmbedding.weight, embeddingFree, embeddingProjection),
                                           (prior.head.weight, headFree, headProjection)] {
            let g = weight.grad ?? Tensor(zeros: weight.shape)
            free.grad = g
            projection.grad = projectionGradient(g)
            weight.grad = nil
        }
    }

    /// Rows of block m: free[m·P + p] + projection[m] · prototype[m, p].
    private func combined(_ free: Tensor, _ projection: Tensor) -> Tensor {
        withoutGradients {
            free + matmul(prototypes, projection, transposeB: true).reshaped([blocks * prototypeCount, width])
        }
    }

    /// d/d projection[m] = Σ_p grad[m·P + p] ⊗ prototype[m, p].
    private func projectionGradient(_ g: Tensor) -> Tensor {
        withoutGradients { matmul(g.reshaped([blocks, prototypeCount, width]), prototypes, transposeA: true) }
    }
}
