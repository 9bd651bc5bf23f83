import CHyperscan
import Foundation  // strdup, free

/// Why Hyperscan refused a pattern.
struct HyperscanError: Error, Sendable, CustomStringConvertible {
    /// Index of the refused pattern among those compiled together, when Hyperscan names one.
    var pattern: Int?
    var message: String
    var description: String { message }
}

/// One pattern for `HyperscanDatabase`: the expression in Hyperscan's PCRE dialect and its `HS_FLAG_*` flags.
struct HyperscanPattern: Sendable, Hashable {
    var expression: String
    var flags: UInt32
}

/// A compiled Hyperscan block-mode database. Hyperscan matches with automata, so the time a scan takes grows
/// linearly with the input whatever the pattern (no catastrophic backtracking). Databases are immutable and may be
/// shared between threads; the scratch space a scan needs may not (see `HyperscanScratch`).
final class HyperscanDatabase: @unchecked Sendable {
    let database: OpaquePointer
    let patternCount: Int

    private init(database: OpaquePointer, patternCount: Int) {
        self.database = database
        self.patternCount = patternCount
    }

    deinit { hs_free_database(database) }

    /// Compiles patterns into one database; pattern `k` reports id `k`. Every pattern is compiled with
    /// `HS_FLAG_SINGLEMATCH` added (a match is only ever a yes).
    static func compile(_ patterns: [HyperscanPattern]) throws(HyperscanError) -> HyperscanDatabase {
        precondition(!patterns.isEmpty)
        var cStrings: [UnsafeMutablePointer<CChar>?] = patterns.map { strdup($0.expression) }
        defer { for pointer in cStrings { free(pointer) } }
        let flags = patterns.map { $0.flags | UInt32(HS_FLAG_SINGLEMATCH) }
        let ids = (0..<patterns.count).map { UInt32($0) }
        var database: OpaquePointer?
        var compileError: UnsafeMutablePointer<hs_compile_error_t>?
        let status = cStrings.withUnsafeMutableBufferPointer { expressions in
            expressions.withMemoryRebound(to: UnsafePointer<CChar>?.self) { expressions in
                hs_compile_multi(
                    expressions.baseAddress, flags, ids, UInt32(patterns.count), UInt32(HS_MODE_BLOCK), nil,
                    &database, &compileError)
            }
        }
        guard status == HS_SUCCESS, let database else {
            var message = "Hyperscan error \(status)"
            var index: Int?
            if let compileError {
                if let text = compileError.pointee.message { message = String(cString: text) }
                if compileError.pointee.expression >= 0 { index = Int(compileError.pointee.expression) }
                hs_free_compile_error(compileError)
            }
            throw HyperscanError(pattern: index, message: message)
        }
        return HyperscanDatabase(database: database, patternCount: patterns.count)
    }

    static let emptyInput: StaticString = " "

    /// Whether any pattern matches somewhere in `bytes`.
    @inline(__always)
    func matches(_ bytes: UnsafeBufferPointer<UInt8>, scratch: OpaquePointer) -> Bool {
        // Hyperscan wants a non-null data pointer even for an empty buffer.
        let base = UnsafeRawPointer(bytes.baseAddress ?? HyperscanDatabase.emptyInput.utf8Start)
        let status = hs_scan(
            database, base.assumingMemoryBound(to: CChar.self), UInt32(bytes.count), 0, scratch,
            { _, _, _, _, _ in 1 },  // stop at the first match
            nil)
        return status == HS_SCAN_TERMINATED
    }
}

/// Hyperscan scratch space, big enough for every database it was prepared with. Not thread-safe: each evaluating
/// instance owns one (`clone()` makes another).
final class HyperscanScratch {
    private(set) var scratch: OpaquePointer?

    init() {}

    /// Grows the scratch so that it can scan `database`.
    func prepare(for database: HyperscanDatabase) {
        let status = hs_alloc_scratch(database.database, &scratch)
        precondition(status == HS_SUCCESS, "hs_alloc_scratch failed (\(status))")
    }

    func clone() -> HyperscanScratch {
        let copy = HyperscanScratch()
        if let scratch {
            let status = hs_clone_scratch(scratch, &copy.scratch)
            precondition(status == HS_SUCCESS, "hs_clone_scratch failed (\(status))")
        }
        return copy
    }

    deinit {
        if let scratch { hs_free_scratch(scratch) }
    }
}

/// Writing Hyperscan expressions.
enum HyperscanSyntax {
    /// `bytes` as a literal in an expression: ASCII letters and digits as they are, other ASCII escaped. In UTF-8
    /// mode (`bytes` must then be valid UTF-8) non-ASCII characters stay as they are, because `\xHH` would name a
    /// code point; otherwise every other byte is escaped as `\xHH`.
    static func literal(_ bytes: [UInt8], utf8: Bool) -> String {
        var out = ""
        if utf8 {
            for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
                if scalar.value >= 0x80 {
                    out.unicodeScalars.append(scalar)
                } else {
                    appendASCII(UInt8(scalar.value), to: &out)
                }
            }
        } else {
            for byte in bytes {
                if byte >= 0x80 { out += "\\x" + hex(byte) } else { appendASCII(byte, to: &out) }
            }
        }
        return out
    }

    private static func appendASCII(_ byte: UInt8, to out: inout String) {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            out += "\\x" + hex(byte)
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
