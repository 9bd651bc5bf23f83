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

/// Turns parsed records into normalized events: detects the source from the record's shape, then reads every
/// field it needs in one pass over each object it visits. One instance per thread (it keeps scratch space).
public final class Normalizer: @unchecked Sendable {
    /// Every top-level key any source normalizer reads; one pass fills `slots` for all of them.
    enum Top: Int, CaseIterable {
        // CloudTrail
        case eventVersion, eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent, userIdentity
        case requestID, eventID, errorCode, errorMessage, requestParameters, responseElements, resources
        case recipientAccountId, eventType, additionalEventData
        // Kubernetes audit
        case kind, auditID, stage, requestURI, verb, user, impersonatedUser, sourceIPs, objectRef, responseStatus
        case requestReceivedTimestamp, stageTimestamp
        // GCP audit
        case protoPayload, insertId, resource, timestamp, logName, operation, severity
        // MLflow webhook
        case entity, action, data, delivery, workspace

        var key: String {
            switch self {
            case .delivery: return "_delivery"
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
        @inline(__always) func has(_ key: Top) -> Bool { slots[key.rawValue] != 0 }

        if has(.entity) && has(.action) && has(.data) {
            return try normalizeMLflow(document, root, arena)
        }
        if has(.protoPayload) {
            return try normalizeGCP(document, root, arena)
        }
        if has(.auditID) && (has(.verb) || has(.stage)) {
            return try normalizeKubernetes(document, root, arena)
        }
        if has(.eventSource) || has(.eventName) || has(.eventVersion) {
            return try normalizeCloudTrail(document, root, arena)
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

    /// The time in a string value, or nil when absent; throws when present but not a timestamp.
    func time(_ document: JSONDocument, _ index: UInt32, _ source: EventSource, _ field: String) throws(NormalizeFailure) -> Int64? {
        guard index != 0 else { return nil }
        guard document[index].kind == .string else { throw .invalidField(source, field, "not a string") }
        guard let time = document.withString(index, { Timestamp.parseRFC3339($0) }) else {
            throw .invalidField(source, field, "not an RFC 3339 timestamp")
        }
        return time
    }

    /// A string value's bytes compared to a literal (escapes decoded).
    func equals(_ document: JSONDocument, _ index: UInt32, _ literal: StaticString) -> Bool {
        guard index != 0, document[index].kind == .string else { return false }
        return document.withString(index) { JSONString.equals($0, literal) }
    }
}
