import Foundation
@testable import PipewatchPipeline
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ProgressLineTests {
    /// A line on a clock the test moves.
    final class Harness {
        var now: UInt64 = 1_000_000_000
        var columns = 200
        var written: [String] = []
        lazy var line = ProgressLine(clock: { self.now }, width: { self.columns }, emit: { self.written.append($0) })
    }

    @Test func percentRateAndETAOfTheStoredTotal() {
        let h = Harness()
        h.line.showsAlerts = true
        h.line.begin(totalBytes: 400_000_000)
        h.now += 2_000_000_000
        h.line.countRecords(12_345)
        h.line.countAlerts(3)
        h.line.update(file: "archive/2026-11-05.json.gz", storedBytes: 100_000_000)
        // 100 of 400 MB in 2 s: 50 MB/s, 300 MB to go: 6 s.
        #expect(h.written == ["\r 25.0%  100.0 of 400.0 MB  50.0 MB/s  ETA 0:06  12,345 records  3 alerts  archive/2026-11-05.json.gz\u{1B}[K"])
        h.line.finish()
        #expect(h.written.last == "\r\u{1B}[K")
    }

    @Test func redrawsAtMostFourTimesASecond() {
        let h = Harness()
        h.line.begin(totalBytes: 1_000)
        for step in 1...100 {
            h.now += 10_000_000  // 10 ms
            h.line.update(file: "f", storedBytes: Int64(step * 10))
        }
        // One second of updates every 10 ms: drawn at 10 ms, then every 250 ms.
        #expect(h.written.count == 4)
    }

    @Test func aNarrowTerminalLosesTheStartOfTheFileNameAndNeverWraps() {
        let h = Harness()
        h.columns = 80
        h.line.begin(totalBytes: 1_000_000)
        h.now += 1_000_000_000
        h.line.update(file: "/very/long/path/to/an/archive/of/cloudtrail/2026-11-05.json.gz", storedBytes: 500_000)
        let text = h.written[0].dropFirst().replacingOccurrences(of: "\u{1B}[K", with: "")
        #expect(text.count == 79)
        #expect(text.hasSuffix("2026-11-05.json.gz"))
        #expect(text.contains("…"))
        #expect(!text.contains("alerts"), "normalize has no alerts to count")
    }

    @Test func anUnknownTotalShowsBytesAndRateOnly() {
        let h = Harness()
        h.line.begin(totalBytes: nil)
        h.now += 1_000_000_000
        h.line.update(file: "-", storedBytes: 3_000_000)
        #expect(h.written[0].hasPrefix("\r3.0 MB read  3.0 MB/s  0 records"))
        #expect(!h.written[0].contains("ETA"))
        #expect(ProgressLine.totalBytes(["-"]) == nil)
    }

    @Test func durations() {
        #expect(ProgressLine.duration(0) == "0:00")
        #expect(ProgressLine.duration(59.2) == "1:00")
        #expect(ProgressLine.duration(3_725) == "1:02:05")
    }
}

/// `pipewatch replay` under a pseudo-terminal: the progress line is drawn on stderr when stderr is a terminal, and
/// never when it is a file.
@Suite struct ProgressOnTerminalTests {
    /// A rule that alerts on one record in 500 of the generated input.
    static let rule = """
        title: Progress Test Marker
        id: 6b1f0c2e-55a4-4a4e-9b43-2f0c7b1e9a10
        logsource: {product: aws, service: cloudtrail}
        detection:
            selection:
                eventName: ProgressMarker
            condition: selection
        level: low
        """

    /// About `megabytes` of CloudTrail NDJSON, one record in 500 a marker; the gzip half is stored smaller.
    static func makeInputs(in dir: TemporaryDirectory, megabytes: Int) throws -> (files: [String], records: Int, markers: Int) {
        let template = #"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/SageMaker","accountId":"111122223333"},"eventTime":"2026-11-03T10:%MM%:%SS%Z","eventSource":"sagemaker.amazonaws.com","eventName":"%NAME%","awsRegion":"us-east-1","sourceIPAddress":"sagemaker.amazonaws.com","userAgent":"sagemaker.amazonaws.com","requestParameters":{"trainingJobName":"fraud-detection-xgb-%N%","padding":"%PAD%"},"responseElements":null,"requestID":"req-%N%","eventID":"evt-%N%","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#
        let pad = String(repeating: "p", count: 700)
        var plain: [UInt8] = [], compressed: [UInt8] = []
        var n = 0, markers = 0
        while plain.count + compressed.count < megabytes * 1_000_000 {
            let marker = n % 500 == 499
            if marker { markers += 1 }
            let line = template.replacingOccurrences(of: "%N%", with: String(n))
                .replacingOccurrences(of: "%NAME%", with: marker ? "ProgressMarker" : "DescribeTrainingJob")
                .replacingOccurrences(of: "%MM%", with: String(format: "%02d", n / 60 % 60))
                .replacingOccurrences(of: "%SS%", with: String(format: "%02d", n % 60))
                .replacingOccurrences(of: "%PAD%", with: pad)
            if n % 2 == 0 { plain += Array((line + "\n").utf8) } else { compressed += Array((line + "\n").utf8) }
            n += 1
        }
        let files = [
            try dir.write("inputs/a-plain.ndjson", plain),
            try dir.write("inputs/b-compressed.ndjson.gz", Compressor.gzip(compressed)),
        ]
        return (files, n, markers)
    }

