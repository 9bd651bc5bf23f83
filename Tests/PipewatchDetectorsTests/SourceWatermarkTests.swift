import Foundation
import PipewatchDetectors
import PipewatchEvents
import PipewatchOutput
import Testing

/// Denied CloudTrail calls and forbidden Kubernetes requests: a burst correlation per source, and a temporal one
/// across both (the same principal refused by AWS and by the cluster within ten minutes).
let twoSourceRules = """
    title: Access denied
    id: denied
    name: denied
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection:
            errorCode: AccessDenied
        condition: selection
    ---
    title: Forbidden
    id: forbidden
    name: forbidden
    logsource: {product: kubernetes, service: audit}
    detection:
        selection:
            responseStatus.code: 403
        condition: selection
    ---
    title: Access denied burst
    id: burst
    correlation:
        type: event_count
        rules: [denied]
        group-by: [userIdentity.userName]
        timespan: 10m
        condition: {gte: 5}
    ---
    title: Forbidden burst
    id: k8s-burst
    correlation:
        type: event_count
        rules: [forbidden]
        group-by: [user.username]
        timespan: 10m
        condition: {gte: 5}
    ---
    title: Refused by AWS and by the cluster
    id: both
    correlation:
        type: temporal
        rules: [denied, forbidden]
        group-by: [principal]
        timespan: 10m
        aliases:
            principal:
                denied: userIdentity.userName
                forbidden: user.username
    """

/// A Kubernetes audit record of a request by `user` at `time`, refused with `code`.
func audit(at time: Int64, user: String, code: Int = 403, id: String) -> String {
    let stamp = Timestamp.format(milliseconds: time)
    return #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"\#(id)","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kubeflow/secrets","verb":"list","user":{"username":"\#(user)","groups":["system:authenticated"]},"sourceIPs":["10.42.0.9"],"userAgent":"kubectl/v1.33.0","objectRef":{"resource":"secrets","namespace":"kubeflow","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":\#(code)},"requestReceivedTimestamp":"\#(stamp)","stageTimestamp":"\#(stamp)"}"#
}

/// Forbidden requests of the users of `deniedStream`, an hour earlier: some users in bursts, the others at a trickle.
func forbiddenStream(seed: UInt64, from start: Int64) -> [(time: Int64, record: String)] {
    var random = SeededRandom(seed: seed)
    var records: [(Int64, String)] = []
    for u in 0..<12 {
        var t = start + Int64(random.int(0..<30)) * minute
        var n = 0
        while t < start + 4 * hour {
            let gap = u % 4 == 0 ? Int64(random.int(20..<200)) * second : Int64(random.int(4..<40)) * minute
            t += gap
            n += 1
            records.append((t, audit(at: t, user: "user\(u)", id: "k-\(u)-\(n)")))
        }
    }
    return records.sorted { $0.0 < $1.0 }
}

/// A source's records cut into files of `span` of event time, in order.
func files(_ records: [(time: Int64, record: String)], span: Int64, from start: Int64) -> [[String]] {
    var files: [[String]] = []
    for (time, record) in records {
        let k = Int((time - start) / span)
        while files.count <= k { files.append([]) }
        files[k].append(record)
    }
    return files
}

@Suite struct SourceWatermarkTests {
    /// CloudTrail from Monday 00:00, Kubernetes an hour older, each cut into half-hour files, and the files read
    /// alternately (a CloudTrail file, then the Kubernetes file of the same place in its stream): the way a directory
    /// of several sources, or one topic per source with its own lag, arrives.
    struct TwoSources {
        let cloudTrail = deniedStream(seed: 31)
        let kubernetes = forbiddenStream(seed: 32, from: monday - hour)
        var sorted: [String] { (cloudTrail + kubernetes).sorted { $0.time < $1.time }.map(\.record) }
        var interleavedFiles: [[String]] {
            let a = files(cloudTrail, span: 30 * minute, from: monday)
            let b = files(kubernetes, span: 30 * minute, from: monday - hour)
            var out: [[String]] = []
            for k in 0..<max(a.count, b.count) {
                if k < a.count { out.append(a[k]) }
                if k < b.count { out.append(b[k]) }
            }
            return out
        }
    }

    func digests(_ alerts: [Alert]) -> [AlertDigest] {
        alerts.map(AlertDigest.init).sorted { ($0.time, $0.uid, $0.rule) < ($1.time, $1.uid, $1.rule) }
    }

    func reference(_ streams: TwoSources) -> StageHarness {
        let harness = StageHarness(twoSourceRules, lateness: 10 * minute)
        harness.feed(streams.sorted, batchSize: 40)
        harness.finish()
        return harness
    }

