import PipewatchEvents
import PipewatchJSON

/// Reads one field of an event as text, naming fields the way rules do: the field mapping of a logsource first,
/// then a normalized name, an event property (`source`, `outcome`, `time`, `preliminary`) or a raw dotted path.
/// What correlations and detectors group and aggregate by.
public struct EventFieldReader: @unchecked Sendable {
    public let name: String
    /// One access per mapping target; the first that has a value wins.
    let accesses: [FieldAccess]
    private let readers: [FieldReader]

    public init(name: String, logsource: LogSource, mapping: FieldMapping) {
        self.name = name
        accesses = mapping.targets(for: name, logsource: logsource).map { FieldAccess(resolving: $0) }
        readers = accesses.map(\.reader)
    }

    /// Calls `body` with the field's first value: a string (escapes decoded), the text of a number or boolean, or the
    /// JSON text of an object or array. nil (without calling) when the field is absent or null.
    @inline(__always)
    public func withFirstText<R>(in view: EventView, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        let context = EvaluationContext(view: view, scratch: nil)
        for reader in readers {
            var result: R?
            _ = reader.anyValue(context) { value in
                switch value {
                case .text(let text), .number(let text):
                    result = body(text)
                    return true
                case .null:
                    return false
                case .container(let node):
                    result = body(context.document.jsonText(node))
                    return true
                }
            }
            if let result { return result }
        }
        return nil
    }

    /// The field's first value as a string.
    public func string(in view: EventView) -> String? {
        withFirstText(in: view) { String(decoding: $0, as: UTF8.self) }
    }
}
