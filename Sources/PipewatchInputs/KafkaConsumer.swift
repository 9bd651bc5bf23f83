import CRdKafka
import PipewatchJSON
import PipewatchKafka

/// How to reach Kafka and what to read.
public struct KafkaConsumerConfig: Sendable {
    /// `host:port[,host:port…]`.
    public var bootstrapServers: String
    public var groupID: String
    /// Topic names, or regular expressions starting with `^` (librdkafka's convention).
    public var topics: [String]
    /// Any librdkafka property (`security.protocol`, `sasl.mechanism`, `ssl.ca.location`, `session.timeout.ms`,
    /// `partition.assignment.strategy`…), applied after the defaults. `enable.auto.commit` and
    /// `enable.auto.offset.store` are refused: commits follow the processed watermark only.
    public var properties: [(String, String)]
    /// A message longer than this becomes a record with only its beginning kept, flagged `tooLarge`.
    public var maxRecordBytes: Int
    /// A poll stops adding messages once its buffer holds this many bytes.
    public var maxBatchBytes: Int

    public init(bootstrapServers: String, groupID: String, topics: [String], properties: [(String, String)] = [],
                maxRecordBytes: Int = 16 << 20, maxBatchBytes: Int = 4 << 20) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
        self.topics = topics
        self.properties = properties
        self.maxRecordBytes = maxRecordBytes
        self.maxBatchBytes = maxBatchBytes
    }

    public static let defaults: [(String, String)] = [
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
    ]

    package static let refused: Set<String> = ["enable.auto.commit", "enable.auto.offset.store", "group.id", "bootstrap.servers"]
}

/// A change of the consumer's assignment, as the group's rebalance callback saw it.
public enum KafkaRebalance: Sendable, Equatable {
    case assigned([KafkaTopicPartition])
    /// Revoked cleanly: what was done was committed (asynchronously; the broker may still refuse it mid-rebalance).
    case revoked([KafkaTopicPartition])
    /// Lost (the session expired or the generation moved on): nothing was committed, in-flight state was dropped.
    case lost([KafkaTopicPartition])
}

/// Where one record of a batch came from.
public struct KafkaRecordSource: Sendable, Equatable {
    public var partition: KafkaTopicPartition
    public var offset: Int64
    /// The message timestamp in milliseconds since the epoch, or -1 when the message has none.
    public var timestamp: Int64

    public init(partition: KafkaTopicPartition, offset: Int64, timestamp: Int64 = -1) {
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }
}

/// The messages of one poll, copied one after another into the consumer's buffer: `records[i]` (one per message;
/// `streamOffset` is the Kafka offset) and `sources[i]` describe the same message. The bytes stay valid until the
/// next `poll` or `close` of the consumer.
public struct KafkaBatch {
    public let input: String
    public let bytes: UnsafePointer<UInt8>
    public let records: [FramedRecord]
    public let sources: [KafkaRecordSource]
    /// Errors met while polling (broker down, authentication, a partition error…); the consumer keeps going unless
    /// an error `isFatal`.
    public let errors: [KafkaError]
    /// Assignment changes served during this poll, in order.
    public let rebalances: [KafkaRebalance]

    public var isEmpty: Bool { records.isEmpty }
    public var count: Int { records.count }

    /// The records as a chunk for `EventDecoder` (one record per message; the chunk's record index is the batch's).
    public var chunk: RecordChunk { RecordChunk(input: input, bytes: bytes, records: records, framing: nil) }
}

