import PipewatchJSON

/// The normalized event as JSON: dotted field names become nested objects (`api.operation` → `{"api":{"operation"…}}`),
/// absent fields are left out (an event without time has `"time_absent": true` instead of `time`), and `raw` (on
/// request) is the original record.
public enum EventJSON {
    /// Field groups in output order: a name without a dot stands alone; a prefix opens an object. Keys are kept
    /// pre-quoted, so writing an event encodes no constant names.
    private struct Group {
        var prefix: [UInt8]?
        var fields: [(field: EventField, key: [UInt8])]
    }

    private static let groups: [Group] = {
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
        return groups.map { group in
            Group(prefix: group.prefix.map(JSONWriter.quotedKey), fields: group.fields.map { ($0.0, JSONWriter.quotedKey($0.1)) })
        }
    }()

    private static let timeKey = JSONWriter.quotedKey("time")
    private static let timeMillisecondsKey = JSONWriter.quotedKey("time_ms")
    private static let timeAbsentKey = JSONWriter.quotedKey("time_absent")
    private static let sourceKey = JSONWriter.quotedKey("source")
    private static let outcomeKey = JSONWriter.quotedKey("outcome")
    private static let preliminaryKey = JSONWriter.quotedKey("preliminary")
    private static let rawKey = JSONWriter.quotedKey("raw")

    public static func write(_ view: EventView, to writer: inout JSONWriter, includeRaw: Bool = false) {
        let event = view.eventPointer
        writer.beginObject()
        if event.pointee.hasTime {
            writer.key(quoted: timeKey)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Timestamp.textLength) { buffer in
                let count = Timestamp.write(milliseconds: event.pointee.time, into: buffer.baseAddress!)
                writer.string(utf8: UnsafeBufferPointer(start: buffer.baseAddress, count: count))
            }
            writer.key(quoted: timeMillisecondsKey)
            writer.number(event.pointee.time)
        } else {
            writer.key(quoted: timeAbsentKey)
            writer.bool(true)
        }
        writer.key(quoted: sourceKey)
        writer.string(event.pointee.source.name)
        writer.key(quoted: outcomeKey)
        writer.string(event.pointee.outcome.name)
        if event.pointee.source == .kubernetesAudit {
            writer.key(quoted: preliminaryKey)
            writer.bool(event.pointee.isPreliminary)
        }
        for group in groups {
            var opened = false
            for (field, key) in group.fields where event.pointee[field].isPresent {
                if !opened, let prefix = group.prefix {
                    writer.key(quoted: prefix)
                    writer.beginObject()
                }
                opened = true
                writer.key(quoted: key)
                view.withField(field) { writer.string(utf8: $0) }
            }
            if opened && group.prefix != nil { writer.endObject() }
        }
        if includeRaw {
            writer.key(quoted: rawKey)
            writer.raw(json: view.document.rawBytes(view.record))
        }
        writer.endObject()
    }
}
