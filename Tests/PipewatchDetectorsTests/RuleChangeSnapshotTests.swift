import PipewatchDetectors
import PipewatchOutput
import Testing

/// A rule nothing reads: its matches alert on their own.
let plainListing = """
    title: Bucket listing
    id: listing-plain
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection:
            eventName: ListObjects
        condition: selection
    """

let listingBurst = """
    title: Listing
    id: listed
    name: listed
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection:
            eventName: ListObjects
        condition: selection
    ---
    title: Listing burst
    id: listing-burst
    correlation:
        type: event_count
        rules: [listed]
        group-by: [userIdentity.userName]
        timespan: 10m
        condition: {gte: 3}
    """

@Suite struct RuleChangeSnapshotTests {
    func digests(_ alerts: [Alert], of rules: Set<String>) -> [AlertDigest] {
        alerts.filter { rules.contains($0.rule.id) }.map(AlertDigest.init).sorted { ($0.time, $0.uid, $0.rule) < ($1.time, $1.uid, $1.rule) }
    }

    @Test func aPlainRuleAddedBeforeADetectorsRuleKeepsBufferedRecordsWithTheirRule() throws {
        // The plain rule goes first, so every rule the detectors read moves one index up.
        let before = everything
        let after = plainListing + "\n---\n" + everything
        let stream = shuffledWithin(mixedStream(seed: 21), span: 4 * minute, seed: 4)
        let whole = StageHarness(after, lateness: 5 * minute)
        whole.feed(stream, batchSize: 97)
        whole.finish()
        let operators = Set(whole.alerts.map(\.rule.id)).subtracting(["listing-plain"])
        let expected = digests(whole.alerts, of: operators)
        #expect(!whole.alerts(of: "listing-plain").isEmpty, "the added rule matches the stream")

        let calls = stream.indices.filter { stream[$0].contains(#""eventID":"dm-"#) }
        let cut = calls[calls.count / 2] + 1
        let first = StageHarness(before, lateness: 5 * minute)
        first.feed(Array(stream[..<cut]), batchSize: 97)
        #expect(first.stage.bufferedRecords > 0)
        let bytes = first.stage.snapshot(position: [7])

        let second = StageHarness(after, lateness: 5 * minute)
        #expect(try second.stage.restore(bytes) == [7], "a plain rule more is not another set of detectors")
        #expect(second.stage.bufferedRecords == first.stage.bufferedRecords)
        // Records name their rule by reference, so the restored state saves as it was saved.
        #expect(second.stage.snapshot(position: [7]) == bytes)
        second.feed(Array(stream[cut...]), batchSize: 97)
        second.finish()
        let resumed = digests(first.alerts + second.alerts, of: operators)
        let same = resumed == expected
        #expect(same, "missing \(Set(expected).subtracting(resumed)), extra \(Set(resumed).subtracting(expected))")
    }

    @Test func aLenientRestoreCarriesOverUnchangedDetectorsAndStartsChangedOnesFresh() throws {
        let oldRules = [deniedBurst, manyAddresses, listingBurst].joined(separator: "\n---\n")
        // The burst threshold changes, the listing burst goes (its rule stays, alerting on its own).
        let newRules = [deniedBurst.replacingOccurrences(of: "gte: 5", with: "gte: 4"), manyAddresses, listingBurst.components(separatedBy: "---")[0]]
            .joined(separator: "\n---\n")
        #expect(newRules != oldRules && newRules.contains("gte: 4") && !newRules.contains("listing-burst"))
        let t0 = monday + hour
        func denied(_ user: String, _ time: Int64, ip: String = "10.0.0.1") -> (time: Int64, record: String) {
            (time, trail(at: time, user: user, error: "AccessDenied", ip: ip))
        }
        let beforeCut: [(time: Int64, record: String)] = [
            denied("carol", t0), denied("carol", t0 + minute), denied("dave", t0 + minute, ip: "10.0.0.1"),
            denied("dave", t0 + 90 * second, ip: "10.0.0.2"), denied("carol", t0 + 2 * minute),
            (t0 + 6 * minute, trail(at: t0 + 6 * minute, user: "frank", event: "ListObjects")),
            (t0 + 7 * minute, trail(at: t0 + 7 * minute, user: "frank", event: "ListObjects")),
            denied("erin", t0 + 7 * minute + second),
            // Moves the watermark to t0 + 3m: carol's and dave's calls are processed, the rest waits in the buffer.
            (t0 + 8 * minute, trail(at: t0 + 8 * minute, user: "bob")),
        ]
        let afterCut: [(time: Int64, record: String)] = [
            denied("carol", t0 + 9 * minute), denied("carol", t0 + 9 * minute + 30 * second),
            denied("dave", t0 + 20 * minute, ip: "10.0.0.3"), denied("dave", t0 + 21 * minute, ip: "10.0.0.4"),
        ] + (30..<34).map { denied("gina", t0 + Int64($0) * minute) } + [(t0 + 2 * hour, trail(at: t0 + 2 * hour, user: "bob"))]

        let whole = StageHarness(newRules)
        whole.feed((beforeCut + afterCut).map(\.record), batchSize: 1)
        whole.finish()
        #expect(whole.alerts(of: "burst").compactMap { $0[.actorUser] }.map { $0.hasSuffix("carol") } == [true, false])
        #expect(whole.alerts(of: "addresses").count == 1)

        let first = StageHarness(oldRules)
        first.feed(beforeCut.map(\.record), batchSize: 1)
        let released = first.stage.released
        #expect(released == t0 + 3 * minute)
        #expect(first.stage.bufferedRecords == 3, "frank's two listings and erin's denied call")
        let bytes = first.stage.snapshot(position: [42])

        let second = StageHarness(newRules)
        #expect(throws: SnapshotError.self, "the strict restore refuses other detectors") { try second.stage.restore(bytes) }
        let (position, report) = try second.stage.restoreCarryingOver(bytes)
        #expect(position == [42])
        #expect(report.carriedOver == ["addresses"])
        #expect(report.startedFresh == ["burst"] && report.changed == ["burst"])
        #expect(report.removed == ["listing-burst"])
        #expect(report.keptRecords == 1 && report.droppedRecords == 2)
        #expect(!report.isComplete)
        #expect(report.description == "detector state: 1 carried over, 1 started fresh (changed: burst), 1 removed (listing-burst), 2 buffered records dropped")
        #expect(second.stage.bufferedRecords == 1)
        second.feed(afterCut.map(\.record), batchSize: 1)
        second.finish()

        // The unchanged correlation kept dave's first two addresses: the same alert as without the restart.
        let addresses = digests(first.alerts + second.alerts, of: ["addresses"])
        #expect(addresses.count == 1 && addresses == digests(whole.alerts, of: ["addresses"]))
        // The changed one forgot carol's first calls: it alerts as a fresh stage fed from the watermark on.
        let fresh = StageHarness(newRules)
        fresh.feed((beforeCut + afterCut).filter { $0.time >= released }.map(\.record), batchSize: 1)
        fresh.finish()
        let burst = digests(first.alerts + second.alerts, of: ["burst"])
        #expect(burst.count == 1 && burst == digests(fresh.alerts, of: ["burst"]))
        #expect(second.stage.alertsPerOperator.reduce(0, +) == 2)

        // The same rules carry everything over, as the strict restore does.
        let same = StageHarness(oldRules)
        let unchanged = try same.stage.restoreCarryingOver(bytes).report
        #expect(unchanged.isComplete && unchanged.carriedOver == ["burst", "addresses", "listing-burst"] && unchanged.keptRecords == 3)
        #expect(same.stage.snapshot(position: [42]) == bytes)
    }

    @Test func aSnapshotNamingRulesByPositionIsRefused() {
        let harness = StageHarness(everything)
        harness.feed(Array(mixedStream(seed: 3).prefix(2000).map(\.record)))
        var bytes = harness.stage.snapshot(position: [])
        bytes[Array("PWDETECT".utf8).count] = 2
        for restore in [{ _ = try StageHarness(everything).stage.restore(bytes) }, { _ = try StageHarness(everything).stage.restoreCarryingOver(bytes) }] as [() throws -> Void] {
            do {
                try restore()
                Issue.record("a format 2 snapshot was read")
            } catch {
                #expect("\(error)".contains("format 2") && "\(error)".contains("by reference"), "\(error)")
            }
        }
    }
}
