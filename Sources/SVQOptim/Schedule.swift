// Learning-rate schedules: a multiplier of a group's base rate as a function of the (0-based) step.

#if canImport(Glibc)
import Glibc
#endif

/// `factor(step) = warmup(step) · decay(step)`, as the official SVQ trainer sets its rates each step.
///
/// ```swift
/// // SVQ's encoder group: 30k-step linear warmup, then halving every 250k steps.
/// let s = LearningRateSchedule(warmupSteps: 30_000, decay: .halfLife(steps: 250_000))
/// s.factor(at: 15_000)   // 0.5 · 0.5^(15000/250000)
/// ```
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public enum Decay: Sendable, Codable, Equatable {
        case none
        /// 0.5^(step / steps): exponential decay that halves every `steps`.
        case halfLife(steps: Int)
        /// Cosine from 1 down to `floor` over `totalSteps` (counted from step 0), then `floor`.
        case cosine(totalSteps: Int, floor: Float)
    }

    /// Linear ramp from 0 at step 0 to 1 at `warmupSteps` (0: no warmup).
    public var warmupSteps: Int
    public var decay: Decay

    public init(warmupSteps: Int = 0, decay: Decay = .none) {
        precondition(warmupSteps >= 0, "negative warmup")
        self.warmupSteps = warmupSteps
        self.decay = decay
    }

    public static let constant = LearningRateSchedule()

    public func factor(at step: Int) -> Float {
        let warm: Float = warmupSteps > 0 && step < warmupSteps ? Float(step) / Float(warmupSteps) : 1
        let d: Float
        switch decay {
        case .none:
            d = 1
        case .halfLife(let steps):
            d = steps > 0 ? powf(0.5, Float(step) / Float(steps)) : 1
        case .cosine(let total, let floor):
            let t = total > 0 ? min(Float(step) / Float(total), 1) : 1
            d = floor + (1 - floor) * 0.5 * (1 + cosf(Float.pi * t))
        }
        return warm * d
    }
}

/// A value annealed from `start` to `end` by half a cosine over `steps` (e.g. the Gumbel temperature τ).
public func cosineAnneal(step: Int, start: Float, end: Float, steps: Int) -> Float {
    guard steps > 0, step < steps else { return end }
    let t = Float(step) / Float(steps)
    return end + (start - end) * 0.5 * (1 + cosf(Float.pi * t))
}