/// A Kafka consumer-group member over librdkafka's high-level consumer. Offsets are never committed automatically:
/// every polled record is tracked in `watermark` as in flight, the caller marks records done when they are fully
/// processed, and commits (on its own cadence) with `commitDone()` or `commit(_:)`. Not thread-safe: one thread
/// polls, marks and commits.
public final class KafkaConsumer {
    public let config: KafkaConsumerConfig
    /// In-flight/done state of the records polled from the current assignment.
    public var watermark = OffsetWatermark()
    /// The partitions currently assigned.
    public private(set) var assignment: Set<KafkaTopicPartition> = []
    /// Per partition, the offset last sent for commit (whether or not the broker accepted it yet).
    public private(set) var requestedCommits: [KafkaTopicPartition: Int64] = [:]
    /// Per partition, the offset the broker last confirmed committed.
    public private(set) var confirmedCommits: [KafkaTopicPartition: Int64] = [:]
    /// Commits whose result has not been served yet (by `poll`).
    public private(set) var pendingCommits = 0
    /// Called when partitions are revoked cleanly, before what is done is committed: the owner finishes what it
    /// can of the in-flight work (waits for sink acknowledgements, marks records done) so the commit covers it.
    public var beforeRevoke: (([KafkaTopicPartition]) -> Void)?
    /// Records polled from partitions this member then gave up (revoked or lost) above the commits the broker had
    /// confirmed for them: the most its next owner can read a second time. Summed over every rebalance.
    public private(set) var redeliveryWindow: Int64 = 0
    /// Whether fetching is paused (see `pause`).
    public private(set) var isPaused = false

    private var handle: OpaquePointer?
    private var closed = false
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var records: [FramedRecord] = []
    private var sources: [KafkaRecordSource] = []
    private var errors: [KafkaError] = []
    private var rebalances: [KafkaRebalance] = []
    /// Topic name per librdkafka topic handle, so a message costs no string conversion.
    private var topicNames: [OpaquePointer: String] = [:]
    private let input: String

    public init(_ config: KafkaConsumerConfig) throws {
        self.config = config
        capacity = max(64 << 10, min(config.maxBatchBytes, 4 << 20))
        buffer = .allocate(capacity: capacity)
        input = "kafka:" + config.topics.joined(separator: ",")

        for (key, _) in config.properties where KafkaConsumerConfig.refused.contains(key) {
            throw KafkaError(code: 0, message: "the Kafka property \(key) cannot be set here")
        }
        guard !config.topics.isEmpty else { throw KafkaError(code: 0, message: "no Kafka topic to consume") }

        let conf = rd_kafka_conf_new()
        var settings: [(String, String)] = [("bootstrap.servers", config.bootstrapServers), ("group.id", config.groupID)]
        settings += KafkaConsumerConfig.defaults
        settings += config.properties
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in settings {
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(code: 0, message: "Kafka property \(key): " + kafkaText(errstr))
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, kafkaRebalanceCallback)
        rd_kafka_conf_set_offset_commit_cb(conf, kafkaOffsetCommitCallback)
        rd_kafka_conf_set_error_cb(conf, kafkaErrorCallback)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(code: 0, message: "cannot create the Kafka consumer: " + kafkaText(errstr))
        }
        self.handle = handle
        // Serve every event (rebalances, commit results, errors) from the consumer queue, i.e. from `poll`.
        rd_kafka_poll_set_consumer(handle)

