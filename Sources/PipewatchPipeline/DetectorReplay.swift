import Foundation
import PipewatchDetectors
import PipewatchInputs
import PipewatchJSON
import PipewatchOutput

/// Where a replay stands in its inputs: the file and the byte offset (in the decompressed input) of the first
/// record not processed yet. Saved in the detector snapshot, so a resumed run skips what the state already holds.
public struct ReplayPosition: Sendable, Equatable {
    public var file: String
    /// Records starting before this offset of `file` are done; `Int64.max` for the whole file.
    public var offset: Int64
    /// Records processed since the state began.
    public var records: Int

    public init(file: String, offset: Int64, records: Int) {
        self.file = file
        self.offset = offset
        self.records = records
    }

    /// `{"file":…,"offset":…,"records":…}`.
    public var bytes: [UInt8] {
        var w = JSONWriter(capacity: 128 + file.utf8.count)
        w.beginObject()
        w.key("file"); w.string(file)
        w.key("offset"); w.number(offset)
        w.key("records"); w.number(records)
        w.endObject()
        return w.bytes
    }

    public init?(bytes: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let file = object["file"] as? String, let offset = (object["offset"] as? NSNumber)?.int64Value,
            let records = (object["records"] as? NSNumber)?.intValue
        else { return nil }
        self.init(file: file, offset: offset, records: records)
    }
}

/// A replay through `Detection` that can stop after a number of records, checkpoint its detector state with the
/// position reached, and resume from such a state: inputs before the saved position are left out and, in the file of
/// the position, the records before its offset. A resumed run with the same inputs therefore gives the alerts the
/// uninterrupted run would have given after that point.
///
/// Records that fail to decode are dead-lettered by the reader before they can be skipped, so a resumed run reports
/// the bad records of the skipped part of its first file again.
public final class DetectorReplay {
    public let detection: Detection
    public let replay: FileReplay
    /// Where to save the state (nil: no state).
    public let statePath: String?
    /// Save every this many records (at the end of a chunk).
    public let checkpointRecords: Int?
    /// Stop after this many records (counted from the start of the state).
    public let maxRecords: Int?
    /// The position restored from the state.
    public private(set) var resumedFrom: ReplayPosition?
    public private(set) var position: ReplayPosition?
    /// Records processed by this run (skipped ones not counted).
    public private(set) var processedRecords = 0
    public private(set) var stopped = false
    public private(set) var checkpoints = 0

    struct Stop: Error {}

    public init(detection: Detection, replay: FileReplay, statePath: String?, checkpointRecords: Int?, maxRecords: Int?) throws {
        self.detection = detection
        self.replay = replay
        self.statePath = statePath
        self.checkpointRecords = checkpointRecords
        self.maxRecords = maxRecords
        if let statePath, let stage = detection.detectors {
            do {
                if let bytes = try stage.restore(from: statePath) {
                    guard let position = ReplayPosition(bytes: bytes) else {
                        throw SnapshotError("the snapshot's input position is unreadable")
                    }
                    resumedFrom = position
                    self.position = position
                }
            } catch {
                throw SnapshotError("cannot resume from \(statePath): \(error)")
            }
        }
    }

    /// The inputs to read: without a saved position, as given; with one whose file is among them, that file and the
    /// ones after it (paths that do not exist are kept, so that they are still reported).
    public func inputs(_ paths: [String]) -> [String] {
        guard let resumedFrom else { return paths }
        let (files, errors) = InputPaths.expand(paths)
        guard let index = files.firstIndex(of: resumedFrom.file) else { return paths }
        return Array(files[index...]) + errors.map(\.input)
    }

    /// Runs the inputs. `handle` gets every alert; `afterChunk` is called after each chunk's alerts (to submit them).
    /// Returns the reader's statistics, or nil when the run stopped at `maxRecords`.
    public func run(_ paths: [String], handle: (Alert) throws -> Void, afterChunk: () throws -> Void) throws -> RunStatistics? {
        var recordsAtCheckpoint = position?.records ?? 0
        do {
            let plan = replay.threads > 1 ? detection.matchPlan : nil
            return try replay.run(inputs(paths), matching: plan) { decoder, chunk, matches in
                let resumeOffset = resumedFrom.flatMap { $0.file == chunk.input ? $0.offset : nil }
                var first = 0
                if let resumeOffset {
                    while first < chunk.records.count && chunk.records[first].streamOffset < resumeOffset { first += 1 }
                }
                var end = chunk.records.count
                let total = position?.records ?? 0
                if let maxRecords, total + (end - first) >= maxRecords {
                    end = first + max(0, maxRecords - total)
                }
                let window = first..<end
                let skip: ((Int) -> Bool)? = window == 0..<chunk.records.count ? nil : { !window.contains(Int(decoder.eventRecords[$0])) }
                if let matches {
                    try detection.deliver(matches, of: decoder, skip: skip, handle)
                } else {
                    try detection.evaluate(decoder, skip: skip, handle)
                }
                processedRecords += end - first
                let next = end < chunk.records.count
                    ? chunk.records[end].streamOffset
                    : (chunk.records.last.map { $0.streamOffset + Int64($0.count) } ?? 0)
                position = ReplayPosition(file: chunk.input, offset: next, records: total + (end - first))
                try afterChunk()
                if let maxRecords, position!.records >= maxRecords {
                    try save()
                    stopped = true
                    throw Stop()
                }
                if let checkpointRecords, position!.records - recordsAtCheckpoint >= checkpointRecords {
                    try save()
                    checkpoints += 1
                    recordsAtCheckpoint = position!.records
                }
            }
        } catch is Stop {
            try replay.deadLetter.flush()
            return nil
        }
    }

    /// Saves the detector state with the position reached (nothing without a state path or a detector stage).
    public func save() throws {
        guard let statePath, let stage = detection.detectors else { return }
        let position = self.position ?? ReplayPosition(file: "", offset: 0, records: 0)
        try stage.save(to: statePath, position: position.bytes)
    }

    /// The end of the input: with `final`, the detector stage judges what the last events closed (and the state
    /// saved afterwards treats later records as late); without it the stream goes on in a later run. The state is
    /// saved either way, positioned after the last file.
    public func finish(final: Bool, handle: (Alert) throws -> Void) throws {
        if final { try detection.finish(handle) }
        if let current = position {
            position = ReplayPosition(file: current.file, offset: Int64.max, records: current.records)
        }
        try save()
    }
}
