import PipewatchEvents
import PipewatchInputs
import PipewatchJSON

/// A record that did not become an event, and why.
public struct RecordFailure: Sendable {
    public enum Stage: String, Sendable {
        case framing, parse, normalize
    }

    /// Index into the chunk's records.
    public var record: Int
    public var stage: Stage
    public var reason: String
}

/// Parses and normalizes the records of a chunk. Its storage (tape, arena, events) is reused from chunk to chunk,
/// so after warming up it allocates nothing per record. One instance per thread.
public final class EventDecoder {
    public let tape = JSONTape(capacity: 1 << 16)
    public let arena = TextArena()
    public let normalizer = Normalizer()
    /// Events of the last chunk, in record order.
    public private(set) var events: [Event] = []
    /// For each event, the index of its record in the chunk.
    public private(set) var eventRecords: [Int32] = []
    public private(set) var failures: [RecordFailure] = []
    private var bytes: UnsafePointer<UInt8>?

    public init() {}

    public func decode(_ chunk: RecordChunk) {
        tape.removeAll()
        arena.reset()
        events.removeAll(keepingCapacity: true)
        eventRecords.removeAll(keepingCapacity: true)
        failures.removeAll(keepingCapacity: true)
        bytes = chunk.bytes
        for (index, record) in chunk.records.enumerated() {
            if let problem = record.problem {
                failures.append(RecordFailure(record: index, stage: .framing, reason: EventDecoder.describe(problem)))
                continue
            }
            let root: UInt32
            do {
                root = try JSONParser.parse(chunk.bytes, from: record.start, to: record.end, into: tape)
            } catch {
                failures.append(RecordFailure(record: index, stage: .parse, reason: error.description))
                continue
            }
            do {
                // The tape grows while parsing, so the document is re-made for each record.
                let document = JSONDocument(bytes: chunk.bytes, nodes: tape.nodes)
                events.append(try normalizer.normalize(document, root: root, arena: arena))
                eventRecords.append(Int32(index))
            } catch {
                failures.append(RecordFailure(record: index, stage: .normalize, reason: error.description))
            }
        }
    }

    /// The document of the last chunk (valid during the chunk's callback).
    public var document: JSONDocument { JSONDocument(bytes: bytes!, nodes: tape.nodes) }

    /// Calls `body` with a view of each event of the last chunk.
    public func forEachView(_ body: (Int, EventView) throws -> Void) rethrows {
        let document = self.document
        let arenaBytes = UnsafePointer(arena.bytes)
        try events.withUnsafeBufferPointer { events in
            for index in events.indices {
                try body(index, EventView(document: document, arena: arenaBytes, event: events.baseAddress! + index))
            }
        }
    }

    static func describe(_ problem: FramingProblem) -> String {
        switch problem {
        case .truncated: return "input ended inside a record (truncated)"
        case .tooLarge(let limit): return "record longer than \(limit) bytes (only its beginning is kept)"
        case .unexpectedContent: return "bytes that do not start a JSON record"
        case .malformed: return "not well-formed JSON"
        }
    }
}