    /// Runs `pipewatch` with stdout to a file and stderr on a new pseudo-terminal `columns` wide; what the
    /// terminal showed, and the exit status.
    static func runOnTerminal(_ arguments: [String], stdout: String, columns: UInt16) throws -> (screen: String, status: Int32) {
        // posix_openpt, unlockpt and ptsname as Linux does them (Swift's Glibc module leaves them out): the
        // multiplexer gives a new master; TIOCSPTLCK unlocks its terminal and TIOCGPTN numbers it.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        #expect(master >= 0)
        defer { close(master) }
        let TIOCSPTLCK: UInt = 0x4004_5431, TIOCGPTN: UInt = 0x8004_5430
        var unlock: Int32 = 0, number: Int32 = 0
        #expect(ioctl(master, TIOCSPTLCK, &unlock) == 0 && ioctl(master, TIOCGPTN, &number) == 0)
        let slavePath = "/dev/pts/\(number)"
        var size = winsize(ws_row: 40, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        #expect(ioctl(master, UInt(TIOCSWINSZ), &size) == 0)
        // Held open until the child is gone: the master reads EIO once no one has the terminal open.
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        let child = try ChildProcess(
            PipewatchExecutable.url.path, arguments, directory: PipewatchExecutable.repositoryRoot.path, stdout: stdout,
            stderr: slavePath)
        var screen: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func drain(wait milliseconds: Int32) -> Bool {
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, milliseconds) > 0 else { return false }
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n > 0 { screen += buffer[..<n] }
            return n > 0
        }
        let deadline = Date().addingTimeInterval(300)
        while child.isRunning && Date() < deadline { _ = drain(wait: 50) }
        let status = child.wait(seconds: 5) ?? child.terminate()
        close(slave)
        while drain(wait: 100) {}
        return (String(decoding: screen, as: UTF8.self), status)
    }

    @Test func replayDrawsPercentAndETAOnATerminalAndNothingInAFile() throws {
        let dir = try TemporaryDirectory()
        let (files, records, markers) = try Self.makeInputs(in: dir, megabytes: 40)
        let rules = try dir.write("rules/marker.yml", Self.rule)
        let stored = files.map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }.reduce(0, +)
        let arguments = ["replay", dir.path("inputs"), "--rules", rules]

        let started = Date()
        let (screen, status) = try Self.runOnTerminal(arguments, stdout: dir.path("alerts.ndjson"), columns: 150)
        let seconds = Date().timeIntervalSince(started)
        #expect(status == 0, "\(screen)")
        #expect(dir.read("alerts.ndjson").split(separator: "\n").count == markers)

        // The frames: each drawn after a carriage return, ending by clearing the rest of the line.
        let frames = screen.components(separatedBy: "\r").filter { $0.contains("ETA") }
            .map { $0.components(separatedBy: "\u{1B}[K")[0] }
        #expect(frames.count >= 2, "redrawn while the replay runs: \(screen.debugDescription)")
        #expect(Double(frames.count) <= seconds * 4 + 1, "\(frames.count) frames in \(seconds) s")
        let pattern = #/^ *([0-9.]+)%  ([0-9.]+) of ([0-9.]+) MB  [0-9.]+ MB/s  ETA ([0-9]+:[0-9]{2})  ([0-9,]+) records  ([0-9,]+) alerts?  (.+)$/#
        var percents: [Double] = []
        for frame in frames {
            let match = try #require(try pattern.wholeMatch(in: frame), "frame: \(frame.debugDescription)")
            percents.append(Double(match.1)!)
            #expect(Double(match.3)! == (Double(stored) / 100_000).rounded() / 10, "the total counts the gzip file as stored")
            #expect(Int(match.5.filter(\.isNumber))! <= records)
            #expect(Int(match.6.filter(\.isNumber))! <= markers)
            #expect(match.7.hasSuffix("a-plain.ndjson") || match.7.hasSuffix("b-compressed.ndjson.gz"))
            #expect(frame.count < 150, "never wider than the terminal")
        }
        #expect(percents == percents.sorted(), "percent only grows: \(percents)")
        #expect(percents.first! < 100 && percents.allSatisfy { $0 <= 100 })
        #expect(frames.contains { $0.contains("b-compressed.ndjson.gz") }, "the current file is the compressed one by the end")
        // The line is cleared before the summary, which is printed as without a terminal.
        let summary = try #require(screen.components(separatedBy: "\r\u{1B}[K").last)
        #expect(summary.contains("records: \(records)"), "\(summary)")
        #expect(summary.contains("alerts: \(markers)"))

        // The same run with stderr in a file: the summary alone.
        let errors = dir.path("stderr.txt")
        let child = try ChildProcess(
            PipewatchExecutable.url.path, arguments, directory: PipewatchExecutable.repositoryRoot.path,
            stdout: dir.path("alerts-2.ndjson"), stderr: errors)
        #expect(child.wait() == 0)
        let logged = dir.read("stderr.txt")
        #expect(logged.contains("records: \(records)"))
        #expect(!logged.contains("\r") && !logged.contains("ETA") && !logged.contains("%") && !logged.contains("\u{1B}"))
    }
}
