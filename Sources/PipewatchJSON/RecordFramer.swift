import Foundation  // memchr

/// How a stream lays out its records, detected from its first bytes.
public enum Framing: String, Sendable {
    /// One record per line (CRLF tolerated, blank lines skipped).
    case ndjson
    /// A CloudTrail delivery file: `{"Records":[ … ]}`.
    case cloudTrailRecords = "cloudtrail-records"
    /// A Kubernetes audit `EventList` as the webhook backend posts it: `{"kind":"EventList","items":[ … ]}`.
    case eventList = "k8s-eventlist"
    /// A top-level JSON array of records.
    case array
    /// Pretty-printed records one after another (`jq .` output).
    case concatenated
}

/// Why the framer could not cut a whole record out of the stream.
public enum FramingProblem: Sendable, Equatable {
    /// The input ended inside a record.
    case truncated
    /// The record is longer than the limit; only its beginning is kept.
    case tooLarge(limit: Int)
    /// Bytes that cannot start a record where one was expected.
    case unexpectedContent
    /// Not well-formed JSON where records are not one per line.
    case malformed
}

/// One record cut out of a stream: a byte range of the framer's buffer and where it stood in the input.
public struct FramedRecord: Sendable, Equatable {
    public var start: Int
    public var end: Int
    /// 1-based line number for line-framed input; 0 otherwise.
    public var line: Int
    /// Byte offset of the record's first byte in the (decompressed) stream.
    public var streamOffset: Int64
    public var problem: FramingProblem?

    public init(start: Int, end: Int, line: Int, streamOffset: Int64, problem: FramingProblem? = nil) {
        self.start = start
        self.end = end
        self.line = line
        self.streamOffset = streamOffset
        self.problem = problem
    }

    public var count: Int { end - start }
}

/// Cuts a byte stream into records, chunk by chunk, so memory stays bounded by the chunk size and the largest
/// record, whatever the size of the input. The framing is detected from the stream's first value, and that detection
/// is bounded by the record limit too.
///
/// Damage loses only the damaged part: a line in line framing; in arrays and pretty-printed records, the record
/// holding an unterminated string or missing a closing bracket (resynchronised at the next record), a value over
/// the limit (its first `maxRecordBytes` bytes kept), or garbage up to the next separator or line.
///
/// Use: fill a buffer, call `frame`, process the records it appended (their ranges point into the buffer), then
/// move the unconsumed tail to the front of the buffer, append more input and call again; pass `isFinal` once
/// the input has ended.
public struct RecordFramer: Sendable {
    public private(set) var framing: Framing?
    public let maxRecordBytes: Int

    private enum Phase: Sendable {
        case root  // between top-level values
        case lines
        case elements  // inside the records array, before an element (or its closing bracket)
        case separator  // inside the records array, after an element
        case wrapperTail  // after the records array, until the wrapper object closes
        case concatenated
    }

    /// What the bytes being scanned are, which says where they end.
    private enum Scan: Sendable {
        case container  // an object or array: at its closing bracket
        case string  // a string scalar: at its closing quote
        case scalar  // another scalar in an array: before a separator, bracket or newline
        case garbage  // bytes that are no value, in an array: as a scalar; elsewhere: at the end of the line
        case garbageLine
    }

    private var phase: Phase = .root
    /// Offset in the stream of the current buffer's first byte.
    private var streamBase: Int64 = 0
    /// Next line number (line framing).
    private var line = 1
    private var atStreamStart = true
    /// A value being scanned that did not fit in the buffer yet; resumes where it stopped.
    private var scan = Scan.container
    private var pending = ValueScanner()
    private var pendingResume = 0
    /// Discarding the rest of an oversized record.
    private var discarding = false

    public init(maxRecordBytes: Int = 16 << 20) {
        self.maxRecordBytes = maxRecordBytes
    }

