/// A Sigma string value after escape processing: literal bytes, the wildcards `*` and `?`, and (for values under
/// the `expand` modifier) `%name%` placeholders.
///
/// Escapes follow the specification: `\*`, `\?` and `\\` stand for the plain characters (and, under `expand`,
/// `\%`); a backslash before any other character is a plain backslash.
struct SigmaString: Hashable, Sendable, CustomStringConvertible {
    enum Part: Hashable, Sendable {
        case literal([UInt8])
        /// `*`: any run of characters, maybe empty.
        case anyString
        /// `?`: exactly one character.
        case anyCharacter
        case placeholder(String)
    }

    private(set) var parts: [Part]

    init(parts: [Part]) {
        self.parts = []
        for part in parts { append(part) }
    }

    init(literal bytes: [UInt8]) {
        self.init(parts: [.literal(bytes)])
    }

    /// Parses a value as written in a rule.
    init(parsing text: String, placeholders: Bool) {
        var parts: [Part] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = []
        }
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") {
                if i + 1 < bytes.count {
                    let next = bytes[i + 1]
                    if next == UInt8(ascii: "*") || next == UInt8(ascii: "?") || next == UInt8(ascii: "\\")
                        || (placeholders && next == UInt8(ascii: "%"))
                    {
                        literal.append(next)
                        i += 2
                        continue
                    }
                }
                literal.append(c)
                i += 1
            } else if c == UInt8(ascii: "*") {
                flush()
                parts.append(.anyString)
                i += 1
            } else if c == UInt8(ascii: "?") {
                flush()
                parts.append(.anyCharacter)
                i += 1
            } else if placeholders && c == UInt8(ascii: "%"), let end = SigmaString.placeholderEnd(bytes, from: i) {
                flush()
                parts.append(.placeholder(String(decoding: bytes[(i + 1)..<end], as: UTF8.self)))
                i = end + 1
            } else {
                literal.append(c)
                i += 1
            }
        }
        flush()
        self.init(parts: parts)
    }

    /// The index of the `%` closing a placeholder name that starts at `start` (a `%`), if the name is made of
    /// letters, digits, `_`, `-` and `.`.
    private static func placeholderEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var k = start + 1
        while k < bytes.count {
            let c = bytes[k]
            if c == UInt8(ascii: "%") { return k > start + 1 ? k : nil }
            let isName = (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
            if !isName { return nil }
            k += 1
        }
        return nil
    }

    private mutating func append(_ part: Part) {
        switch (parts.last, part) {
        case (.literal(let previous)?, .literal(let more)):
            parts[parts.count - 1] = .literal(previous + more)
        case (.anyString?, .anyString):
            break  // `**` is `*`
        case (_, .literal(let bytes)) where bytes.isEmpty:
            break
        default:
            parts.append(part)
        }
    }

    var hasWildcards: Bool {
        parts.contains { $0 == .anyString || $0 == .anyCharacter }
    }

    var placeholderNames: [String] {
        parts.compactMap { if case .placeholder(let name) = $0 { return name } else { return nil } }
    }

    /// The bytes of a value without wildcards or placeholders.
    var plainBytes: [UInt8]? {
        var bytes: [UInt8] = []
        for part in parts {
            guard case .literal(let literal) = part else { return nil }
            bytes += literal
        }
        return bytes
    }

    func withLeadingWildcard() -> SigmaString {
        parts.first == .anyString ? self : SigmaString(parts: [.anyString] + parts)
    }

    func withTrailingWildcard() -> SigmaString {
        parts.last == .anyString ? self : SigmaString(parts: parts + [.anyString])
    }

    /// Applies `transform` to every literal part, keeping wildcards.
    func mapLiterals(_ transform: ([UInt8]) -> [UInt8]) -> SigmaString {
        SigmaString(parts: parts.map { part in
            if case .literal(let bytes) = part { return .literal(transform(bytes)) }
            return part
        })
    }

    var description: String {
        parts.map { part in
            switch part {
            case .literal(let bytes):
                var text = ""
                for character in String(decoding: bytes, as: UTF8.self) {
                    if character == "\\" || character == "*" || character == "?" { text.append("\\") }
                    text.append(character)
                }
                return text
            case .anyString: return "*"
            case .anyCharacter: return "?"
            case .placeholder(let name): return "%\(name)%"
            }
        }.joined()
    }
}

