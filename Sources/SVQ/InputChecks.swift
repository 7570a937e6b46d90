// Every check an input must pass before it reaches SVQModel, whose functions assume valid input (some
// with preconditions that would stop the process). Each failure names the problem and what was expected.

extension ModelInfo {
    /// The batch size of NHWC images `[B, H, W, C]` that fit this model.
    @_spi(CAPI) public func checkImageShape(_ shape: [Int]) throws -> Int {
        let s = imageSize, c = imageChannels
        guard shape.count == 4 else {
            throw SVQError(.shapeMismatch, "images must be [batch, height, width, channels] (NHWC), got shape \(shape); add a batch axis of 1 for a single image")
        }
        guard shape[0] >= 1 else {
            throw SVQError(.invalidArgument, "batch must be at least 1, got \(shape[0])")
        }
        guard shape[1] == s, shape[2] == s, shape[3] == c else {
            throw SVQError(.shapeMismatch, "this model takes \(s)×\(s) images with \(c) channels ([batch, \(s), \(s), \(c)]), got \(shape[1])×\(shape[2]) with \(shape[3]) channels")
        }
        return shape[0]
    }

    /// The batch size of local codes `[B, N, M]`, each in `0..<P`. `what` names the array in messages.
    /// With `mask`, only the codes where it is true are checked (the others are ignored by the caller).
    func checkCodes(_ codes: ShapedArray<Int32>, _ what: String, mask: [Bool]? = nil) throws -> Int {
        let n = numSlots, m = numBlocks, p = codebookSize
        guard codes.shape.count == 3 else {
            throw SVQError(.shapeMismatch, "\(what) must be [batch, \(n), \(m)] ([batch, slots, blocks]), got shape \(codes.shape)")
        }
        guard codes.shape[0] >= 1 else {
            throw SVQError(.invalidArgument, "batch must be at least 1, got \(codes.shape[0])")
        }
        guard codes.shape[1] == n, codes.shape[2] == m else {
            throw SVQError(.shapeMismatch, "\(what) must be [batch, \(n), \(m)] for this model (\(n) slots × \(m) blocks), got shape \(codes.shape)")
        }
        for (i, code) in codes.scalars.enumerated() where (mask?[i] ?? true) && !(code >= 0 && Int(code) < p) {
            let per = n * m
            throw SVQError(.invalidValue, "\(what)[\(i / per), \(i % per / m), \(i % m)] = \(code) is outside 0 to \(p - 1) (the codebook has \(p) entries)")
        }
        return codes.shape[0]
    }
}

/// Float pixels must be finite and in [0, 1]; the message gives the first bad one's NHWC position.
func checkPixels(_ pixels: [Float], shape: [Int]) throws {
    guard let i = pixels.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) else { return }
    let h = shape[1], w = shape[2], c = shape[3]
    let position = "[\(i / (h * w * c)), \(i / (w * c) % h), \(i / c % w), \(i % c)]"
    let value = pixels[i]
    let why = value.isNaN ? "NaN" : value.isInfinite ? "infinite" : "outside [0, 1]"
    throw SVQError(.invalidValue, "pixel \(position) is \(value) (\(why)); float pixels must be in [0, 1] (divide bytes by 255, or pass the uint8 image)")
}

/// Temperature and top-k of a draw: temperature > 0 and finite, top-k nil (all) or at least 1.
func checkDraw(temperature: Float, topK: Int?) throws {
    guard temperature > 0 && temperature.isFinite else {
        throw SVQError(.invalidArgument, "temperature must be positive and finite, got \(temperature)")
    }
    if let k = topK, k < 1 {
        throw SVQError(.invalidArgument, "top-k must be at least 1 (or none for all), got \(k)")
    }
}
