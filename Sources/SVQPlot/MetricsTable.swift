// A training run's metrics as `svq train` logs them (metrics.csv, validation.csv): a header of column names,
// the first "step", then one row of numbers per logged step. Read strictly, so that a damaged or foreign
// file is named with its line rather than drawn as a wrong curve.

import Foundation

public struct MetricsTable: Equatable, Sendable {
    /// The column names after "step".
    public var names: [String]
    /// The logged steps, in file order.
    public var steps: [Double]
    /// `values[i][r]`: metric `names[i]` at `steps[r]` (NaN and infinities as logged).
    public var values: [[Double]]

    /// The values of the metric `name`, or nil if the table has no such column.
    public func series(_ name: String) -> [Double]? { names.firstIndex(of: name).map { values[$0] } }

    /// Reads a metrics CSV; `source` names it in errors.
    public init(csv text: String, source: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let header = lines.first else { throw PlotError("\(source) is empty: expected a header line starting with \"step\"") }
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
        guard columns.first == "step", columns.count >= 2 else {
            throw PlotError("\(source) does not start with a header \"step,<metric>,...\" (line 1 is \"\(header.prefix(80))\")")
        }
        guard lines.count >= 2 else { throw PlotError("\(source) has a header but no rows") }
        names = Array(columns.dropFirst())
        steps = []
        values = [[Double]](repeating: [], count: names.count)
        for (index, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                throw PlotError("\(source) line \(index + 1) has \(fields.count) fields, the header \(columns.count)")
            }
            for (k, field) in fields.enumerated() {
                guard let v = Double(field.trimmingCharacters(in: .whitespaces)) else {
                    throw PlotError("\(source) line \(index + 1): \(columns[k]) is \"\(field.prefix(40))\", not a number")
                }
                if k == 0 { steps.append(v) } else { values[k - 1].append(v) }
            }
        }
    }

    /// Reads the metrics CSV at `url`.
    public init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "not readable as UTF-8 text" : "no such file"
            throw PlotError("cannot read \(url.path): \(reason)")
        }
        try self.init(csv: text, source: url.path)
    }
}