    @Test func sourcesAnHourApartReadFileByFileAreNotLate() {
        let streams = TwoSources()
        let sorted = reference(streams)
        #expect(sorted.late.isEmpty)
        let expected = digests(sorted.alerts)
        #expect(sorted.alerts(of: "burst").count >= 3 && sorted.alerts(of: "k8s-burst").count >= 3, "bursts in both sources")
        #expect(sorted.alerts(of: "both").count >= 3, "the cross-source correlation fires")

        // Both sources declared: nothing is released before the second source's first file.
        let declared = StageHarness(twoSourceRules, lateness: 10 * minute, expectedSources: [.cloudTrail, .kubernetesAudit])
        for file in streams.interleavedFiles { declared.batch(file) }
        #expect(declared.stage.watermark == declared.stage.watermark(of: .kubernetesAudit), "the lagging source sets the release")
        #expect(declared.stage.bufferedRecords > 0)
        declared.finish()
        #expect(declared.late.isEmpty, "\(declared.late.prefix(3).map { String(decoding: $0.json, as: UTF8.self) })")
        #expect(declared.stage.statistics.lateRecords == 0)
        let same = digests(declared.alerts) == expected
        #expect(same, "missing \(Set(expected).subtracting(digests(declared.alerts))), extra \(Set(digests(declared.alerts)).subtracting(expected))")

        // Not declared, the sources starting side by side (the first files of both in the first batch).
        let seen = StageHarness(twoSourceRules, lateness: 10 * minute)
        let parts = streams.interleavedFiles
        seen.batch(parts[0] + parts[1])
        for file in parts.dropFirst(2) { seen.batch(file) }
        seen.finish()
        #expect(seen.late.isEmpty)
        #expect(digests(seen.alerts) == expected)
    }

    @Test func aSourceNeverSeenHoldsNothingBack() {
        let streams = TwoSources()
        let parts = streams.interleavedFiles
        let harness = StageHarness(twoSourceRules, lateness: 10 * minute)
        harness.batch(parts[0])
        #expect(harness.stage.watermark == harness.stage.watermark(of: .cloudTrail))
        #expect(harness.stage.watermark(of: .kubernetesAudit) == nil)
        // The Kubernetes file of the same place is an hour older: what CloudTrail already released is late.
        harness.batch(parts[1])
        let released = harness.late.filter { $0.reason.contains("already released") }
        #expect(!released.isEmpty)
        #expect(released.allSatisfy { $0.rule == "forbidden" })
        #expect(harness.late.allSatisfy { $0.reason.contains("already released") }, "none is older than its own source's watermark")
    }

    @Test func aRecordOlderThanItsOwnSourcesWatermarkIsLate() {
        let streams = TwoSources()
        let parts = streams.interleavedFiles
        let harness = StageHarness(twoSourceRules, lateness: 10 * minute, expectedSources: [.cloudTrail, .kubernetesAudit])
        for file in parts.prefix(8) { harness.batch(file) }
        let trailMark = harness.stage.watermark(of: .cloudTrail)!
        let auditMark = harness.stage.watermark(of: .kubernetesAudit)!
        #expect(trailMark - auditMark > 30 * minute, "CloudTrail is ahead")
        #expect(harness.stage.watermark == auditMark)
        #expect(harness.late.isEmpty)

        // Behind CloudTrail's own watermark, though after what was released (Kubernetes lags): late.
        let stale = trailMark - 20 * minute
        #expect(stale > harness.stage.released)
        // Within Kubernetes' lateness, an hour older than that: on time.
        let onTime = harness.stage.latestTime(of: .kubernetesAudit)! - 5 * minute
        harness.batch([
            trail(at: stale, user: "mallory", error: "AccessDenied", id: "stale-trail"),
            audit(at: onTime, user: "mallory", id: "on-time-audit"),
        ])
        #expect(harness.late.count == 1)
        #expect(harness.stage.statistics.lateRecords == 1)
        let late = harness.late.first
        #expect(late?.rule == "denied" && late?.uid == "stale-trail" && late?.time == stale)
        #expect(late?.reason == "older than the watermark")
        #expect(late?.watermark == trailMark)
    }

    @Test func resumingMidStreamKeepsEachSourcesTime() throws {
        let streams = TwoSources()
        let parts = streams.interleavedFiles
        let expected = digests(reference(streams).alerts)
        for cut in [3, parts.count / 2, parts.count - 3] {
            let first = StageHarness(twoSourceRules, lateness: 10 * minute, expectedSources: [.cloudTrail, .kubernetesAudit])
            for file in parts[..<cut] { first.batch(file) }
            let bytes = first.stage.snapshot(position: [UInt8(cut)])

            let second = StageHarness(twoSourceRules, lateness: 10 * minute, expectedSources: [.cloudTrail, .kubernetesAudit])
            #expect(try second.stage.restore(bytes) == [UInt8(cut)])
            for source in EventSource.allCases {
                #expect(second.stage.latestTime(of: source) == first.stage.latestTime(of: source))
            }
            #expect(second.stage.watermark == first.stage.watermark)
            for file in parts[cut...] { second.batch(file) }
            second.finish()
            #expect(first.late.isEmpty && second.late.isEmpty)
            let resumed = digests(first.alerts + second.alerts)
            let same = resumed == expected
            #expect(same, "cut at \(cut): missing \(Set(expected).subtracting(resumed)), extra \(Set(resumed).subtracting(expected))")
        }
    }

    @Test func aSnapshotWithOneWatermarkForAllSourcesIsRefused() {
        let harness = StageHarness(twoSourceRules)
        harness.batch(Array(TwoSources().interleavedFiles.prefix(2).joined()))
        var bytes = harness.stage.snapshot(position: [])
        let versionOffset = Array("PWDETECT".utf8).count
        bytes[versionOffset] = 1
        do {
            try StageHarness(twoSourceRules).stage.restore(bytes)
            Issue.record("a format 1 snapshot was read")
        } catch {
            #expect(error.description.contains("format 1") && error.description.contains("per source"), "\(error)")
        }
    }
}