    /// Frames the complete records in `buffer[0..<count]` into `records` and returns how many bytes were consumed.
    /// `endedByError` says the input stopped at damage rather than at its end: a last line is then truncated unless
    /// it holds a whole value.
    public mutating func frame(
        _ buffer: UnsafePointer<UInt8>, count: Int, isFinal: Bool, endedByError: Bool = false, into records: inout [FramedRecord]
    ) -> Int {
        var i = 0
        if atStreamStart {
            if count < 3 && !isFinal { return 0 }
            if count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { i = 3 }  // UTF-8 BOM
            atStreamStart = false
        }
        loop: while true {
            switch phase {
            case .lines:
                i = frameLines(buffer, i, count, isFinal, endedByError, &records)
                break loop
            case .root:
                if !discarding && pendingResume == 0 {
                    // Newlines are counted while the framing is open: a first record per line keeps its number.
                    while i < count && isWhitespace(buffer[i]) {
                        if buffer[i] == 0x0A { line += 1 }
                        i += 1
                    }
                    guard i < count else { break loop }
                }
                if discarding || pendingResume > 0 || (buffer[i] != UInt8(ascii: "{") && buffer[i] != UInt8(ascii: "[")) {
                    // Not a JSON value: reported up to the end of its line, and the framing is told by what follows.
                    scan = .garbageLine
                    let start = i
                    guard let end = scanValue(buffer, &i, count, isFinal, &records) else { break loop }
                    if discarding {
                        discarding = false
                    } else {
                        records.append(FramedRecord(
                            start: start, end: end, line: line, streamOffset: streamBase + Int64(start), problem: .unexpectedContent))
                    }
                    i = end
                    continue loop
                }
                switch detectRoot(buffer, i, count, isFinal) {
                case .needMore:
                    break loop
                case .array(let afterBracket):
                    framing = framing ?? .array
                    phase = .elements
                    i = afterBracket
                case .wrapper(let kind, let afterBracket):
                    framing = framing ?? kind
                    phase = .elements
                    i = afterBracket
                case .record(let endsBeforeNewline):
                    if framing == nil {
                        framing = endsBeforeNewline ? .ndjson : .concatenated
                        phase = endsBeforeNewline ? .lines : .concatenated
                    } else {
                        phase = .concatenated
                    }
                }
            case .elements, .concatenated:
                let inArray = phase == .elements
                if !discarding && pendingResume == 0 {
                    skipWhitespace(buffer, &i, count)
                    guard i < count else { break loop }
                    let c = buffer[i]
                    if inArray && c == UInt8(ascii: "]") {
                        i += 1
                        endArray()
                        continue loop
                    }
                    if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                        scan = .container
                        pending = ValueScanner()
                    } else if !inArray {
                        // Something other than a record between records: reported up to the end of its line.
                        scan = .garbageLine
                    } else if c == UInt8(ascii: "\"") {
                        scan = .string
                        pending = ValueScanner(depth: 0, inString: true)
                        pendingResume = 1
                    } else {
                        scan = .scalar
                    }
                }
                let start = i
                guard let end = scanValue(buffer, &i, count, isFinal, &records) else { break loop }
                if discarding {
                    discarding = false
                    i = end
                } else {
                    i = emit(buffer, start, end, inArray, &records)
                }
                if inArray { phase = .separator }
            case .separator:
                if !discarding && pendingResume == 0 {
                    skipWhitespace(buffer, &i, count)
                    guard i < count else { break loop }
                    switch buffer[i] {
                    case UInt8(ascii: ","):
                        i += 1
                        phase = .elements
                        continue loop
                    case UInt8(ascii: "]"):
                        i += 1
                        endArray()
                        continue loop
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        // A separator is missing: the next element starts here.
                        phase = .elements
                        continue loop
                    default:
                        // Damage between elements: cut out up to the next separator; framing resumes there.
                        scan = .garbage
                    }
                }
                let start = i
                guard let end = scanValue(buffer, &i, count, isFinal, &records) else { break loop }
                if !discarding { records.append(record(buffer, start, end, problem: .unexpectedContent)) }
                discarding = false
                i = end
            case .wrapperTail:
                // The rest of the wrapper object after its records array: skip it, keeping nothing.
                if let end = pending.advance(buffer, i, count) {
                    i = end
                    phase = .root
                } else {
                    i = count
                    break loop
                }
            }
        }
        if isFinal && i < count && phase != .lines {
            // Whatever is left can never complete.
            var j = i
            skipWhitespace(buffer, &j, count)
            if j < count && phase != .wrapperTail && !discarding {
                let problem: FramingProblem = count - j > maxRecordBytes ? .tooLarge(limit: maxRecordBytes) : .truncated
                records.append(record(buffer, j, min(count, j + maxRecordBytes), problem: problem))
            }
            i = count
        }
        streamBase += Int64(i)
        pending.shift(by: i)
        return i
    }

    private mutating func endArray() {
        phase = framing == .array ? .root : .wrapperTail
        if phase == .wrapperTail { pending = ValueScanner(depth: 1) }
    }

    /// Appends the value scanned in `start..<end` with what was found wrong with it; returns where framing goes on.
    private mutating func emit(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ inArray: Bool, _ records: inout [FramedRecord]
    ) -> Int {
        var end = end
        var problem: FramingProblem?
        switch scan {
        case .container:
            if pending.cutShort {
                // The record lacks its closing brackets and the next one begins at `end`: the record stops at its
                // last byte before it (and before the separator, which framing takes next).
                while end > start + 1 && isWhitespace(p[end - 1]) { end -= 1 }
                if inArray && p[end - 1] == UInt8(ascii: ",") {
                    end -= 1
                    while end > start + 1 && isWhitespace(p[end - 1]) { end -= 1 }
                }
            }
            if pending.damaged { problem = .malformed }
        case .garbage, .garbageLine:
            problem = .unexpectedContent
        case .string, .scalar:
            break
        }
        if end - start > maxRecordBytes {
            records.append(record(p, start, start + maxRecordBytes, problem: .tooLarge(limit: maxRecordBytes)))
        } else {
            records.append(record(p, start, end, problem: problem))
        }
        return end
    }

    // MARK: Lines

    private mutating func frameLines(
        _ p: UnsafePointer<UInt8>, _ from: Int, _ count: Int, _ isFinal: Bool, _ endedByError: Bool,
        _ records: inout [FramedRecord]
    ) -> Int {
        var i = from
        while i < count {
            let newline = memchr(p + i, 0x0A, count - i).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - p }
            if discarding {
                guard let newline else { return count }
                discarding = false
                line += 1
                i = newline + 1
                continue
            }
            guard let lineEnd = newline ?? (isFinal ? count : nil) else {
                // One byte more than the limit may be a CR before the newline still to come.
                if count - i > maxRecordBytes + 1 {
                    records.append(record(p, i, i + maxRecordBytes, problem: .tooLarge(limit: maxRecordBytes)))
                    discarding = true
                    return count
                }
                return i
            }
            var end = lineEnd
            if end > i && p[end - 1] == 0x0D { end -= 1 }
            var first = i
            skipWhitespace(p, &first, end)
            if first < end {
                if end - i > maxRecordBytes {
                    records.append(record(p, i, i + maxRecordBytes, problem: .tooLarge(limit: maxRecordBytes)))
                } else if newline == nil && endedByError && !RecordFramer.holdsOneValue(p, first, end) {
                    // Damage cut the input inside this line.
                    records.append(record(p, i, end, problem: .truncated))
                } else {
                    records.append(record(p, i, end))
                }
            }
            line += 1
            i = newline == nil ? count : lineEnd + 1
        }
        return i
    }

    /// Whether `p[from..<end]` is one whole object or array (followed by nothing but whitespace).
    static func holdsOneValue(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Bool {
        guard p[from] == UInt8(ascii: "{") || p[from] == UInt8(ascii: "[") else { return false }
        var scanner = ValueScanner()
        guard var j = scanner.advance(p, from, end), !scanner.damaged else { return false }
        JSONParser.skipWhitespace(p, &j, end)
        return j == end
    }

    // MARK: Values inside arrays and concatenated streams

    /// Scans the item starting at `i` (resuming a pending scan) as `scan` says. Returns its end, or nil when the
    /// buffer ran out first (then `i` is where the caller must keep bytes from). An item that passes the limit is
    /// appended as too large with its first `maxRecordBytes` bytes, and the rest of it is discarded as it comes.
    private mutating func scanValue(
        _ p: UnsafePointer<UInt8>, _ i: inout Int, _ count: Int, _ isFinal: Bool, _ records: inout [FramedRecord]
    ) -> Int? {
        let start = i
        let resumeAt = discarding ? start : start + pendingResume
        var end: Int?
        switch scan {
        case .container, .string:
            end = pending.advance(p, resumeAt, count)
        case .scalar, .garbage:
            var j = resumeAt
            while j < count && p[j] != UInt8(ascii: ",") && p[j] != UInt8(ascii: "]") && p[j] != 0x0A { j += 1 }
            if j < count || isFinal { end = j }
        case .garbageLine:
            let j = endOfLine(p, resumeAt, count)
            if j < count || isFinal { end = j }
        }
        if let end {
            pendingResume = 0
            return end
        }
        if discarding {
            i = count
            return nil
        }
        if count - start > maxRecordBytes + 1 {
            records.append(record(p, start, start + maxRecordBytes, problem: .tooLarge(limit: maxRecordBytes)))
            discarding = true
            pendingResume = 0
            i = count
            return nil
        }
        pendingResume = count - start
        return nil
    }

    // MARK: Detection

    private enum RootKind {
        case needMore
        case array(afterBracket: Int)
        case wrapper(Framing, afterBracket: Int)
        case record(endsBeforeNewline: Bool)
    }

    /// Looks at the top-level value at `i`: an array of records, a wrapper object holding one, or a record. It looks
    /// no further than the record limit: a value that long is a record, framed (and cut) as one.
    private func detectRoot(_ p: UnsafePointer<UInt8>, _ i: Int, _ count: Int, _ isFinal: Bool) -> RootKind {
        if p[i] == UInt8(ascii: "[") { return .array(afterBracket: i + 1) }
        // A newline inside the first value means pretty-printed records; one after it, a record per line.
        let newline = memchr(p + i, 0x0A, count - i).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - p } ?? Int.max
        // When the value cannot be walked to its end (damaged, or longer than a record may be), its first key
        // tells: on the line of the opening brace, a record per line; below it, pretty-printed.
        var j = i + 1
        skipWhitespace(p, &j, count)
        let oneLine = j < newline
        let damaged = RootKind.record(endsBeforeNewline: oneLine)
        let needMore: RootKind = isFinal || count - i > maxRecordBytes + 1 ? damaged : .needMore
        // Walk the object's own keys, skipping their values, until a records array or the object's end. A record
        // damaged early is still a record: framing it finds the damage and resynchronises after it.
        while true {
            skipWhitespace(p, &j, count)
            guard j < count else { return needMore }
            if p[j] == UInt8(ascii: "}") { return .record(endsBeforeNewline: j < newline) }
            guard p[j] == UInt8(ascii: "\"") else { return damaged }
            var keyScanner = ValueScanner(depth: 0, inString: true)
            guard let keyEnd = keyScanner.advance(p, j + 1, count) else { return needMore }
            let key = UnsafeBufferPointer(start: p + j + 1, count: keyEnd - j - 2)
            j = keyEnd
            skipWhitespace(p, &j, count)
            guard j < count else { return needMore }
            guard p[j] == UInt8(ascii: ":") else { return damaged }
            j += 1
            skipWhitespace(p, &j, count)
            guard j < count else { return needMore }
            if p[j] == UInt8(ascii: "[") {
                if JSONString.equals(key, "Records") { return .wrapper(.cloudTrailRecords, afterBracket: j + 1) }
                if JSONString.equals(key, "items") { return .wrapper(.eventList, afterBracket: j + 1) }
            }
            // Skip this member's value.
            switch p[j] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var scanner = ValueScanner()
                guard let end = scanner.advance(p, j, count) else { return needMore }
                j = end
            case UInt8(ascii: "\""):
                var scanner = ValueScanner(depth: 0, inString: true)
                guard let end = scanner.advance(p, j + 1, count) else { return needMore }
                j = end
            default:
                while j < count && p[j] != UInt8(ascii: ",") && p[j] != UInt8(ascii: "}") { j += 1 }
                guard j < count else { return needMore }
            }
            skipWhitespace(p, &j, count)
            guard j < count else { return needMore }
            if p[j] == UInt8(ascii: ",") {
                j += 1
            } else if p[j] != UInt8(ascii: "}") {
                return damaged
            }
        }
    }

    // MARK: Helpers

    private func record(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, problem: FramingProblem? = nil) -> FramedRecord {
        FramedRecord(
            start: start, end: end, line: phase == .lines ? line : 0, streamOffset: streamBase + Int64(start),
            problem: problem)
    }

    private func endOfLine(_ p: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> Int {
        memchr(p + i, 0x0A, count - i).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - p } ?? count
    }

    private func skipWhitespace(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ count: Int) {
        JSONParser.skipWhitespace(p, &i, count)
    }
}

