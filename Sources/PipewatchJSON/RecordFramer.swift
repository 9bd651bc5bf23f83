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
/// record, whatever the size of the input. The framing is detected from the stream's first value.
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

    private var phase: Phase = .root
    /// Offset in the stream of the current buffer's first byte.
    private var streamBase: Int64 = 0
    /// Next line number (line framing).
    private var line = 1
    private var atStreamStart = true
    /// A value being scanned that did not fit in the buffer yet; resumes where it stopped.
    private var pending = ValueScanner()
    private var pendingResume = 0
    /// Discarding the rest of an oversized record.
    private var discarding = false

    public init(maxRecordBytes: Int = 16 << 20) {
        self.maxRecordBytes = maxRecordBytes
    }

    /// Frames the complete records in `buffer[0..<count]` into `records` and returns how many bytes were consumed.
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
                i = frameLines(buffer, i, count, isFinal, &records)
                break loop
            case .root:
                skipWhitespace(buffer, &i, count)
                guard i < count else { break loop }
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
                case .record(let valueEnd, let endsBeforeNewline):
                    if framing == nil {
                        framing = endsBeforeNewline ? .ndjson : .concatenated
                        phase = endsBeforeNewline ? .lines : .concatenated
                    } else {
                        phase = .concatenated
                    }
                    _ = valueEnd  // the record is framed again by its own phase
                case .notJSON:
                    // Not a JSON value: line framing isolates whatever this is, one bad line at a time.
                    framing = framing ?? .ndjson
                    phase = .lines
                }
            case .elements, .concatenated:
                let inArray = phase == .elements
                if !discarding && pendingResume == 0 {
                    skipWhitespace(buffer, &i, count)
                    guard i < count else { break loop }
                    if inArray && buffer[i] == UInt8(ascii: "]") {
                        i += 1
                        phase = framing == .array ? .root : .wrapperTail
                        if phase == .wrapperTail { pending = ValueScanner(depth: 1) }
                        continue loop
                    }
                    let c = buffer[i]
                    if c != UInt8(ascii: "{") && c != UInt8(ascii: "[") && !inArray {
                        // Something other than a record between records: report it up to the end of its line.
                        let lineEnd = endOfLine(buffer, i, count)
                        guard lineEnd < count || isFinal else { break loop }
                        records.append(record(buffer, i, lineEnd, problem: .unexpectedContent))
                        i = min(lineEnd + 1, count)
                        continue loop
                    }
                    pending = ValueScanner()
                }
                guard let end = scanValue(buffer, &i, count, isFinal, &records) else { break loop }
                if !discarding { records.append(record(buffer, i, end)) }
                discarding = false
                i = end
                if inArray { phase = .separator }
            case .separator:
                skipWhitespace(buffer, &i, count)
                guard i < count else { break loop }
                switch buffer[i] {
                case UInt8(ascii: ","):
                    i += 1
                    phase = .elements
                case UInt8(ascii: "]"):
                    i += 1
                    phase = framing == .array ? .root : .wrapperTail
                    if phase == .wrapperTail { pending = ValueScanner(depth: 1) }
                default:
                    // Damaged array: resynchronise at the next line.
                    let lineEnd = endOfLine(buffer, i, count)
                    guard lineEnd < count || isFinal else { break loop }
                    records.append(record(buffer, i, lineEnd, problem: .unexpectedContent))
                    i = min(lineEnd + 1, count)
                    phase = .elements
                }
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
            if j < count && phase != .wrapperTail && !discarding { records.append(record(buffer, j, count, problem: .truncated)) }
            i = count
        }
        streamBase += Int64(i)
        return i
    }

    // MARK: Lines

    private mutating func frameLines(
        _ p: UnsafePointer<UInt8>, _ from: Int, _ count: Int, _ isFinal: Bool, _ records: inout [FramedRecord]
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
                if count - i > maxRecordBytes {
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
                } else {
                    records.append(record(p, i, end))
                }
            }
            line += 1
            i = newline == nil ? count : lineEnd + 1
        }
        return i
    }

    // MARK: Values inside arrays and concatenated streams

    /// Scans the value starting at `i` (resuming a pending scan). Returns its end, or nil when the buffer ran out
    /// first (then `i` is where the caller must keep bytes from).
    private mutating func scanValue(
        _ p: UnsafePointer<UInt8>, _ i: inout Int, _ count: Int, _ isFinal: Bool, _ records: inout [FramedRecord]
    ) -> Int? {
        let start = i
        let resumeAt = discarding ? start : start + pendingResume
        if pendingResume == 0 && !discarding && p[start] != UInt8(ascii: "{") && p[start] != UInt8(ascii: "[") {
            // A scalar where a record should be: cut it out (up to the next separator) so it is reported.
            if p[start] == UInt8(ascii: "\"") {
                var string = ValueScanner(depth: 0, inString: true)
                if let end = string.advance(p, start + 1, count) { return end }
            } else {
                var j = start
                while j < count && p[j] != UInt8(ascii: ",") && p[j] != UInt8(ascii: "]") && p[j] != 0x0A { j += 1 }
                if j < count { return j }
            }
            return isFinal ? count : nil
        }
        if let end = pending.advance(p, resumeAt, count) {
            pendingResume = 0
            return end
        }
        if discarding {
            i = count
            return nil
        }
        if count - start > maxRecordBytes {
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
        case record(end: Int, endsBeforeNewline: Bool)
        case notJSON
    }

    /// Looks at the top-level value at `i`: an array of records, a wrapper object holding one, or a record.
    private func detectRoot(_ p: UnsafePointer<UInt8>, _ i: Int, _ count: Int, _ isFinal: Bool) -> RootKind {
        switch p[i] {
        case UInt8(ascii: "["): return .array(afterBracket: i + 1)
        case UInt8(ascii: "{"): break
        default: return .notJSON
        }
        // Walk the object's own keys, skipping their values, until a records array or the object's end.
        let newline = memchr(p + i, 0x0A, count - i).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - p } ?? Int.max
        var j = i + 1
        while true {
            skipWhitespace(p, &j, count)
            guard j < count else { return isFinal ? .notJSON : .needMore }
            if p[j] == UInt8(ascii: "}") { return .record(end: j + 1, endsBeforeNewline: j < newline) }
            guard p[j] == UInt8(ascii: "\"") else { return .notJSON }
            var keyScanner = ValueScanner(depth: 0, inString: true)
            guard let keyEnd = keyScanner.advance(p, j + 1, count) else { return isFinal ? .notJSON : .needMore }
            let key = UnsafeBufferPointer(start: p + j + 1, count: keyEnd - j - 2)
            j = keyEnd
            skipWhitespace(p, &j, count)
            guard j < count else { return isFinal ? .notJSON : .needMore }
            guard p[j] == UInt8(ascii: ":") else { return .notJSON }
            j += 1
            skipWhitespace(p, &j, count)
            guard j < count else { return isFinal ? .notJSON : .needMore }
            if p[j] == UInt8(ascii: "[") {
                if JSONString.equals(key, "Records") { return .wrapper(.cloudTrailRecords, afterBracket: j + 1) }
                if JSONString.equals(key, "items") { return .wrapper(.eventList, afterBracket: j + 1) }
            }
            // Skip this member's value.
            switch p[j] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var scanner = ValueScanner()
                guard let end = scanner.advance(p, j, count) else { return isFinal ? .notJSON : .needMore }
                j = end
            case UInt8(ascii: "\""):
                var scanner = ValueScanner(depth: 0, inString: true)
                guard let end = scanner.advance(p, j + 1, count) else { return isFinal ? .notJSON : .needMore }
                j = end
            default:
                while j < count && p[j] != UInt8(ascii: ",") && p[j] != UInt8(ascii: "}") { j += 1 }
                guard j < count else { return isFinal ? .notJSON : .needMore }
            }
            skipWhitespace(p, &j, count)
            guard j < count else { return isFinal ? .notJSON : .needMore }
            if p[j] == UInt8(ascii: ",") {
                j += 1
            } else if p[j] != UInt8(ascii: "}") {
                return .notJSON
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

/// Finds where a JSON container ends by counting brackets outside strings. Resumable: it keeps its state when the
/// bytes run out, so a value split across buffers is scanned once.
struct ValueScanner: Sendable {
    var depth = 0
    var inString = false
    var escape = false

    init(depth: Int = 0, inString: Bool = false) {
        self.depth = depth
        self.inString = inString
    }

    /// Advances over `p[from..<count]`; returns the offset just after the value once depth returns to zero
    /// (or, when started inside a string at depth zero, just after the closing quote).
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
                }
                continue
            }
            let c = p[i]
            i += 1
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth <= 0 { return i }
            default: break
            }
        }
        return nil
    }
}
