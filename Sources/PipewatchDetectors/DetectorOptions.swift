import PipewatchEvents

/// How the detector stage treats time.
public struct DetectorOptions: Sendable {
    /// How far behind the latest event time of its source a record may arrive and still be placed in order
    /// (milliseconds). Each source's watermark is its latest event time minus this; records are buffered and sorted
    /// up to the smallest watermark of the sources seen so far, so any arrival order within it gives the same alerts;
    /// a record older than its source's watermark is late and goes to the side output.
    public var allowedLateness: Int64
    /// Whether to keep each signal's JSON for `takeSignals()` (signals are always counted).
    public var collectSignals: Bool
    /// Sources the input is known to carry: until its first event, such a source holds the release back (as if its
    /// watermark were before everything), so that its records are not late for coming after the others'. Any other
    /// source holds nothing back before it is seen. None by default.
    public var expectedSources: Set<EventSource>

    /// How far the stream's lead (the latest event time of any source) may move on while no record of a source
    /// arrives before that source is idle: it no longer holds the release back, and its records that arrive behind
    /// the release are late, until one arrives and it counts again (milliseconds; nil: never idle by event time).
    /// Arrival, not event time alone, decides, so that a source whose files are read after another's is not idle
    /// for being behind. Replay sets it (default: the allowed lateness); the daemon marks idle sources by the wall
    /// clock instead (`DetectorStage.markIdle`).
    public var idleTimeout: Int64?

    public init(
        allowedLateness: Int64 = 300_000, collectSignals: Bool = false, expectedSources: Set<EventSource> = [],
        idleTimeout: Int64? = nil
    ) {
        self.allowedLateness = allowedLateness
        self.collectSignals = collectSignals
        self.expectedSources = expectedSources
        self.idleTimeout = idleTimeout
    }
}

/// Counts of a detector stage's work.
public struct DetectorStatistics: Sendable {
    /// Matched events taken in (one per rule that matched and feeds a detector).
    public var records = 0
    public var lateRecords = 0
    public var recordsWithoutTime = 0
    public var alerts = 0
    public var signals: [SignalReason: Int] = [:]
    public var signalCount: Int { signals.values.reduce(0, +) }
}
