// The end of a training step, the same for every trainer: after `backward()`, refuse a gradient with a NaN or
// infinity, or clip the gradients and let the optimizer step.

import SVQEngine
import SVQNN
import SVQOptim

/// What `applyGradients` did.
enum GradientStep {
    /// The optimizer stepped; the largest absolute gradient entry before clipping.
    case applied(gradientMax: Float)
    /// Not applied: these parameters' gradients are not finite (described by `nonFiniteGradients`).
    case skipped(nonFinite: String)
}

/// Clips the gradients of `trained` so their largest absolute entry is at most `clipNorm` (the official
/// `clip_grad_norm_(…, 'inf')`) and steps `optimizer`, unless a gradient is not finite: then nothing is
/// applied, before Adam spreads it into the weights, so the last checkpoint stays good. `module`'s gradients
/// are zeroed either way.
func applyGradients(_ optimizer: Adam, clipping trained: [Tensor], to clipNorm: Float, zeroing module: Module) -> GradientStep {
    defer { module.zeroGrad() }
    if let bad = nonFiniteGradients(optimizer) { return .skipped(nonFinite: bad) }
    let gradientMax = clipGradients(trained, maxNorm: clipNorm, norm: .infinity)
    optimizer.step()
    return .applied(gradientMax: gradientMax)
}

/// The trained parameters whose gradients have a NaN or infinity, in optimizer order, described.
func nonFiniteGradients(_ optimizer: Adam) -> String? {
    var bad: [String] = []
    for group in optimizer.groups {
        for (name, t) in group.parameters {
            guard let g = t.grad else { continue }
            let p = g.data
            if (0..<g.count).contains(where: { !p[$0].isFinite }) { bad.append(name) }
        }
    }
    guard let first = bad.first else { return nil }
    return bad.count == 1 ? first : "\(first) (and \(bad.count - 1) more: \(bad.dropFirst().prefix(8).joined(separator: ", "))\(bad.count > 9 ? ", …" : ""))"
}
