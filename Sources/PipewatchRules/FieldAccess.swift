import PipewatchEvents
import PipewatchJSON

/// What a rule evaluation reads: the event and this evaluator's Hyperscan scratch.
struct EvaluationContext {
    let view: EventView
    let scratch: OpaquePointer?

    @inline(__always) var document: JSONDocument { view.document }
}

/// One value a field has in an event.
enum FieldValue {
    /// A string (escapes decoded), or the text of a boolean.
    case text(UnsafeBufferPointer<UInt8>)
    /// A JSON number, as the record spells it.
    case number(UnsafeBufferPointer<UInt8>)
    case null
    /// An object or an array of the raw record (tape index).
    case container(UInt32)
}

/// Where a rule's field name points after mapping: a normalized field, one of the event's own properties, or a
/// dotted path into the raw record.
struct FieldAccess: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case normalized(EventField)
        /// `source`: aws.cloudtrail, k8s.audit, gcp.audit or mlflow.webhook.
        case source
        /// `outcome`: success, failure or unknown.
        case outcome
        /// `preliminary`: true or false (Kubernetes events only).
        case preliminary
        /// `time`: the event time as RFC 3339 text (UTC, milliseconds).
        case time
        case raw(RawPath)
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    /// The field a name resolves to: `raw.` forces a raw path; normalized names and the event properties come next;
    /// anything else is a raw path.
    init(resolving name: String) {
        if name.hasPrefix("raw.") {
            kind = .raw(RawPath(String(name.dropFirst(4))))
        } else if let field = EventField(name: name) {
            kind = .normalized(field)
        } else {
            switch name {
            case "source": kind = .source
            case "outcome": kind = .outcome
            case "preliminary": kind = .preliminary
            case "time": kind = .time
            default: kind = .raw(RawPath(name))
            }
        }
    }

    var description: String {
        switch kind {
        case .normalized(let field): return field.name
        case .source: return "source"
        case .outcome: return "outcome"
        case .preliminary: return "preliminary"
        case .time: return "time"
        case .raw(let path): return "raw." + path.description
        }
    }

    /// A rough cost of reading the field, to order cheap tests first.
    var cost: Int {
        switch kind {
        case .raw(let path): return 2 + path.segmentCount
        default: return 1
        }
    }

    var isRaw: Bool {
        if case .raw = kind { return true }
        return false
    }

    var reader: FieldReader { FieldReader(self) }

    func anyValue(_ context: EvaluationContext, _ body: (FieldValue) -> Bool) -> Bool {
        reader.anyValue(context, body)
    }

    func anyText(_ context: EvaluationContext, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        reader.anyText(context, body)
    }

    /// A container reached by a field path matches through its JSON text and every scalar under it (the flag:
    /// whether the scalar is a JSON number).
    static func anyScalar(in document: JSONDocument, _ node: UInt32, _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Bool) -> Bool {
        if document[node].kind == .object && body(document.jsonText(node), false) { return true }
        return ValueWalk.anyScalar(in: document, node, includingKeys: false, body)
    }

    /// Whether the field is in the event at all (a null value counts).
    func exists(_ context: EvaluationContext) -> Bool { reader.exists(context) }

    static let sourceNames: [[UInt8]] = EventSource.allCases.map { Array($0.name.utf8) }
    static let outcomeNames: [[UInt8]] = [Outcome.unknown, .success, .failure].map { Array($0.name.utf8) }
    static let booleans: [[UInt8]] = [Array("false".utf8), Array("true".utf8)]
}

/// Searches a whole raw record: every key and every scalar value (strings with escapes decoded).
enum RecordText {
    static func anyText(_ context: EvaluationContext, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        ValueWalk.anyScalar(in: context.document, context.view.record, includingKeys: true) { text, _ in body(text) }
    }
}

/// Every scalar under a node (strings decoded), and optionally every key, depth first, with whether it is a JSON
/// number; stops when `body` says so.
enum ValueWalk {
    static func anyScalar(
        in document: JSONDocument, _ node: UInt32, includingKeys: Bool, _ body: (UnsafeBufferPointer<UInt8>, Bool) -> Bool
    ) -> Bool {
        switch document[node].kind {
        case .string:
            return document.withString(node) { body($0, false) }
        case .number:
            return body(document.rawBytes(node), true)
        case .true, .false:
            return body(document.rawBytes(node), false)
        case .null:
            return false
        case .array:
            var stopped = false
            document.forEachElement(node) { element in
                if !stopped && anyScalar(in: document, element, includingKeys: includingKeys, body) { stopped = true }
            }
            return stopped
        case .object:
            var stopped = false
            document.forEachMember(node) { key, value in
                if stopped { return }
                if (includingKeys && document.withString(key, { body($0, false) }))
                    || anyScalar(in: document, value, includingKeys: includingKeys, body)
                {
                    stopped = true
                }
            }
            return stopped
        }
    }
}

