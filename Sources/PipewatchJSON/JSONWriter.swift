/// Builds JSON text into a byte buffer, escaping strings correctly. Invalid UTF-8 in a string becomes U+FFFD, so
/// the output is always valid JSON (callers that must keep such bytes exactly add a base64 copy).
public struct JSONWriter: Sendable {
    private var out: OutputBytes
    /// Whether a value was just written at this nesting level (so the next one needs a comma).
    private var needsComma = false

    public init(capacity: Int = 1024) { out = OutputBytes(capacity: capacity) }

    /// The text written so far (a copy: `withBytes` reads it in place; `fragment` appends bytes already encoded).
    public var bytes: [UInt8] { out.array }

    /// The number of bytes written so far.
    public var count: Int { out.count }

    /// Calls `body` with the text written so far, in place.
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try out.withUnsafeBufferPointer(body)
    }

    public mutating func reset() {
        out.removeAll()
        needsComma = false
    }

    public mutating func beginObject() {
        separate()
        out.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        out.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        out.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        out.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes `"name":` ready for a value.
    public mutating func key(_ name: String) {
        separate()
        var name = name
        name.withUTF8 { appendQuoted($0) }
        out.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes a key given as `JSONWriter.quotedKey(name)` bytes (quoted, with its colon), so hot loops need not
    /// re-encode and escape constant names.
    public mutating func key(quoted: [UInt8]) {
        separate()
        out.append(contentsOf: quoted)
        needsComma = false
    }

    /// `key(quoted:)` for bytes held elsewhere (a table of keys).
    public mutating func key(quoted: UnsafeBufferPointer<UInt8>) {
        separate()
        out.append(contentsOf: quoted)
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

    /// Writes a string whose bytes hold no '"', '\\' or control character (an unescaped string body the parser
    /// validated, or a slice of one): ASCII text is copied between quotes as it is; text with other bytes goes
    /// through `appendQuoted`, which checks its UTF-8 (a slice may have cut a character).
    public mutating func string(verbatim value: UnsafeBufferPointer<UInt8>) {
        separate()
        if JSONWriter.isASCII(value) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: value)
            out.append(UInt8(ascii: "\""))
        } else {
            appendQuoted(value)
        }
        needsComma = true
    }

    /// Whether every byte is below 0x80, eight at a time.
    @inline(__always)
    public static func isASCII(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = s.baseAddress else { return true }
        let n = s.count
        var i = 0
        var high: UInt64 = 0
        while i &+ 8 <= n {
            high |= UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            i &+= 8
        }
        while i < n {
            high |= UInt64(p[i])
            i &+= 1
        }
        return high & JSONParser.high == 0
    }

    public mutating func number(_ value: Int64) {
        separate()
        appendDecimal(value)
        needsComma = true
    }

    /// Appends the decimal digits of `value` (as `String(value)` spells them) without making a String.
    public mutating func appendDecimal(_ value: Int64) {
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            if value < 0 { out.append(UInt8(ascii: "-")) }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
        }
    }

    public mutating func number(_ value: Int) { number(Int64(value)) }

    public mutating func number(_ value: Double) {
        separate()
        if value.isFinite {
            if value == value.rounded(), abs(value) < 1e15 {
                appendDecimal(Int64(value))
            } else {
                out.append(contentsOf: Array(String(value).utf8))
            }
        } else {
            out.append("null")
        }
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        if value { out.append("true") } else { out.append("false") }
        needsComma = true
    }

    public mutating func null() {
        separate()
        out.append("null")
        needsComma = true
    }

    /// Inserts already-valid JSON text as a value (e.g. a record's original bytes). Whitespace between tokens is
    /// dropped, so a pretty-printed record cannot break a line-delimited output.
    public mutating func raw(json: UnsafeBufferPointer<UInt8>) {
        separate()
        guard let p = json.baseAddress else {
            needsComma = true
            return
        }
        let n = json.count
        var inString = false
        var runStart = 0
        var i = 0
        while true {
            // Eight bytes at a time past what changes nothing: neither '"', '\\' nor whitespace (or another byte
            // up to 0x20). Borrows can flag bytes above a real hit, never below it; only the lowest hit is used.
            while i &+ 8 <= n {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                let quote = w ^ (0x22 &* JSONParser.ones)
                let backslash = w ^ (0x5C &* JSONParser.ones)
                let special = (((quote &- JSONParser.ones) & ~quote) | ((backslash &- JSONParser.ones) & ~backslash)
                    | ((w &- (0x21 &* JSONParser.ones)) & ~w)) & JSONParser.high
                if special == 0 {
                    i &+= 8
                    continue
                }
                i &+= special.trailingZeroBitCount &>> 3
                break
            }
            guard i < n else { break }
            let c = p[i]
            if inString {
                if c == UInt8(ascii: "\\") {
                    i &+= 1  // the escaped byte cannot end the string
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart))
                runStart = i + 1
            }
            i &+= 1
        }
        out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: n - runStart))
        needsComma = true
    }

    /// Inserts JSON text known to be compact (this writer's own output, or a record the parser found to have no
    /// whitespace between tokens) as a value, byte for byte: what `raw(json:)` would write, without the scan.
    public mutating func raw(compactJSON json: UnsafeBufferPointer<UInt8>) {
        separate()
        out.append(contentsOf: json)
        needsComma = true
    }

    /// Appends bytes that are already JSON syntax (a fragment encoded once, e.g. `,"key":"constant"`) with no
    /// separator; `endsValue` says whether the fragment ends with a complete value (so the next one needs a comma).
    public mutating func fragment(_ encoded: UnsafeBufferPointer<UInt8>, endsValue: Bool) {
        out.append(contentsOf: encoded)
        needsComma = endsValue
    }

    public mutating func fragment(_ encoded: [UInt8], endsValue: Bool) {
        out.append(contentsOf: encoded)
        needsComma = endsValue
    }

    public mutating func newline() {
        out.append(0x0A)
        needsComma = false
    }

    private mutating func separate() {
        if needsComma { out.append(UInt8(ascii: ",")) }
    }

    /// Appends `"…"` with JSON escapes; keeps valid UTF-8 as is and replaces invalid bytes with U+FFFD.
    public mutating func appendQuoted(_ s: UnsafeBufferPointer<UInt8>) {
        out.append(UInt8(ascii: "\""))
        guard let p = s.baseAddress else {
            out.append(UInt8(ascii: "\""))
            return
        }
        var i = 0
        let n = s.count
        var runStart = 0
        while true {
            // Eight bytes at a time past plain ASCII: stop at '"', '\\', a control character or a non-ASCII byte
            // (the parser's test: only the lowest hit is exact, and only it is used).
            while i &+ 8 <= n {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                let quote = w ^ (0x22 &* JSONParser.ones)
                let backslash = w ^ (0x5C &* JSONParser.ones)
                let special = (((quote &- JSONParser.ones) & ~quote) | ((backslash &- JSONParser.ones) & ~backslash)
                    | (w &- (0x20 &* JSONParser.ones)) | w) & JSONParser.high
                if special == 0 {
                    i &+= 8
                    continue
                }
                i &+= special.trailingZeroBitCount &>> 3
                break
            }
            guard i < n else { break }
            let c = p[i]
            if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") && c < 0x80 {
                i &+= 1
                continue
            }
            if c >= 0x80 {
                if let length = JSONWriter.utf8SequenceLength(s, i) {
                    i &+= length
                    continue
                }
                out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart))
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i &+= 1
                runStart = i
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart))
            out.append(UInt8(ascii: "\\"))
            switch c {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                out.append(UInt8(ascii: "u")); out.append(UInt8(ascii: "0")); out.append(UInt8(ascii: "0"))
                out.append(JSONWriter.hexDigit(c >> 4)); out.append(JSONWriter.hexDigit(c & 0xF))
            }
            i &+= 1
            runStart = i
        }
        out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: n - runStart))
        out.append(UInt8(ascii: "\""))
    }

    /// The lowercase hex digit of a nibble.
    @inline(__always)
    public static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ nibble &- 10 }

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