@inline(__always) func isWhitespace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
}

/// Finds where a JSON container ends by counting brackets outside strings. Resumable: it keeps its state when the
/// bytes run out, so a value split across buffers is scanned once.
///
/// It also notices the two kinds of damage that would otherwise make it swallow the records after: an unterminated
/// string (a closing quote followed by something a closing quote never is: the quote really opened the next string,
/// so the string is reopened there, and the bytes the bad string took are counted as brackets again, which may end
/// the value), and a missing closing bracket (an object starting where only a key or a separator can: the value
/// ends before it, `cutShort`). Valid JSON never triggers either.
struct ValueScanner: Sendable {
    var depth = 0
    var inString = false
    var escape = false
    /// The last byte outside strings and whitespace (`"` after a string closed; 0 before the first).
    var last: UInt8 = 0
    /// Which open containers are objects, a bit per depth up to 64 (deeper ones are taken for arrays).
    var objects: UInt64 = 0
    /// Buffer positions: where the open (or last) string's contents began, and its closing quote.
    var stringStart = 0
    var lastQuote = 0
    /// An unterminated string or a missing bracket was found.
    var damaged = false
    /// The value ended before an object that cannot be inside it: a closing bracket is missing.
    var cutShort = false

    init(depth: Int = 0, inString: Bool = false) {
        self.depth = depth
        self.inString = inString
        if depth == 1 { objects = 1 }  // the rest of a wrapper object
    }

