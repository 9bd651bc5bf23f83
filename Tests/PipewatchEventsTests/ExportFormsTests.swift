import Foundation
import PipewatchEvents
import PipewatchJSON
import Testing

/// Records in the forms other organisations have them: data-lake query results (CloudTrail Lake, Athena, BigQuery,
/// Snowflake), SIEM exports (Panther), log shippers (Logstash), EventBridge, webhook EventLists, trimmed records
/// without id or time. Fixtures/exports/NAME.ndjson holds the records, NAME.expected.ndjson what each one must become
/// (times and content ids computed independently of Pipewatch, with Python's datetime and mmh3).
@Suite("Records as exports and shippers write them")
struct ExportFormsTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("exports")

    static func lines(_ name: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    static func batch(_ name: String) throws -> NormalizedBatch {
        let batch = NormalizedBatch(bytes: Array(try Data(contentsOf: directory.appendingPathComponent(name + ".ndjson"))))
        batch.normalizeLines()
        return batch
    }

    @Test("every record normalizes with its time, id and fields", arguments: ["cloudtrail", "kubernetes", "gcp", "mlflow"])
    func normalizes(name: String) throws {
        let batch = try Self.batch(name)
        let expected = try Self.lines(name + ".expected.ndjson")
        #expect(batch.failures.isEmpty, "\(batch.failures.map { "line \($0.position): \($0.error)" })")
        try #require(batch.eventCount == expected.count)
        for (view, want) in zip(batch.views, expected) {
            let line = want["line"] as? Int ?? 0
            let form = want["form"] as? String ?? ""
            let context: Comment = "line \(line) (\(form))"
            #expect(view.source.name == want["source"] as? String, context)
            if let time = want["time_ms"] as? NSNumber {
                #expect(view.event.hasTime, context)
                #expect(view.event.time == time.int64Value, "\(context): \(view.timeText ?? "no time")")
            } else {
                #expect(!view.event.hasTime, context)
                #expect(view.event.time == Event.unknownTime, context)
            }
            #expect(view.string(.uid) == want["uid"] as? String, context)
            for (name, value) in want["fields"] as? [String: String] ?? [:] {
                let field = try #require(EventField(name: name))
                #expect(view.string(field) == value, "\(context): \(name)")
            }
            if let outcome = want["outcome"] as? String {
                #expect(view.event.outcome.name == outcome, context)
            }
            // The event JSON says whether the record had a time, and never shows a made-up one.
            var writer = JSONWriter()
            EventJSON.write(view, to: &writer)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any])
            #expect((json["time"] == nil) == !view.event.hasTime, context)
            #expect((json["time_absent"] as? Bool == true) == !view.event.hasTime, context)
        }
    }

    @Test("at least thirty records of each source, in every form, some without any time or id")
    func coverage() throws {
        for name in ["cloudtrail", "kubernetes", "gcp"] {
            let expected = try Self.lines(name + ".expected.ndjson")
            #expect(expected.count >= 30, "\(name): \(expected.count)")
            #expect(expected.contains { $0["time_ms"] is NSNull }, "\(name) has a record without time")
            #expect(expected.contains { ($0["uid"] as? String)?.hasPrefix("mmh3:") == true }, "\(name) has a record without id")
        }
    }

    @Test("what is no record of a known source, or lacks what its source needs, is refused with its reason")
    func refused() throws {
        let batch = try Self.batch("not-records")
        let expected = try Self.lines("not-records.expected.ndjson")
        #expect(batch.eventCount == 0, "\(batch.views.map { $0.source.name })")
        #expect(batch.failures.count == expected.count)
        for (failure, want) in zip(batch.failures, expected) {
            #expect(failure.position == want["line"] as? Int)
            guard case .normalize(let reason) = failure.error else {
                Issue.record("line \(failure.position): not JSON: \(failure.error)")
                continue
            }
            #expect(reason.description == want["reason"] as? String, "line \(failure.position) (\(want["form"] ?? ""))")
        }
    }

    /// A derived id must not depend on how the record was framed: the same record pretty-printed, indented or
    /// with CRLF line ends gets the same uid.
    @Test("a content id does not change with the whitespace between tokens", arguments: ["cloudtrail", "kubernetes", "gcp", "mlflow"])
    func contentIDIgnoresLayout(name: String) throws {
        let text = String(decoding: try Data(contentsOf: Self.directory.appendingPathComponent(name + ".ndjson")), as: UTF8.self)
        let records = text.split(separator: "\n").map(String.init)
        let expected = try Self.lines(name + ".expected.ndjson")
        var checked = 0
        for (record, want) in zip(records, expected) {
            guard let uid = want["uid"] as? String, uid.hasPrefix("mmh3:") else { continue }
            let spread = try NormalizedRecord(spreadOut(record))
            #expect(spread[.uid] == uid)
            checked += 1
        }
        #expect(checked > 0)
    }
}

/// The JSON text with whitespace added between every pair of tokens (strings left as they are), as a pretty-printer
/// or another exporter would lay it out.
func spreadOut(_ json: String) -> String {
    var out = ""
    var inString = false
    var escaped = false
    for character in json {
        if inString {
            out.append(character)
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                inString = false
            }
            continue
        }
        switch character {
        case "\"":
            inString = true
            out.append(character)
        case "{", "[":
            out.append(character)
            out.append("\r\n    ")
        case ",":
            out.append(",\n\t")
        case ":":
            out.append(" : ")
        case "}", "]":
            out.append("\n")
            out.append(character)
        default:
            out.append(character)
        }
    }
    return out
}
