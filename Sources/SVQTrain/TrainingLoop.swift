// The loop around any training task: steps, a progress line, CSV metrics, checkpoints every N steps and on
// Ctrl-C (SIGINT) or SIGTERM, held-out metrics at every checkpoint, and resumption. The task decides what a
// step is.

import Foundation
import SafeTensors
import SVQEngine

#if canImport(Glibc)
import Glibc
#endif

/// Something the loop can train: one step at a time, with named metrics and a checkpoint.
public protocol TrainingTask: AnyObject {
    /// Steps taken so far (the next step's index).
    var step: Int { get }
    /// The step at which training ends.
    var totalSteps: Int { get }
    /// Metric names, in the order `runStep` returns their values.
    var metricNames: [String] { get }
    func runStep() throws -> [Float]
    /// Writes the task's checkpoint, with `metadata` (the loop's record of the run) added to its own.
    func writeCheckpoint(to url: URL, metadata: [String: String]) throws
    /// Names of the held-out metrics, in the order `validationMetrics` returns them; empty when the task has
    /// no held-out data.
    var validationMetricNames: [String] { get }
    /// Metrics on held-out data, measured without changing the task's state.
    func validationMetrics() throws -> [Float]
}

extension TrainingTask {
    public var validationMetricNames: [String] { [] }
    public func validationMetrics() throws -> [Float] { [] }
    /// The task's checkpoint alone, as a caller outside a loop writes it.
    public func writeCheckpoint(to url: URL) throws { try writeCheckpoint(to: url, metadata: [:]) }
}

/// How often a run checkpoints and logs. Part of the run: the loop stores it in every checkpoint ("loop" in
/// the metadata), and a resumed run keeps it unless told otherwise.
public struct LoopSettings: Codable, Equatable, Sendable {
    public var checkpointEvery: Int
    public var logEvery: Int

    public init(checkpointEvery: Int, logEvery: Int) {
        self.checkpointEvery = max(1, checkpointEvery)
        self.logEvery = max(1, logEvery)
    }

    /// The metadata key of the settings in a checkpoint.
    static let metadataKey = "loop"

    /// The settings stored in the checkpoint at `url`, or nil if it has none (written before they were
    /// stored). Reads only the file's header.
    public static func stored(inCheckpoint url: URL) throws -> LoopSettings? {
        let file = try url.withUnsafeFileSystemRepresentation { path in
            guard let path else { throw TrainingError(.invalidCheckpoint, "\(url.path) is not a valid file-system path") }
            return try SafeTensorsFile(fileAt: path)
        }
        guard let json = file.metadata[metadataKey] else { return nil }
        do { return try JSONDecoder().decode(LoopSettings.self, from: Data(json.utf8)) } catch {
            throw TrainingError(.invalidCheckpoint, "\(url.path) has unreadable loop settings: \(json)")
        }
    }

    /// The settings of a run: the given values, else (resuming a checkpoint that stores its settings) the
    /// stored ones, else `defaults`. `overrides` has one line for each given value that replaces a
    /// different stored one.
    public static func resolve(checkpointEvery: Int?, logEvery: Int?, stored: LoopSettings?, defaults: LoopSettings)
        -> (settings: LoopSettings, overrides: [String]) {
        let base = stored ?? defaults
        var overrides: [String] = []
        for (flag, given, kept) in [("--checkpoint-every", checkpointEvery, stored?.checkpointEvery),
                                    ("--log-every", logEvery, stored?.logEvery)] {
            if let given, let kept, given != kept { overrides.append("\(flag) \(given) overrides the run's \(kept)") }
        }
        return (LoopSettings(checkpointEvery: checkpointEvery ?? base.checkpointEvery, logEvery: logEvery ?? base.logEvery),
                overrides)
    }
}

/// Set from the signal handler; read between steps.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0

public struct TrainingLoop {
    public var checkpoint: URL
    public var metrics: URL
    /// Where held-out metrics go (CSV, one row per checkpoint and one at the end), for tasks that have them.
    public var validationMetrics: URL?
    public var checkpointEvery: Int
    public var logEvery: Int
    /// Where progress lines go (stderr by default); nil silences them.
    public var progress: ((String) -> Void)? = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(checkpoint: URL, metrics: URL, validationMetrics: URL? = nil, checkpointEvery: Int = 500, logEvery: Int = 10) {
        self.checkpoint = checkpoint
        self.metrics = metrics
        self.validationMetrics = validationMetrics
        self.checkpointEvery = max(1, checkpointEvery)
        self.logEvery = max(1, logEvery)
    }

    /// The loop of the run in `run` with `settings`.
    public init(run: RunFolder, settings: LoopSettings) {
        self.init(checkpoint: run.checkpoint, metrics: run.metrics, validationMetrics: run.validationMetrics,
                  checkpointEvery: settings.checkpointEvery, logEvery: settings.logEvery)
    }