    /// Keeps positions right when the buffer's first `n` bytes are dropped.
    mutating func shift(by n: Int) {
        stringStart &-= n
        lastQuote &-= n
    }

    /// Advances over `p[from..<count]`; returns the offset just after the value once depth returns to zero
    /// (or, when started inside a string at depth zero, just after the closing quote; or, when `cutShort`, the
    /// offset of the object that cannot belong to the value).
    mutating func advance(_ p: UnsafePointer<UInt8>, _ from: Int, _ count: Int) -> Int? {
        var i = from
        while i < count {
            if inString {
                if escape {
                    escape = false
                    i += 1
                    continue
                }
                // Skip eight plain string bytes at a time.
                while i + 8 <= count {
                    let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                    let special = JSONParser.zeroBytes(w ^ (0x22 &* JSONParser.ones))
                        | JSONParser.zeroBytes(w ^ (0x5C &* JSONParser.ones))
                    if special != 0 {
                        i += special.trailingZeroBitCount &>> 3
                        break
                    }
                    i += 8
                }
                guard i < count else { return nil }
                let c = p[i]
                i += 1
                if c == UInt8(ascii: "\\") {
                    escape = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return i }
                    lastQuote = i - 1
                    last = c
                }
                continue
            }
            let c = p[i]
            if isWhitespace(c) {
                i += 1
                continue
            }
            if last == UInt8(ascii: "\"") && c != UInt8(ascii: ":") && c != UInt8(ascii: ",") && c != UInt8(ascii: "}")
                && c != UInt8(ascii: "]")
            {
                damaged = true
                if c == UInt8(ascii: "{") {
                    // A string then an object: the brackets that closed the value are missing.
                    cutShort = true
                    return i
                }
                if let end = reopenString(p) { return end }
                i = lastQuote >= 0 ? lastQuote + 1 : i
                continue
            }
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                inString = true
                stringStart = i
            case UInt8(ascii: "{"):
                if depth > 0 && last != UInt8(ascii: ":") && last != UInt8(ascii: "[")
                    && !(last == UInt8(ascii: ",") && innermostIsArray)
                {
                    damaged = true
                    cutShort = true
                    return i - 1
                }
                open(object: true)
            case UInt8(ascii: "["):
                open(object: false)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth <= 0 { return i }
            default: break
            }
            last = c
        }
        return nil
    }

    /// Whether the innermost open container is an array (an object keyed after a comma there would be damage).
    private var innermostIsArray: Bool { depth > 64 || objects & (1 &<< UInt64(depth - 1)) == 0 }

    @inline(__always) private mutating func open(object: Bool) {
        depth += 1
        guard depth <= 64 else { return }
        let bit: UInt64 = 1 &<< UInt64(depth - 1)
        objects = object ? objects | bit : objects & ~bit
    }

    /// The string that just closed was unterminated: its closing quote opens the next string. The bytes it took are
    /// structure again; returns the end of the value when they close it.
    private mutating func reopenString(_ p: UnsafePointer<UInt8>) -> Int? {
        if lastQuote >= 0 {
            var k = max(stringStart, 0)
            while k < lastQuote {
                switch p[k] {
                case UInt8(ascii: "{"): open(object: true)
                case UInt8(ascii: "["): open(object: false)
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth <= 0 { return k + 1 }
                default: break
                }
                k += 1
            }
            stringStart = lastQuote + 1
        }
        inString = true
        last = 0
        return nil
    }
}
