// Adam and AdamW with parameter groups, and gradient clipping.

import SVQEngine
import SVQNN

#if canImport(Glibc)
import Glibc
#endif

/// A set of parameters sharing a base learning rate, schedule and weight decay.
public struct ParameterGroup {
    public var name: String
    public var parameters: [(name: String, tensor: Tensor)]
    public var learningRate: Float
    public var schedule: LearningRateSchedule
    public var weightDecay: Float

    public init(name: String, parameters: [(name: String, tensor: Tensor)], learningRate: Float,
                schedule: LearningRateSchedule = .constant, weightDecay: Float = 0) {
        self.name = name
        self.parameters = parameters
        self.learningRate = learningRate
        self.schedule = schedule
        self.weightDecay = weightDecay
    }

    /// This group's rate at a step.
    public func learningRate(at step: Int) -> Float { learningRate * schedule.factor(at: step) }
}

/// Adam (Kingma & Ba) with PyTorch's update arithmetic; `decoupledWeightDecay` makes it AdamW
/// (Loshchilov & Hutter): the decay multiplies the weights directly instead of joining the gradient.
///
/// ```swift
/// let opt = Adam(groups: [ParameterGroup(name: "all", parameters: model.namedParameters(), learningRate: 1e-3)])
/// loss.backward(); opt.step(); model.zeroGrad()
/// ```
public final class Adam {
    public private(set) var groups: [ParameterGroup]
    public let beta1: Float, beta2: Float, eps: Float
    public let decoupledWeightDecay: Bool
    /// Number of updates applied so far; the next update uses the schedules at this (0-based) step.
    public private(set) var stepCount: Int = 0
    /// First and second moment estimates, one pair per parameter, in group order.
    private var moments: [[(m: Tensor, v: Tensor)]]

    public init(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                decoupledWeightDecay: Bool = false) {
        self.groups = groups
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.decoupledWeightDecay = decoupledWeightDecay
        moments = groups.map { g in g.parameters.map { (Tensor(zeros: $0.tensor.shape), Tensor(zeros: $0.tensor.shape)) } }
    }

    /// AdamW: Adam with decoupled weight decay.
    public static func adamW(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8) -> Adam {
        Adam(groups: groups, beta1: beta1, beta2: beta2, eps: eps, decoupledWeightDecay: true)
    }

    /// Current learning rate of each group.
    public var currentLearningRates: [Float] { groups.map { $0.learningRate(at: stepCount) } }

    /// Applies one update from the parameters' `.grad` (parameters without a gradient are skipped).
    public func step() {
        stepCount += 1
        let t = Float(stepCount)
        let bc1 = 1 - powf(beta1, t), bc2 = 1 - powf(beta2, t)
        let b1 = beta1, b2 = beta2, eps = eps
        for (gi, group) in groups.enumerated() {
            let lr = group.learningRate(at: stepCount - 1)
            let wd = group.weightDecay
            let decoupled = decoupledWeightDecay
            for (pi, (_, p)) in group.parameters.enumerated() {
                guard let grad = p.grad else { continue }
                let (mT, vT) = moments[gi][pi]
                let w = p.data, g = grad.data, m = mT.data, v = vT.data
                let stepSize = lr / bc1
                let sqrtBC2 = bc2.squareRoot()
                for i in 0..<p.count {
                    var gv = g[i]
                    if wd != 0 {
                        if decoupled { w[i] *= 1 - lr * wd } else { gv += wd * w[i] }
                    }
                    m[i] = b1 * m[i] + (1 - b1) * gv
                    v[i] = b2 * v[i] + (1 - b2) * gv * gv
                    let denom = v[i].squareRoot() / sqrtBC2 + eps
                    w[i] -= stepSize * m[i] / denom
                }
            }
        }
    }

    /// The optimizer's state as named tensors (`<group>.<param>.exp_avg` / `.exp_avg_sq`) for checkpoints.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        for (gi, group) in groups.enumerated() {
            for (pi, (name, _)) in group.parameters.enumerated() {
                out.append(("\(group.name).\(name).exp_avg", moments[gi][pi].m))
                out.append(("\(group.name).\(name).exp_avg_sq", moments[gi][pi].v))
            }
        }
        return out
    }

    /// Restores the step count (moments are restored by assigning into `stateTensors()`).
    public func restore(stepCount: Int) {
        precondition(stepCount >= 0, "negative optimizer step")
        self.stepCount = stepCount
    }
}

/// Which norm gradient clipping measures.
public enum GradientNorm: Sendable {
    case l2
    case infinity
}

/// Scales all gradients so their joint norm is at most `maxNorm` (PyTorch's `clip_grad_norm_`: factor
/// maxNorm / (norm + 1e-6) when below 1). Returns the norm before clipping.
@discardableResult
public func clipGradients(_ parameters: [Tensor], maxNorm: Float, norm: GradientNorm = .l2) -> Float {
    let grads = parameters.compactMap(\.grad)
    var total: Float = 0
    switch norm {
    case .infinity:
        for g in grads { for i in 0..<g.count { total = max(total, abs(g.data[i])) } }
    case .l2:
        var s: Double = 0
        for g in grads { for i in 0..<g.count { s += Double(g.data[i]) * Double(g.data[i]) } }
        total = Float(s.squareRoot())
    }
    let coef = maxNorm / (total + 1e-6)
    if coef < 1 {
        for g in grads { for i in 0..<g.count { g.data[i] *= coef } }
    }
    return total
}
