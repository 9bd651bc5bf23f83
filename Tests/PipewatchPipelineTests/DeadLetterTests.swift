import Foundation
import PipewatchOutput
import PipewatchPipeline
import Testing

@Suite struct DeadLetterTests {
    @Test func aHugeBadRecordBecomesABoundedDeadLetter() throws {
        // 16 MiB of NUL bytes: within the record limit, valid UTF-8, and six bytes each once escaped in JSON.
        let dir = try TemporaryDirectory()
        let nulls = [UInt8](repeating: 0, count: 16 << 20)
        let path = try dir.write("nul.ndjson", nulls + [0x0A] + Array((SampleRecords.kubernetes + "\n").utf8))
        let deadLetterPath = dir.path("dead.ndjson")
        let replay = FileReplay(deadLetter: DeadLetterOutput(file: try OutputFile(path: deadLetterPath)), showProgress: false)
        let stats = try replay.run([path]) { _, _ in }
        #expect(stats.events == 1 && stats.badRecords == 1)

        let size = try #require(try FileManager.default.attributesOfItem(atPath: deadLetterPath)[.size] as? Int)
        #expect(size < DeadLetterOutput.maxRawBytes * 6 + 4096, "the line holds at most maxRawBytes of the record, escaped")
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: deadLetterPath))) as? [String: Any])
        #expect(entry["raw_truncated"] as? Bool == true)
        #expect(entry["raw_length"] as? Int == 16 << 20)
        #expect((entry["raw"] as? String)?.utf8.count == DeadLetterOutput.maxRawBytes)
        #expect(entry["raw_base64"] == nil)
        #expect(entry["line"] as? Int == 1 && entry["offset"] as? Int == 0)
    }

    @Test func aKeptPrefixIsCutAtACharacterBoundaryAndInvalidBytesKeepTheirBase64() throws {
        let dir = try TemporaryDirectory()
        // "é" is two bytes: the cut at maxRawBytes would fall inside one.
        let accents = "{\"x\":\"a" + String(repeating: "é", count: DeadLetterOutput.maxRawBytes) + "\"\n"
        var invalid = Array("{\"y\":\"".utf8) + [UInt8](repeating: 0xFF, count: DeadLetterOutput.maxRawBytes * 2)
        invalid.append(0x0A)
        let path = try dir.write("bad.ndjson", Array(accents.utf8) + invalid)
        let (_, entries) = try replayWithDeadLetters(path)
        #expect(entries.count == 2)
        let first = try #require(entries.first)
        #expect(first["raw_truncated"] as? Bool == true && first["raw_base64"] == nil, "a valid record stays valid once cut")
        #expect(((first["raw"] as? String)?.utf8.count ?? 0) > DeadLetterOutput.maxRawBytes - 4)
        let second = try #require(entries.last)
        let base64 = try #require(second["raw_base64"] as? String)
        let exact = try #require(Data(base64Encoded: base64))
        #expect(Array(exact) == Array(invalid[0..<DeadLetterOutput.maxRawBytes]))
        #expect(second["raw_length"] as? Int == invalid.count - 1)
    }

    @Test func aSmallBadRecordIsKeptWhole() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("one.ndjson", "{\"broken\": \n")
        let (_, entries) = try replayWithDeadLetters(path)
        #expect(entries.count == 1)
        #expect(entries[0]["raw"] as? String == "{\"broken\": ")
        #expect(entries[0]["raw_truncated"] as? Bool == false)
        #expect(entries[0]["raw_length"] as? Int == 11)
    }

    @Test func anUnterminatedStringInPrettyPrintedRecordsIsOneDeadLetter() throws {
        // jq-style records; the middle one lost the closing quote of its eventName.
        let dir = try TemporaryDirectory()
        let records = (0..<3).map { n -> String in
            let json = try! JSONSerialization.jsonObject(with: Data(SampleRecords.cloudTrail(n).utf8))
            return String(decoding: try! JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self)
        }
        let damaged = records[1].replacingOccurrences(of: "\"CreateTrainingJob\"", with: "\"CreateTrainingJob")
        #expect(damaged != records[1])
        let path = try dir.write("pretty.json", [records[0], damaged, records[2]].joined(separator: "\n") + "\n")
        let (stats, entries) = try replayWithDeadLetters(path)
        #expect(stats.events == 2 && stats.badRecords == 1)
        #expect(entries.count == 1)
        #expect(entries.first?["reason"] as? String == "not well-formed JSON")
        #expect(entries.first?["stage"] as? String == "framing")
        #expect(entries.first?["raw"] as? String == damaged)
    }

    @Test func deadLettersToNullOrAPipeNeedNoFsync() throws {
        // fsync fails with EINVAL on character devices and pipes: there is nothing to make durable there.
        let null = DeadLetterOutput(file: try OutputFile(path: "/dev/null"))
        try writeOne(null)
        try null.flush()

        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let piped = DeadLetterOutput(file: try OutputFile(path: "/dev/fd/\(ends[1])"))
        close(ends[1])
        try writeOne(piped)
        try piped.flush()
        var received = [UInt8](repeating: 0, count: 4096)
        let n = read(ends[0], &received, received.count)
        #expect(n > 0 && String(decoding: received[0..<n], as: UTF8.self).contains("\"reason\":\"bad\""))
    }

    func writeOne(_ output: DeadLetterOutput) throws {
        try Array("{}".utf8).withUnsafeBufferPointer {
            try output.write(reason: "bad", stage: "parse", input: "x", line: 1, offset: 0, raw: $0)
        }
    }

    @Test func theCommandLineTakesDevNullAsItsDeadLetterFile() throws {
        let clean = try PipewatchProcess.run(["normalize", "samples/kubernetes", "--dead-letter", "/dev/null"])
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(!clean.stderr.contains("fsync"))
        let broken = try PipewatchProcess.run(["normalize", "samples/broken", "--dead-letter", "/dev/null"])
        #expect(broken.status == 2, "\(broken.stderr)")
        #expect(broken.stderr.contains("bad records: 12"))
    }
}
