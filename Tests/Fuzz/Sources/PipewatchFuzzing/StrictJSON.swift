/// An RFC 8259 validator written apart from PipewatchJSON, so the writer's output is checked by code that shares
/// none of its assumptions: UTF-8 that is valid (no surrogates, no overlong forms), no raw control characters in
/// strings, only the escapes JSON has, numbers by the grammar, and nothing after the value.
public enum StrictJSON {
    public struct Problem: Error, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Nil when `bytes` is exactly one JSON value (with optional whitespace around it) nested at most `maxDepth`
    /// containers deep (the bound keeps this recursive scanner within the thread's stack).
    public static func problem(_ bytes: [UInt8], maxDepth: Int = 1024) -> Problem? {
        var scanner = Scanner(bytes: bytes, maxDepth: maxDepth)
        do {
            scanner.whitespace()
            try scanner.value(depth: 0)
            scanner.whitespace()
            if scanner.i != bytes.count { throw Problem(offset: scanner.i, reason: "text after the value") }
            return nil
        } catch let problem as Problem {
            return problem
        } catch {
            return Problem(offset: 0, reason: "\(error)")
        }
    }

    /// Nil when `bytes` is valid UTF-8.
    public static func utf8Problem(_ bytes: some Collection<UInt8>) -> String? {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += String(scalar).utf8.count
            case .emptyInput: return nil
            case .error: return "invalid UTF-8 near byte \(offset)"
            }
        }
    }

    struct Scanner {
        let bytes: [UInt8]
        let maxDepth: Int
        var i = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        var current: UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func whitespace() {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
        }

        mutating func expect(_ text: String) throws {
            for c in text.utf8 {
                guard current == c else { throw Problem(offset: i, reason: "expected \(text)") }
                i += 1
            }
        }

        mutating func value(depth: Int) throws {
            switch current {
            case UInt8(ascii: "{"):
                guard depth < maxDepth else { throw Problem(offset: i, reason: "nested too deep") }
                i += 1
                whitespace()
                if current == UInt8(ascii: "}") { i += 1; return }
                while true {
                    whitespace()
                    guard current == UInt8(ascii: "\"") else { throw Problem(offset: i, reason: "object key expected") }
                    try string()
                    whitespace()
                    try expect(":")
                    whitespace()
                    try value(depth: depth + 1)
                    whitespace()
                    if current == UInt8(ascii: ",") { i += 1; continue }
                    try expect("}")
                    return
                }
            case UInt8(ascii: "["):
                guard depth < maxDepth else { throw Problem(offset: i, reason: "nested too deep") }
                i += 1
                whitespace()
                if current == UInt8(ascii: "]") { i += 1; return }
                while true {
                    whitespace()
                    try value(depth: depth + 1)
                    whitespace()
                    if current == UInt8(ascii: ",") { i += 1; continue }
                    try expect("]")
                    return
                }
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try expect("true")
            case UInt8(ascii: "f"): try expect("false")
            case UInt8(ascii: "n"): try expect("null")
            case .some(let c) where c == UInt8(ascii: "-") || (c >= 0x30 && c <= 0x39): try number()
            default: throw Problem(offset: i, reason: "value expected")
            }
        }

        mutating func digits() throws {
            guard let c = current, c >= 0x30 && c <= 0x39 else { throw Problem(offset: i, reason: "digit expected") }
            while let c = current, c >= 0x30 && c <= 0x39 { i += 1 }
        }

        mutating func number() throws {
            if current == UInt8(ascii: "-") { i += 1 }
            if current == UInt8(ascii: "0") { i += 1 } else { try digits() }
            if current == UInt8(ascii: ".") { i += 1; try digits() }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                i += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { i += 1 }
                try digits()
            }
        }

        mutating func string() throws {
            i += 1
            while true {
                guard let c = current else { throw Problem(offset: i, reason: "unterminated string") }
                switch c {
                case UInt8(ascii: "\""):
                    i += 1
                    return
                case UInt8(ascii: "\\"):
                    i += 1
                    guard let e = current else { throw Problem(offset: i, reason: "unterminated escape") }
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        break
                    case UInt8(ascii: "u"):
                        for _ in 0..<4 {
                            guard let h = current, h.isHexDigit else { throw Problem(offset: i, reason: "bad \\u escape") }
                            i += 1
                        }
                    default: throw Problem(offset: i - 1, reason: "unknown escape")
                    }
                case 0..<0x20: throw Problem(offset: i, reason: "control character in a string")
                case 0x80...:
                    let length = try utf8Sequence()
                    i += length
                default: i += 1
                }
            }
        }

        /// The length of the valid UTF-8 sequence at `i` (RFC 3629: no overlong forms, no surrogates, ≤ U+10FFFF).
        func utf8Sequence() throws -> Int {
            let c = bytes[i]
            let length: Int
            var scalar: UInt32
            switch c {
            case 0xC2...0xDF: length = 2; scalar = UInt32(c & 0x1F)
            case 0xE0...0xEF: length = 3; scalar = UInt32(c & 0x0F)
            case 0xF0...0xF4: length = 4; scalar = UInt32(c & 0x07)
            default: throw Problem(offset: i, reason: "invalid UTF-8 lead byte")
            }
            guard i + length <= bytes.count else { throw Problem(offset: i, reason: "truncated UTF-8") }
            for k in 1..<length {
                let b = bytes[i + k]
                guard b & 0xC0 == 0x80 else { throw Problem(offset: i, reason: "invalid UTF-8 continuation") }
                scalar = scalar << 6 | UInt32(b & 0x3F)
            }
            let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
            guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
                throw Problem(offset: i, reason: "invalid UTF-8 scalar")
            }
            return length
        }
    }
}

extension UInt8 {
    var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
