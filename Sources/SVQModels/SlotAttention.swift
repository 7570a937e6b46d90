// Block slot attention with a vector quantizer per block: the part of SVQ that finds objects and
// describes each with M discrete codes.

import SVQEngine
import SVQNN

/// M codebooks of P prototypes each; block m of a slot snaps to the nearest prototype of codebook m.
///
/// Tensors (buffers, updated by EMA in training, never by gradients): `codebooks` `[M, P, w]`,
/// `ema_weight` `[M, P, w]`, `ema_cluster_size` `[M, P]`; w = S/M.
public final class BlockVectorQuantizer: Module {
    public let codebooks: Tensor
    public let emaWeight: Tensor
    public let emaClusterSize: Tensor

    public init(blocks: Int, prototypes: Int, width: Int, rng: inout RandomGenerator) {
        codebooks = rng.normal([blocks, prototypes, width])
        emaWeight = rng.normal([blocks, prototypes, width])
        emaClusterSize = Tensor(zeros: [blocks, prototypes])
    }

    public var blocks: Int { codebooks.shape[0] }
    public var prototypes: Int { codebooks.shape[1] }
    public var width: Int { codebooks.shape[2] }

    /// Nearest prototype of each block: `slots` `[B, N, S]` → local codes `[B, N, M]` in `0..<P`.
    /// Distances are sums of squared differences (not the expanded form) so near-ties resolve exactly as
    /// the reference does; ties go to the lower index.
    public func nearestCodes(_ slots: Tensor) -> IntTensor {
        let m = blocks, p = prototypes, w = width
        let rows = slots.count / w          // B·N·M, block = row % M
        var codes = [Int32](repeating: 0, count: rows)
        let q = slots.data, e = codebooks.data
        codes.withUnsafeMutableBufferPointer { out in
            let outBase = out.baseAddress!
            Engine.parallelFor(rows, costPerItem: p * w) { r in
                let qr = q + r * w
                let book = e + (r % m) * p * w
                var best = 0
                var bestDist = Float.infinity
                for j in 0..<p {
                    let ej = book + j * w
                    var d: Float = 0
                    for c in 0..<w { let t = qr[c] - ej[c]; d += t * t }
                    if d < bestDist { bestDist = d; best = j }
                }
                outBase[r] = Int32(best)
            }
        }
        return IntTensor(codes, shape: Array(slots.shape.dropLast()) + [m])
    }

    /// The prototype vectors for local `codes` `[..., M]` → `[..., S]` (blocks concatenated).
    public func lookup(_ codes: IntTensor) -> Tensor {
        let m = blocks, p = prototypes, w = width
        precondition(codes.shape.last == m, "codes \(codes.shape) do not end in \(m) blocks")
        let out = Tensor(zeros: Array(codes.shape.dropLast()) + [m * w], zeroed: false)
        let e = codebooks.data
        for (i, c) in codes.values.enumerated() {
            precondition(c >= 0 && Int(c) < p, "code \(c) out of range 0..<\(p)")
            (out.data + i * w).update(from: e + ((i % m) * p + Int(c)) * w, count: w)
        }
        return out
    }

    /// Quantizes `slots` `[B, N, S]`: the codebook vectors in the forward pass, the identity in the backward
    /// pass (straight-through), plus the commitment loss mean((sg(e) − z)²) and the codes.
    public func callAsFunction(_ slots: Tensor) -> (quantized: Tensor, codes: IntTensor, commitment: Tensor) {
        let codes = nearestCodes(slots)
        let e = lookup(codes).reshaped(slots.shape)
        let commitment = mseLoss(slots, e)
        return (straightThrough(value: e, gradientPath: slots), codes, commitment)
    }

    /// Training: quantizes like `callAsFunction(_:)` (from the codebooks as they were), then updates the
    /// codebooks from this batch by EMA and restarts dead codes (`updateCodebooks`).
    public func callAsFunction(_ slots: Tensor, updatingCodebooks rng: inout RandomGenerator)
        -> (quantized: Tensor, codes: IntTensor, commitment: Tensor) {
        let out = callAsFunction(slots)
        updateCodebooks(queries: slots, codes: out.codes, rng: &rng)
        return out
    }

    /// EMA decay of cluster sizes and sums.
    public static let emaDecay: Float = 0.99
    /// Laplace smoothing ε of the cluster sizes.
    public static let laplaceEpsilon: Float = 1e-5
    /// A code whose smoothed cluster size falls below this is dead and restarted.
    public static let deadThreshold: Float = 1
    /// Restarted codes are batch queries plus N(0, (restartNoise/√w)²).
    public static let restartNoise: Float = 0.01

