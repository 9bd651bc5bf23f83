import PipewatchJSON

/// Why a record could not become an event. The record goes to the dead-letter output with this reason.
public enum NormalizeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case notAnObject(JSONKind)
    /// No known source has this shape; `keys` are the record's first top-level keys, to help whoever reads it.
    case unknownShape(keys: [String])
    case missingField(EventSource, String)
    case invalidField(EventSource, String, String)

    public var description: String {
        switch self {
        case .notAnObject(let kind):
            return "record is a JSON \(kind), not an object"
        case .unknownShape(let keys):
            let shown = keys.isEmpty ? "no keys" : "top-level keys: " + keys.joined(separator: ", ")
            return "unknown record shape: not CloudTrail, Kubernetes audit, GCP audit or MLflow webhook (\(shown))"
        case .missingField(let source, let field):
            return "\(source.name) record without \(field)"
        case .invalidField(let source, let field, let why):
            return "\(source.name) record with invalid \(field): \(why)"
        }
    }
}

/// Turns parsed records into normalized events: recognises the source from the record's keys (`SourceRecognition`),
/// then reads every field it needs in one pass over each object it visits. One instance per thread (it keeps
/// scratch space).
public final class Normalizer: @unchecked Sendable {
    /// Every top-level key any source normalizer reads; one pass fills `slots` for all of them.
    enum Top: Int, CaseIterable {
        // CloudTrail
        case eventVersion, eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent, userIdentity
        case requestID, eventID, errorCode, errorMessage, requestParameters, responseElements, resources
        case recipientAccountId, eventType, additionalEventData
        /// Where Logstash's cloudtrail codec moves eventTime.
        case atTimestamp
        /// An EventBridge envelope around a CloudTrail record (`detail-type`, `detail`, `time`).
        case detailType, detail, time
        // Kubernetes audit
        case kind, apiVersion, auditID, stage, requestURI, verb, user, impersonatedUser, sourceIPs, objectRef
        case responseStatus, requestReceivedTimestamp, stageTimestamp
        // GCP audit
        case protoPayload, insertId, resource, timestamp, receiveTimestamp, logName, operation, severity
        /// A log sink's BigQuery export names protoPayload after its type.
        case protopayloadAuditlog
        // MLflow webhook
        case entity, action, data, delivery, workspace
        /// The event type in one string (`model_version.created`), as some receivers store a delivery.
        case event

        var key: String {
            switch self {
            case .delivery: return "_delivery"
            case .atTimestamp: return "@timestamp"
            case .detailType: return "detail-type"
            case .protopayloadAuditlog: return "protopayload_auditlog"
            default: return "\(self)"
            }
        }
    }

    let topKeys = KeyTable(Top.allCases.map(\.key))
    let slots: UnsafeMutablePointer<UInt32>
    let inner: UnsafeMutablePointer<UInt32>

    let cloudTrail = CloudTrailFields()
    let kubernetes = KubernetesFields()
    let gcp = GCPFields()
    let mlflow = MLflowFields()

    public init() {
        slots = .allocate(capacity: Top.allCases.count)
        inner = .allocate(capacity: 64)
    }

    deinit {
        slots.deallocate()
        inner.deallocate()
    }

    /// Normalizes the record whose root is `root`. Composed text goes to `arena`, which must have been made with
    /// the default constants (every `TextArena()` is).
    public func normalize(_ document: JSONDocument, root: UInt32, arena: TextArena) throws(NormalizeFailure) -> Event {
        let node = document[root]
        guard node.kind == .object else { throw .notAnObject(node.kind) }
        topKeys.collect(document, root, into: slots)

        switch recognise(document) {
        case .mlflowWebhook: return try normalizeMLflow(document, root, arena)
        case .gcpAudit: return try normalizeGCP(document, root, arena)
        case .kubernetesAudit: return try normalizeKubernetes(document, root, arena)
        case .cloudTrail: return try normalizeCloudTrail(document, root, arena, envelopeTime: 0)
        case nil: break
        }
        // EventBridge delivers a CloudTrail record as the `detail` of its own envelope: the record is the detail,
        // so rules read its fields where they expect them, and the envelope's time stands in for a missing eventTime.
        let detail = slot(.detail)
        if detail != 0 && slot(.detailType) != 0 && document[detail].kind == .object {
            let envelopeTime = slot(.time)
            topKeys.collect(document, detail, into: slots)
            if recognise(document) == .cloudTrail {
                return try normalizeCloudTrail(document, detail, arena, envelopeTime: envelopeTime)
            }
        }
        var keys: [String] = []
        document.forEachMember(root) { key, _ in
            if keys.count < 6, let name = document.string(key) { keys.append(name) }
        }
        throw .unknownShape(keys: keys)
    }

    // MARK: Shared helpers

    @inline(__always)
    func slot(_ key: Top) -> UInt32 { slots[key.rawValue] }

