import Foundation
import PipewatchEvents
import PipewatchInputs

/// Counts for the summary a run prints at its end.
public struct RunStatistics: Sendable {
    public var inputs = 0
    public var records = 0
    public var eventsBySource = [Int](repeating: 0, count: EventSource.allCases.count)
    /// Events whose record had no time: evaluated by the stand-alone rules only.
    public var eventsWithoutTime = 0
    public var badRecords = 0
    public var inputErrors: [InputError] = []
    /// Bytes after decompression, and as stored.
    public var bytes: Int64 = 0
    public var storedBytes: Int64 = 0
    public var seconds: Double = 0

    public var events: Int { eventsBySource.reduce(0, +) }

    /// Lines for stderr: records, events per source and without time, bad records, bytes, time and rate.
    public func summaryLines() -> [String] {
        var lines: [String] = []
        let rate = seconds > 0 ? Double(records) / seconds : 0
        let megabytes = Double(bytes) / 1_000_000
        lines.append(
            "inputs: \(inputs), records: \(records), bad records: \(badRecords), bytes: \(bytes) (\(String(format: "%.1f", megabytes)) MB"
                + (storedBytes != bytes ? ", \(storedBytes) stored" : "") + ")")
        let perSource = EventSource.allCases.map { "\($0.name) \(eventsBySource[Int($0.rawValue)])" }.joined(separator: ", ")
        lines.append("events: \(events) (\(perSource)), without time: \(eventsWithoutTime)")
        lines.append(String(format: "seconds: %.3f, records/s: %.0f, MB/s: %.1f", seconds, rate, seconds > 0 ? megabytes / seconds : 0))
        for error in inputErrors { lines.append("input error: \(error)") }
        return lines
    }
}
