import Foundation
import PipewatchEvents
import PipewatchOutput
import PipewatchPipeline
import Testing

@Suite struct FileReplayTests {
    @Test func samplesReplayWithEveryBadRecordDeadLettered() throws {
        let dir = try TemporaryDirectory()
        let deadLetterPath = dir.path("dead.ndjson")
        let replay = FileReplay(deadLetter: DeadLetterOutput(file: try OutputFile(path: deadLetterPath)), showProgress: false)
        var seen = 0
        let stats = try replay.run([repositoryRoot.appendingPathComponent("samples").path]) { decoder, _ in
            seen += decoder.events.count
        }
        // Counts from samples/README.md.
        #expect(stats.inputs == 7)
        #expect(stats.eventsBySource == [54, 26, 18, 19])
        #expect(stats.badRecords == 12)
        #expect(stats.records == stats.events + stats.badRecords)
        #expect(seen == stats.events)
        #expect(stats.inputErrors.isEmpty)

        let lines = try String(contentsOfFile: deadLetterPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 12)
        let entries = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(entries.allSatisfy { ($0["input"] as? String)?.hasSuffix("broken/broken-records.ndjson") == true })
        #expect(entries.compactMap { $0["line"] as? Int } == [1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14])
        #expect(entries.allSatisfy { !(($0["reason"] as? String) ?? "").isEmpty && $0["raw"] is String && $0["offset"] is Int })

        // The invalid UTF-8 record keeps its exact bytes in raw_base64.
        let utf8Entry = try #require(entries.first { ($0["reason"] as? String)?.contains("invalid UTF-8") == true })
        let base64 = try #require(utf8Entry["raw_base64"] as? String)
        let exact = try #require(Data(base64Encoded: base64))
        let original = try Data(contentsOf: repositoryRoot.appendingPathComponent("samples/broken/broken-records.ndjson"))
        let line7 = original.split(separator: 0x0A, omittingEmptySubsequences: false)[6]
        #expect(exact == Data(line7))
    }

    @Test func missingInputsAreCountedAndDeadLettered() throws {
        let dir = try TemporaryDirectory()
        let good = try dir.write("good.ndjson", SampleRecords.kubernetes + "\n")
        let deadLetterPath = dir.path("dead.ndjson")
        let replay = FileReplay(deadLetter: DeadLetterOutput(file: try OutputFile(path: deadLetterPath)), showProgress: false)
        let stats = try replay.run([dir.path("absent.json"), good]) { _, _ in }
        #expect(stats.inputErrors.count == 1)
        #expect(stats.eventsBySource[Int(EventSource.kubernetesAudit.rawValue)] == 1)
        let text = try String(contentsOfFile: deadLetterPath, encoding: .utf8)
        #expect(text.contains("\"stage\":\"input\"") && text.contains("absent.json"))
    }
}
