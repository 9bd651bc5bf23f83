import CHyperscan

/// Tests one text against a set of Sigma strings (OR), or against regular expressions: literal values share one hash
/// probe, prefixes, suffixes and substrings are compared byte by byte, and many wildcard patterns (or any regular
/// expression) are merged into one Hyperscan automaton. Matching touches no reference counts.
///
/// A value that is a number (`401`, `4.01e2`) also equals every JSON number of the same value, however the record
/// spells it: such values are kept a second time in their canonical spelling (`DecimalNumber`), which a JSON number
/// is looked up by when its own text is not among the values. Strings compare as text, as before.
final class StringMatcher: @unchecked Sendable {
    let cased: Bool
    /// A pattern of `*` alone: any value.
    let matchesAnything: Bool
    private let exactTable: LiteralTable?
    private let exact: Unmanaged<LiteralTable>?
    /// The canonical spellings of the values that are numbers.
    private let numberTable: LiteralTable?
    private let numbers: Unmanaged<LiteralTable>?
    private let prefixes: ByteStrings
    private let suffixes: ByteStrings
    private let substrings: ByteStrings
    private let globs: [GlobPattern]
    private let globCount: Int
    private let automatonDatabase: HyperscanDatabase?
    private let automatonReference: Unmanaged<HyperscanDatabase>?
    /// The values as literals when every value is one.
    let literalValues: [[UInt8]]?
    /// The canonical spellings of the literal values that are numbers (what a JSON number is compared with).
    let numberValues: [[UInt8]]
    /// The values as written (after modifiers), for the rule gates; empty for regular expressions.
    let values: [SigmaString]
    /// The regular expressions of an `re` matcher.
    let regularExpressions: [HyperscanPattern]
    let cost: Int

    var automaton: HyperscanDatabase? { automatonDatabase }

    /// Patterns beyond this many substrings/prefixes/suffixes/globs go into one automaton.
    static let automatonThreshold = 8

    init(values: [SigmaString], cased: Bool) throws(HyperscanError) {
        self.cased = cased
        self.values = values
        regularExpressions = []
        var anything = false
        var exactValues: [[UInt8]] = []
        var prefixes: [[UInt8]] = []
        var suffixes: [[UInt8]] = []
        var substrings: [[UInt8]] = []
        var globs: [SigmaString] = []
        var allLiteral = true
        func fold(_ bytes: [UInt8]) -> [UInt8] { cased ? bytes : ASCII.lowercased(bytes) }
        for value in values {
            let parts = value.parts
            switch parts.count {
            case 0:
                exactValues.append([])
                continue
            case 1:
                if case .literal(let bytes) = parts[0] {
                    exactValues.append(bytes)
                    continue
                }
                if parts[0] == .anyString {
                    anything = true
                    allLiteral = false
                    continue
                }
            case 2:
                if case .literal(let bytes) = parts[0], parts[1] == .anyString {
                    prefixes.append(fold(bytes))
                    allLiteral = false
                    continue
                }
                if case .literal(let bytes) = parts[1], parts[0] == .anyString {
                    suffixes.append(fold(bytes))
                    allLiteral = false
                    continue
                }
            case 3:
                if case .literal(let bytes) = parts[1], parts[0] == .anyString, parts[2] == .anyString {
                    substrings.append(fold(bytes))
                    allLiteral = false
                    continue
                }
            default:
                break
            }
            globs.append(value)
            allLiteral = false
        }
        matchesAnything = anything
        exactTable = exactValues.isEmpty ? nil : LiteralTable(exactValues, cased: cased)
        exact = exactTable.map { Unmanaged.passUnretained($0) }
        literalValues = allLiteral ? exactValues : nil
        numberValues = exactValues.compactMap(DecimalNumber.canonical)
        numberTable = numberValues.isEmpty ? nil : LiteralTable(numberValues, cased: true)
        numbers = numberTable.map { Unmanaged.passUnretained($0) }

        let patternCount = prefixes.count + suffixes.count + substrings.count + globs.count
        if patternCount > StringMatcher.automatonThreshold && !anything {
            var patterns: [HyperscanPattern] = []
            for bytes in prefixes { patterns.append(StringMatcher.pattern(for: SigmaString(parts: [.literal(bytes), .anyString]), cased: cased)) }
            for bytes in suffixes { patterns.append(StringMatcher.pattern(for: SigmaString(parts: [.anyString, .literal(bytes)]), cased: cased)) }
            for bytes in substrings { patterns.append(StringMatcher.pattern(for: SigmaString(parts: [.anyString, .literal(bytes), .anyString]), cased: cased)) }
            for glob in globs { patterns.append(StringMatcher.pattern(for: glob, cased: cased)) }
            automatonDatabase = try HyperscanDatabase.compile(patterns)
            prefixes = []
            suffixes = []
            substrings = []
            globs = []
            cost = 8
        } else {
            automatonDatabase = nil
            cost = 1 + prefixes.count + suffixes.count + 3 * substrings.count + 5 * globs.count
        }
        automatonReference = automatonDatabase.map { Unmanaged.passUnretained($0) }
        self.prefixes = ByteStrings(prefixes)
        self.suffixes = ByteStrings(suffixes)
        self.substrings = ByteStrings(substrings)
        self.globs = globs.map { GlobPattern($0, cased: cased) }
        globCount = globs.count
    }

