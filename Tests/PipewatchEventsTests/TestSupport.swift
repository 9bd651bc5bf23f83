import Foundation
import PipewatchEvents
import PipewatchJSON
import Testing

/// Why a record did not become an event in a test: it was not JSON, or the normalizer refused it.
enum RecordError: Error, Equatable {
    case json(JSONError)
    case normalize(NormalizeFailure)
}

/// One record parsed and normalized. It owns the input bytes, the tape, the arena and the event, so the
/// `EventView` it hands out stays valid for as long as the object lives.
final class NormalizedRecord {
    let bytes: UnsafeMutablePointer<UInt8>
    let count: Int
    let tape: JSONTape
    let arena: TextArena
    let root: UInt32
    private let eventStorage: UnsafeMutablePointer<Event>

    convenience init(_ text: String) throws(RecordError) {
        try self.init(bytes: Array(text.utf8))
    }

    init(bytes raw: [UInt8]) throws(RecordError) {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(raw.count, 1))
        buffer.update(from: raw, count: raw.count)
        let tape = JSONTape(capacity: 64)
        let arena = TextArena()
        let root: UInt32
        let event: Event
        do {
            root = try JSONParser.parse(buffer, from: 0, to: raw.count, into: tape)
        } catch {
            buffer.deallocate()
            throw .json(error)
        }
        do {
            event = try Normalizer().normalize(
                JSONDocument(bytes: buffer, nodes: tape.nodes), root: root, arena: arena)
        } catch {
            buffer.deallocate()
            throw .normalize(error)
        }
        let storage = UnsafeMutablePointer<Event>.allocate(capacity: 1)
        storage.initialize(to: event)
        self.bytes = buffer
        self.count = raw.count
        self.tape = tape
        self.arena = arena
        self.root = root
        self.eventStorage = storage
    }

    deinit {
        bytes.deallocate()
        eventStorage.deinitialize(count: 1)
        eventStorage.deallocate()
    }

    var document: JSONDocument { JSONDocument(bytes: bytes, nodes: tape.nodes) }
    var view: EventView { EventView(document: document, arena: UnsafePointer(arena.bytes), event: eventStorage) }
    var event: Event { eventStorage.pointee }
    var source: EventSource { event.source }
    var time: Int64 { event.time }
    var outcome: Outcome { event.outcome }

    /// A normalized text field, escapes decoded; nil when absent.
    subscript(field: EventField) -> String? { view.string(field) }

    /// The normalized fields that are present, by name (for readable failure messages and absence checks).
    var presentFields: [String: String] {
        var fields: [String: String] = [:]
        for field in EventField.allCases {
            if let value = self[field] { fields[field.name] = value }
        }
        return fields
    }
}

/// The normalizer's refusal of a record (nil when it normalizes). Fails the test if the text is not JSON.
func normalizeFailure(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> NormalizeFailure? {
    do {
        _ = try NormalizedRecord(text)
        return nil
    } catch .normalize(let failure) {
        return failure
    } catch {
        Issue.record("not valid JSON: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Milliseconds since the Unix epoch, computed independently with Foundation (tests only).
func epochMilliseconds(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int, ms: Int = 0) -> Int64 {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    let date = calendar.date(from: components)!
    return Int64(date.timeIntervalSince1970.rounded()) * 1000 + Int64(ms)
}

// MARK: Sample files

/// The repository root, found from this file's location.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func samplePath(_ relative: String) -> String {
    repositoryRoot.appendingPathComponent("samples").appendingPathComponent(relative).path
}

/// The bytes of a sample file; `.gz` and `.zst` files are decompressed with the system's gzip / zstd tools.
func sampleBytes(_ relative: String) throws -> [UInt8] {
    let path = samplePath(relative)
    let tool: String?
    if relative.hasSuffix(".gz") {
        tool = "gzip"
    } else if relative.hasSuffix(".zst") {
        tool = "zstd"
    } else {
        tool = nil
    }
    guard let tool else { return Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool, "-dc", path]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw SampleError.toolFailed("\(tool) -dc \(relative) exited with \(process.terminationStatus)")
    }
    return Array(data)
}

enum SampleError: Error {
    case toolFailed(String)
}

/// Many records parsed into one shared buffer and tape, the way a batch holds them, with their normalized events.
final class NormalizedBatch {
    let bytes: UnsafeMutablePointer<UInt8>
    let count: Int
    let tape = JSONTape(capacity: 1024)
    let arena = TextArena()
    let normalizer = Normalizer()
    private(set) var roots: [UInt32] = []
    private(set) var events: UnsafeMutablePointer<Event>
    private var eventCapacity = 64
    private(set) var eventCount = 0
    /// Records that failed, with their position (line number for NDJSON, element index for arrays).
    private(set) var failures: [(position: Int, error: RecordError)] = []

    init(bytes raw: [UInt8]) {
        count = raw.count
        bytes = .allocate(capacity: max(raw.count, 1))
        bytes.update(from: raw, count: raw.count)
        events = .allocate(capacity: eventCapacity)
    }

    deinit {
        bytes.deallocate()
        events.deinitialize(count: eventCount)
        events.deallocate()
    }

    var document: JSONDocument { JSONDocument(bytes: bytes, nodes: tape.nodes) }

    private func append(_ event: Event) {
        if eventCount == eventCapacity {
            let bigger = UnsafeMutablePointer<Event>.allocate(capacity: eventCapacity * 2)
            bigger.moveInitialize(from: events, count: eventCount)
            events.deallocate()
            events = bigger
            eventCapacity *= 2
        }
        (events + eventCount).initialize(to: event)
        eventCount += 1
    }

    private func normalize(_ root: UInt32, position: Int) {
        do {
            append(try normalizer.normalize(document, root: root, arena: arena))
            roots.append(root)
        } catch {
            failures.append((position, .normalize(error)))
        }
    }

    /// Normalizes each non-empty line as one record (line numbers count from 1).
    func normalizeLines() {
        var start = 0
        var line = 0
        while start < count {
            var end = start
            while end < count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            line += 1
            if end > start {
                do {
                    let root = try JSONParser.parse(bytes, from: start, to: end, into: tape)
                    normalize(root, position: line)
                } catch {
                    failures.append((line, .json(error)))
                }
            }
            start = end + 1
        }
    }

    /// Parses the whole buffer as one document and normalizes each element of the array under `key`.
    func normalizeElements(of key: String) throws {
        let root = try JSONParser.parse(bytes, from: 0, to: count, into: tape)
        let array = try #require(document.member(root, key))
        var elements: [UInt32] = []
        document.forEachElement(array) { elements.append($0) }
        for (position, element) in elements.enumerated() { normalize(element, position: position) }
    }

    /// Views of the normalized events, valid while the batch lives.
    var views: [EventView] {
        (0..<eventCount).map { EventView(document: document, arena: UnsafePointer(arena.bytes), event: events + $0) }
    }
}
