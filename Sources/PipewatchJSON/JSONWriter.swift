/// Builds JSON text into a byte buffer, escaping strings correctly. Invalid UTF-8 in a string becomes U+FFFD, so
/// the output is always valid JSON (callers that must keep such bytes exactly add a base64 copy).
public struct JSONWriter: Sendable {
    public var bytes: [UInt8] = []
    /// Whether a value was just written at this nesting level (so the next one needs a comma).
    private var needsComma = false

    public init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes `"name":` ready for a value.
    public mutating func key(_ name: String) {
        separate()
        var name = name
        name.withUTF8 { appendQuoted($0) }
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes a key given as `JSONWriter.quotedKey(name)` bytes (quoted, with its colon), so hot loops need not
    /// re-encode and escape constant names.
    public mutating func key(quoted: [UInt8]) {
        separate()
        bytes.append(contentsOf: quoted)
        needsComma = false
    }

    /// `"name":` as bytes, for `key(quoted:)`.
    public static func quotedKey(_ name: String) -> [UInt8] {
        var writer = JSONWriter(capacity: name.utf8.count + 4)
        writer.key(name)
        return writer.bytes
    }

    public mutating func string(_ value: String) {
        separate()
        var value = value
        value.withUTF8 { appendQuoted($0) }
        needsComma = true
    }

    public mutating func string(utf8 value: UnsafeBufferPointer<UInt8>) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    public mutating func number(_ value: Int64) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    public mutating func number(_ value: Int) { number(Int64(value)) }

    public mutating func number(_ value: Double) {
        separate()
        if value.isFinite {
            if value == value.rounded(), abs(value) < 1e15 {
                bytes.append(contentsOf: String(Int64(value)).utf8)
            } else {
                bytes.append(contentsOf: String(value).utf8)
            }
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    /// Inserts already-valid JSON text as a value (e.g. a record's original bytes). Whitespace between tokens is
    /// dropped, so a pretty-printed record cannot break a line-delimited output.
    public mutating func raw(json: UnsafeBufferPointer<UInt8>) {
        separate()
        var inString = false
        var escaped = false
        var runStart = 0
        for (i, c) in json.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: json[runStart..<i]))
                runStart = i + 1
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: json[runStart..<json.count]))
        needsComma = true
    }

    public mutating func newline() {
        bytes.append(0x0A)
        needsComma = false
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `"…"` with JSON escapes; keeps valid UTF-8 as is and replaces invalid bytes with U+FFFD.
    public mutating func appendQuoted(_ s: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var i = 0
        let n = s.count
        var runStart = 0
        while i < n {
            let c = s[i]
            if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") && c < 0x80 {
                i += 1
                continue
            }
            if c >= 0x80 {
                if let length = JSONWriter.utf8SequenceLength(s, i) {
                    i += length
                    continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: s[runStart..<i]))
                bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += 1
                runStart = i
                continue
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: s[runStart..<i]))
            switch c {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            default:
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    JSONWriter.hex[Int(c >> 4)], JSONWriter.hex[Int(c & 0xF)],
                ])
            }
            i += 1
            runStart = i
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: s[runStart..<n]))
        bytes.append(UInt8(ascii: "\""))
    }

    /// The length of the valid UTF-8 sequence at `i`, or nil.
    public static func utf8SequenceLength(_ s: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        guard let base = s.baseAddress else { return nil }
        do {
            return try JSONParser.scanUTF8(base, i, s.count, 0) - i
        } catch {
            return nil
        }
    }

    /// Whether every byte sequence is valid UTF-8.
    public static func isValidUTF8(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < s.count {
            if s[i] < 0x80 {
                i += 1
            } else if let length = utf8SequenceLength(s, i) {
                i += length
            } else {
                return false
            }
        }
        return true
    }
}