    /// A string, number or boolean value as text; anything else (null, absent, object, array) as missing.
    @inline(__always)
    func text(_ document: JSONDocument, _ index: UInt32) -> TextRef {
        guard index != 0 else { return .missing }
        let node = document[index]
        switch node.kind {
        case .string:
            return TextRef(
                offset: node.start, length: node.end &- node.start,
                flags: TextRef.present | (node.isEscaped ? TextRef.escaped : 0))
        case .number, .true, .false:
            return TextRef(offset: node.start, length: node.end &- node.start, flags: TextRef.present)
        default:
            return .missing
        }
    }

    /// The first present text among several (fixed arities: a variadic parameter would allocate per call).
    @inline(__always)
    func firstText(_ document: JSONDocument, _ a: UInt32, _ b: UInt32) -> TextRef {
        let first = text(document, a)
        return first.isPresent ? first : text(document, b)
    }

    @inline(__always)
    func firstText(_ document: JSONDocument, _ a: UInt32, _ b: UInt32, _ c: UInt32) -> TextRef {
        let first = firstText(document, a, b)
        return first.isPresent ? first : text(document, c)
    }

    @inline(__always)
    func firstText(_ document: JSONDocument, _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32) -> TextRef {
        let first = firstText(document, a, b, c)
        return first.isPresent ? first : text(document, d)
    }

    /// Appends a string value's decoded text to the arena.
    func appendString(_ document: JSONDocument, _ index: UInt32, to arena: TextArena) {
        guard index != 0 else { return }
        let node = document[index]
        if node.kind == .string {
            document.withString(index) { arena.appendBytes($0) }
        } else if node.kind != .null && node.kind != .object && node.kind != .array {
            arena.appendBytes(document.rawBytes(index))
        }
    }

    /// The time in a field, or nil when the field is absent, null or empty; throws when it holds something other
    /// than a time. A string is a date-time (`Timestamp.parseDateTime`: RFC 3339 and the export forms) or epoch
    /// digits; a number is epoch seconds, milliseconds, microseconds or nanoseconds (`Timestamp.parseEpoch`).
    func time(_ document: JSONDocument, _ index: UInt32, _ source: EventSource, _ field: String) throws(NormalizeFailure) -> Int64? {
        guard index != 0 else { return nil }
        let node = document[index]
        switch node.kind {
        case .null:
            return nil
        case .string:
            guard node.byteCount > 0 else { return nil }
            let parsed = document.withString(index) { text -> Int64? in
                if let time = Timestamp.parseDateTime(text) { return time }
                return Timestamp.parseEpoch(text)
            }
            guard let parsed else { throw .invalidField(source, field, TimeFieldText.notATime) }
            return parsed
        case .number:
            guard let parsed = Timestamp.parseEpoch(document.rawBytes(index)) else {
                throw .invalidField(source, field, TimeFieldText.epochOutOfRange)
            }
            return parsed
        default:
            throw .invalidField(source, field, TimeFieldText.notATime)
        }
    }

    /// The time of the first of a source's time fields, in order of preference, that has one (see `time`);
    /// `Event.unknownTime` when none has. A field that holds something other than a time refuses the record, since
    /// it is damaged, and a later field's time might not mean the same. Pass `(0, "")` for an unused field.
    func firstTime(
        _ document: JSONDocument, _ source: EventSource, _ first: (UInt32, String), _ second: (UInt32, String),
        _ third: (UInt32, String)
    ) throws(NormalizeFailure) -> Int64 {
        if let time = try time(document, first.0, source, first.1) { return time }
        if let time = try time(document, second.0, source, second.1) { return time }
        return try time(document, third.0, source, third.1) ?? Event.unknownTime
    }

    /// The source's own id when present; else one derived from the record's content (`ContentID`).
    func uid(_ document: JSONDocument, _ index: UInt32, record: UInt32, _ arena: TextArena) -> TextRef {
        let own = text(document, index)
        if own.isPresent && own.length > 0 { return own }
        let mark = arena.mark
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: ContentID.length) { buffer in
            ContentID.write(document, record, into: buffer.baseAddress!)
            arena.appendBytes(UnsafeBufferPointer(buffer))
        }
        return arena.finish(from: mark)
    }

    /// A string value's bytes compared to a literal (escapes decoded).
    func equals(_ document: JSONDocument, _ index: UInt32, _ literal: StaticString) -> Bool {
        guard index != 0, document[index].kind == .string else { return false }
        return document.withString(index) { JSONString.equals($0, literal) }
    }
}

enum TimeFieldText {
    static let notATime =
        "not a time (RFC 3339, YYYY-MM-DD HH:MM:SS[.fraction][zone] or Unix epoch seconds, ms, µs or ns)"
    static let epochOutOfRange =
        "epoch number outside 1973-03-03 to 2286-11-20 in seconds, ms, µs or ns (9-10, 12-13, 15-16 or 18-19 digits)"
}
