import Foundation  // memcmp
import PipewatchEvents
import PipewatchJSON

/// A dotted path into a raw record, compiled for resolution without allocating or reference counting: the segments
/// stay in one buffer, joined by dots, so that a key which itself contains dots (`authorization.k8s.io/decision`)
/// is a contiguous range of it.
///
/// Resolution follows `JSONPath`: a segment selects an object's key; on an array it selects from every element
/// unless it is a number (`containers.0.image`, also written `containers[0].image`); a missing key is retried joined
/// with the following segments.
final class RawPath: Hashable, @unchecked Sendable, CustomStringConvertible {
    let text: String
    let segmentCount: Int
    private let bytes: UnsafeMutablePointer<UInt8>
    private let starts: UnsafeMutablePointer<Int>
    private let ends: UnsafeMutablePointer<Int>
    /// The array index a segment names, or -1.
    private let indices: UnsafeMutablePointer<Int>
    /// Per event source (by raw value), the normalized field holding the same text, or -1 (read first: it costs
    /// nothing).
    private let shortcutFields: UnsafeMutablePointer<Int16>

    init(_ dotted: String) {
        text = dotted
        let segments = JSONPath(dotted).segments
        segmentCount = segments.count
        let total = segments.reduce(0) { $0 + $1.count } + max(segments.count - 1, 0)
        bytes = .allocate(capacity: max(total, 1))
        starts = .allocate(capacity: max(segmentCount, 1))
        ends = .allocate(capacity: max(segmentCount, 1))
        indices = .allocate(capacity: max(segmentCount, 1))
        var offset = 0
        for (k, segment) in segments.enumerated() {
            if k > 0 {
                bytes[offset] = UInt8(ascii: ".")
                offset += 1
            }
            starts[k] = offset
            for byte in segment {
                bytes[offset] = byte
                offset += 1
            }
            ends[k] = offset
            let isNumber = !segment.isEmpty && segment.allSatisfy { $0 &- UInt8(ascii: "0") < 10 }
            indices[k] = isNumber ? (Int(String(decoding: segment, as: UTF8.self)) ?? -1) : -1
        }
        shortcutFields = .allocate(capacity: EventSource.allCases.count)
        for source in EventSource.allCases {
            shortcutFields[Int(source.rawValue)] = RawPath.shortcuts[dotted]?[source].map { Int16($0.rawValue) } ?? -1
        }
    }

    /// The normalized field that holds this path's value for events of `source`, if any.
    @inline(__always)
    func shortcut(for source: EventSource) -> EventField? {
        let raw = shortcutFields[Int(source.rawValue)]
        return raw < 0 ? nil : EventField(rawValue: Int(raw))
    }

    deinit {
        bytes.deallocate()
        starts.deallocate()
        ends.deallocate()
        indices.deallocate()
        shortcutFields.deallocate()
    }

    /// Raw fields the normalizers copy unchanged into a normalized field: whenever the normalized field is present
    /// it is this very value (same text). When it is absent, the raw record is read, so a field the normalizer
    /// fills from elsewhere too (actor.user, resource.name) must not be listed.
    static let shortcuts: [String: [EventSource: EventField]] = [
        "eventName": [.cloudTrail: .apiOperation],
        "eventSource": [.cloudTrail: .apiService],
        "eventID": [.cloudTrail: .uid],
        "userAgent": [.cloudTrail: .userAgent, .kubernetesAudit: .userAgent],
        "sourceIPAddress": [.cloudTrail: .srcIP],
        "errorCode": [.cloudTrail: .errorCode],
        "errorMessage": [.cloudTrail: .errorMessage],
        "awsRegion": [.cloudTrail: .cloudRegion],
        "recipientAccountId": [.cloudTrail: .cloudAccount],
        "userIdentity.type": [.cloudTrail: .actorUserType],
        "userIdentity.invokedBy": [.cloudTrail: .actorImpersonatedBy],
        "userIdentity.sessionContext.sessionIssuer.arn": [.cloudTrail: .actorSessionIssuer],
        "auditID": [.kubernetesAudit: .uid],
        "stage": [.kubernetesAudit: .stage],
        "objectRef.resource": [.kubernetesAudit: .resourceType],
        "objectRef.namespace": [.kubernetesAudit: .resourceNamespace],
        "objectRef.name": [.kubernetesAudit: .resourceName],
        "objectRef.uid": [.kubernetesAudit: .resourceUID],
        "responseStatus.code": [.kubernetesAudit: .statusCode],
        "responseStatus.reason": [.kubernetesAudit: .errorCode],
        "responseStatus.message": [.kubernetesAudit: .errorMessage],
        "protoPayload.methodName": [.gcpAudit: .apiOperation],
        "protoPayload.serviceName": [.gcpAudit: .apiService],
        "protoPayload.resourceName": [.gcpAudit: .resourceName],
        "protoPayload.requestMetadata.callerIp": [.gcpAudit: .srcIP],
        "protoPayload.requestMetadata.callerSuppliedUserAgent": [.gcpAudit: .userAgent],
        "protoPayload.status.code": [.gcpAudit: .statusCode],
        "protoPayload.status.message": [.gcpAudit: .errorMessage],
        "insertId": [.gcpAudit: .uid],
        "entity": [.mlflowWebhook: .mlEntity],
        "data.name": [.mlflowWebhook: .mlName],
        "data.version": [.mlflowWebhook: .mlVersion],
        "data.alias": [.mlflowWebhook: .mlAlias],
        "data.key": [.mlflowWebhook: .mlTagKey],
        "data.value": [.mlflowWebhook: .mlTagValue],
        "data.source": [.mlflowWebhook: .mlSource],
        "data.run_id": [.mlflowWebhook: .mlRunID],
    ]

