// The CNN that turns an image into a set of feature vectors for slot attention.

import SVQEngine
import SVQNN

/// Four 5×5 convolutions (ReLU after the first three), a cartesian position embedding, then per position
/// LayerNorm and a two-layer MLP: `[B, C, H, W]` → `[B, F·F, D]` with F = `featureSize`.
///
/// Tensors: `cnn.{0..3}.weight/bias` (`[C,3,5,5]`, `[C,C,5,5]`, `[C,C,5,5]`, `[D,C,5,5]`),
/// `position_projection.weight/bias` (`[D, 4]`, `[D]`: a linear map of the grid [x, y, 1−x, 1−y]),
/// `layer_norm.*` `[D]`, `mlp1.*` `[D, D]`, `mlp2.*` `[D, D]`.
public final class ImageEncoder: Module {
    public let cnn: [Conv2d]
    public let positionProjection: Linear
    public let layerNorm: LayerNorm
    public let mlp1: Linear
    public let mlp2: Linear
    let grid: PositionGrid
    let featureSize: Int

    public init(config c: SVQConfig, rng: inout RandomGenerator) {
        let strides = c.encoderStrides
        let chans = [c.imageChannels, c.cnnHiddenSize, c.cnnHiddenSize, c.cnnHiddenSize, c.dModel]
        cnn = (0..<4).map { i in
            Conv2d(chans[i], chans[i + 1], kernelSize: 5, stride: strides[i], padding: 2,
                   weightInit: i < 3 ? .kaimingUniform : .xavierUniform(), rng: &rng)
        }
        positionProjection = Linear(4, c.dModel, weightInit: .xavierUniform(), rng: &rng)
        layerNorm = LayerNorm(c.dModel)
        mlp1 = Linear(c.dModel, c.dModel, weightInit: .kaimingUniform, rng: &rng)
        mlp2 = Linear(c.dModel, c.dModel, weightInit: .xavierUniform(), rng: &rng)
        grid = PositionGrid(side: c.featureSize)
        featureSize = c.featureSize
    }

    /// `images` `[B, C, H, W]` in [0, 1] → features `[B, F·F, D]`.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        var x = images
        for (i, conv) in cnn.enumerated() { x = conv(x, relu: i < 3) }
        let b = x.shape[0], d = x.shape[1]
        precondition(x.shape[2] == featureSize && x.shape[3] == featureSize,
                     "encoder feature map \(x.shape[2])×\(x.shape[3]) is not \(featureSize)×\(featureSize): image size does not match the config")
        // Channels-last, then the position embedding as a linear map of each position's grid vector.
        let flat = x.reshaped([b, d, featureSize * featureSize]).permuted([0, 2, 1])      // [B, F·F, D]
        let positioned = flat + positionProjection(grid.values)                          // [F·F, D] broadcast
        return mlp2(mlp1(layerNorm(positioned)).relu())
    }
}

/// The fixed grid [x, y, 1−x, 1−y] at cell centres (i + 0.5)/F, one row per position (row-major).
/// Not a weight: it is rebuilt from the size, so weights files do not carry it.
public struct PositionGrid {
    public let values: Tensor   // [F·F, 4]

    public init(side f: Int) {
        var v = [Float](repeating: 0, count: f * f * 4)
        for r in 0..<f {
            for c in 0..<f {
                let x = (Float(c) + 0.5) / Float(f), y = (Float(r) + 0.5) / Float(f)
                let i = (r * f + c) * 4
                v[i] = x; v[i + 1] = y; v[i + 2] = 1 - x; v[i + 3] = 1 - y
            }
        }
        values = Tensor(v, shape: [f * f, 4])
    }
}
