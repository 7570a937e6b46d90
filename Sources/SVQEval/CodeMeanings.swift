// The code legend of a model (`CodeLegend`), measured on the slots `evaluate` matched to ground-truth
// objects: each block is given the factor it predicts furthest above chance, and each of its codes the value
// of that factor seen most often with it.

import SVQData
import SVQModels

public enum CodeMeanings {
    /// Readable names of factor values, in `FactorAlignment.factorNames` order. Size, x and y are the sprites
    /// generator's bins (`SpriteObject.sizeBin`, `xBin`, `yBin`).
    public static func valueName(factor: Int, value: Int) -> String {
        let names: [String]
        switch factor {
        case 0: names = SpriteShape.allCases.map(\.name)
        case 1: names = SpritePalette.colours.map(\.name)
        case 2: names = ["small", "medium", "large"]
        case 3: names = ["left", "centre-left", "centre-right", "right"]
        case 4: names = ["top", "upper middle", "lower middle", "bottom"]
        default: names = []
        }
        if names.indices.contains(value) { return names[value] }
        let factorName = FactorAlignment.factorNames.indices.contains(factor) ? FactorAlignment.factorNames[factor] : "factor \(factor)"
        return "\(factorName) \(value)"
    }

    /// The legend over `matches` (slots with `alignment.factors[*].blockAccuracy.count` codes, each in
    /// `0..<prototypes`) and the factor table `FactorAlignment.report` made of them.
    public static func legend(_ matches: [MatchedSlot], alignment: FactorAlignmentReport, prototypes: Int) -> CodeLegend {
        let blocks = alignment.factors.first?.blockAccuracy.count ?? 0
        return CodeLegend(blocks: (0..<blocks).map { b in
            // Ties go to the earlier factor; every factor row has one accuracy per block.
            let f = alignment.factors.indices.max { x, y in
                let (a, c) = (alignment.factors[x], alignment.factors[y])
                return (a.blockAccuracy[b] - a.chance, y) < (c.blockAccuracy[b] - c.chance, x)
            } ?? 0
            let row = alignment.factors[f]
            let factorIndex = FactorAlignment.factorNames.firstIndex(of: row.factor) ?? f
            var counts = [[Int: Int]](repeating: [:], count: prototypes)
            for m in matches where m.codes[b] >= 0 && m.codes[b] < prototypes {
                counts[m.codes[b]][m.factors[factorIndex], default: 0] += 1
            }
            let codes = counts.enumerated().map { code, values -> CodeLegend.Code in
                let objects = values.values.reduce(0, +)
                // The most frequent value; ties go to the smaller value.
                guard let top = values.max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) }) else {
                    return CodeLegend.Code(code: code, value: nil, share: 0, objects: 0)
                }
                return CodeLegend.Code(code: code, value: valueName(factor: factorIndex, value: top.key),
                                       share: Double(top.value) / Double(objects), objects: objects)
            }
            return CodeLegend.Block(block: b, factor: row.factor, accuracy: row.blockAccuracy[b], chance: row.chance, codes: codes)
        })
    }
}