    static func == (a: RawPath, b: RawPath) -> Bool { a.text == b.text }
    func hash(into hasher: inout Hasher) { hasher.combine(text) }
    var description: String { text }

    /// Calls `body` with every node the path reaches from `root`; stops when `body` returns true.
    @inline(__always)
    func anyNode(_ document: JSONDocument, _ root: UInt32, _ body: (UInt32) -> Bool) -> Bool {
        resolve(document, root, 0, body)
    }

    private func resolve(_ document: JSONDocument, _ start: UInt32, _ first: Int, _ body: (UInt32) -> Bool) -> Bool {
        var node = start
        var segment = first
        while segment < segmentCount {
            let container = document[node]
            if container.kind == .object {
                if let value = member(document, node, starts[segment], ends[segment]) {
                    node = value
                    segment += 1
                    continue
                }
                // The key may itself contain dots: try it joined with the following segments.
                var last = segment + 1
                while last < segmentCount {
                    if let value = member(document, node, starts[segment], ends[last]) {
                        return resolve(document, value, last + 1, body)
                    }
                    last += 1
                }
                return false
            } else if container.kind == .array {
                let index = indices[segment]
                if index >= 0 {
                    guard let element = document.element(node, at: index) else { return false }
                    node = element
                    segment += 1
                    continue
                }
                var element = node &+ 1
                while element < container.next {
                    if resolve(document, element, segment, body) { return true }
                    element = document[element].next
                }
                return false
            } else {
                return false
            }
        }
        return body(node)
    }

    @inline(__always)
    private func member(_ document: JSONDocument, _ object: UInt32, _ start: Int, _ end: Int) -> UInt32? {
        document.member(object, UnsafeBufferPointer(start: bytes + start, count: end - start))
    }
}

/// How a predicate reads a field on the hot path: a plain value with no reference counting (the path it points to
/// is kept alive by the predicate's `FieldAccess`).
struct FieldReader {
    enum Tag: UInt8 { case normalized, source, outcome, preliminary, time, raw }
    let tag: Tag
    let field: EventField
    /// The raw path (kept alive by the `FieldAccess` the reader was made from).
    let path: Unmanaged<RawPath>?

    init(_ access: FieldAccess) {
        switch access.kind {
        case .normalized(let field):
            tag = .normalized
            self.field = field
            path = nil
        case .source:
            tag = .source
            field = .uid
            path = nil
        case .outcome:
            tag = .outcome
            field = .uid
            path = nil
        case .preliminary:
            tag = .preliminary
            field = .uid
            path = nil
        case .time:
            tag = .time
            field = .uid
            path = nil
        case .raw(let rawPath):
            tag = .raw
            field = .uid
            path = Unmanaged.passUnretained(rawPath)
        }
    }

