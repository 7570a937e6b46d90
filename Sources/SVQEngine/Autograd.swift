// Reverse-mode automatic differentiation.
//
// An op records a `GradNode` on its output only when gradients are enabled on this thread and an input
// requires them, so inference (parameters frozen, or inside `withoutGradients`) allocates no graph at all.
// Backward closures capture detached tensors only; capturing the output itself would create a retain cycle.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The op that produced a tensor: its inputs and how to map the output's gradient to theirs.
final class GradNode {
    let inputs: [Tensor]
    /// Given d(loss)/d(output), returns d(loss)/d(input) for each input (nil where no gradient flows).
    let backward: (Tensor) -> [Tensor?]

    init(inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record gradients on the current thread. On by default; per thread, so one model can
/// serve inference on several threads while another trains.
public enum GradMode {
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// Nesting depth of `withoutGradients` on this thread (stored as the TLS pointer's bit pattern).
    private static var disabledDepth: Int {
        get { Int(bitPattern: pthread_getspecific(key)) }
        set { pthread_setspecific(key, UnsafeRawPointer(bitPattern: newValue)) }
    }

    public static var isEnabled: Bool { disabledDepth == 0 }

    /// Runs `body` with recording switched off on this thread.
    public static func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
        disabledDepth += 1
        defer { disabledDepth -= 1 }
        return try body()
    }
}

/// Runs `body` without recording gradients on this thread (inference, EMA updates, evaluation).
@inlinable
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.withoutGradients(body)
}

@inline(__always)
func shouldRecord(_ a: Tensor) -> Bool { a.requiresGrad && GradMode.isEnabled }

@inline(__always)
func shouldRecord(_ a: Tensor, _ b: Tensor) -> Bool { (a.requiresGrad || b.requiresGrad) && GradMode.isEnabled }

@inline(__always)
func shouldRecord(_ ts: [Tensor]) -> Bool { ts.contains { $0.requiresGrad } && GradMode.isEnabled }

@inline(__always)
func record(_ out: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
    out.requiresGrad = true
    out.node = GradNode(inputs: inputs, backward: backward)
}

extension Tensor {
    /// Attaches a custom differentiable op to `output`, for ops defined outside the engine.
    /// `backward` receives d(loss)/d(output) and returns one gradient (or nil) per input, shaped like the input.
    /// Nothing is recorded unless gradients are enabled and some input requires them.
    public static func recordOp(output: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        if shouldRecord(inputs) { record(output, inputs: inputs, backward: backward) }
    }

    /// Whether this tensor was produced by a recorded op.
    public var hasGradientHistory: Bool { node != nil }

    /// Back-propagates from this tensor, accumulating into the `grad` of every leaf that requires gradients.
    ///
    /// A scalar (one-element) tensor seeds with 1; otherwise pass `seed`, shaped like this tensor.
    /// The graph is released as it is consumed, so call once per forward pass.
    public func backward(seed: Tensor? = nil) {
        precondition(seed != nil || count == 1, "backward() without a seed needs a one-element tensor, got \(shape)")
        let start = seed ?? Tensor(repeating: 1, shape: shape)
        precondition(start.count == count, "backward seed \(start.shape) does not match \(shape)")
        guard requiresGrad else { return }
        if node == nil {
            accumulateLeafGradient(self, start)
            return
        }

        // Topological order of the recorded (non-leaf) tensors, by iterative DFS.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard let node = t.node, visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for input in node.inputs where input.node != nil && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }

        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        var owned = Set<ObjectIdentifier>()  // gradients we allocated, safe to add into in place
        GradMode.withoutGradients {
            for t in order.reversed() {
                let id = ObjectIdentifier(t)
                guard let g = grads.removeValue(forKey: id), let node = t.node else { continue }
                owned.remove(id)
                let inputGrads = node.backward(g)
                precondition(inputGrads.count == node.inputs.count, "backward returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (input, maybeGrad) in zip(node.inputs, inputGrads) {
                    guard let gi = maybeGrad, input.requiresGrad else { continue }
                    precondition(gi.count == input.count, "gradient \(gi.shape) does not match input \(input.shape)")
                    if input.node == nil {
                        accumulateLeafGradient(input, gi)
                        continue
                    }
                    let iid = ObjectIdentifier(input)
                    if let existing = grads[iid] {
                        if owned.contains(iid) {
                            addInPlace(existing, gi)
                        } else {
                            let sum = existing.copy()
                            addInPlace(sum, gi)
                            grads[iid] = sum
                            owned.insert(iid)
                        }
                    } else {
                        grads[iid] = gi
                    }
                }
                t.node = nil  // free saved activations as soon as they are used
            }
        }
    }

    /// Clears this tensor's accumulated gradient.
    public func zeroGrad() { grad = nil }
}

private func accumulateLeafGradient(_ leaf: Tensor, _ g: Tensor) {
    if let existing = leaf.grad {
        addInPlace(existing, g)
    } else {
        let own = Tensor(zeros: leaf.shape, zeroed: false)
        own.data.update(from: g.data, count: g.count)
        leaf.grad = own
    }
}

/// dst += src elementwise (same element count). Not recorded.
func addInPlace(_ dst: Tensor, _ src: Tensor) {
    precondition(dst.count == src.count)
    let d = dst.data, s = src.data
    parallelChunks(dst.count) { lo, hi in
        for i in lo..<hi { d[i] += s[i] }
    }
}