        let topics = rd_kafka_topic_partition_list_new(Int32(config.topics.count))
        defer { rd_kafka_topic_partition_list_destroy(topics) }
        for topic in config.topics { rd_kafka_topic_partition_list_add(topics, topic, -1 /* RD_KAFKA_PARTITION_UA */) }
        let err = rd_kafka_subscribe(handle, topics)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, "cannot subscribe to \(config.topics.joined(separator: ", "))")
        }
    }

    deinit {
        if let handle {
            if !closed { _ = rd_kafka_consumer_close(handle) }
            rd_kafka_destroy(handle)
        }
        buffer.deallocate()
    }

    /// Waits up to `timeout` seconds for a first message, then takes what is already fetched, up to `maxMessages`
    /// messages or the batch byte limit. Rebalances, commit results and errors are served on the way. The returned
    /// batch's records are already in flight in `watermark`.
    public func poll(maxMessages: Int = 10_000, timeout: Double = 0.1) -> KafkaBatch {
        records.removeAll(keepingCapacity: true)
        sources.removeAll(keepingCapacity: true)
        errors.removeAll(keepingCapacity: true)
        rebalances.removeAll(keepingCapacity: true)
        guard let handle, !closed else {
            return KafkaBatch(input: input, bytes: buffer, records: [], sources: [], errors: [KafkaError(code: 0, message: "the Kafka consumer is closed")], rebalances: [])
        }
        var filled = 0
        var wait = Int32(max(0, min(Double(Int32.max), timeout * 1000)))
        while records.count < maxMessages && filled < config.maxBatchBytes {
            let rebalancesBefore = rebalances.count
            guard let message = rd_kafka_consumer_poll(handle, wait) else {
                if rebalances.count > rebalancesBefore {
                    // A rebalance was served instead of a message: keep waiting for data.
                    continue
                }
                break
            }
            wait = 0
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            let partition = KafkaTopicPartition(topicName(m.rkt), m.partition)
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                let detail = rd_kafka_message_errstr(message).map { String(cString: $0) }
                var error = KafkaError(m.err, "Kafka consume error", partition: m.rkt == nil ? nil : partition,
                                       offset: m.offset >= 0 ? m.offset : nil)
                if let detail, !detail.isEmpty { error.message += " — " + detail }
                errors.append(error)
                continue
            }
            var length = m.len
            var problem: FramingProblem?
            if length > config.maxRecordBytes {
                length = config.maxRecordBytes
                problem = .tooLarge(limit: config.maxRecordBytes)
            }
            if filled + length > capacity { grow(to: filled + length) }
            if length > 0, let payload = m.payload {
                (buffer + filled).update(from: payload.assumingMemoryBound(to: UInt8.self), count: length)
            }
            records.append(FramedRecord(start: filled, end: filled + length, line: 0, streamOffset: m.offset, problem: problem))
            sources.append(KafkaRecordSource(partition: partition, offset: m.offset,
                                             timestamp: rd_kafka_message_timestamp(message, nil)))
            watermark.markInFlight(partition, offset: m.offset)
            filled += length
        }
        return KafkaBatch(input: input, bytes: buffer, records: records, sources: sources, errors: errors, rebalances: rebalances)
    }

    /// Per assigned partition, the high watermark (the offset the next produced message will get) as last seen in
    /// fetch responses: no broker round trip, so it can be read often for the lag.
    public func highWatermarks() -> [KafkaTopicPartition: Int64] {
        guard let handle, !closed else { return [:] }
        var result: [KafkaTopicPartition: Int64] = [:]
        for partition in assignment {
            var low: Int64 = -1, high: Int64 = -1
            if rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
               high >= 0 {
                result[partition] = high
            }
        }
        return result
    }

    /// Stops fetching from every assigned partition (and from partitions assigned later) without leaving the group:
    /// how the owner pushes back when its sinks are slow, instead of buffering without bound. `poll` keeps serving
    /// rebalances, commits and errors meanwhile.
    public func pause() { setPaused(true) }

    /// Fetches again from where each partition's consumption stopped.
    public func resume() { setPaused(false) }

    private func setPaused(_ paused: Bool) {
        guard let handle, !closed, paused != isPaused else { return }
        isPaused = paused
        let list = rd_kafka_topic_partition_list_new(Int32(max(1, assignment.count)))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in assignment { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
        let err = paused ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { errors.append(KafkaError(err, paused ? "pause" : "resume")) }
    }

    /// Marks every record of `batch` done (shorthand for processing that finished with the whole batch).
    public func markDone(_ batch: KafkaBatch) {
        for source in batch.sources { watermark.markDone(source.partition, offset: source.offset) }
    }

    /// Commits the given offsets (the next offset to read, per partition) asynchronously; the result is served by a
    /// later `poll` (`confirmedCommits`, or an error in a batch). With `wait`, blocks until the broker answered and
    /// throws if it refused.
    public func commit(_ offsets: [KafkaTopicPartition: Int64], wait: Bool = false) throws {
        guard let handle, !closed, !offsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
            requestedCommits[partition] = offset
        }
        pendingCommits += 1
        let err = rd_kafka_commit(handle, list, wait ? 0 : 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if !wait { pendingCommits -= 1 }
            for partition in offsets.keys { requestedCommits[partition] = nil }
            throw KafkaError(err, "Kafka commit failed")
        }
        if wait {
            for (partition, offset) in offsets { confirmedCommits[partition] = max(confirmedCommits[partition] ?? -1, offset) }
        }
    }

    /// Commits the watermark of every partition that moved since its last commit. Returns what was sent.
    @discardableResult
    public func commitDone(wait: Bool = false) throws -> [KafkaTopicPartition: Int64] {
        let due = watermark.committable().filter { requestedCommits[$0.key] != $0.value }
        try commit(due, wait: wait)
        return due
    }

    /// The group's committed offsets of `partitions`, asked from the broker (-1001, `RD_KAFKA_OFFSET_INVALID`, when
    /// none is committed).
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Double = 5) throws -> [KafkaTopicPartition: Int64] {
        guard let handle, !closed else { throw KafkaError(code: 0, message: "the Kafka consumer is closed") }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
        let err = rd_kafka_committed(handle, list, Int32(max(0, min(Double(Int32.max), timeout * 1000))))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, "cannot read committed offsets") }
        var result: [KafkaTopicPartition: Int64] = [:]
        for element in KafkaConsumer.elements(list) {
            let partition = KafkaTopicPartition(String(cString: element.topic), element.partition)
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(element.err, "cannot read committed offset", partition: partition) }
            result[partition] = element.offset
        }
        return result
    }

    /// Commits what is done (waiting for the answer), then leaves the group. Records still in flight are re-delivered
    /// to the next owner of their partitions. Returns the errors met; the consumer is closed whatever happens.
    @discardableResult
    public func close() -> [KafkaError] {
        guard let handle, !closed else { return [] }
        var problems: [KafkaError] = []
        // Commit results (also those of a synchronous commit) arrive through the commit callback, into `errors`.
        errors.removeAll()
        do { try commitDone(wait: true) } catch let error as KafkaError { problems.append(error) } catch {}
        let err = rd_kafka_consumer_close(handle)
        closed = true
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { problems.append(KafkaError(err, "closing the Kafka consumer")) }
        problems += errors
        errors.removeAll()
        watermark.forgetAll()
        assignment.removeAll()
        return problems
    }

    // MARK: - Callbacks (served on the polling thread, from poll, commit or close)

    fileprivate func rebalanced(_ handle: OpaquePointer, _ err: rd_kafka_resp_err_t,
                                _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        let partitions = KafkaConsumer.elements(list).map { KafkaTopicPartition(String(cString: $0.topic), $0.partition) }
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        if err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            assignment.formUnion(partitions)
            // A partition coming back starts from its committed offset: forget any stale state.
            for partition in partitions { forgetState(partition) }
            rebalances.append(.assigned(partitions))
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, list) { report(error, "incremental assign") }
            } else {
                let result = rd_kafka_assign(handle, list)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR { errors.append(KafkaError(result, "assign")) }
            }
            // Partitions assigned while the owner is pushing back start paused too.
            if isPaused { _ = rd_kafka_pause_partitions(handle, list) }
            return
        }
        // Revoked, or an error that means the assignment must be given up.
        let lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(handle) != 0
        if !lost {
            beforeRevoke?(partitions)
            // Commit what is done before handing over; during a rebalance the broker may refuse it, which only
            // costs duplicates.
            var due: [KafkaTopicPartition: Int64] = [:]
            for partition in partitions {
                if let offset = watermark.committable(partition), requestedCommits[partition] != offset { due[partition] = offset }
            }
            do { try commit(due) } catch let error as KafkaError { errors.append(error) } catch {}
        }
        for partition in partitions {
            if let polled = watermark.polledRange(partition) {
                // A refused commit (the broker may refuse any during a rebalance) leaves the confirmed one.
                let safe = max(polled.lowerBound, min(confirmedCommits[partition] ?? polled.lowerBound, polled.upperBound))
                redeliveryWindow += polled.upperBound - safe
            }
            assignment.remove(partition)
            forgetState(partition)
        }
        // Drop this poll's records of partitions given up: the next owner reads them again.
        let gone = Set(partitions)
        if !records.isEmpty && sources.contains(where: { gone.contains($0.partition) }) {
            var kept = 0
            for index in records.indices where !gone.contains(sources[index].partition) {
                records[kept] = records[index]
                sources[kept] = sources[index]
                kept += 1
            }
            records.removeSubrange(kept...)
            sources.removeSubrange(kept...)
        }
        rebalances.append(lost ? .lost(partitions) : .revoked(partitions))
        if cooperative {
            if let error = rd_kafka_incremental_unassign(handle, list) { report(error, "incremental unassign") }
        } else {
            let result = rd_kafka_assign(handle, nil)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { errors.append(KafkaError(result, "unassign")) }
        }
    }

    fileprivate func committedOffsets(_ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        // librdkafka reports synchronous commits here too (2.0.2), so both kinds are counted.
        pendingCommits = max(0, pendingCommits - 1)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            errors.append(KafkaError(err, "Kafka commit refused"))
        }
        for element in KafkaConsumer.elements(list) {
            let partition = KafkaTopicPartition(String(cString: element.topic), element.partition)
            if element.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                confirmedCommits[partition] = max(confirmedCommits[partition] ?? -1, element.offset)
            } else if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                errors.append(KafkaError(element.err, "Kafka commit refused", partition: partition, offset: element.offset))
            }
            // A refused commit is retried by the next commitDone.
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR && requestedCommits[partition] == element.offset {
                requestedCommits[partition] = nil
            }
        }
    }

    fileprivate func failed(_ code: Int32, _ reason: String) {
        let err = rd_kafka_resp_err_t(rawValue: code)
        var error = KafkaError(err, "Kafka client error")
        error.message += " — " + reason
        if err == RD_KAFKA_RESP_ERR__FATAL, let handle {
            var errstr = [CChar](repeating: 0, count: 512)
            let original = rd_kafka_fatal_error(handle, &errstr, errstr.count)
            error.message += " (\(String(cString: rd_kafka_err2str(original))): \(kafkaText(errstr)))"
        }
        errors.append(error)
    }

    private func forgetState(_ partition: KafkaTopicPartition) {
        watermark.forget(partition)
        requestedCommits[partition] = nil
        confirmedCommits[partition] = nil
    }

    private func report(_ error: OpaquePointer, _ context: String) {
        errors.append(KafkaError(code: rd_kafka_error_code(error).rawValue,
                                 message: "\(context): " + String(cString: rd_kafka_error_string(error)),
                                 isFatal: rd_kafka_error_is_fatal(error) != 0))
        rd_kafka_error_destroy(error)
    }

    private func topicName(_ topic: OpaquePointer?) -> String {
        guard let topic else { return "" }
        if let name = topicNames[topic] { return name }
        let name = String(cString: rd_kafka_topic_name(topic))
        topicNames[topic] = name
        return name
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let newBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBuffer.update(from: buffer, count: capacity)
        buffer.deallocate()
        buffer = newBuffer
        capacity = newCapacity
    }

    static func elements(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> UnsafeMutableBufferPointer<rd_kafka_topic_partition_t> {
        guard let list, let elements = list.pointee.elems else { return UnsafeMutableBufferPointer(start: nil, count: 0) }
        return UnsafeMutableBufferPointer(start: elements, count: Int(list.pointee.cnt))
    }
}

private func kafkaRebalanceCallback(_ handle: OpaquePointer?, _ err: rd_kafka_resp_err_t,
                                    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                                    _ opaque: UnsafeMutableRawPointer?) {
    guard let handle, let opaque else { return }
    Unmanaged<KafkaConsumer>.fromOpaque(opaque).takeUnretainedValue().rebalanced(handle, err, partitions)
}

private func kafkaOffsetCommitCallback(_ handle: OpaquePointer?, _ err: rd_kafka_resp_err_t,
                                       _ offsets: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                                       _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<KafkaConsumer>.fromOpaque(opaque).takeUnretainedValue().committedOffsets(err, offsets)
}

private func kafkaErrorCallback(_ handle: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?,
                                _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<KafkaConsumer>.fromOpaque(opaque).takeUnretainedValue().failed(err, reason.map { String(cString: $0) } ?? "")
}