    /// The official `vq_ema_dcr` update (docs/reference/nlotm-forward.md §8), given the pre-quantisation
    /// `queries` `[B, N, S]` and their local `codes` `[B, N, M]`:
    /// 1. cluster sizes `cs ← 0.99·cs + 0.01·counts`, then Laplace-smoothed with the total taken over all
    ///    blocks together: `cs ← (cs + ε)/(n + M·P·ε)·n`;
    /// 2. sums `ema_w ← 0.99·ema_w + 0.01·Σ(assigned queries)`;
    /// 3. live codes (`cs ≥ 1`) become `ema_w / cs`; dead ones become a batch query (chosen by one random
    ///    permutation shared by all blocks, cycling through the batch when it has fewer than P slots) plus
    ///    small noise. Dead codes keep their `ema_w` and `cs`.
    /// Never recorded for autodiff.
    public func updateCodebooks(queries: Tensor, codes: IntTensor, rng: inout RandomGenerator) {
        let m = blocks, p = prototypes, w = width
        let slotCount = queries.count / (m * w)                       // B·N
        precondition(queries.count == slotCount * m * w && codes.count == slotCount * m,
                     "updateCodebooks: queries \(queries.shape) and codes \(codes.shape) disagree")
        let decay = Self.emaDecay, eps = Self.laplaceEpsilon
        let q = queries.data, cs = emaClusterSize.data, ew = emaWeight.data, book = codebooks.data

        var counts = [Float](repeating: 0, count: m * p)
        var sums = [Float](repeating: 0, count: m * p * w)
        for r in 0..<slotCount * m {
            let j = (r % m) * p + Int(codes.values[r])
            counts[j] += 1
            let src = q + r * w
            for c in 0..<w { sums[j * w + c] += src[c] }
        }
        var total: Float = 0
        for j in 0..<m * p {
            cs[j] = decay * cs[j] + (1 - decay) * counts[j]
            total += cs[j]
        }
        let scale = total / (total + Float(m * p) * eps)
        for j in 0..<m * p { cs[j] = (cs[j] + eps) * scale }
        for i in 0..<m * p * w { ew[i] = decay * ew[i] + (1 - decay) * sums[i] }

        // Candidates for dead codes: row k of the repeated batch is slot k % (B·N); one permutation of the
        // repeated rows picks P of them, the same rows for every block.
        let repeats = (p + slotCount - 1) / slotCount
        let order = rng.permutation(slotCount * repeats)
        let noise = rng.normal([p, m, w], std: Self.restartNoise / Float(w).squareRoot())
        for block in 0..<m {
            for code in 0..<p {
                let j = block * p + code
                let dst = book + j * w
                if cs[j] >= Self.deadThreshold {
                    let inv = 1 / cs[j]
                    for c in 0..<w { dst[c] = ew[j * w + c] * inv }
                } else {
                    let slot = order[code] % slotCount
                    let src = q + (slot * m + block) * w
                    let n = noise.data + (code * m + block) * w
                    for c in 0..<w { dst[c] = src[c] + n[c] }
                }
            }
        }
    }

    /// Fraction of each block's codes whose smoothed cluster size is live (≥ 1), `[M]`: a training health figure.
    public var liveFraction: [Float] {
        (0..<blocks).map { b in
            Float((0..<prototypes).filter { emaClusterSize.data[b * prototypes + $0] >= Self.deadThreshold }.count) / Float(prototypes)
        }
    }
}

/// What one encoding produces.
public struct SlotAttentionOutput {
    /// Quantized slots `[B, N, S]` (codebook vectors; straight-through gradients in training).
    public let slots: Tensor
    /// Local codes `[B, N, M]`, each in `0..<P`.
    public let codes: IntTensor
    /// Attention of the last iteration `[B, inputs, N]`: softmax over slots, before ε and renormalisation.
    public let attention: Tensor
    /// mean((sg(e) − z)²) of the last iteration.
    public let commitment: Tensor
}

/// Slot attention (Locatello et al.) with block-wise GRU, block-wise MLP and vector quantization of every
/// block on every iteration.
///
/// Tensors: `slot_mu`, `slot_log_sigma` `[S]` (random init) or `initial_slots` `[N, S]` (learned init);
/// `norm_inputs.*` `[D]`, `norm_slots.*` `[S]`; `project_q.weight` `[S, S]`, `project_k.weight`,
/// `project_v.weight` `[S, D]`; `gru.*` (`BlockGRU`); `mlp1.*`, `mlp2.*` (`BlockLinear` S→H→S);
/// `quantizer.*` (`BlockVectorQuantizer`).
public final class SlotAttention: Module {
    public let slotMu: Tensor?
    public let slotLogSigma: Tensor?
    public let initialSlots: Tensor?
    public let normInputs: LayerNorm
    public let normSlots: LayerNorm
    public let projectQ: Linear
    public let projectK: Linear
    public let projectV: Linear
    public let gru: BlockGRU
    public let mlp1: BlockLinear
    public let mlp2: BlockLinear
    public let quantizer: BlockVectorQuantizer
    let config: SVQConfig

