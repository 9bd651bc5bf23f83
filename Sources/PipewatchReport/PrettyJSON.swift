import PipewatchJSON

/// Indented JSON text of a parsed value, HTML-escaped for a `<pre>`, in the record's own key order and with its
/// strings and numbers exactly as written, cut after `limit` bytes of escaped text (evidence holds whole raw
/// records, which may be megabytes; counting after escaping keeps a text of quotes within the limit too).
struct PrettyJSON {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var truncated = false

    init(limit: Int) {
        self.limit = limit
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func write(_ doc: JSONDocument, _ node: UInt32) {
        value(doc, node, depth: 0)
    }

    private mutating func value(_ doc: JSONDocument, _ node: UInt32, depth: Int) {
        guard !truncated else { return }
        switch doc[node].kind {
        case .object:
            guard doc.childCount(node) > 0 else { return append(Array("{}".utf8)) }
            append([UInt8(ascii: "{")])
            var first = true
            doc.forEachMember(node) { key, member in
                append(Array((first ? "\n" : ",\n").utf8))
                first = false
                indent(depth + 1)
                append(Array(doc.jsonText(key)))
                append(Array(": ".utf8))
                value(doc, member, depth: depth + 1)
            }
            append([0x0A])
            indent(depth)
            append([UInt8(ascii: "}")])
        case .array:
            guard doc.childCount(node) > 0 else { return append(Array("[]".utf8)) }
            append([UInt8(ascii: "[")])
            var first = true
            doc.forEachElement(node) { element in
                append(Array((first ? "\n" : ",\n").utf8))
                first = false
                indent(depth + 1)
                value(doc, element, depth: depth + 1)
            }
            append([0x0A])
            indent(depth)
            append([UInt8(ascii: "]")])
        default:
            append(Array(doc.jsonText(node)))
        }
    }

    private mutating func indent(_ depth: Int) {
        append([UInt8](repeating: 0x20, count: 2 * depth))
    }

    /// Appends escaped until the limit, never cutting an entity or a UTF-8 character in two.
    private mutating func append(_ more: [UInt8]) {
        for byte in more {
            guard !truncated else { return }
            let piece: [UInt8]
            switch byte {
            case UInt8(ascii: "&"): piece = Array("&amp;".utf8)
            case UInt8(ascii: "<"): piece = Array("&lt;".utf8)
            case UInt8(ascii: ">"): piece = Array("&gt;".utf8)
            case UInt8(ascii: "\""): piece = Array("&quot;".utf8)
            case UInt8(ascii: "'"): piece = Array("&#39;".utf8)
            default:
                if bytes.count + 1 > limit {
                    dropIncompleteCharacter()
                    truncated = true
                    return
                }
                bytes.append(byte)
                continue
            }
            guard bytes.count + piece.count <= limit else {
                truncated = true
                return
            }
            bytes += piece
        }
    }

    /// Removes the start of a multi-byte UTF-8 character whose last bytes did not fit.
    private mutating func dropIncompleteCharacter() {
        var lead = bytes.count - 1
        while lead >= 0 && bytes.count - lead <= 4 && bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0, bytes[lead] & 0x80 != 0 else { return }
        let length = bytes[lead] >= 0xF0 ? 4 : bytes[lead] >= 0xE0 ? 3 : 2
        if bytes.count - lead < length { bytes.removeSubrange(lead...) }
    }
}
