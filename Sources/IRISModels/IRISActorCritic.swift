// The IRIS actor-critic: four (3×3 convolution → 2×2 max-pool → ReLU) stages on a 64×64 frame, an LSTM cell
// 1024 → 512, and linear actor and critic heads; the λ-returns it learns from and its losses, as the official
// `ActorCritic.compute_loss` computes them. Property names are the official state_dict's.

import SVQEngine
import SVQNN

/// Frames → action logits and a value, one step at a time with a recurrent state.
public final class IRISActorCritic: Module {
    public let conv1: Conv2d
    public let conv2: Conv2d
    public let conv3: Conv2d
    public let conv4: Conv2d
    public let lstm: LSTMCell
    public let criticLinear: Linear
    public let actorLinear: Linear
    public let numActions: Int

    /// Frame side the network takes: four halvings to 4×4, times 64 channels, is the LSTM's 1024 inputs.
    public static let frameSize = 64
    public static let hiddenSize = 512

    /// A randomly initialised actor-critic (PyTorch's default initialisation).
    public init(numActions: Int, rng: inout RandomGenerator) throws {
        guard numActions >= 1 else { throw IRISError(.invalidConfig, "invalid IRIS actor-critic: \(numActions) actions") }
        self.numActions = numActions
        conv1 = Conv2d(3, 32, kernelSize: 3, padding: 1, rng: &rng)
        conv2 = Conv2d(32, 32, kernelSize: 3, padding: 1, rng: &rng)
        conv3 = Conv2d(32, 64, kernelSize: 3, padding: 1, rng: &rng)
        conv4 = Conv2d(64, 64, kernelSize: 3, padding: 1, rng: &rng)
        lstm = LSTMCell(inputSize: 1024, hiddenSize: Self.hiddenSize, rng: &rng)
        criticLinear = Linear(Self.hiddenSize, 1, rng: &rng)
        actorLinear = Linear(Self.hiddenSize, numActions, rng: &rng)
    }

    /// The LSTM's hidden and cell states, `[B, 512]` each.
    public struct State {
        public var hidden: Tensor
        public var cell: Tensor

        public init(hidden: Tensor, cell: Tensor) { (self.hidden, self.cell) = (hidden, cell) }

        /// Zero states for `batch` sequences (the official `reset`).
        public init(batch: Int) {
            hidden = Tensor(zeros: [batch, IRISActorCritic.hiddenSize])
            cell = Tensor(zeros: [batch, IRISActorCritic.hiddenSize])
        }
    }

    /// One step on frames `[B, 3, 64, 64]` in [0, 1] from `state` → action logits `[B, A]`, values `[B]` and the
    /// next state.
    /// - Throws: `.invalidInput` for frames of another shape or a state of another batch.
    public func callAsFunction(_ frames: Tensor, state: State) throws -> (logits: Tensor, values: Tensor, state: State) {
        let size = Self.frameSize
        guard frames.rank == 4, frames.shape[1...] == [3, size, size], frames.shape[0] >= 1 else {
            throw IRISError(.invalidInput, "IRIS actor-critic: frames must be [batch, 3, \(size), \(size)], got \(frames.shape)")
        }
        let b = frames.shape[0]
        guard state.hidden.shape == [b, Self.hiddenSize], state.cell.shape == [b, Self.hiddenSize] else {
            throw IRISError(.invalidInput, "IRIS actor-critic: the state holds \(state.hidden.shape) for \(b) frames")
        }
        var x = frames * 2 - 1
        // Officially pool then ReLU; ReLU is monotone, so it commutes with the max and is fused into the convolution.
        for conv in [conv1, conv2, conv3, conv4] { x = maxPooled2x2(conv(x, relu: true)) }
        let (h, c) = lstm(x.reshaped([b, 1024]), state.hidden, state.cell)
        return (actorLinear(h), criticLinear(h).reshaped([b]), State(hidden: h, cell: c))
    }
}

