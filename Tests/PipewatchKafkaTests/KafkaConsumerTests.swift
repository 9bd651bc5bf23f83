import CRdKafka
import Foundation
import PipewatchEvents
import PipewatchInputs
import PipewatchKafka
import PipewatchPipeline
import Testing

@Suite struct KafkaConsumerTests {
    /// The payload of record `index` of a batch, as text.
    func payload(_ batch: KafkaBatch, _ index: Int) -> String {
        let record = batch.records[index]
        return String(decoding: UnsafeBufferPointer(start: batch.bytes + record.start, count: record.count), as: UTF8.self)
    }

    @Test(.timeLimit(.minutes(1)))
    func consumesDecodesCommitsAndANewMemberResumesAfterTheCommit() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("pw-audit", partitions: 4)
        let first = CloudTrail.records(0..<400)
        try kafka.produce("pw-audit", first)

        let config = KafkaConsumerConfig(bootstrapServers: kafka.bootstrapServers, groupID: "pw-resume",
                                         topics: ["pw-audit"], properties: fastGroup)
        let decoder = EventDecoder()
        var received: [String] = []
        var lastOffset: [KafkaTopicPartition: Int64] = [:]
        var errors: [KafkaError] = []
        var rebalances: [KafkaRebalance] = []
        do {
            let consumer = try KafkaConsumer(config)
            var batches = 0
            try consumer.pollUntil(seconds: 15, { batch in
                errors += batch.errors
                rebalances += batch.rebalances
                decoder.decode(batch.chunk)
                #expect(decoder.failures.isEmpty, "\(decoder.failures.map(\.reason))")
                #expect(decoder.events.count == batch.count)
                #expect(decoder.eventRecords == (0..<Int32(batch.count)).map { $0 })
                for (index, source) in batch.sources.enumerated() {
                    #expect(batch.records[index].streamOffset == source.offset)
                    #expect(source.partition.topic == "pw-audit")
                    #expect(source.timestamp > 1_700_000_000_000) // producer time, in ms
                    if let last = lastOffset[source.partition] { #expect(source.offset > last, "order of \(source.partition)") }
                    lastOffset[source.partition] = source.offset
                    received.append(payload(batch, index))
                }
                #expect(decoder.events.allSatisfy { $0.source == .cloudTrail })
                consumer.markDone(batch)
                batches += 1
                if batches % 2 == 0 { try consumer.commitDone() }
            }, done: { received.count >= first.count })
            #expect(consumer.watermark.inFlight == 0)
            #expect(consumer.assignment.count == 4)
            #expect(consumer.watermark.committable().values.reduce(0, +) == Int64(first.count))
            errors += consumer.close()
            #expect(consumer.assignment.isEmpty)
        }
        #expect(received.sorted() == first.sorted())
        #expect(lastOffset.count == 4, "the keys spread the records over the 4 partitions")
        #expect(errors.isEmpty, "\(errors)")
        guard case .assigned(let assigned) = rebalances.first else {
            Issue.record("no assignment recorded: \(rebalances)")
            return
        }
        #expect(Set(assigned) == Set((0..<4).map { KafkaTopicPartition("pw-audit", $0) }))

        // Records produced after the commit: a new member of the group reads those and only those.
        let second = CloudTrail.records(400..<500)
        try kafka.produce("pw-audit", second)
        let consumer = try KafkaConsumer(config)
        let partitions = (0..<4).map { KafkaTopicPartition("pw-audit", Int32($0)) }
        let committed = try consumer.committed(partitions)
        #expect(committed.values.reduce(0, +) == Int64(first.count))
        for partition in partitions { #expect(committed[partition] == lastOffset[partition].map { $0 + 1 }) }
        var resumed: [String] = []
        consumer.pollUntil(seconds: 15, { batch in
            for (index, source) in batch.sources.enumerated() {
                #expect(source.offset >= committed[source.partition]!)
                resumed.append(payload(batch, index))
            }
            consumer.markDone(batch)
        }, done: { resumed.count >= second.count })
        // Anything re-delivered would arrive with the rest: give it a moment.
        consumer.pollUntil(seconds: 0.5, { batch in
            for index in batch.records.indices { resumed.append(payload(batch, index)) }
        }, done: { false })
        #expect(resumed.sorted() == second.sorted())
        #expect(consumer.close().isEmpty)
    }

    @Test(.timeLimit(.minutes(1)))
    func aRecordNotDoneHoldsItsPartitionsCommitBelowIt() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("pw-held", partitions: 4)
        try kafka.produce("pw-held", CloudTrail.records(0..<20), partition: 0)
        try kafka.produce("pw-held", CloudTrail.records(20..<40), partition: 2)
        // Partition 3: a message over the record limit, then an empty one; both reach the decoder as failures.
        try kafka.produce("pw-held", [String(repeating: "x", count: 3_000), ""], partition: 3)

        // Subscribed by pattern.
        let consumer = try KafkaConsumer(KafkaConsumerConfig(
            bootstrapServers: kafka.bootstrapServers, groupID: "pw-held-group", topics: ["^pw-he.*"], properties: fastGroup,
            maxRecordBytes: 2_048))
        let decoder = EventDecoder()
        var failures: [(KafkaRecordSource, RecordFailure)] = []
        let p0 = KafkaTopicPartition("pw-held", 0)
        let p2 = KafkaTopicPartition("pw-held", 2)
        let held = KafkaRecordSource(partition: p0, offset: 5)
        var count = 0
        var errors: [KafkaError] = []
        consumer.pollUntil(seconds: 15, { batch in
            errors += batch.errors
            decoder.decode(batch.chunk)
            failures += decoder.failures.map { (batch.sources[$0.record], $0) }
            for source in batch.sources where !(source.partition == held.partition && source.offset == held.offset) {
                consumer.watermark.markDone(source.partition, offset: source.offset)
            }
            count += batch.count
        }, done: { count >= 42 })
        #expect(count == 42)
        let p3 = KafkaTopicPartition("pw-held", 3)
        #expect(failures.map { "\($0.0.partition)@\($0.0.offset)" } == ["\(p3)@0", "\(p3)@1"])
        #expect(failures.map { $0.1.stage } == [.framing, .parse])
        #expect(consumer.watermark.committable() == [p0: 5, p2: 20, p3: 2])
        #expect(consumer.watermark.inFlight == 1)

        try consumer.commitDone(wait: true)
        let partitions = (0..<4).map { KafkaTopicPartition("pw-held", Int32($0)) }
        var committed = try consumer.committed(partitions)
        #expect(committed[p0] == 5, "the record at offset 5 is not done: offsets 6…19 must not be committed")
        #expect(committed[p2] == 20)
        #expect(committed[KafkaTopicPartition("pw-held", 1)] == -1001) // RD_KAFKA_OFFSET_INVALID: nothing committed

        // Once it is done, the next (asynchronous) commit moves past everything.
        let marked = consumer.watermark.markDone(p0, offset: 5)
        #expect(marked)
        #expect(try consumer.commitDone() == [p0: 20])
        consumer.pollUntil(seconds: 5, { _ in }, done: { consumer.confirmedCommits[p0] == 20 })
        #expect(consumer.confirmedCommits[p0] == 20)
        #expect(consumer.pendingCommits == 0)
        committed = try consumer.committed(partitions)
        #expect(committed[p0] == 20)
        errors += consumer.close()
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func refusesAutoCommitAndBadProperties() {
        func attempt(_ properties: [(String, String)], topics: [String] = ["t"]) -> String? {
            do {
                _ = try KafkaConsumer(KafkaConsumerConfig(bootstrapServers: "127.0.0.1:1", groupID: "g", topics: topics,
                                                          properties: properties))
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(attempt([("enable.auto.commit", "true")])?.contains("enable.auto.commit") == true)
        #expect(attempt([("enable.auto.offset.store", "true")]) != nil)
        #expect(attempt([("no.such.property", "1")])?.contains("no.such.property") == true)
        #expect(attempt([("session.timeout.ms", "not a number")]) != nil)
        #expect(attempt([], topics: []) != nil)
    }

    @Test func anUnreachableBrokerIsReportedNotFatal() throws {
        // Nothing listens on port 1: the errors come back in batches and the consumer keeps going.
        let consumer = try KafkaConsumer(KafkaConsumerConfig(
            bootstrapServers: "127.0.0.1:1", groupID: "g", topics: ["t"],
            properties: [("reconnect.backoff.ms", "10"), ("log_level", "0")]))
        var errors: [KafkaError] = []
        let deadline = Date().addingTimeInterval(5)
        while errors.isEmpty && Date() < deadline { errors += consumer.poll(timeout: 0.1).errors }
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { !$0.isFatal })
        _ = consumer.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func aSecondMemberTakesPartitionsAndTheFirstRecordsTheRevocation() throws {
        let kafka = try MockKafka()
        try kafka.createTopic("pw-rebalance", partitions: 4)
        try kafka.produce("pw-rebalance", CloudTrail.records(0..<80))
        let config = KafkaConsumerConfig(bootstrapServers: kafka.bootstrapServers, groupID: "pw-rebalance-group",
                                         topics: ["pw-rebalance"], properties: fastGroup)
        let a = try KafkaConsumer(config)
        var aRebalances: [KafkaRebalance] = []
        var consumed = 0
        a.pollUntil(seconds: 10, { batch in
            aRebalances += batch.rebalances
            consumed += batch.count
            a.markDone(batch)
        }, done: { consumed >= 80 })
        #expect(a.assignment.count == 4)

        let b = try KafkaConsumer(config)
        var bRebalances: [KafkaRebalance] = []
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline && !(b.assignment.count > 0 && a.assignment.count + b.assignment.count == 4) {
            let batchA = a.poll(timeout: 0.05)
            aRebalances += batchA.rebalances
            a.markDone(batchA)
            let batchB = b.poll(timeout: 0.05)
            bRebalances += batchB.rebalances
            b.markDone(batchB)
        }
        #expect(a.assignment.count + b.assignment.count == 4)
        #expect(a.assignment.isDisjoint(with: b.assignment))
        #expect(!b.assignment.isEmpty)
        #expect(aRebalances.contains { if case .revoked(let p) = $0 { return p.count == 4 } else { return false } }, "\(aRebalances)")
        // A revoked partition's state is gone from the first member.
        for partition in b.assignment { #expect(a.watermark.committable(partition) == nil) }
        _ = b.close()
        _ = a.close()
    }
}