    public init(config c: SVQConfig, rng: inout RandomGenerator) {
        config = c
        let s = c.slotSize
        switch c.slotInit {
        case .random:
            // torch's xavier on a (1, 1, S) tensor: fan_in = fan_out = S.
            slotMu = parameter(WeightInit.xavierUniform().make([s], fanIn: s, fanOut: s, rng: &rng))
            slotLogSigma = parameter(WeightInit.xavierUniform().make([s], fanIn: s, fanOut: s, rng: &rng))
            initialSlots = nil
        case .learned:
            slotMu = nil
            slotLogSigma = nil
            initialSlots = parameter(rng.normal([c.numSlots, s]))
        }
        normInputs = LayerNorm(c.dModel)
        normSlots = LayerNorm(s)
        projectQ = Linear(s, s, bias: false, weightInit: .xavierUniform(), rng: &rng)
        projectK = Linear(c.dModel, s, bias: false, weightInit: .xavierUniform(), rng: &rng)
        projectV = Linear(c.dModel, s, bias: false, weightInit: .xavierUniform(), rng: &rng)
        gru = BlockGRU(size: s, blocks: c.numBlocks, rng: &rng)
        mlp1 = BlockLinear(s, c.mlpHiddenSize, blocks: c.numBlocks, rng: &rng)
        mlp2 = BlockLinear(c.mlpHiddenSize, s, blocks: c.numBlocks, rng: &rng)
        quantizer = BlockVectorQuantizer(blocks: c.numBlocks, prototypes: c.numPrototypes, width: c.blockSize, rng: &rng)
    }

    /// The initial slots from standard-normal `noise` `[B, N, S]`.
    public func initialSlots(noise: Tensor) -> Tensor {
        if let mu = slotMu, let logSigma = slotLogSigma {
            return mu + logSigma.exp() * noise
        }
        return initialSlots! + noise
    }

    /// Runs `numIterations` of attention → GRU → MLP → quantization from `noise`-initialised slots.
    /// `features`: `[B, inputs, D]`; `noise`: `[B, N, S]` standard normal. The codebooks are not changed.
    public func callAsFunction(_ features: Tensor, noise: Tensor) -> SlotAttentionOutput {
        iterate(features, noise: noise) { quantizer($0) }
    }

    /// Training: as `callAsFunction(_:noise:)`, and every iteration's quantization also updates the
    /// codebooks (EMA and dead-code restarts, drawing from `rng`), as the official training does.
    public func callAsFunction(_ features: Tensor, noise: Tensor, updatingCodebooks rng: inout RandomGenerator) -> SlotAttentionOutput {
        var stream = rng
        let out = iterate(features, noise: noise) { quantizer($0, updatingCodebooks: &stream) }
        rng = stream
        return out
    }

    private func iterate(_ features: Tensor, noise: Tensor,
                         quantize: (Tensor) -> (quantized: Tensor, codes: IntTensor, commitment: Tensor)) -> SlotAttentionOutput {
        let c = config
        let b = features.shape[0]
        precondition(noise.shape == [b, c.numSlots, c.slotSize], "slot noise \(noise.shape) must be [\(b), \(c.numSlots), \(c.slotSize)]")
        let x = normInputs(features)                                       // [B, inputs, D]
        var slots = initialSlots(noise: noise)
        var attention = Tensor(zeros: [0])
        var codes = IntTensor(zeros: [0])
        var commitment = Tensor(scalar: 0)
        // The keys x·Wkᵀ and values x·Wvᵀ ([B, inputs, S]) are never formed: with no biases,
        // (x·Wkᵀ)·qᵀ = x·(q·Wk)ᵀ and aᵀ·(x·Wvᵀ) = (aᵀ·x)·Wvᵀ. Each iteration then costs O(inputs·N·D)
        // instead of two O(inputs·D·S) projections up front, which dominate when S ≫ N (S = 2048, N = 4
        // in the paper's CLEVR setting). Same products, summed in a different order.
        let keyScale = 1 / Float(c.slotSize).squareRoot()
        for iteration in 0..<c.numIterations {
            let previous = slots
            let q = projectQ(normSlots(slots))                                         // [B, N, S]
            let qk = matmul(q, projectK.weight) * keyScale                             // [B, N, D]
            attention = matmul(x, qk, transposeB: true).softmax(axis: -1)              // [B, inputs, N], over slots
            let weights = attention + 1e-8
            let normalized = weights / weights.sum(axis: 1, keepDims: true)            // weighted mean over inputs
            let updates = projectV(matmul(normalized, x, transposeA: true))            // [B, N, S]
            let h = gru(updates.reshaped([-1, c.slotSize]), previous.reshaped([-1, c.slotSize]))
                .reshaped([b, c.numSlots, c.slotSize])
            let refined = h + mlp2(mlp1(blockLayerNorm(h, blocks: c.numBlocks)).relu())
            (slots, codes, commitment) = quantize(refined)
            guard CallMonitor.proceed(iteration + 1, of: c.numIterations) else { break }   // cancelled: discarded
        }
        return SlotAttentionOutput(slots: slots, codes: codes, attention: attention, commitment: commitment)
    }
}
