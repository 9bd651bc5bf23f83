import Foundation
import PipewatchEvents
import PipewatchPipeline
import Testing

@Suite struct InputSourcesTests {
    @Test func theFirstDecodableRecordOfEachFileTellsItsSourceWhateverTheCompression() throws {
        let dir = try TemporaryDirectory()
        _ = try dir.write("in/a-trail.json.gz", Compressor.gzip(Array((SampleRecords.cloudTrail(1) + "\n").utf8)))
        _ = try dir.write("in/b-audit.zst", Compressor.zstd(Array((SampleRecords.kubernetes + "\n").utf8)))
        let vertex = try Data(contentsOf: repositoryRoot.appendingPathComponent("samples/gcp/vertex-audit.ndjson.zst"))
        _ = try dir.write("in/c-vertex.ndjson.zst", Array(vertex))
        // A broken line first: the MLflow delivery after it is the first decodable record.
        let delivery = try String(contentsOf: repositoryRoot.appendingPathComponent("samples/mlflow/deliveries.ndjson"), encoding: .utf8)
            .split(separator: "\n")[0]
        _ = try dir.write("in/d-deliveries.ndjson", "not json\n\(delivery)\n")
        let sources = InputSources.sniff([dir.path("in")])
        #expect(sources == Set(EventSource.allCases))
    }

    @Test func brokenUnknownAndUnreadableFilesAddNothing() throws {
        let dir = try TemporaryDirectory()
        _ = try dir.write("in/broken.ndjson", "not json\n{\"unterminated\n")
        _ = try dir.write("in/unknown.json", "{\"hello\":\"world\",\"level\":3}\n")
        _ = try dir.write("in/corrupt.gz", [0x1F, 0x8B] + Array(repeating: 0x5A, count: 64))
        _ = try dir.write("in/empty.log", "")
        _ = try dir.write("in/z-audit.ndjson", SampleRecords.kubernetes + "\n")
        #expect(InputSources.sniff([dir.path("in"), dir.path("absent.json"), "-"]) == [.kubernetesAudit])
        #expect(InputSources.sniff([dir.path("in/broken.ndjson"), dir.path("in/corrupt.gz")]).isEmpty)
    }

    @Test(.timeLimit(.minutes(1)))
    func aNamedPipeIsNotReadSinceItsRecordsWouldBeLostToTheReplay() throws {
        let dir = try TemporaryDirectory()
        let pipe = dir.path("pipe")
        #expect(mkfifo(pipe, 0o600) == 0)
        let audit = try dir.write("audit.ndjson", SampleRecords.kubernetes + "\n")
        // Opening the pipe to read would wait for a writer forever.
        #expect(InputSources.sniff([pipe, audit]) == [.kubernetesAudit])
    }
}

/// Two sources filed apart, as archives are: CloudTrail's file spans five days and is read first; the Kubernetes
/// file, read after it, is of the second day and holds a burst of forbidden requests. CloudTrail needs no rule of
/// its own to move its watermark: every event does.
@Suite struct ExpectedSourcesReplayTests {
    static let rules = """
        title: Forbidden
        id: forbidden
        name: forbidden
        logsource: {product: kubernetes, service: audit}
        detection:
            selection:
                responseStatus.code: 403
            condition: selection
        ---
        title: Forbidden burst
        id: forbidden-burst
        correlation:
            type: event_count
            rules: [forbidden]
            group-by: [user.username]
            timespan: 10m
            condition: {gte: 5}
        """

    /// A CloudTrail call on day `day` of November at 10:`n`.
    static func call(day: Int, _ n: Int) -> String {
        SampleRecords.cloudTrail(n)
            .replacingOccurrences(of: #""eventTime":"2026-11-03T"#, with: #""eventTime":"2026-11-0\#(day)T"#)
            .replacingOccurrences(of: #""eventID":"evt-\#(n)""#, with: #""eventID":"evt-\#(day)-\#(n)""#)
    }

    /// A forbidden Kubernetes request on 2026-11-02 at 10:0`n`.
    static func forbiddenRequest(_ n: Int) -> String {
        SampleRecords.kubernetes
            .replacingOccurrences(of: "2026-11-03T10:00:00", with: "2026-11-02T10:0\(n):00")
            .replacingOccurrences(of: #""code":200"#, with: #""code":403"#)
            .replacingOccurrences(of: #""auditID":"0f0e""#, with: #""auditID":"forbidden-\#(n)""#)
    }

    /// Replays the two files (written in `dir`) with the rules above.
    func replay(_ extra: [String], in dir: TemporaryDirectory? = nil) throws -> PipewatchProcess.Result {
        let dir = try dir ?? TemporaryDirectory()
        let rules = try dir.write("rules.yml", Self.rules)
        let trail = (1...5).flatMap { day in (0..<5).map { Self.call(day: day, $0) } }
        _ = try dir.write("in/a-trail.ndjson", trail.joined(separator: "\n") + "\n")
        _ = try dir.write("in/b-audit.ndjson", (0..<5).map(Self.forbiddenRequest).joined(separator: "\n") + "\n")
        return try PipewatchProcess.run(["replay", dir.path("in"), "--rules", rules, "--no-progress"] + extra)
    }

    @Test func aSourceReadAfterAnotherHasMovedDaysAheadIsNotLateWhenItsFilesAreSniffed() throws {
        let result = try replay([])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("sources: aws.cloudtrail, k8s.audit held back until their first event (found in the inputs"))
        #expect(result.stderr.contains("late records: 0,"))
        let bursts = result.stdout.split(separator: "\n").filter { $0.contains("Forbidden burst") }
        #expect(bursts.count == 1, "the Kubernetes burst is judged: \(result.stderr)")
        #expect(result.stderr.contains("alerts: 1\n"), "\(result.stderr)")
    }

    @Test func aResumedReplayDeclaresTheSourcesAgain() throws {
        let whole = try replay([])
        #expect(whole.stdout.contains("Forbidden burst"))
        let dir = try TemporaryDirectory()
        // Stopped in CloudTrail's file, before any Kubernetes record: the state has never seen that source.
        let first = try replay(["--state", dir.path("state"), "--max-records", "12"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("stopped after 12 records"))
        let second = try replay(["--state", dir.path("state"), "--final"], in: dir)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("state: resumed from"))
        #expect(second.stderr.contains("late records: 0,"))
        #expect(alertLines(first.stdout + second.stdout) == alertLines(whole.stdout))
    }

    func alertLines(_ stdout: String) -> [String] { stdout.split(separator: "\n").map(String.init).sorted() }

    @Test(arguments: [["--sources", "aws.cloudtrail"], ["--sources", "none"]])
    func withoutTheSecondSourceDeclaredItsRecordsAreLate(arguments: [String]) throws {
        let result = try replay(arguments)
        #expect(result.status == 2, "late records make the run incomplete")
        #expect(result.stderr.contains("late records: 5,"), "\(result.stderr)")
        #expect(result.stderr.contains("already released"))
        #expect(!result.stdout.contains("Forbidden burst"))
    }

    @Test func anUnknownSourceNameIsRefusedBeforeAnyWork() throws {
        let result = try PipewatchProcess.run(["replay", "samples/", "--rules", "rules/", "--sources", "aws.cloudtrail,splunk"])
        #expect(result.status != 0 && result.status != 2)
        #expect(result.stderr.contains("unknown source 'splunk'"), "\(result.stderr)")
        #expect(!result.stderr.contains("rules:"))
    }
}
