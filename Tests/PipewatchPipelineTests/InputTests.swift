import Foundation
import PipewatchEvents
import PipewatchInputs
import PipewatchJSON
import PipewatchPipeline
import Testing

/// Reads `paths` through the reader and decoder; returns the events' operations, the failures and the summaries.
func readAll(_ paths: [String], bufferSize: Int = 4 << 20, maxRecordBytes: Int = 16 << 20) -> (operations: [String], failures: [String], summaries: [InputSummary], bufferGrew: Bool) {
    let reader = RecordReader(bufferSize: bufferSize, maxRecordBytes: maxRecordBytes)
    let decoder = EventDecoder()
    var operations: [String] = []
    var failures: [String] = []
    var summaries: [InputSummary] = []
    var grew = false
    for path in paths {
        summaries.append(reader.read(path) { chunk in
            decoder.decode(chunk)
            decoder.forEachView { _, view in operations.append(view.string(.apiOperation) ?? "?") }
            failures += decoder.failures.map { "\($0.stage.rawValue): \($0.reason)" }
        })
        grew = grew || reader.capacity > bufferSize
    }
    return (operations, failures, summaries, grew)
}

@Suite struct InputTests {
    let lines = (0..<50).map { SampleRecords.cloudTrail($0) }.joined(separator: "\n") + "\n"

    @Test func compressionIsDetectedFromContentNotName() throws {
        let dir = try TemporaryDirectory()
        let plain = try dir.write("plain.gz", lines)  // misleading name, plain content
        let gzip = try dir.write("gzip.json", Compressor.gzip(Array(lines.utf8)))
        let zstd = try dir.write("zstd.ndjson", Compressor.zstd(Array(lines.utf8)))
        let result = readAll([plain, gzip, zstd])
        #expect(result.summaries.map(\.compression) == [Compression.none, .gzip, .zstd])
        #expect(result.operations.count == 150)
        #expect(result.failures.isEmpty)
        #expect(result.summaries.allSatisfy { $0.error == nil && $0.bytes == Int64(lines.utf8.count) })
    }

    @Test func concatenatedGzipMembersAndZstdFramesAreAllRead() throws {
        let dir = try TemporaryDirectory()
        let half = Array(lines.utf8)
        let gzip = try dir.write("two.gz", Compressor.gzip(half) + Compressor.gzip(half))
        let zstd = try dir.write("two.zst", Compressor.zstd(half) + Compressor.zstd(half))
        let result = readAll([gzip, zstd])
        #expect(result.operations.count == 200)
        #expect(result.summaries.allSatisfy { $0.error == nil })
    }

    @Test(arguments: ["gzip", "zstd"])
    func truncatedStreamsReportClearlyAndKeepWhatCameBefore(kind: String) throws {
        let dir = try TemporaryDirectory()
        let big = (0..<2000).map { SampleRecords.cloudTrail($0) }.joined(separator: "\n") + "\n"
        let compressed = kind == "gzip" ? Compressor.gzip(Array(big.utf8)) : Compressor.zstd(Array(big.utf8))
        let truncated = try dir.write("cut.\(kind)", Array(compressed[0..<(compressed.count * 2 / 3)]))
        let after = try dir.write("after.ndjson", SampleRecords.kubernetes + "\n")
        let result = readAll([truncated, after], bufferSize: 64 << 10)
        let error = try #require(result.summaries[0].error)
        #expect(error.message.contains("truncated"), "\(error)")
        // Most records before the cut were read; the next input is still processed.
        #expect(result.operations.filter { $0 == "CreateTrainingJob" }.count > 600)
        #expect(result.operations.last == "list:secrets")
        #expect(result.summaries[1].error == nil)
    }

    @Test func corruptGzipIsAnErrorNotACrash() throws {
        let dir = try TemporaryDirectory()
        var bytes = Compressor.gzip(Array(lines.utf8))
        for k in 20..<40 { bytes[k] ^= 0x5A }
        let result = readAll([try dir.write("bad.gz", bytes)])
        #expect(result.summaries[0].error?.message.contains("gzip") == true)
    }

    @Test func unreadableInputIsReportedAndOthersContinue() throws {
        let dir = try TemporaryDirectory()
        let good = try dir.write("good.ndjson", SampleRecords.kubernetes + "\n")
        let result = readAll([dir.path("missing.ndjson"), good])
        #expect(result.summaries[0].error?.message.contains("cannot open") == true)
        #expect(result.operations == ["list:secrets"])
    }

    @Test func directoriesAreWalkedRecursivelyInOrder() throws {
        let dir = try TemporaryDirectory()
        try dir.write("b/2.ndjson", "x")
        try dir.write("a/z.json.gz", "x")
        try dir.write("a/sub/1.jsonl", "x")
        try dir.write("c.log", "x")
        try dir.write("README.md", "x")
        try dir.write(".hidden.json", "x")
        try dir.write(".git/objects.json", "x")
        let (files, errors) = InputPaths.expand([dir.url.path, dir.path("nope")])
        let relative = files.map { String($0.dropFirst(dir.url.path.count + 1)) }
        #expect(relative == ["a/sub/1.jsonl", "a/z.json.gz", "b/2.ndjson", "c.log"])
        #expect(errors.count == 1 && errors[0].input.hasSuffix("nope"))
    }

    @Test func memoryStaysBoundedForLargeInputs() throws {
        // A single-line CloudTrail delivery file of ~15 MB read through a 256 KB buffer: the buffer never grows.
        let dir = try TemporaryDirectory()
        let records = (0..<30_000).map { SampleRecords.cloudTrail($0) }
        let file = try dir.write("big.json", "{\"Records\":[" + records.joined(separator: ",") + "]}")
        let result = readAll([file], bufferSize: 256 << 10)
        #expect(result.operations.count == 30_000)
        #expect(result.failures.isEmpty)
        #expect(!result.bufferGrew)
        #expect(result.summaries[0].framing == .cloudTrailRecords)
    }

    @Test func aRecordLargerThanTheBufferGrowsItOnlyToFit() throws {
        let dir = try TemporaryDirectory()
        let padding = String(repeating: "p", count: 100_000)
        let big = SampleRecords.cloudTrail(1).replacingOccurrences(of: "\"Boto3/1.34.0\"", with: "\"\(padding)\"")
        let file = try dir.write("one.ndjson", SampleRecords.cloudTrail(0) + "\n" + big + "\n" + SampleRecords.cloudTrail(2) + "\n")
        let result = readAll([file], bufferSize: 16 << 10)
        #expect(result.operations.count == 3)
        #expect(result.bufferGrew)
        // Past the limit, the record is dead-lettered instead.
        let limited = readAll([file], bufferSize: 16 << 10, maxRecordBytes: 50_000)
        #expect(limited.operations.count == 2)
        #expect(limited.failures.count == 1 && limited.failures[0].contains("longer than 50000 bytes"))
    }
}
