import PipewatchJSON

/// The normalized event as JSON: dotted field names become nested objects (`api.operation` → `{"api":{"operation"…}}`),
/// absent fields are left out (an event without time has `"time_absent": true` instead of `time`), and `raw` (on
/// request) is the original record.
public enum EventJSON {
    /// One normalized field as written: the objects it sits in (`ml.artifact.uri` → `ml`, `artifact`) and its key.
    /// Keys are kept pre-quoted in `keyTable` (a leaf holds where), so writing an event encodes no constant names and
    /// touches no array per field; each enclosing object has an id so the writer can tell whether the next field
    /// stays in the objects already open.
    private struct Leaf {
        var field: EventField
        var depth: Int
        var prefixIDs: SIMD4<Int32>
        var prefixStarts: SIMD4<Int32>
        var prefixLengths: SIMD4<Int32>
        var keyStart: Int
        var keyLength: Int
    }

    /// Every quoted key (`"name":`) the leaves write, one after another.
    private static let keyTable: [UInt8] = tables.keys
    /// Fields sharing a prefix are adjacent in `EventField`'s order, so each object is opened once.
    private static let leaves: [Leaf] = tables.leaves

    private static let tables: (leaves: [Leaf], keys: [UInt8]) = {
        var ids: [String: Int] = [:]
        var closed: Set<String> = []
        var open: [String] = []
        var leaves: [Leaf] = []
        var keys: [UInt8] = []
        func quoted(_ name: String) -> (Int32, Int32) {
            let start = keys.count
            keys += JSONWriter.quotedKey(name)
            return (Int32(start), Int32(keys.count - start))
        }
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
            var leaf = Leaf(
                field: field, depth: paths.count, prefixIDs: .zero, prefixStarts: .zero, prefixLengths: .zero,
                keyStart: 0, keyLength: 0)
            for (k, path) in paths.enumerated() {
                let id: Int
                if let known = ids[path] {
                    id = known
                } else {
                    id = ids.count
                    ids[path] = id
                }
                leaf.prefixIDs[k] = Int32(id)
                (leaf.prefixStarts[k], leaf.prefixLengths[k]) = quoted(String(path.split(separator: ".").last!))
            }
            let (start, length) = quoted(parts[parts.count - 1])
            leaf.keyStart = Int(start)
            leaf.keyLength = Int(length)
            leaves.append(leaf)
        }
        let leafNames = Set(EventField.allCases.map(\.name))
        precondition(ids.keys.allSatisfy { !leafNames.contains($0) }, "a field name is also an object")
        return (leaves, keys)
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
        leaves.withUnsafeBufferPointer { leaves in
            keyTable.withUnsafeBufferPointer { keys in
                let keys = keys.baseAddress!
                var openIDs = SIMD4<Int32>.zero
                var depth = 0
                for leaf in leaves where event.pointee[leaf.field].isPresent {
                    var common = 0
                    while common < depth && common < leaf.depth && openIDs[common] == leaf.prefixIDs[common] {
                        common += 1
                    }
                    while depth > common {
                        writer.endObject()
                        depth -= 1
                    }
                    while depth < leaf.depth {
                        writer.key(quoted: UnsafeBufferPointer(
                            start: keys + Int(leaf.prefixStarts[depth]), count: Int(leaf.prefixLengths[depth])))
                        writer.beginObject()
                        openIDs[depth] = leaf.prefixIDs[depth]
                        depth += 1
                    }
                    writer.key(quoted: UnsafeBufferPointer(start: keys + leaf.keyStart, count: leaf.keyLength))
                    writeText(event.pointee[leaf.field], of: view, to: &writer)
                }
                while depth > 0 {
                    writer.endObject()
                    depth -= 1
                }
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