/// The encoding modifiers' transformations.
enum SigmaEncoding {
    static func base64(_ bytes: [UInt8]) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return out
    }

    /// The three forms a value takes inside a longer base64 text, depending on its offset modulo 3 (the stable
    /// middle part of each, as pySigma computes it).
    static func base64Offsets(_ bytes: [UInt8]) -> [[UInt8]] {
        let startOffsets = [0, 2, 3]
        let endOffsets: [Int?] = [nil, -3, -2]
        return (0..<3).map { shift in
            let encoded = base64([UInt8](repeating: UInt8(ascii: " "), count: shift) + bytes)
            let start = startOffsets[shift]
            let endOffset = endOffsets[(bytes.count + shift) % 3]
            let end = endOffset.map { encoded.count + $0 } ?? encoded.count
            return start < end ? Array(encoded[start..<end]) : []
        }
    }

    static func utf16(_ bytes: [UInt8], littleEndian: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for unit in String(decoding: bytes, as: UTF8.self).utf16 {
            if littleEndian {
                out += [UInt8(unit & 0xFF), UInt8(unit >> 8)]
            } else {
                out += [UInt8(unit >> 8), UInt8(unit & 0xFF)]
            }
        }
        return out
    }

    /// The `windash` variants: every `-` or `/` that starts a word (a non-word character or nothing before it, a word
    /// character after it) replaced in turn by each of `-`, `/`, en dash, em dash and horizontal bar.
    static func windashVariants(_ value: SigmaString, limit: Int) -> [SigmaString]? {
        let dashes: [[UInt8]] = [[0x2D], [0x2F], [0xE2, 0x80, 0x93], [0xE2, 0x80, 0x94], [0xE2, 0x80, 0x95]]
        // Split every literal into pieces around the replaceable characters.
        enum Piece { case fixed(SigmaString.Part), dash }
        var pieces: [Piece] = []
        let parts = value.parts
        for part in parts {
            guard case .literal(let bytes) = part else {
                pieces.append(.fixed(part))
                continue
            }
            var current: [UInt8] = []
            for k in bytes.indices {
                let c = bytes[k]
                let before: UInt8? = k > 0 ? bytes[k - 1] : nil
                let after: UInt8? = k + 1 < bytes.count ? bytes[k + 1] : nil
                // Wildcards and placeholders around a literal count as non-word characters.
                let startsWord = (before.map { !isWordByte($0) } ?? true) && (after.map(isWordByte) ?? false)
                if (c == 0x2D || c == 0x2F) && startsWord {
                    if !current.isEmpty { pieces.append(.fixed(.literal(current))) }
                    current = []
                    pieces.append(.dash)
                } else {
                    current.append(c)
                }
            }
            if !current.isEmpty { pieces.append(.fixed(.literal(current))) }
        }
        let dashCount = pieces.filter { if case .dash = $0 { return true } else { return false } }.count
        var total = 1
        for _ in 0..<dashCount {
            total *= dashes.count
            if total > limit { return nil }
        }
        var variants: [[SigmaString.Part]] = [[]]
        for piece in pieces {
            switch piece {
            case .fixed(let part):
                variants = variants.map { $0 + [part] }
            case .dash:
                variants = variants.flatMap { prefix in dashes.map { prefix + [.literal($0)] } }
            }
        }
        return variants.map { SigmaString(parts: $0) }
    }

    static func isWordByte(_ c: UInt8) -> Bool {
        (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            || c == UInt8(ascii: "_") || c >= 0x80
    }
}
