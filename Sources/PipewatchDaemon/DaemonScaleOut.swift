import Foundation
import PipewatchDetectors
import PipewatchInputs
import PipewatchKafka
import PipewatchOutput
import PipewatchPipeline

/// The pipeline thread's side of `scaling:` (see `ScaleOut`): the stateful consumer polled between input batches,
/// its alerts submitted as the input's are, its snapshots on their cadence, and its hand-overs.
extension Daemon {
    /// Prepares the topics, sends the matches the detectors read to the repartition topic, and joins the stateful
    /// group.
    func startScaleOut(_ scaling: DaemonConfiguration.Scaling, _ kafka: DaemonConfiguration.Kafka) throws {
        guard detection.detectors != nil else {
            log("scaling: the rules have no correlation, detector or tuned rule; nothing is repartitioned")
            return
        }
        let scaleOut = try ScaleOut(scaling, kafka: kafka, ruleSet: detection.ruleSet, options: detectorOptions, log: log)
        self.scaleOut = scaleOut
        detection = Detection(ruleSet: detection.ruleSet, detectorOptions: detectorOptions, forward: { [unowned scaleOut] view, rule, event in
            scaleOut.add(view, rule: rule, event: event)
        })
        scaleOut.consumer.beforeRevoke = { [unowned self, unowned scaleOut] partitions in
            // Everything in flight acknowledged, the revoked partitions' state is saved, so the commit that follows
            // covers every record fed and the next owner resumes exactly there.
            finishInFlight(before: "revoking \(partitions.count) repartition partition(s)")
            guard unacknowledged.isEmpty else { return }
            do { try scaleOut.save(partitions.map(\.partition)) } catch {
                log("scaling: cannot save the state of the revoked partitions (their next owner re-reads from the last "
                    + "snapshot): \(error)")
            }
        }
        log("scaling: matches of \(scaleOut.detectors.ruleSet.rules.count) rules keyed through \(scaling.repartitionTopic) "
            + "(\(scaleOut.partitions) partitions); detector state in \(scaling.changelogTopic)")
    }

    /// One poll of the repartition topic: assignments restore their state, records feed their partitions' stages,
    /// and the alerts go out as one batch.
    func pollRepartition(_ scaleOut: ScaleOut, maxMessages: Int) throws {
        let consumer = scaleOut.consumer
        if outputs.isBackedUp { consumer.pause() } else if consumer.isPaused { consumer.resume() }
        let batch = consumer.poll(maxMessages: maxMessages, timeout: 0)
        for rebalance in batch.rebalances {
            switch rebalance {
            case .assigned(let partitions):
                log("scaling: assigned \(partitions.map(\.description).sorted().joined(separator: ", "))")
                try scaleOut.assigned(partitions, log: log)
                for seconds in scaleOut.takeRestoreTimes() { metrics.stateRestored(seconds: seconds) }
            case .revoked(let partitions), .lost(let partitions):
                log("scaling: gave up \(partitions.map(\.description).sorted().joined(separator: ", "))")
                scaleOut.released(partitions)
            }
        }
        for error in batch.errors {
            log("kafka: \(error)")
            if error.isFatal { throw error }
        }
        statistics.statefulAssignment = consumer.assignment
        guard !batch.isEmpty else { return }
        let records = scaleOut.feed(batch) { alert in
            statistics.alerts += 1
            outputs.append(alert)
        }
        try deadLetterRefused(scaleOut, batch)
        reportPartitionedLateRecords(scaleOut)
        nextBatch += 1
        scaleOut.submitted(batch: nextBatch, records: records)
        submit(batch: nextBatch)
    }

    /// Repartition records that cannot be fed: dead-lettered with their partition and offset, never silently lost.
    private func deadLetterRefused(_ scaleOut: ScaleOut, _ batch: KafkaBatch) throws {
        let refused = scaleOut.detectors.takeRefused()
        guard !refused.isEmpty else { return }
        for entry in refused {
            guard let index = batch.sources.firstIndex(where: { $0.partition == entry.partition && $0.offset == entry.offset }) else { continue }
            let record = batch.records[index]
            try deadLetter.write(
                reason: entry.reason, stage: "repartition", input: "kafka:\(entry.partition)", line: 0,
                offset: entry.offset, raw: UnsafeBufferPointer(start: batch.bytes + record.start, count: record.count))
            statistics.refusedRepartitionRecords += 1
        }
        try deadLetter.flush()
    }

    private func reportPartitionedLateRecords(_ scaleOut: ScaleOut) {
        let late = scaleOut.detectors.takeLateRecords()
        guard !late.isEmpty else { return }
        statistics.lateRecords += late.count
        metrics.lateRecords(late.count)
        for record in late.prefix(max(0, 10 - (statistics.lateRecords - late.count))) {
            log("late: " + String(decoding: record.json, as: UTF8.self))
        }
    }

    /// `idle-timeout` on the repartition partitions: sources silent there stop holding their release back.
    func checkIdleRepartitions(_ scaleOut: ScaleOut) {
        guard let timeout = configuration.idleTimeout else { return }
        let before = statistics.alerts
        let changed = scaleOut.detectors.markIdle(after: timeout, now: Date().timeIntervalSince1970) { alert in
            statistics.alerts += 1
            outputs.append(alert)
        }
        reportPartitionedLateRecords(scaleOut)
        guard changed, statistics.alerts > before else { return }
        // Alerts without records of their own: a batch of its own, as for idle sources of one instance.
        nextBatch += 1
        submit(batch: nextBatch)
    }

    /// Snapshots to the changelog on their cadence; what a written one covers may then be committed.
    func checkpointRepartition(_ scaleOut: ScaleOut) {
        do {
            if try scaleOut.checkpointIfDue(lastBatch: nextBatch, oldestUnacknowledged: unacknowledged.min()) {
                statistics.changelogSnapshots = scaleOut.snapshotsWritten
                metrics.stateSaved(bytes: scaleOut.snapshotBytes)
            }
        } catch {
            metrics.stateSaveFailed()
            log("scaling: cannot write to the changelog, repartition commits wait for the next snapshot: \(error)")
        }
        publishRepartitionLag(scaleOut)
    }

    private func publishRepartitionLag(_ scaleOut: ScaleOut) {
        statistics.repartitioned = scaleOut.produced.messages
        for (partition, high) in scaleOut.consumer.highWatermarks() {
            guard let next = scaleOut.detectors.next[partition.partition] else { continue }
            metrics.repartitionLag(max(0, high - max(next, scaleOut.consumer.watermark.polledRange(partition)?.upperBound ?? 0)),
                                   partition: partition.partition)
        }
    }

    /// At shutdown, after the outputs drained: every owned partition's state saved, then the stateful consumer
    /// commits what it covers and leaves its group.
    func stopScaleOut(_ scaleOut: ScaleOut) {
        if unacknowledged.isEmpty {
            do {
                try scaleOut.save(Array(scaleOut.detectors.stages.keys))
                statistics.changelogSnapshots = scaleOut.snapshotsWritten
            } catch {
                log("scaling: cannot save the detector state at shutdown (the next owners re-read from the last snapshot): \(error)")
            }
        }
        for error in scaleOut.close() { log("kafka close (repartition): \(error)") }
        statistics.repartitioned = scaleOut.produced.messages
        log("scaling: \(scaleOut.produced.messages) repartition records (\(scaleOut.produced.bytes) bytes) produced, "
            + "\(scaleOut.snapshotsWritten) snapshots written; skipped as already in the state: "
            + "\(scaleOut.detectors.skipped) records read again, \(scaleOut.detectors.duplicates) matches sent again")
    }
}