/// λ-returns over `[B, T]` rewards, values and ends (1 where the episode ends), as the official
/// `compute_lambda_returns`: Λ_T−1 = V_T−1 and, going back,
/// Λ_t = r_t + γ·(1 − end_t)·((1 − λ)·V_t+1 + λ·Λ_t+1). Plain values: the official code computes them without
/// gradients.
public func irisLambdaReturns(rewards: [Float], values: [Float], ends: [Bool], batch: Int, steps: Int,
                              gamma: Float, lambda: Float) -> [Float] {
    precondition(batch >= 0 && steps >= 1 && rewards.count == batch * steps && values.count == batch * steps && ends.count == batch * steps,
                 "irisLambdaReturns: rewards, values and ends must each hold batch · steps values")
    var returns = [Float](repeating: 0, count: batch * steps)
    for s in 0..<batch {
        let base = s * steps
        var next = values[base + steps - 1]
        returns[base + steps - 1] = next
        for t in stride(from: steps - 2, through: 0, by: -1) {
            let continues: Float = ends[base + t] ? 0 : 1
            // Summed in the official order: r + c·γ·(1 − λ)·V_t+1, then + c·γ·λ·Λ_t+1.
            let value = rewards[base + t] + continues * gamma * (1 - lambda) * values[base + t + 1]
            next = value + continues * gamma * lambda * next
            returns[base + t] = next
        }
    }
    return returns
}

extension IRISActorCritic {
    /// The official actor-critic losses on `T` imagined steps: `logits` `[B, T, A]`, the `actions` taken
    /// `[B, T]`, `values` `[B, T]` and the λ-returns of the first `T − 1` steps `[B, T − 1]` (targets, no
    /// gradient). Over steps 0 ..< T − 1:
    /// `actions` = −mean(log π(a)·(Λ − sg V)), `entropy` = −entropyWeight·mean(H(π)), `values` = mean((V − Λ)²).
    public static func losses(logits: Tensor, actions: IntTensor, values: Tensor, lambdaReturns: [Float],
                              entropyWeight: Float) throws -> (actions: Tensor, entropy: Tensor, values: Tensor) {
        guard logits.rank == 3, logits.shape[1] >= 2 else {
            throw IRISError(.invalidInput, "IRIS actor-critic loss: logits must be [batch, steps ≥ 2, actions], got \(logits.shape)")
        }
        let (b, t, a) = (logits.shape[0], logits.shape[1], logits.shape[2])
        guard actions.shape == [b, t], values.shape == [b, t], lambdaReturns.count == b * (t - 1) else {
            throw IRISError(.invalidInput, "IRIS actor-critic loss: actions \(actions.shape) and values \(values.shape) must be [\(b), \(t)], λ-returns [\(b), \(t - 1)]")
        }
        guard actions.values.allSatisfy({ $0 >= 0 && Int($0) < a }) else {
            throw IRISError(.invalidInput, "IRIS actor-critic loss: actions must lie in 0..<\(a)")
        }
        // Steps 0 ..< T − 1 of each sequence, as rows of the flattened [B·T] axis.
        let rows = IntTensor((0..<b).flatMap { s in (0..<(t - 1)).map { s * t + $0 } }, shape: [b * (t - 1)])
        let logProbabilities = embedding(rows, table: logits.reshaped([b * t, a])).logSoftmax(axis: -1)
        let v = embedding(rows, table: values.reshaped([b * t, 1])).reshaped([b * (t - 1)])
        let returns = Tensor(lambdaReturns, shape: [b * (t - 1)])
        let taken = oneHot(IntTensor(rows.values.map { actions.values[Int($0)] }, shape: [b * (t - 1)]), classes: a)
        let advantages = returns - v.detached()
        let actionLoss = -((logProbabilities * taken).sum(axis: -1) * advantages).mean()
        let entropy = -(logProbabilities.exp() * logProbabilities).sum(axis: -1).mean()
        return (actionLoss, -entropyWeight * entropy, (v - returns).square().mean())
    }
}
