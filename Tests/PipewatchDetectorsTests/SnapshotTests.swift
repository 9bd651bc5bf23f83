import Foundation
import PipewatchDetectors
import PipewatchOutput
import PipewatchRules
import Testing

/// A value_count on the denied rule of `deniedBurst`.
let manyAddresses = """
    title: many addresses
    id: addresses
    correlation:
        type: value_count
        rules: [denied]
        group-by: [userIdentity.userName]
        timespan: 1h
        condition: {field: sourceIPAddress, gte: 4}
    """

/// Every kind of operator at once: sliding and complete-window correlations, a chain, the four detectors and a
/// tuned rule with suppression.
let everything = [
    deniedBurst,
    CorrelationConformanceTests.bruteForce,
    """
    title: quiet users
    id: quiet
    correlation:
        type: event_count
        rules: [denied]
        group-by: [userIdentity.userName]
        timespan: 30m
        condition: {lte: 2}
    """,
    manyAddresses,
    VolumeDetectorTests.ewma,
    NewValueDetectorTests.yaml.replacingOccurrences(of: "learning: 7d", with: "learning: 1d"),
    DriftDetectorTests.yaml.replacingOccurrences(of: "bucket: 1d", with: "bucket: 6h").replacingOccurrences(of: "threshold: 0.25", with: "threshold: 0.25\n    min_count: 20"),
    OutsideHoursDetectorTests.yaml.replacingOccurrences(of: "min_events: 30", with: "min_events: 10").replacingOccurrences(of: "learning: 14d", with: "learning: 2d"),
    TuningTests.tunedRule + "\n    suppress: 2h\n",
    """
    title: denied then described
    id: denied-then-described
    correlation:
        type: temporal_ordered
        rules: [denied, described]
        timespan: 2h
    generate: true
    evidence: first
    """,
].joined(separator: "\n---\n")

/// Four days of mixed traffic with planted findings for every operator, sorted by time.
func mixedStream(seed: UInt64) -> [(time: Int64, record: String)] {
    var random = SeededRandom(seed: seed)
    var records: [(Int64, String)] = []
    func add(_ t: Int64, _ record: String) { records.append((t, record)) }
    for h in 0..<96 {
        let start = monday + Int64(h) * hour
        let busy = (8..<18).contains(h % 24)
        for k in 0..<(busy ? 40 : 6) + (h == 70 ? 120 : 0) {
            let t = start + Int64(random.int(0..<3600)) * second
            let event = ["GetObject", "PutObject", "ListObjects"][random.int(0..<3)] + (h >= 80 && k % 2 == 0 ? "Delete" : "")
            add(t, trail(at: t, user: "user\(random.int(0..<5))", event: event, ip: "10.1.\(random.int(0..<3)).\(random.int(1..<50))", id: "m-\(h)-\(k)"))
        }
        if h % 5 == 0 {
            for (k, record) in burst("user\(h % 7)", at: start + 10 * minute, count: 3 + random.int(0..<4)).enumerated() {
                add(start + 10 * minute + Int64(k) * 20 * second, record)
            }
        }
        if busy {
            let t = start + Int64(random.int(0..<3600)) * second
            add(t, trail(at: t, user: "scientist\(h % 2)", event: "CreateTrainingJob", service: "sagemaker.amazonaws.com", id: "tj-\(h)"))
            let d = start + Int64(random.int(0..<3600)) * second
            add(d, trail(at: d, user: "engineer\(random.int(0..<3))", event: "DescribeModelPackage", service: "sagemaker.amazonaws.com", id: "dm-\(h)"))
        }
    }
    let night = monday + 3 * day + 3 * hour
    add(night, trail(at: night, user: "scientist1", event: "CreateTrainingJob", service: "sagemaker.amazonaws.com", id: "tj-night"))
    add(night + hour, trail(at: night + hour, user: "mallory", event: "DescribeModelPackage", service: "sagemaker.amazonaws.com", id: "dm-mallory"))
    for k in 0..<10 { add(monday + 2 * day + Int64(k) * 20 * second, CorrelationConformanceTests.login("alice", 4625, at: monday + 2 * day + Int64(k) * 20 * second).1) }
    add(monday + 2 * day + 5 * minute, CorrelationConformanceTests.login("alice", 4624, at: monday + 2 * day + 5 * minute).1)
    return records.sorted { $0.0 < $1.0 }
}

