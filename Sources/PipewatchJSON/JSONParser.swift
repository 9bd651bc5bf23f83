/// Why a record is not valid JSON.
public enum JSONErrorReason: Sendable, Equatable {
    case empty
    case unexpectedEnd
    case unexpectedCharacter(UInt8)
    case unterminatedString
    case controlCharacterInString(UInt8)
    case invalidEscape(UInt8)
    case invalidUnicodeEscape
    case loneSurrogate
    case invalidUTF8
    case invalidNumber
    case invalidLiteral
    case expectedKey
    case expectedColon
    case expectedCommaOrObjectEnd
    case expectedCommaOrArrayEnd
    case trailingCharacters
    case tooDeep

    public var message: String {
        switch self {
        case .empty: return "empty record"
        case .unexpectedEnd: return "unexpected end of record"
        case .unexpectedCharacter(let c): return "unexpected character \(JSONErrorReason.describe(c))"
        case .unterminatedString: return "unterminated string"
        case .controlCharacterInString(let c): return "unescaped control character \(JSONErrorReason.describe(c)) in string"
        case .invalidEscape(let c): return "invalid escape \\\(JSONErrorReason.describe(c))"
        case .invalidUnicodeEscape: return "invalid \\u escape (needs four hex digits)"
        case .loneSurrogate: return "\\u escape is a lone UTF-16 surrogate"
        case .invalidUTF8: return "invalid UTF-8"
        case .invalidNumber: return "invalid number"
        case .invalidLiteral: return "invalid literal (expected true, false or null)"
        case .expectedKey: return "expected a string key"
        case .expectedColon: return "expected ':' after key"
        case .expectedCommaOrObjectEnd: return "expected ',' or '}'"
        case .expectedCommaOrArrayEnd: return "expected ',' or ']'"
        case .trailingCharacters: return "unexpected characters after the JSON value"
        case .tooDeep: return "nesting deeper than \(JSONParser.maxDepth) levels"
        }
    }

    static func describe(_ c: UInt8) -> String {
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "0x" + String(c, radix: 16, uppercase: true)
    }
}

/// A JSON syntax error: what went wrong and where, counted in bytes from the start of the record.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: JSONErrorReason
    public var offset: Int

    public init(_ reason: JSONErrorReason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason.message)" }
}

/// A validating JSON parser that writes one tape node per value (see `JSONNode`). It allocates nothing per
/// value: strings stay where they are in the input and are decoded only when asked for.
public enum JSONParser {
    public static let maxDepth = 512

