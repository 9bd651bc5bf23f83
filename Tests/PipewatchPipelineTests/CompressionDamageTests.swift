import Foundation
import PipewatchInputs
import PipewatchOutput
import PipewatchPipeline
import Testing

/// Replays `path` with a dead-letter file; returns the statistics and the dead letters as objects.
func replayWithDeadLetters(_ path: String, maxRecordBytes: Int = 16 << 20) throws -> (stats: RunStatistics, deadLetters: [[String: Any]]) {
    let dir = try TemporaryDirectory()
    let deadLetterPath = dir.path("dead.ndjson")
    let replay = FileReplay(
        deadLetter: DeadLetterOutput(file: try OutputFile(path: deadLetterPath)), showProgress: false, maxRecordBytes: maxRecordBytes)
    let stats = try replay.run([path]) { _, _ in }
    let entries = try dir.read("dead.ndjson").split(separator: "\n").map {
        try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    return (stats, entries)
}

/// Damaged gzip and zstd inputs: every record decompressed before the damage is processed, as `gzip -dc` and
/// `zstd -dc` recover them; the damage is one input error at its offsets; only a record it really cuts is
/// dead-lettered (as truncated).
@Suite struct CompressionDamageTests {
    /// More than one 4 MiB read buffer of records, so the damage falls in a later buffer than the first.
    static let text = (0..<12_000).map { SampleRecords.cloudTrail($0) }.joined(separator: "\n") + "\n"
    static let bytes = Array(text.utf8)

    static func compress(_ kind: String, _ bytes: [UInt8]) -> [UInt8] {
        kind == "gzip" ? Compressor.gzip(bytes) : Compressor.zstd(bytes)
    }

    @Test func gzipWithTrailingGarbageKeepsEveryRecordAndReportsTheGarbageOnce() throws {
        let dir = try TemporaryDirectory()
        let member = Compressor.gzip(Self.bytes)
        let path = try dir.write("garbage.gz", member + Array("this is not gzip\n".utf8))
        #expect(try ExternalTool.decompress("gzip", path).output == Self.bytes, "gzip -dc recovers every byte")

        let (stats, deadLetters) = try replayWithDeadLetters(path)
        #expect(stats.events == 12_000)
        #expect(stats.badRecords == 0)
        #expect(stats.bytes == Int64(Self.bytes.count))
        let error = try #require(stats.inputErrors.first)
        #expect(stats.inputErrors.count == 1)
        #expect(error.message.contains("trailing garbage"), "\(error)")
        #expect(error.storedOffset == Int64(member.count), "the garbage starts where the member ends")
        #expect(error.offset == Int64(Self.bytes.count))
        #expect(deadLetters.count == 1)
        #expect(deadLetters[0]["stage"] as? String == "input")
        #expect(deadLetters[0]["offset"] as? Int == Self.bytes.count)
        #expect(deadLetters[0]["stored_offset"] as? Int == member.count)
    }

    @Test func gzipZeroPaddingAfterTheLastMemberIsIgnoredAsGzipDoes() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("padded.gz", Compressor.gzip(Self.bytes) + [UInt8](repeating: 0, count: 4096))
        let gzip = try ExternalTool.decompress("gzip", path)
        #expect(gzip.status == 0 && gzip.output == Self.bytes)
        let result = readAll([path])
        #expect(result.operations.count == 12_000)
        #expect(result.failures.isEmpty)
        #expect(result.summaries[0].error == nil)
    }

    @Test func multiMemberGzipIsReadWholeAsGzipDoes() throws {
        // Members of every size, an empty one among them, boundaries anywhere in the read buffers.
        let dir = try TemporaryDirectory()
        var members: [UInt8] = []
        var start = 0
        var sizes = [0, 1, 700, 65_537, 300_000, 1 << 20, 3_000_000]
        while start < Self.bytes.count {
            let size = sizes.isEmpty ? Self.bytes.count - start : min(sizes.removeFirst(), Self.bytes.count - start)
            members += Compressor.gzip(Array(Self.bytes[start..<(start + size)]))
            start += size
        }
        let path = try dir.write("members.gz", members)
        let gzip = try ExternalTool.decompress("gzip", path)
        #expect(gzip.status == 0 && gzip.output == Self.bytes)
        let result = readAll([path], bufferSize: 256 << 10)
        #expect(result.operations.count == 12_000)
        #expect(result.failures.isEmpty)
        #expect(result.summaries[0].error == nil)
        #expect(result.summaries[0].bytes == Int64(Self.bytes.count))
    }

    @Test(arguments: ["gzip", "zstd"])
    func truncatedAtNinetyPercentKeepsWhatTheToolRecovers(kind: String) throws {
        let dir = try TemporaryDirectory()
        let compressed = Self.compress(kind, Self.bytes)
        let cut = Array(compressed[0..<(compressed.count * 9 / 10)])
        let path = try dir.write("cut.\(kind)", cut)
        let recovered = try ExternalTool.decompress(kind, path).output
        #expect(recovered.count > Self.bytes.count / 2 && recovered.count < Self.bytes.count)
        #expect(Array(Self.bytes[0..<recovered.count]) == recovered)
        let completeLines = recovered.filter { $0 == 0x0A }.count
        let partialStart = (recovered.lastIndex(of: 0x0A) ?? -1) + 1

        let (stats, deadLetters) = try replayWithDeadLetters(path)
        #expect(stats.bytes == Int64(recovered.count), "decompressed as far as \(kind) -dc does")
        #expect(stats.events == completeLines)
        let error = try #require(stats.inputErrors.first)
        #expect(error.message.contains("truncated"), "\(error)")
        #expect(error.offset == Int64(recovered.count))
        #expect(error.storedOffset == Int64(cut.count))
        let records = deadLetters.filter { $0["stage"] as? String != "input" }
        if partialStart < recovered.count {
            // The record the damage cut, with its position; nothing valid.
            #expect(records.count == 1)
            #expect(stats.badRecords == 1)
            #expect(records.first?["stage"] as? String == "framing")
            #expect((records.first?["reason"] as? String)?.contains("truncated") == true)
            #expect(records.first?["line"] as? Int == completeLines + 1)
            #expect(records.first?["offset"] as? Int == partialStart)
        } else {
            #expect(records.isEmpty)
        }
        #expect(deadLetters.filter { $0["stage"] as? String == "input" }.count == 1)
    }

    @Test func aCompleteRecordBeforeTheDamageIsNotCalledTruncated() throws {
        // The damage falls right after a record's last byte, before its newline: the record is whole.
        let dir = try TemporaryDirectory()
        let cutAt = Self.bytes.count - 1  // everything but the final newline
        let member = Compressor.gzip(Array(Self.bytes[0..<cutAt]))
        // A member whose trailer is missing: gzip decompresses all of its data, then reports the end of file.
        let path = try dir.write("no-trailer.gz", Array(member[0..<(member.count - 8)]))
        let recovered = try ExternalTool.decompress("gzip", path).output
        #expect(recovered.count == cutAt)
        let result = readAll([path])
        #expect(result.operations.count == 12_000)
        #expect(result.failures.isEmpty)
        #expect(result.summaries[0].error?.message.contains("truncated") == true)
    }

    @Test func aFileCutInsideItsMagicNumberIsATruncatedStream() throws {
        let dir = try TemporaryDirectory()
        let gzip = try dir.write("one.gz", [0x1F])
        let zstd = try dir.write("three.zst", [0x28, 0xB5, 0x2F])
        let result = readAll([gzip, zstd])
        #expect(result.operations.isEmpty && result.failures.isEmpty)
        #expect(result.summaries[0].error?.message == "gzip stream is truncated (ended inside its header)")
        #expect(result.summaries[1].error?.message == "zstd stream is truncated (ended inside its header)")
        #expect(result.summaries[1].error?.storedOffset == 3)
    }

    @Test func zstdWithTrailingGarbageKeepsEveryRecord() throws {
        let dir = try TemporaryDirectory()
        let frame = Compressor.zstd(Self.bytes)
        let path = try dir.write("garbage.zst", frame + Array("not zstd at all".utf8))
        #expect(try ExternalTool.decompress("zstd", path).output == Self.bytes)
        let (stats, deadLetters) = try replayWithDeadLetters(path)
        #expect(stats.events == 12_000)
        #expect(stats.badRecords == 0)
        let error = try #require(stats.inputErrors.first)
        #expect(stats.inputErrors.count == 1)
        #expect(error.message.contains("after the last complete zstd frame"), "\(error)")
        #expect(error.storedOffset == Int64(frame.count))
        #expect(error.offset == Int64(Self.bytes.count))
        #expect(deadLetters.count == 1)
    }

    @Test(arguments: ["gzip", "zstd"])
    func corruptDataInTheMiddleKeepsTheRecordsBeforeIt(kind: String) throws {
        let dir = try TemporaryDirectory()
        var compressed = Self.compress(kind, Self.bytes)
        let at = compressed.count * 3 / 4
        for k in at..<(at + 64) { compressed[k] ^= 0xA5 }
        let path = try dir.write("corrupt.\(kind)", compressed)
        let result = readAll([path])
        let error = try #require(result.summaries[0].error)
        #expect(error.message.contains(kind == "gzip" ? "gzip" : "zstd"), "\(error)")
        // The records decompressed before the damage, about three quarters of them (more than the first read
        // buffer's worth), are all there.
        #expect(result.operations.count > 8_000)
        let stored = try #require(error.storedOffset)
        #expect(stored > Int64(at - (256 << 10)) && stored < Int64(at + (256 << 10)), "\(error)")
        #expect((error.offset ?? 0) > 0)
    }
}
