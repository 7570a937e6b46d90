// Training losses.

#if canImport(Glibc)
import Glibc
#endif

/// How a loss combines its per-element terms.
public enum Reduction: Sendable {
    case mean
    case sum
}

/// Cross-entropy of `logits` (`[..., C]`) against class indices `targets` (shape `[...]`), fused with the
/// log-softmax so the backward is `softmax − onehot`. `.mean` divides by the number of targets.
public func crossEntropy(_ logits: Tensor, targets: IntTensor, reduction: Reduction = .mean) -> Tensor {
    let c = logits.shape.last ?? 1
    let rows = targets.count
    precondition(logits.count == rows * c, "crossEntropy: logits \(logits.shape) vs targets \(targets.shape)")
    let probs = Tensor(zeros: logits.shape, zeroed: false)   // softmax, kept for backward
    var losses = [Double](repeating: 0, count: rows)
    let pl = logits.data, pp = probs.data
    targets.values.withUnsafeBufferPointer { t in
        losses.withUnsafeMutableBufferPointer { lossOut in
            parallelItems(rows, costPerItem: c * 3) { r in
                let x = pl + r * c, p = pp + r * c
                let target = Int(t[r])
                precondition(target >= 0 && target < c, "crossEntropy target \(target) out of range 0..<\(c)")
                var m = -Float.infinity
                for j in 0..<c { m = max(m, x[j]) }
                var z: Float = 0
                for j in 0..<c { let e = expf(x[j] - m); p[j] = e; z += e }
                let inv = 1 / z
                for j in 0..<c { p[j] *= inv }
                lossOut[r] = Double(m + logf(z) - x[target])
            }
        }
    }
    let total = losses.reduce(0, +)
    let scale: Float = reduction == .mean ? 1 / Float(max(rows, 1)) : 1
    let out = Tensor(scalar: Float(total) * scale)
    if shouldRecord(logits) {
        record(out, inputs: [logits]) { g in
            let s = g.item() * scale
            let gl = Tensor(zeros: probs.shape, zeroed: false)
            let pg = gl.data
            parallelChunks(gl.count) { lo, hi in for i in lo..<hi { pg[i] = pp[i] * s } }
            for (r, t) in targets.values.enumerated() { pg[r * c + Int(t)] -= s }
            return [gl]
        }
    }
    return out
}

/// Squared error Σ(a − b)² (or its mean over elements).
public func mseLoss(_ a: Tensor, _ b: Tensor, reduction: Reduction = .mean) -> Tensor {
    let total = (a - b).square().sum()
    return reduction == .mean ? total / Float(max(a.count, 1)) : total
}