@Suite struct SnapshotTests {
    func digests(_ alerts: [Alert]) -> [AlertDigest] {
        alerts.map(AlertDigest.init).sorted { ($0.time, $0.uid, $0.rule) < ($1.time, $1.uid, $1.rule) }
    }

    @Test func resumingFromASnapshotGivesTheAlertsOfAnUninterruptedRun() throws {
        let stream = shuffledWithin(mixedStream(seed: 21), span: 4 * minute, seed: 4)
        let whole = StageHarness(everything, lateness: 5 * minute)
        whole.feed(stream, batchSize: 97)
        whole.finish()
        let expected = digests(whole.alerts)
        let kinds = Set(whole.alerts.map { StageHarness.detector($0)["type"] as? String ?? "plain" })
        #expect(kinds.isSuperset(of: ["event_count", "temporal_ordered", "value_count", "volume", "new_value", "drift", "outside_hours", "rule"]), "\(kinds)")
        #expect(!whole.alerts(of: "denied-then-described").isEmpty, "a temporal_ordered with evidence from its first step")

        // Cuts just after a registry call, so that records wait in the buffer when the snapshot is taken.
        let calls = stream.indices.filter { stream[$0].contains(#""eventID":"dm-"#) }
        let cuts = [calls[calls.count / 3], calls[calls.count / 2], calls[calls.count - 2]].map { $0 + 1 }
        for cut in cuts {
            let first = StageHarness(everything, lateness: 5 * minute)
            first.feed(Array(stream[..<cut]), batchSize: 97)
            #expect(first.stage.bufferedRecords > 0)
            let position = Array("records:\(cut)".utf8)
            let bytes = first.stage.snapshot(position: position)

            let second = StageHarness(everything, lateness: 5 * minute)
            #expect(try second.stage.restore(bytes) == position)
            second.feed(Array(stream[cut...]), batchSize: 97)
            second.finish()
            let resumed = digests(first.alerts + second.alerts)
            let same = resumed == expected
            #expect(same, "cut at \(cut): missing \(Set(expected).subtracting(resumed)), extra \(Set(resumed).subtracting(expected))")
            #expect(second.stage.statistics.alerts == whole.stage.statistics.alerts, "counters travel with the state")
        }
    }

    @Test func snapshotsAreSavedAtomicallyAndRefuseOtherRules() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("state/detectors.snapshot")
        try FileManager.default.createDirectory(atPath: dir.path("state"), withIntermediateDirectories: true)
        let harness = StageHarness(everything)
        #expect(try harness.stage.restore(from: path) == nil, "no snapshot yet: a first run")
        harness.feed(Array(mixedStream(seed: 2).prefix(3000).map(\.record)))
        try harness.stage.save(to: path, position: [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("state")) == ["detectors.snapshot"], "no temporary file left")

        let again = StageHarness(everything)
        #expect(try again.stage.restore(from: path) == [1, 2, 3])
        #expect(again.stage.snapshot(position: [1, 2, 3]) == harness.stage.snapshot(position: [1, 2, 3]))

        let other = StageHarness(deniedBurst)
        #expect(throws: SnapshotError.self) { try other.stage.restore(from: path) }
        do {
            _ = try other.stage.restore(from: path)
        } catch let error as SnapshotError {
            #expect(error.description.contains("other correlations, detectors or tuned rules"))
        }
        let bytes = harness.stage.snapshot(position: [])
        for length in [0, 8, bytes.count / 2, bytes.count - 1] {
            #expect(throws: SnapshotError.self) { try StageHarness(everything).stage.restore(Array(bytes.prefix(length))) }
        }
    }

    @Test func memoryPerGroupIsBoundedAndIdleGroupsAreForgotten() {
        let harness = StageHarness(deniedBurst, lateness: second)
        // 2000 users, one denied call each, then an hour later a single call: the sliding windows of the 2000 are
        // over and their state is dropped.
        harness.feed((0..<2000).map { trail(at: monday + Int64($0) * 100, user: "u\($0)", error: "AccessDenied") }, batchSize: 500)
        let busy = harness.stage.liveGroups
        harness.batch([trail(at: monday + 2 * hour, user: "late", error: "AccessDenied")])
        harness.batch([trail(at: monday + 3 * hour, user: "later", error: "AccessDenied")])
        #expect(busy >= 1900)
        #expect(harness.stage.liveGroups <= 2)
    }
}
