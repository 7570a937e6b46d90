// Official dVAE tensors (`dvae.py`; spec §1a) → our `DVAE`. The layouts are the same (PyTorch conv
// `[out, in, kh, kw]`); only the names differ:
//
//   dvae.encoder.{0…6}.m.*     → encoder.{0…6}.*        (conv + ReLU)
//   dvae.encoder.7.*           → encoder_out.*          (logits)
//   dvae.decoder.0.m.*         → decoder_in.*
//   dvae.decoder.{1…4}.m.*     → decoder_up1.{0…3}.*    (decoder.5 is PixelShuffle: no tensors)
//   dvae.decoder.{6…9}.m.*     → decoder_up2.{0…3}.*    (decoder.10 is PixelShuffle)
//   dvae.decoder.11.*          → decoder_out.*

import SVQEngine
import SVQNN

extension DVAE {
    /// Official name (without `prefix`) of each of our convs, in our order.
    private var officialConvNames: [(official: String, conv: Conv2d)] {
        var out: [(String, Conv2d)] = []
        for (i, conv) in encoder.enumerated() { out.append(("encoder.\(i).m", conv)) }
        out.append(("encoder.\(encoder.count)", encoderOut))
        out.append(("decoder.0.m", decoderIn))
        for (i, conv) in decoderUp1.enumerated() { out.append(("decoder.\(1 + i).m", conv)) }
        for (i, conv) in decoderUp2.enumerated() { out.append(("decoder.\(2 + decoderUp1.count + i).m", conv)) }
        out.append(("decoder.\(3 + decoderUp1.count + decoderUp2.count)", decoderOut))
        return out
    }

    /// Loads the dVAE of an official `NlotmImageAutoEncoder` state_dict (keys `<prefix>encoder.*` and
    /// `<prefix>decoder.*`). Every tensor must exist with the shape our configuration implies; otherwise this
    /// throws an error naming the tensor, and nothing is changed (all tensors are read before any is written).
    public func loadOfficial(_ sd: OfficialStateDict, prefix: String = "dvae.") throws {
        var staged: [(target: Tensor, values: [Float])] = []
        for (name, conv) in officialConvNames {
            let bias = conv.bias!   // every dVAE conv is built with one
            staged.append((conv.weight, try sd.floats(prefix + name + ".weight", shape: conv.weight.shape)))
            staged.append((bias, try sd.floats(prefix + name + ".bias", shape: bias.shape)))
        }
        for (target, values) in staged { target.assign(values) }
    }
}
