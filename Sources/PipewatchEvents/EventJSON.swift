import PipewatchJSON

/// The normalized event as JSON: dotted field names become nested objects (`api.operation` → `{"api":{"operation"…}}`),
/// absent fields are left out, and `raw` (on request) is the original record, byte for byte.
public enum EventJSON {
    /// Field groups in output order: a name without a dot stands alone; a prefix opens an object.
    private static let groups: [(prefix: String?, fields: [(EventField, String)])] = {
        var groups: [(prefix: String?, fields: [(EventField, String)])] = []
        for field in EventField.allCases {
            let parts = field.name.split(separator: ".", maxSplits: 1).map(String.init)
            let prefix = parts.count == 2 ? parts[0] : nil
            let leaf = parts.count == 2 ? parts[1] : parts[0]
            if let last = groups.last, last.prefix != nil, last.prefix == prefix {
                groups[groups.count - 1].fields.append((field, leaf))
            } else {
                groups.append((prefix, [(field, leaf)]))
            }
        }
        return groups
    }()

    public static func write(_ view: EventView, to writer: inout JSONWriter, includeRaw: Bool = false) {
        let event = view.event
        writer.beginObject()
        if let time = view.timeText {
            writer.key("time")
            writer.string(time)
            writer.key("time_ms")
            writer.number(event.time)
        }
        writer.key("source")
        writer.string(event.source.name)
        writer.key("outcome")
        writer.string(event.outcome.name)
        if event.source == .kubernetesAudit {
            writer.key("preliminary")
            writer.bool(event.isPreliminary)
        }
        for group in groups {
            let present = group.fields.filter { event[$0.0].isPresent }
            guard !present.isEmpty else { continue }
            if let prefix = group.prefix {
                writer.key(prefix)
                writer.beginObject()
            }
            for (field, leaf) in present {
                writer.key(leaf)
                view.withField(field) { writer.string(utf8: $0) }
            }
            if group.prefix != nil { writer.endObject() }
        }
        if includeRaw {
            writer.key("raw")
            writer.raw(json: view.document.rawBytes(view.record))
        }
        writer.endObject()
    }
}
