import PipewatchJSON

/// The normalized event as JSON: dotted field names become nested objects (`api.operation` → `{"api":{"operation"…}}`),
/// absent fields are left out (an event without time has `"time_absent": true` instead of `time`), and `raw` (on
/// request) is the original record.
public enum EventJSON {
    /// One normalized field as written: the objects it sits in (`ml.artifact.uri` → `ml`, `artifact`) and its key.
    /// Keys are kept pre-quoted, so writing an event encodes no constant names; each enclosing object has an id so
    /// the writer can tell whether the next field stays in the objects already open.
    private struct Leaf {
        var field: EventField
        var prefixes: [[UInt8]]
        var prefixIDs: [Int]
        var key: [UInt8]
    }

    /// Fields sharing a prefix are adjacent in `EventField`'s order, so each object is opened once.
    private static let leaves: [Leaf] = {
        var ids: [String: Int] = [:]
        var closed: Set<String> = []
        var open: [String] = []
        var leaves: [Leaf] = []
        for field in EventField.allCases {
            let parts = field.name.split(separator: ".").map(String.init)
            let paths = (1..<parts.count).map { parts[0..<$0].joined(separator: ".") }
            while let last = open.last, !paths.contains(last) {
                closed.insert(last)
                open.removeLast()
            }
            for path in paths where !open.contains(path) {
                precondition(!closed.contains(path), "fields under \(path) are not adjacent in EventField")
                open.append(path)
            }
            precondition(paths.count <= maximumDepth, "\(field.name) nests deeper than \(maximumDepth)")
            leaves.append(Leaf(
                field: field,
                prefixes: paths.map { JSONWriter.quotedKey(String($0.split(separator: ".").last!)) },
                prefixIDs: paths.map { path in
                    if let id = ids[path] { return id }
                    ids[path] = ids.count
                    return ids.count - 1
                },
                key: JSONWriter.quotedKey(parts[parts.count - 1])))
        }
        let leafNames = Set(EventField.allCases.map(\.name))
        precondition(ids.keys.allSatisfy { !leafNames.contains($0) }, "a field name is also an object")
        return leaves
    }()

    /// The deepest nesting of a field name (objects open at once).
    private static let maximumDepth = 4

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
        withUnsafeTemporaryAllocation(of: Int.self, capacity: maximumDepth) { openIDs in
            var depth = 0
            for leaf in leaves where event.pointee[leaf.field].isPresent {
                var common = 0
                while common < depth && common < leaf.prefixIDs.count && openIDs[common] == leaf.prefixIDs[common] {
                    common += 1
                }
                while depth > common {
                    writer.endObject()
                    depth -= 1
                }
                while depth < leaf.prefixIDs.count {
                    writer.key(quoted: leaf.prefixes[depth])
                    writer.beginObject()
                    openIDs[depth] = leaf.prefixIDs[depth]
                    depth += 1
                }
                writer.key(quoted: leaf.key)
                writeText(event.pointee[leaf.field], of: view, to: &writer)
            }
            while depth > 0 {
                writer.endObject()
                depth -= 1
            }
        }
        if includeRaw {
            writer.key(quoted: rawKey)
            // Most records arrive compact: then the bytes go out as they came, with no scan for whitespace.
            if view.document.isCompact(view.record) {
                writer.raw(compactJSON: view.document.rawBytes(view.record))
            } else {
                writer.raw(json: view.document.rawBytes(view.record))
            }
        }
        writer.endObject()
    }

    /// A text field as a JSON string. Text the parser read from the input with no escapes in it is valid UTF-8
    /// without quotes, backslashes or control characters (the parser checked), so it is written between quotes
    /// as it is; other text (escaped, or composed in the arena) goes through the escaping writer.
    @inline(__always)
    static func writeText(_ ref: TextRef, of view: EventView, to writer: inout JSONWriter) {
        if ref.flags & (TextRef.escaped | TextRef.inArena) == 0 {
            writer.string(verbatim: UnsafeBufferPointer(start: view.document.bytes + Int(ref.offset), count: Int(ref.length)))
        } else {
            view.withText(ref) { writer.string(utf8: $0) }
        }
    }
}
