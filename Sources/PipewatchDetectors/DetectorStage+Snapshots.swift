import Foundation
import PipewatchEvents
import PipewatchJSON
import PipewatchOutput
import PipewatchRules

/// Saving and restoring the whole stage: operators, buffered records, per-source event times.
extension DetectorStage {
    static let magic = Array("PWDETECT".utf8)
    /// 4: the stream's lead, each source's lead at its last arrival and the release frontier (idle sources; a
    /// format 3 snapshot is read with every source active); 3: records name their rule or correlation by reference,
    /// through a feed table (2 named it by index, which shifts when a rule is added or removed); 2: the latest event
    /// time per source (1 had one for the whole stream).
    static let version: UInt8 = 4

    /// A feed of the snapshot being restored, as this stage has it.
    struct RestoredFeed {
        var feed: Int
        /// Per field name of this stage's feed, its slot in the saved values (nil: not saved); nil when the names are
        /// the same.
        var slots: [Int?]?
    }

    /// A record as a snapshot has it: its feed and its evidence's rule as positions in the snapshot's feed table.
    struct SavedRecord {
        var time: Int64
        var order: UInt64
        var feed: Int
        var values: [UInt8]
        var evidence: (rule: Int, bytes: [UInt8])?
    }

    struct SavedOperator {
        var reference: String
        var signature: String
        var alerts: Int
        var state: [UInt8]
    }

    /// A snapshot read but not yet applied.
    struct SavedStage {
        var fingerprint: UInt64
        var position: [UInt8]
        var sourceTimes: [Int64]
        var released: Int64
        var leadTime: Int64
        var leadAtArrival: [Int64]
        var frontier: Int64
        var statistics: DetectorStatistics
        var feeds: [(owner: String, names: [String])]
        var records: [SavedRecord]
        var operators: [SavedOperator]
    }

    /// Writes a record, in a snapshot of this stage: the buffer's, or one kept in an operator's state.
    func writeRecord(_ record: Record, to w: inout SnapshotWriter) {
        w.i64(record.time)
        w.u64(record.order)
        w.count(savedFeedPosition[Int(record.feed)])
        w.data(record.values.storage)
        w.bool(record.evidence != nil)
        if let evidence = record.evidence {
            // The evidence's rule read the event, so it is in the feed table.
            w.count(savedFeedPosition[Int(evidence.rule)])
            w.data(evidence.bytes)
        }
    }

    static func readSavedRecord(_ r: inout SnapshotReader, feeds: Int) throws(SnapshotError) -> SavedRecord {
        let time = try r.i64()
        let order = try r.u64()
        let feed = try r.count()
        guard feed < feeds else { throw SnapshotError("a record names an unknown feed") }
        let values = try r.data()
        var evidence: (rule: Int, bytes: [UInt8])?
        if try r.bool() {
            let rule = try r.count()
            guard rule < feeds else { throw SnapshotError("evidence names an unknown rule") }
            evidence = (rule, try r.data())
        }
        return SavedRecord(time: time, order: order, feed: feed, values: values, evidence: evidence)
    }

    /// A saved record as a record of this stage, its values laid out as its feed has them now; nil when its feed
    /// is gone. `whole`: nil also when a field the feed has now was not saved (a record yet to reach all the feed's
    /// readers); otherwise such fields are absent (a record in an operator's state, which reads only fields it had).
    /// Evidence whose rule is gone is left out.
    func restored(_ saved: SavedRecord, whole: Bool) throws(SnapshotError) -> Record? {
        let (valueCount, target) = restoringFeeds[saved.feed]
        guard var values = FieldValues(storage: saved.values), values.count == valueCount else {
            throw SnapshotError("a record does not fit its feed")
        }
        guard let target else { return nil }
        if let slots = target.slots {
            if whole && slots.contains(nil) { return nil }
            var builder = FieldValues.Builder(count: slots.count)
            for slot in slots {
                if let slot { builder.append(values, slot) } else { builder.appendAbsent() }
            }
            values = builder.values
        }
        var evidence: Evidence?
        if let saved = saved.evidence, let rule = restoringFeeds[saved.rule].feed?.feed {
            guard rule < ruleSet.rules.count else { throw SnapshotError("evidence names a correlation as its rule") }
            evidence = Evidence(rule: Int32(rule), bytes: saved.bytes)
        }
        return Record(time: saved.time, order: saved.order, feed: Int32(target.feed), values: values, evidence: evidence)
    }