    /// Parses the bytes `base[start..<end]` as one JSON value and appends its nodes to `tape`, with offsets counted
    /// from `base`. Returns the tape index of the root. On error, the tape is left as it was.
    public static func parse(
        _ base: UnsafePointer<UInt8>, from start: Int, to end: Int, into tape: JSONTape
    ) throws(JSONError) -> UInt32 {
        // Every node of valid JSON takes at least two bytes ("1," or "[]"), but input that fails can first open up
        // to maxDepth containers at one byte each ("[[[["): room for those too, or the parser writes past the tape.
        tape.reserve(additional: (end - start + maxDepth) / 2 + 4)
        let nodes = tape.nodes
        let stack = tape.stack
        let first = tape.count
        var n = first
        var depth = 0
        var i = start
        let p = base

        @inline(__always) func fail(_ reason: JSONErrorReason, _ at: Int) -> JSONError {
            JSONError(reason, at: at - start)
        }

        skipWhitespace(p, &i, end)
        if i >= end { throw fail(.empty, i) }

        valueLoop: while true {
            skipWhitespace(p, &i, end)
            guard i < end else { throw fail(.unexpectedEnd, i) }
            switch p[i] {
            case UInt8(ascii: "\""):
                var flags: UInt8 = 0
                let close = try scanString(p, i + 1, end, &flags, start)
                nodes[n] = JSONNode(start: UInt32(i + 1), end: UInt32(close), next: UInt32(n + 1), kind: .string, flags: flags)
                n += 1
                i = close + 1
            case UInt8(ascii: "{"):
                // Objects and arrays open in two near-identical cases: folding them into one (kind chosen at run
                // time) measured 1–2 % slower.
                guard depth < maxDepth else { throw fail(.tooDeep, i) }
                nodes[n] = JSONNode(start: UInt32(i), end: 0, next: 0, kind: .object, flags: 0)
                stack[depth] = UInt32(n)
                depth += 1
                n += 1
                i += 1
                skipWhitespace(p, &i, end)
                guard i < end else { throw fail(.unexpectedEnd, i) }
                if p[i] == UInt8(ascii: "}") {
                    depth -= 1
                    nodes[n - 1].end = UInt32(i + 1)
                    nodes[n - 1].next = UInt32(n)
                    i += 1
                } else {
                    try parseKey(p, &i, end, nodes, &n, start)
                    continue valueLoop
                }
            case UInt8(ascii: "["):
                guard depth < maxDepth else { throw fail(.tooDeep, i) }
                nodes[n] = JSONNode(start: UInt32(i), end: 0, next: 0, kind: .array, flags: 0)
                stack[depth] = UInt32(n)
                depth += 1
                n += 1
                i += 1
                skipWhitespace(p, &i, end)
                guard i < end else { throw fail(.unexpectedEnd, i) }
                if p[i] == UInt8(ascii: "]") {
                    depth -= 1
                    nodes[n - 1].end = UInt32(i + 1)
                    nodes[n - 1].next = UInt32(n)
                    i += 1
                } else {
                    continue valueLoop
                }
            case UInt8(ascii: "t"):
                try expectLiteral(p, i, end, 0x74_72_75_65, 4, start)  // "true"
                nodes[n] = JSONNode(start: UInt32(i), end: UInt32(i + 4), next: UInt32(n + 1), kind: .true, flags: 0)
                n += 1
                i += 4
            case UInt8(ascii: "f"):
                guard i + 5 <= end, p[i + 4] == UInt8(ascii: "e") else { throw fail(.invalidLiteral, i) }
                try expectLiteral(p, i, end, 0x66_61_6C_73, 4, start)  // "fals"
                nodes[n] = JSONNode(start: UInt32(i), end: UInt32(i + 5), next: UInt32(n + 1), kind: .false, flags: 0)
                n += 1
                i += 5
            case UInt8(ascii: "n"):
                try expectLiteral(p, i, end, 0x6E_75_6C_6C, 4, start)  // "null"
                nodes[n] = JSONNode(start: UInt32(i), end: UInt32(i + 4), next: UInt32(n + 1), kind: .null, flags: 0)
                n += 1
                i += 4
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let numberEnd = try scanNumber(p, i, end, start)
                nodes[n] = JSONNode(start: UInt32(i), end: UInt32(numberEnd), next: UInt32(n + 1), kind: .number, flags: 0)
                n += 1
                i = numberEnd
            default:
                throw fail(.unexpectedCharacter(p[i]), i)
            }

            // A value is complete: close every container it completes, then find where the next value starts.
            while true {
                skipWhitespace(p, &i, end)
                if depth == 0 {
                    guard i == end else { throw fail(.trailingCharacters, i) }
                    tape.count = n
                    return UInt32(first)
                }
                guard i < end else { throw fail(.unexpectedEnd, i) }
                let top = Int(stack[depth - 1])
                let isObject = nodes[top].kind == .object
                let c = p[i]
                if c == UInt8(ascii: ",") {
                    i += 1
                    if isObject { try parseKey(p, &i, end, nodes, &n, start) }
                    continue valueLoop
                }
                if c == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    nodes[top].end = UInt32(i + 1)
                    nodes[top].next = UInt32(n)
                    depth -= 1
                    i += 1
                    continue
                }
                throw fail(isObject ? .expectedCommaOrObjectEnd : .expectedCommaOrArrayEnd, i)
            }
        }
    }

    @inline(__always)
    static func skipWhitespace(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) {
        while i < end {
            let c = p[i]
            // ' ', '\t', '\n', '\r'
            guard c <= 0x20 && (c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09) else { return }
            i += 1
        }
    }

    /// Parses `"key" :` at `i` (whitespace allowed around), appending the key node.
    @inline(__always)
    static func parseKey(
        _ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int, _ nodes: UnsafeMutablePointer<JSONNode>,
        _ n: inout Int, _ recordStart: Int
    ) throws(JSONError) {
        skipWhitespace(p, &i, end)
        guard i < end else { throw JSONError(.unexpectedEnd, at: i - recordStart) }
        guard p[i] == UInt8(ascii: "\"") else { throw JSONError(.expectedKey, at: i - recordStart) }
        var flags: UInt8 = 0
        let close = try scanString(p, i + 1, end, &flags, recordStart)
        nodes[n] = JSONNode(start: UInt32(i + 1), end: UInt32(close), next: UInt32(n + 1), kind: .string, flags: flags)
        n += 1
        i = close + 1
        skipWhitespace(p, &i, end)
        guard i < end else { throw JSONError(.unexpectedEnd, at: i - recordStart) }
        guard p[i] == UInt8(ascii: ":") else { throw JSONError(.expectedColon, at: i - recordStart) }
        i += 1
    }

    @inline(__always)
    static func expectLiteral(
        _ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ bigEndianWord: UInt32, _ count: Int, _ recordStart: Int
    ) throws(JSONError) {
        guard i + count <= end else { throw JSONError(.invalidLiteral, at: i - recordStart) }
        let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt32.self)
        guard UInt32(bigEndian: word) == bigEndianWord else { throw JSONError(.invalidLiteral, at: i - recordStart) }
    }

    // MARK: Strings

    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    @usableFromInline static let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    @usableFromInline static let high: UInt64 = 0x8080_8080_8080_8080

    /// 0x80 in every byte of `x` that is zero, exactly (no false positives, unlike the cheaper borrow trick).
    @inline(__always) @usableFromInline
    static func zeroBytes(_ x: UInt64) -> UInt64 { ~(((x & low7) &+ low7) | x | low7) }

    /// Scans a string body from `start` (just after the opening quote). Returns the offset of the closing quote;
    /// sets `flags` when the string has escapes. Validates escapes, control characters and UTF-8.
    @inline(__always)
    static func scanString(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ flags: inout UInt8, _ recordStart: Int
    ) throws(JSONError) -> Int {
        var i = start
        while true {
            // Eight bytes at a time: stop at '"', '\\', a control character or a non-ASCII byte. The borrow-based
            // tests can flag bytes above a real hit, never below it, and only the lowest hit is used.
            while i &+ 8 <= end {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                let quote = w ^ (0x22 &* ones)
                let backslash = w ^ (0x5C &* ones)
                let special = (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (w &- (0x20 &* ones)) | w) & high
                if special == 0 {
                    i &+= 8
                    continue
                }
                i &+= special.trailingZeroBitCount &>> 3
                break
            }
            guard i < end else { throw JSONError(.unterminatedString, at: start - 1 - recordStart) }
            let c = p[i]
            if c == UInt8(ascii: "\"") { return i }
            if c == UInt8(ascii: "\\") {
                flags |= JSONNode.escaped
                i = try scanEscape(p, i, end, recordStart)
            } else if c < 0x20 {
                throw JSONError(.controlCharacterInString(c), at: i - recordStart)
            } else if c >= 0x80 {
                i = try scanUTF8(p, i, end, recordStart)
            } else {
                i += 1
            }
        }
    }

    /// Validates the escape at `i` (a backslash) and returns the offset after it.
    static func scanEscape(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ recordStart: Int) throws(JSONError) -> Int {
        guard i + 1 < end else { throw JSONError(.unterminatedString, at: i - recordStart) }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i + 2
        case UInt8(ascii: "u"):
            guard let unit = hex4(p, i + 2, end) else { throw JSONError(.invalidUnicodeEscape, at: i - recordStart) }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard i + 7 < end, p[i + 6] == UInt8(ascii: "\\"), p[i + 7] == UInt8(ascii: "u"),
                    let low = hex4(p, i + 8, end), low >= 0xDC00 && low <= 0xDFFF
                else { throw JSONError(.loneSurrogate, at: i - recordStart) }
                return i + 12
            }
            if unit >= 0xDC00 && unit <= 0xDFFF { throw JSONError(.loneSurrogate, at: i - recordStart) }
            return i + 6
        default:
            throw JSONError(.invalidEscape(p[i + 1]), at: i - recordStart)
        }
    }

    @inline(__always)
    static func hex4(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> UInt32? {
        guard i + 4 <= end else { return nil }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let d = hexDigit(p[i + k]) else { return nil }
            value = value << 4 | d
        }
        return value
    }

    @inline(__always)
    static func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Validates one UTF-8 sequence starting at `i` (a byte ≥ 0x80) and returns the offset after it.
    /// Rejects overlong forms, surrogates and code points above U+10FFFF (RFC 3629).
    static func scanUTF8(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ recordStart: Int) throws(JSONError) -> Int {
        let c0 = p[i]
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i + k < end && p[i + k] >= lo && p[i + k] <= hi
        }
        switch c0 {
        case 0xC2...0xDF:
            if cont(1) { return i + 2 }
        case 0xE0:
            if cont(1, 0xA0, 0xBF) && cont(2) { return i + 3 }
        case 0xE1...0xEC, 0xEE...0xEF:
            if cont(1) && cont(2) { return i + 3 }
        case 0xED:
            if cont(1, 0x80, 0x9F) && cont(2) { return i + 3 }
        case 0xF0:
            if cont(1, 0x90, 0xBF) && cont(2) && cont(3) { return i + 4 }
        case 0xF1...0xF3:
            if cont(1) && cont(2) && cont(3) { return i + 4 }
        case 0xF4:
            if cont(1, 0x80, 0x8F) && cont(2) && cont(3) { return i + 4 }
        default:
            break
        }
        throw JSONError(.invalidUTF8, at: i - recordStart)
    }

    // MARK: Numbers

    /// Validates a number (RFC 8259 grammar) starting at `i` and returns the offset after it.
    @inline(__always)
    static func scanNumber(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ recordStart: Int) throws(JSONError) -> Int {
        var j = i
        @inline(__always) func isDigit(_ k: Int) -> Bool { k < end && p[k] &- UInt8(ascii: "0") < 10 }
        if p[j] == UInt8(ascii: "-") { j += 1 }
        guard isDigit(j) else { throw JSONError(.invalidNumber, at: i - recordStart) }
        if p[j] == UInt8(ascii: "0") {
            j += 1
            if isDigit(j) { throw JSONError(.invalidNumber, at: i - recordStart) }  // leading zero
        } else {
            while isDigit(j) { j += 1 }
        }
        if j < end && p[j] == UInt8(ascii: ".") {
            j += 1
            guard isDigit(j) else { throw JSONError(.invalidNumber, at: i - recordStart) }
            while isDigit(j) { j += 1 }
        }
        if j < end && (p[j] | 0x20) == UInt8(ascii: "e") {
            j += 1
            if j < end && (p[j] == UInt8(ascii: "+") || p[j] == UInt8(ascii: "-")) { j += 1 }
            guard isDigit(j) else { throw JSONError(.invalidNumber, at: i - recordStart) }
            while isDigit(j) { j += 1 }
        }
        return j
    }
}