    /// A matcher for regular expressions (the `re` modifier).
    init(regularExpressions patterns: [HyperscanPattern]) throws(HyperscanError) {
        cased = true
        matchesAnything = false
        exactTable = nil
        exact = nil
        numberTable = nil
        numbers = nil
        numberValues = []
        prefixes = ByteStrings([])
        suffixes = ByteStrings([])
        substrings = ByteStrings([])
        globs = []
        globCount = 0
        literalValues = nil
        values = []
        regularExpressions = patterns
        automatonDatabase = try HyperscanDatabase.compile(patterns)
        automatonReference = automatonDatabase.map { Unmanaged.passUnretained($0) }
        cost = 8
    }

    /// The Hyperscan expression of a Sigma string, anchored at both ends (`*` is `.*`, `?` one character).
    static func pattern(for value: SigmaString, cased: Bool) -> HyperscanPattern {
        let utf8 = value.parts.allSatisfy { part in
            if case .literal(let bytes) = part { return isUTF8(bytes) }
            return true
        }
        var parts = value.parts[...]
        var expression = ""
        // Leading and trailing `*` become an unanchored end (cheaper than `.*`).
        let openStart = parts.first == .anyString
        let openEnd = parts.count > 1 && parts.last == .anyString
        if openStart { parts = parts.dropFirst() }
        if openEnd { parts = parts.dropLast() }
        if !openStart { expression += "\\A" }
        for part in parts {
            switch part {
            case .literal(let bytes): expression += HyperscanSyntax.literal(bytes, utf8: utf8)
            case .anyString: expression += ".*"
            case .anyCharacter: expression += "."
            case .placeholder: break
            }
        }
        if !openEnd { expression += "\\z" }
        let flags = (cased ? 0 : UInt32(HS_FLAG_CASELESS)) | UInt32(HS_FLAG_DOTALL) | UInt32(HS_FLAG_ALLOWEMPTY)
            | (utf8 ? UInt32(HS_FLAG_UTF8) : 0)
        return HyperscanPattern(expression: expression, flags: flags)
    }

    static func isUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Whether `text` passes; `number` says that the record holds it as a JSON number.
    @inline(__always)
    func matches(_ text: UnsafeBufferPointer<UInt8>, number: Bool = false, scratch: OpaquePointer?) -> Bool {
        if matchesAnything { return true }
        if let exact, exact._withUnsafeGuaranteedRef({ $0.lookup(text) }) >= 0 { return true }
        if number, let numbers, numbers._withUnsafeGuaranteedRef({ table in
            DecimalNumber.withCanonical(text) { [unowned(unsafe) table] in table.lookup($0) >= 0 } ?? false
        }) {
            return true
        }
        let cased = self.cased
        for k in 0..<prefixes.count where ASCII.hasPrefix(text, prefixes[k], cased: cased) { return true }
        for k in 0..<suffixes.count where ASCII.hasSuffix(text, suffixes[k], cased: cased) { return true }
        for k in 0..<substrings.count where ASCII.contains(text, substrings[k], cased: cased) { return true }
        if globCount > 0 {
            for glob in globs where glob.matches(text) { return true }
        }
        if let automatonReference, let scratch { return automatonReference._withUnsafeGuaranteedRef { $0.matches(text, scratch: scratch) } }
        return false
    }
}