    /// Reads a record kept in an operator's state (while a snapshot is restored).
    func readRecord(_ r: inout SnapshotReader) throws(SnapshotError) -> Record {
        let saved = try DetectorStage.readSavedRecord(&r, feeds: restoringFeeds.count)
        // The operator's state is restored only if it reads the same feeds and fields, so its records fit.
        guard let record = try restored(saved, whole: false) else { throw SnapshotError("a record in a detector's state names a feed this stage does not read") }
        return record
    }

    /// The state of one operator, a self-contained section of a snapshot.
    func state(of op: DetectorOperator) -> [UInt8] {
        var w = SnapshotWriter()
        w.i64(op.clock)
        op.gate.write(&w)
        op.write(&w)
        return w.bytes
    }

    func load(_ state: [UInt8], into op: DetectorOperator) throws(SnapshotError) {
        var r = SnapshotReader(state)
        op.clock = try r.i64()
        try op.gate.read(&r)
        try op.read(&r)
        guard r.isAtEnd else { throw SnapshotError("the snapshot's state of \(op.reference) has trailing bytes") }
    }

    /// The whole state, with the input position it corresponds to (opaque bytes of the caller's choosing).
    /// Alerts, signals and late records not yet taken are not part of it: take them first.
    public func snapshot(position: [UInt8]) -> [UInt8] {
        var w = SnapshotWriter()
        w.bytes += DetectorStage.magic
        w.u8(DetectorStage.version)
        w.u64(fingerprint)
        w.data(position)
        w.count(sourceTimes.count)
        for time in sourceTimes { w.i64(time) }
        w.i64(released)
        w.i64(leadTime)
        for time in leadAtArrival { w.i64(time) }
        w.i64(frontier)
        w.count(statistics.records)
        w.count(statistics.lateRecords)
        w.count(statistics.recordsWithoutTime)
        w.count(statistics.alerts)
        for reason in SignalReason.allCases { w.count(statistics.signals[reason] ?? 0) }
        w.count(savedFeeds.count)
        for feed in savedFeeds {
            w.string(feedOwners[feed])
            w.count(feeds[feed].names.count)
            for name in feeds[feed].names { w.string(name) }
        }
        let records = buffer.sortedRecords
        w.count(records.count)
        for record in records { writeRecord(record, to: &w) }
        w.count(operators.count)
        for op in operators {
            w.string(op.reference)
            w.string(signature(of: op))
            w.count(alertsPerOperator[op.index])
            w.data(state(of: op))
        }
        return w.bytes
    }