    public var settings: LoopSettings { LoopSettings(checkpointEvery: checkpointEvery, logEvery: logEvery) }

    /// The task's checkpoint with this loop's settings in it.
    private func writeCheckpoint(_ task: TrainingTask) throws {
        try task.writeCheckpoint(to: checkpoint, metadata: [LoopSettings.metadataKey: jsonText(settings)])
    }

    /// Trains until `task.totalSteps` or until interrupted; checkpoints at every multiple of `checkpointEvery`,
    /// at the end and on interruption. Returns true when the run reached its last step.
    @discardableResult
    public func run(_ task: TrainingTask) throws -> Bool {
        stopRequested = 0
        let previousInt = signal(SIGINT) { _ in stopRequested = 1 }
        let previousTerm = signal(SIGTERM) { _ in stopRequested = 1 }
        defer {
            signal(SIGINT, previousInt)
            signal(SIGTERM, previousTerm)
        }
        let log = try MetricsLog(url: metrics, columns: ["step"] + task.metricNames + ["steps_per_s"], resumingAt: task.step)
        let validationLog = try validationMetrics.flatMap { url in
            task.validationMetricNames.isEmpty ? nil
                : try MetricsLog(url: url, columns: ["step"] + task.validationMetricNames, resumingAt: task.step)
        }
        // Held-out metrics cost a pass over the held-out data, so they are measured only where a checkpoint is
        // written: each row then describes weights that exist on disk.
        func validate() throws {
            guard let validationLog else { return }
            let values = try task.validationMetrics()
            try validationLog.append([Double(task.step)] + values.map(Double.init))
            let parts = zip(task.validationMetricNames, values).map { "\($0) \(formatMetric(Double($1)))" }
            progress?("validation at step \(task.step)  " + parts.joined(separator: "  "))
        }
        let start = Date()
        let firstStep = task.step
        var windowStart = Date(), windowSteps = 0
        var sums = [Double](repeating: 0, count: task.metricNames.count)
        while task.step < task.totalSteps {
            if stopRequested != 0 {
                try writeCheckpoint(task)
                progress?("interrupted at step \(task.step); checkpoint written to \(checkpoint.path) (resume with --resume)")
                return false
            }
            let values = try task.runStep()
            for (i, v) in values.enumerated() { sums[i] += Double(v) }
            windowSteps += 1
            let s = task.step
            if s % logEvery == 0 || s == task.totalSteps {
                let elapsed = Date().timeIntervalSince(windowStart)
                let rate = Double(windowSteps) / max(elapsed, 1e-9)
                let means = sums.map { $0 / Double(windowSteps) }
                try log.append([Double(s)] + means + [rate])
                let overall = Double(s - firstStep) / max(Date().timeIntervalSince(start), 1e-9)
                let eta = Double(task.totalSteps - s) / max(overall, 1e-9)
                let parts = zip(task.metricNames, means).map { "\($0) \(formatMetric($1))" }
                progress?("step \(s)/\(task.totalSteps)  " + parts.joined(separator: "  ")
                          + String(format: "  %.2f steps/s  ETA %@", rate, formatDuration(eta)))
                sums = sums.map { _ in 0 }
                windowSteps = 0
                windowStart = Date()
            }
            if s % checkpointEvery == 0 && s < task.totalSteps {
                try writeCheckpoint(task)
                try validate()
            }
        }
        try writeCheckpoint(task)
        // A resumed run that had already finished has its last row.
        if task.step > firstStep { try validate() }
        return true
    }
}

func formatMetric(_ v: Double) -> String {
    let a = abs(v)
    if a != 0 && (a < 1e-3 || a >= 1e5) { return String(format: "%.3e", v) }
    return String(format: a >= 100 ? "%.1f" : "%.4f", v)
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}

/// Metrics as CSV, one row per logged step. Resuming at step k drops rows after k (written by a run that
/// went past its last checkpoint), so the file always matches the checkpoint.
public final class MetricsLog {
    let url: URL
    let columns: [String]

    public init(url: URL, columns: [String], resumingAt step: Int) throws {
        self.url = url
        self.columns = columns
        let header = columns.joined(separator: ",")
        var lines = [header]
        if step > 0, let text = try? String(contentsOf: url, encoding: .utf8) {
            let existing = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            guard existing.first == header else {
                throw TrainingError(.runFolderConflict, "\(url.path) has other columns than this run; move it away to start a new log")
            }
            for line in existing.dropFirst() {
                if let first = line.split(separator: ",").first, let s = Double(first), Int(s) <= step { lines.append(line) }
            }
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
    }

    public func append(_ values: [Double]) throws {
        precondition(values.count == columns.count, "metrics row has \(values.count) values for \(columns.count) columns")
        let row = values.enumerated().map { i, v in i == 0 ? String(Int(v)) : String(format: "%.6g", v) }.joined(separator: ",") + "\n"
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(row.utf8))
    }
}
