import CZstd
import Foundation
import PipewatchInputs
import Testing

/// Memory stays bounded by the read buffer, the record limit and (for zstd) the frame's window, whatever the input:
/// measured as the peak resident memory of a `pipewatch` child process.
@Suite(.serialized) struct MemoryBoundTests {
    /// Runs `pipewatch` with `arguments` from the repository root; its exit status, peak memory and stderr.
    static func pipewatch(_ arguments: [String], in dir: TemporaryDirectory) throws -> (status: Int32, peak: Int, stderr: String) {
        let name = UUID().uuidString
        let child = try ChildProcess(
            PipewatchExecutable.url.path, arguments, directory: PipewatchExecutable.repositoryRoot.path,
            stdout: dir.path("\(name).out"), stderr: dir.path("\(name).err"))
        let status = child.wait()
        return (status, child.peakMemoryBytes ?? 0, dir.read("\(name).err"))
    }

    /// Writes `head`, then `count` times `filler`, then `tail` to `path` without holding the whole file in memory.
    static func writeLarge(_ path: String, head: String, filler: [UInt8], count: Int, tail: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(head.utf8))
        let block = Data(filler)
        for _ in 0..<count { try handle.write(contentsOf: block) }
        try handle.write(contentsOf: Data(tail.utf8))
    }

    static let records = (0..<3).map { SampleRecords.cloudTrail($0) }.joined(separator: "\n") + "\n"

    @Test func aFirstLineFarLargerThanTheLimitCostsNoMoreMemoryThanTheLimit() throws {
        let dir = try TemporaryDirectory()
        let small = try dir.write("small.ndjson", Self.records)
        let big = dir.path("big.ndjson")
        // A 64 MiB first line, then the same three records.
        try Self.writeLarge(
            big, head: #"{"eventVersion":"1.09","userAgent":""#, filler: [UInt8](repeating: 0x41, count: 1 << 20), count: 64,
            tail: "\"}\n" + Self.records)
        let limit = 1 << 20
        func replay(_ input: String, _ deadLetter: String) throws -> (status: Int32, peak: Int, stderr: String) {
            try Self.pipewatch(
                ["replay", input, "--rules", "rules/", "--max-record-bytes", "\(limit)", "--dead-letter", dir.path(deadLetter),
                 "--no-progress"], in: dir)
        }
        let baseline = try replay(small, "small.dead")
        #expect(baseline.status == 0, "\(baseline.stderr)")
        let result = try replay(big, "big.dead")
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("records: 4, bad records: 1"), "\(result.stderr)")
        // A child's peak as wait4 reports it includes this process's resident memory when it spawned the child
        // (posix_spawn shares the parent's memory until exec), which other tests running here may grow: the baseline
        // is taken again after the big run, and the larger one counts.
        let baselineAfter = try replay(small, "small-after.dead")
        // The reader's 4 MiB buffer (never grown: the limit is smaller) and at most one record's worth beyond it.
        let extra = result.peak - max(baseline.peak, baselineAfter.peak)
        #expect(extra < (4 << 20) + limit + (8 << 20), "peak \(result.peak >> 20) MiB, \(extra >> 20) MiB above the baseline")

        let entry = try #require(try JSONSerialization.jsonObject(with: Data(dir.read("big.dead").utf8)) as? [String: Any])
        #expect(entry["stage"] as? String == "framing")
        #expect((entry["reason"] as? String)?.contains("longer than \(limit) bytes") == true)
        #expect(entry["line"] as? Int == 1 && entry["offset"] as? Int == 0)
        #expect(entry["raw_truncated"] as? Bool == true)
        #expect(entry["raw_length"] as? Int == limit, "what was read of it: the record limit")
        #expect(((entry["raw"] as? String)?.hasPrefix(#"{"eventVersion":"1.09","userAgent":"AAAA"#)) == true)
    }

    @Test func theRecordLimitMustBeWithinItsRange() throws {
        for limit in ["0", "-1", "1023", "\((1 << 30) + 1)", "\(Int.max)"] {
            let result = try PipewatchProcess.run(["normalize", "samples/kubernetes", "--max-record-bytes=\(limit)"])
            #expect(result.status == 64, "\(limit): \(result.stderr)")
            #expect(result.stderr.contains("--max-record-bytes must be between 1024 and 1073741824"), "\(result.stderr)")
        }
        for limit in ["1024", "\(1 << 30)"] {
            let result = try PipewatchProcess.run(["normalize", "samples/kubernetes", "--max-record-bytes=\(limit)"])
            #expect(result.status != 64 && !result.stderr.contains("--max-record-bytes must"), "\(limit): \(result.stderr)")
        }
    }

    @Test(arguments: ["gzip", "zstd"])
    func aReadBufferOfAnySizeIsTakenByTheDecompressors(kind: String) throws {
        // zlib counts in 32 bits: a buffer of more than 4 GiB must be filled in parts, not trap.
        let dir = try TemporaryDirectory()
        let text = Array(Self.records.utf8)
        let path = try dir.write("in.\(kind)", kind == "gzip" ? Compressor.gzip(text) : Compressor.zstd(text))
        let (source, compression) = try Compression.open(path)
        #expect(compression.rawValue == kind)
        let size = (5 << 30) + 3
        // Reserved, not committed: only the pages written count.
        let memory = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0))
        #expect(memory != MAP_FAILED)
        defer { munmap(memory, size) }
        var total = 0
        while true {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(start: memory + total, count: size - total))
            if n == 0 { break }
            total += n
        }
        #expect(total == text.count)
        #expect(Array(UnsafeRawBufferPointer(start: memory, count: total)) == text)
    }

    /// A zstd frame of `chunk` repeated `times`, compressed with a window of 2^`windowLog` bytes and no content size
    /// in its header (as a stream is), so the header asks for the whole window.
    static func zstdFrame(_ chunk: [UInt8], times: Int, windowLog: Int32) -> [UInt8] {
        let context = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, 1)
        ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, windowLog)
        var frame: [UInt8] = []
        var out = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        func step(_ input: [UInt8], _ mode: ZSTD_EndDirective) {
            input.withUnsafeBytes { source in
                var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
                while true {
                    let remaining = out.withUnsafeMutableBytes { destination -> Int in
                        var outBuffer = ZSTD_outBuffer(dst: destination.baseAddress, size: destination.count, pos: 0)
                        let result = ZSTD_compressStream2(context, &outBuffer, &inBuffer, mode)
                        precondition(ZSTD_isError(result) == 0)
                        frame += destination[0..<outBuffer.pos]
                        return result
                    }
                    if mode == ZSTD_e_end ? remaining == 0 : inBuffer.pos == inBuffer.size { break }
                }
            }
        }
        for _ in 0..<times { step(chunk, ZSTD_e_continue) }
        step([], ZSTD_e_end)
        return frame
    }

    @Test func aZstdWindowLargerThanTheLimitIsRefusedClearly() throws {
        let dir = try TemporaryDirectory()
        let frame = Self.zstdFrame(Array(Self.records.utf8), times: 1, windowLog: ZstdSource.maxWindowLog + 1)
        let path = try dir.write("wide.zst", frame)
        let result = readAll([path])
        let error = try #require(result.summaries[0].error)
        #expect(error.message.contains("window"), "\(error)")
        #expect(error.message.contains("\(1 << (ZstdSource.maxWindowLog - 20)) MiB"), "\(error)")
        #expect(result.operations.isEmpty)
    }

    @Test func aZstdFrameAtTheWindowLimitIsReadAndCostsAtMostItsWindow() throws {
        // 136 MiB of blank lines (nothing to parse) in one frame with the largest window accepted: the decoder's
        // window fills up, and that is all the memory it adds.
        let dir = try TemporaryDirectory()
        let blank = [UInt8](repeating: 0x20, count: 1023) + [0x0A]
        let chunk = Array([[UInt8]](repeating: blank, count: 1024).joined())
        let frame = Self.zstdFrame(chunk, times: 136, windowLog: ZstdSource.maxWindowLog)
        let wide = try dir.write("wide.zst", frame + Compressor.zstd(Array(Self.records.utf8)))
        let small = try dir.write("small.zst", Compressor.zstd(Array(Self.records.utf8)))
        let baseline = try Self.pipewatch(["normalize", small, "--no-progress"], in: dir)
        let result = try Self.pipewatch(["normalize", wide, "--no-progress"], in: dir)
        #expect(baseline.status == 0 && result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("records: 3,"), "\(result.stderr)")
        let window = 1 << Int(ZstdSource.maxWindowLog)
        let extra = result.peak - baseline.peak
        #expect(extra < window + (4 << 20) + (8 << 20), "\(extra >> 20) MiB above the baseline")
    }
}