    static func read(_ bytes: [UInt8]) throws(SnapshotError) -> SavedStage {
        var r = SnapshotReader(bytes)
        guard bytes.count > magic.count, Array(bytes.prefix(magic.count)) == magic else {
            throw SnapshotError("not a Pipewatch detector snapshot")
        }
        r.offset = magic.count
        let found = try r.u8()
        guard found == version || found == 3 else {
            switch found {
            case 1:
                throw SnapshotError(
                    "the snapshot keeps one event time for all sources (format 1) and this version keeps one per source (format \(version)); remove it to start from scratch")
            case 2:
                throw SnapshotError(
                    "the snapshot names the rules of its records by position (format 2), which adding or removing a rule shifts, and this version names them by reference (format \(version)); remove it to start from scratch")
            default:
                throw SnapshotError("the snapshot was written by another version of Pipewatch (format \(found), this one reads \(version))")
            }
        }
        let fingerprint = try r.u64()
        let position = try r.data()
        guard try r.count() == EventSource.allCases.count else { throw SnapshotError("the snapshot has another number of event sources") }
        var sourceTimes: [Int64] = []
        for _ in EventSource.allCases { sourceTimes.append(try r.i64()) }
        let released = try r.i64()
        // Format 3 knew no idle sources: every source seen counts as just arrived.
        var leadTime = sourceTimes.max() ?? .min
        var leadAtArrival = sourceTimes.map { $0 == .min ? Int64.min : leadTime }
        var frontier = released
        if found >= 4 {
            leadTime = try r.i64()
            leadAtArrival = []
            for _ in EventSource.allCases { leadAtArrival.append(try r.i64()) }
            frontier = try r.i64()
        }
        var statistics = DetectorStatistics()
        statistics.records = try r.count()
        statistics.lateRecords = try r.count()
        statistics.recordsWithoutTime = try r.count()
        statistics.alerts = try r.count()
        for reason in SignalReason.allCases {
            let count = try r.count()
            if count > 0 { statistics.signals[reason] = count }
        }
        var feeds: [(owner: String, names: [String])] = []
        let feedCount = try r.count()
        for _ in 0..<feedCount {
            let owner = try r.string()
            let nameCount = try r.count()
            var names: [String] = []
            for _ in 0..<nameCount { names.append(try r.string()) }
            feeds.append((owner, names))
        }
        var records: [SavedRecord] = []
        let recordCount = try r.count()
        for _ in 0..<recordCount { records.append(try readSavedRecord(&r, feeds: feeds.count)) }
        var operators: [SavedOperator] = []
        let operatorCount = try r.count()
        for _ in 0..<operatorCount {
            operators.append(SavedOperator(reference: try r.string(), signature: try r.string(), alerts: try r.count(), state: try r.data()))
        }
        guard r.isAtEnd else { throw SnapshotError("the snapshot has trailing bytes") }
        return SavedStage(
            fingerprint: fingerprint, position: position, sourceTimes: sourceTimes, released: released, leadTime: leadTime,
            leadAtArrival: leadAtArrival, frontier: frontier, statistics: statistics,
            feeds: feeds, records: records, operators: operators)
    }

    /// The snapshot's feed table as this stage's feeds, by reference.
    func feedTable(_ saved: SavedStage) -> [(valueCount: Int, feed: RestoredFeed?)] {
        let feedByOwner = Dictionary(zip(feedOwners, feeds.indices), uniquingKeysWith: { first, _ in first })
        return saved.feeds.map { (owner, names) -> (valueCount: Int, feed: RestoredFeed?) in
            guard let feed = feedByOwner[owner], savedFeedPosition[feed] >= 0 else { return (names.count, nil) }
            let current = feeds[feed].names
            return (names.count, RestoredFeed(feed: feed, slots: current == names ? nil : current.map { names.firstIndex(of: $0) }))
        }
    }

    /// Times, counters and the feed table records are read through; outputs not taken are dropped.
    func restoreCommon(_ saved: SavedStage, feedTable: [(valueCount: Int, feed: RestoredFeed?)]) {
        sourceTimes = saved.sourceTimes
        released = saved.released
        leadTime = saved.leadTime
        leadAtArrival = saved.leadAtArrival
        frontier = saved.frontier
        // Idle marks are the caller's wall clock, not state: it marks again after its timeout.
        markedIdle = markedIdle.map { _ in false }
        statistics = saved.statistics
        restoringFeeds = feedTable
        buffer.removeAll()
        alerts.removeAll()
        signals.removeAll()
        late.removeAll()
    }

