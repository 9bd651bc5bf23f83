import PipewatchJSON

/// Writes a YAML node as JSON, reading scalars the way YAML 1.2's core schema does: plain `null`/`~`/empty as null,
/// plain `true`/`false` as booleans, plain numbers (in JSON's number syntax) as numbers, everything else (quoted
/// scalars always) as strings.
enum YAMLJSON {
    static func json(_ node: YAMLNode) -> String {
        var writer = JSONWriter(capacity: 256)
        write(node, to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func write(_ node: YAMLNode, to writer: inout JSONWriter) {
        switch node.value {
        case .mapping(let pairs):
            writer.beginObject()
            for (key, value) in pairs {
                writer.key(key.text ?? "")
                write(value, to: &writer)
            }
            writer.endObject()
        case .sequence(let items):
            writer.beginArray()
            for item in items { write(item, to: &writer) }
            writer.endArray()
        case .scalar(let text, let plain):
            if plain {
                if YAMLNode.nullWords.contains(text) {
                    writer.null()
                    return
                }
                if YAMLNode.trueWords.contains(text) {
                    writer.bool(true)
                    return
                }
                if YAMLNode.falseWords.contains(text) {
                    writer.bool(false)
                    return
                }
                if isJSONNumber(text) {
                    var text = text
                    text.withUTF8 { writer.raw(json: $0) }
                    return
                }
            }
            writer.string(text)
        }
    }

    /// Whether `text` is a number in JSON's syntax (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
    static func isJSONNumber(_ text: String) -> Bool {
        let s = Array(text.utf8)
        var i = 0
        func digits() -> Int {
            let start = i
            while i < s.count, s[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            return i - start
        }
        if i < s.count && s[i] == UInt8(ascii: "-") { i += 1 }
        guard i < s.count else { return false }
        if s[i] == UInt8(ascii: "0") {
            i += 1
        } else if digits() == 0 {
            return false
        }
        if i < s.count && s[i] == UInt8(ascii: ".") {
            i += 1
            if digits() == 0 { return false }
        }
        if i < s.count && (s[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < s.count && (s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-")) { i += 1 }
            if digits() == 0 { return false }
        }
        return i == s.count
    }
}