    /// Calls `body` with each value of the field (a raw path crossing arrays has one per element); stops when `body`
    /// returns true and returns whether it did.
    @inline(__always)
    func anyValue(_ context: EvaluationContext, _ body: (FieldValue) -> Bool) -> Bool {
        let view = context.view
        switch tag {
        case .normalized:
            return FieldReader.normalized(field, view, body)
        case .raw:
            return path.unsafelyUnwrapped._withUnsafeGuaranteedRef { path in
                if let shortcut = path.shortcut(for: view.source), view.eventPointer.pointee.fields[shortcut.rawValue].isPresent {
                    // The normalizer copied this very value; when it is absent the raw record decides (null, object…).
                    return FieldReader.normalized(shortcut, view, body)
                }
                let document = context.document
                return path.anyNode(document, view.record) { node in
                    switch document[node].kind {
                    case .string:
                        return document.withString(node) { body(.text($0)) }
                    case .number:
                        return body(.number(document.rawBytes(node)))
                    case .true, .false:
                        return body(.text(document.rawBytes(node)))
                    case .null:
                        return body(.null)
                    case .object, .array:
                        return body(.container(node))
                    }
                }
            }
        case .source:
            return FieldAccess.sourceNames[Int(view.source.rawValue)].withUnsafeBufferPointer { body(.text($0)) }
        case .outcome:
            return FieldAccess.outcomeNames[Int(view.eventPointer.pointee.outcome.rawValue)].withUnsafeBufferPointer { body(.text($0)) }
        case .preliminary:
            guard view.source == .kubernetesAudit else { return false }
            return FieldAccess.booleans[view.eventPointer.pointee.isPreliminary ? 1 : 0].withUnsafeBufferPointer { body(.text($0)) }
        case .time:
            let time = view.eventPointer.pointee.time
            guard time != Event.unknownTime else { return false }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
                let count = Timestamp.write(milliseconds: time, into: buffer.baseAddress!)
                return body(.text(UnsafeBufferPointer(start: buffer.baseAddress, count: count)))
            }
        }
    }

    /// A normalized field's value. A text the normalizer copied from a JSON number of the record is that number: it
    /// is a range of the record's bytes (neither composed in the arena nor an escaped string), and in JSON a number
    /// token stands between structural characters, where a string's body, or a part of it, has a quote or a
    /// character of the string on each side.
    @inline(__always)
    static func normalized(_ field: EventField, _ view: EventView, _ body: (FieldValue) -> Bool) -> Bool {
        let ref = view.eventPointer.pointee.fields[field.rawValue]
        guard ref.isPresent else { return false }
        if ref.flags == TextRef.present && ref.length > 0 {
            let start = view.document.bytes + Int(ref.offset)
            let first = start[0]
            if (first &- UInt8(ascii: "0") < 10 || first == UInt8(ascii: "-"))
                && isNumberDelimiter(start[-1], before: true) && isNumberDelimiter(start[Int(ref.length)], before: false)
            {
                return body(.number(UnsafeBufferPointer(start: start, count: Int(ref.length))))
            }
        }
        return view.withText(ref) { body(.text($0)) } ?? false
    }

    /// What may stand right before (`:` `,` `[`) or after (`,` `}` `]`) a JSON value, besides whitespace.
    @inline(__always)
    static func isNumberDelimiter(_ byte: UInt8, before: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ","): return true
        case UInt8(ascii: ":"), UInt8(ascii: "["): return before
        case UInt8(ascii: "}"), UInt8(ascii: "]"): return !before
        default: return false
        }
    }

    /// Calls `body` with every scalar the field holds and whether it is a JSON number, looking inside objects and
    /// arrays: an array gives each of its elements; an object gives its JSON text and every scalar anywhere below
    /// it. Nulls give nothing.
    @inline(__always)
    func anyScalar(_ context: EvaluationContext, _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Bool) -> Bool {
        anyValue(context) { value in
            switch value {
            case .text(let bytes): return body(bytes, false)
            case .number(let bytes): return body(bytes, true)
            case .null: return false
            case .container(let node): return FieldAccess.anyScalar(in: context.document, node, body)
            }
        }
    }

    /// The same, as text only (for tests that do not compare by equality).
    @inline(__always)
    func anyText(_ context: EvaluationContext, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        anyScalar(context) { text, _ in body(text) }
    }

    /// Whether the field is in the event at all (a null value counts).
    func exists(_ context: EvaluationContext) -> Bool {
        if tag == .raw {
            return path.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.anyNode(context.document, context.view.record) { _ in true } }
        }
        return anyValue(context) { _ in true }
    }

    /// Whether the field has a value that is not null.
    @inline(__always)
    func hasNonNullValue(_ context: EvaluationContext) -> Bool {
        anyValue(context) { value in
            if case .null = value { return false }
            return true
        }
    }
}