    /// Loads a snapshot made by a stage with the same correlations, detectors and tuned rules (other rules may have
    /// been added or removed); returns its input position. Anything else is refused: replay must give the alerts of
    /// an uninterrupted run.
    @discardableResult
    public func restore(_ bytes: [UInt8]) throws(SnapshotError) -> [UInt8] {
        let saved = try DetectorStage.read(bytes)
        guard saved.fingerprint == fingerprint else {
            throw SnapshotError("the snapshot was taken with other correlations, detectors or tuned rules; remove it to start from scratch")
        }
        guard saved.operators.count == operators.count else { throw SnapshotError("the snapshot has another number of detectors") }
        for (op, savedOp) in zip(operators, saved.operators) where savedOp.signature != signature(of: op) {
            throw SnapshotError("the snapshot's \(op.reference) is defined differently")
        }
        let table = feedTable(saved)
        for (entry, mapping) in zip(saved.feeds, table) where mapping.feed == nil || mapping.feed?.slots != nil {
            throw SnapshotError("the snapshot's records of \(entry.owner) do not fit these rules")
        }
        restoreCommon(saved, feedTable: table)
        defer { restoringFeeds = [] }
        for savedRecord in saved.records {
            guard let record = try restored(savedRecord, whole: true) else { throw SnapshotError("a buffered record names a feed this stage does not read") }
            buffer.push(record)
        }
        for (op, savedOp) in zip(operators, saved.operators) {
            try load(savedOp.state, into: op)
            alertsPerOperator[op.index] = savedOp.alerts
        }
        return saved.position
    }

    /// Loads what still applies of a snapshot taken with other rules (a rule reload, or a start with edited rules):
    /// each correlation, detector or tuned rule whose signature (definition and what it reads) is in the snapshot
    /// gets its state back, the others start fresh; records waiting for the watermark are kept when their rule or
    /// correlation is still read and carries every field read now, dropped otherwise. Times and stage-wide counters
    /// are restored; alert counts per operator follow the state, or the reference for a changed operator. Returns
    /// the input position and what was carried over. Unlike `restore(_:)`, the alerts that follow need not be those
    /// of an uninterrupted run, so replay does not use it.
    public func restoreCarryingOver(_ bytes: [UInt8]) throws(SnapshotError) -> (position: [UInt8], report: CarryOverReport) {
        let saved = try DetectorStage.read(bytes)
        restoreCommon(saved, feedTable: feedTable(saved))
        defer { restoringFeeds = [] }
        var report = CarryOverReport()
        for savedRecord in saved.records {
            if let record = try restored(savedRecord, whole: true), !feeds[Int(record.feed)].sequential.isEmpty {
                buffer.push(record)
                report.keptRecords += 1
            } else {
                report.droppedRecords += 1
            }
        }
        var savedBySignature: [String: [Int]] = [:]
        for (k, savedOp) in saved.operators.enumerated() { savedBySignature[savedOp.signature, default: []].append(k) }
        var unmatched = Set(saved.operators.indices)
        var fresh: [DetectorOperator] = []
        for op in operators {
            let signature = signature(of: op)
            if let k = savedBySignature[signature]?.first {
                savedBySignature[signature]!.removeFirst()
                unmatched.remove(k)
                try load(saved.operators[k].state, into: op)
                alertsPerOperator[op.index] = saved.operators[k].alerts
                report.carriedOver.append(op.reference)
            } else {
                fresh.append(op)
            }
        }
        let left = unmatched.sorted().map { saved.operators[$0] }
        for op in fresh {
            try load(freshStates[op.index], into: op)
            let before = left.first { $0.reference == op.reference }
            alertsPerOperator[op.index] = before?.alerts ?? 0
            report.startedFresh.append(op.reference)
            if before != nil { report.changed.append(op.reference) }
        }
        report.removed = left.map(\.reference).filter { !report.changed.contains($0) }
        return (saved.position, report)
    }

    /// Writes a snapshot to `path` atomically (temporary file, fsync, rename).
    public func save(to path: String, position: [UInt8]) throws {
        try AtomicFile.write(snapshot(position: position), to: path)
    }

    /// Restores from `path`; nil when there is no such file (a first run), the input position otherwise.
    public func restore(from path: String) throws -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try restore([UInt8](data))
    }

    /// `restoreCarryingOver(_:)` from `path`; nil when there is no such file (a first run).
    public func restoreCarryingOver(from path: String) throws -> (position: [UInt8], report: CarryOverReport)? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try restoreCarryingOver([UInt8](data))
    }
}
