/// What `DetectorStage.restoreCarryingOver(_:)` kept of a snapshot. Operators (correlations, detectors, tuned rules)
/// are named by reference. Its description is one line for the log:
/// `detector state: 5 carried over, 1 started fresh (changed: burst), 3 buffered records dropped`.
public struct CarryOverReport: Sendable, Equatable, CustomStringConvertible {
    /// Operators whose state was restored.
    public var carriedOver: [String] = []
    /// Operators the snapshot had no state for, which start fresh: new ones, and the `changed` ones.
    public var startedFresh: [String] = []
    /// Of `startedFresh`, those the snapshot had under the same reference but defined or reading differently.
    public var changed: [String] = []
    /// Operators of the snapshot that are no longer there: their state is gone.
    public var removed: [String] = []
    /// Records waiting for the watermark that were kept, and those dropped (their rule or correlation no longer
    /// read, or without a field read now).
    public var keptRecords = 0
    public var droppedRecords = 0

    public init() {}

    /// Whether all of the snapshot's state was carried over.
    public var isComplete: Bool { startedFresh.isEmpty && removed.isEmpty && droppedRecords == 0 }

    public var description: String {
        var parts = ["\(carriedOver.count) carried over"]
        if !startedFresh.isEmpty {
            let new = startedFresh.filter { !changed.contains($0) }
            let why = [("changed", changed), ("new", new)].filter { !$0.1.isEmpty }.map { "\($0.0): \($0.1.joined(separator: ", "))" }
            parts.append("\(startedFresh.count) started fresh (\(why.joined(separator: "; ")))")
        }
        if !removed.isEmpty { parts.append("\(removed.count) removed (\(removed.joined(separator: ", ")))") }
        if droppedRecords > 0 { parts.append("\(droppedRecords) buffered records dropped") }
        return "detector state: " + parts.joined(separator: ", ")
    }
}
