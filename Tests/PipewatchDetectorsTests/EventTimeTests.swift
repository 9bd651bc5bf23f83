import Foundation
import PipewatchDetectors
import PipewatchOutput
import Testing

let deniedBurst = """
    title: Access denied
    id: denied
    name: denied
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection:
            errorCode: AccessDenied
        condition: selection
    ---
    title: Access denied burst
    id: burst
    level: high
    correlation:
        type: event_count
        rules: [denied]
        group-by: [userIdentity.userName]
        timespan: 10m
        condition: {gte: 5}
    """

/// Denied calls of 12 users over four hours: some users in bursts, the others at a trickle.
func deniedStream(seed: UInt64) -> [(time: Int64, record: String)] {
    var random = SeededRandom(seed: seed)
    var records: [(Int64, String)] = []
    for u in 0..<12 {
        let user = "user\(u)"
        var t = monday + Int64(random.int(0..<30)) * minute
        while t < monday + 4 * hour {
            let gap = u % 3 == 0 ? Int64(random.int(20..<200)) * second : Int64(random.int(4..<40)) * minute
            t += gap
            records.append((t, trail(at: t, user: user, error: "AccessDenied", ip: "10.0.\(u).\(random.int(1..<9))")))
        }
    }
    return records.sorted { $0.0 < $1.0 }
}

/// Shuffles records within consecutive blocks of `span` of event time: every record arrives at most `span` after
/// records later than it.
func shuffledWithin(_ records: [(time: Int64, record: String)], span: Int64, seed: UInt64) -> [String] {
    var random = SeededRandom(seed: seed)
    var output: [String] = []
    var block: [String] = []
    var blockStart = records.first?.time ?? 0
    for (time, record) in records {
        if time - blockStart >= span {
            random.shuffle(&block)
            output += block
            block = []
            blockStart = time
        }
        block.append(record)
    }
    random.shuffle(&block)
    return output + block
}

@Suite struct EventTimeTests {
    @Test func alertsDoNotDependOnArrivalOrderWithinTheLateness() throws {
        let stream = deniedStream(seed: 11)
        let ordered = StageHarness(deniedBurst, lateness: 10 * minute)
        ordered.feed(stream.map(\.record), batchSize: 40)
        ordered.finish()
        let expected = Set(ordered.alerts.map(AlertDigest.init))
        #expect(ordered.alerts(of: "burst").count >= 4, "the bursty users alert")
        #expect(ordered.late.isEmpty)
        for seed in [1, 2, 3] as [UInt64] {
            let shuffled = StageHarness(deniedBurst, lateness: 10 * minute)
            shuffled.feed(shuffledWithin(stream, span: 9 * minute, seed: seed), batchSize: 7 + Int(seed) * 13)
            shuffled.finish()
            #expect(shuffled.late.isEmpty)
            let got = Set(shuffled.alerts.map(AlertDigest.init))
            let same = got == expected
            #expect(same, "seed \(seed): missing \(expected.subtracting(got)), extra \(got.subtracting(expected))")
        }
    }

    @Test func recordsOfTheSameMillisecondAreOrderedByContent() {
        // Five denied calls at the same instant by one user, with different source addresses: which one completes
        // the burst (and so is the alert's evidence) must not depend on arrival order.
        let records = (0..<5).map { trail(at: monday, user: "eve", error: "AccessDenied", ip: "10.9.9.\($0)") }
        var evidence: Set<String> = []
        for rotation in 0..<5 {
            let harness = StageHarness(deniedBurst)
            harness.batch(Array(records[rotation...] + records[..<rotation]))
            harness.finish()
            let alerts = harness.alerts(of: "burst")
            #expect(alerts.count == 1)
            evidence.formUnion(alerts.map { String(decoding: $0.eventJSON, as: UTF8.self) })
        }
        #expect(evidence.count == 1, "the same alert whatever the order")
    }

    @Test func lateRecordsGoToTheSideOutputAndAreCounted() {
        let harness = StageHarness(deniedBurst, lateness: 5 * minute)
        // An hour of quiet traffic by alice moves the watermark.
        harness.batch((0..<6).map { trail(at: monday + Int64($0) * 10 * minute, user: "alice", error: "AccessDenied") })
        // Then a burst by mallory that happened 40 minutes earlier: beyond the lateness.
        harness.batch((0..<5).map { trail(at: monday + 10 * minute + Int64($0) * second, user: "mallory", error: "AccessDenied") })
        harness.finish()
        #expect(harness.late.count == 5)
        #expect(harness.stage.statistics.lateRecords == 5)
        #expect(harness.late.allSatisfy { $0.rule == "denied" && $0.reason.contains("watermark") && $0.uid != nil })
        #expect(harness.alerts(of: "burst").isEmpty, "late records are not processed out of order")
        let json = String(decoding: harness.late[0].json, as: UTF8.self)
        #expect(json.contains(#""reason":"older than the watermark""#) && json.contains(#""rule":"denied""#))
    }

    @Test func theSameBurstWithinTheLatenessIsOnTime() {
        let harness = StageHarness(deniedBurst, lateness: 60 * minute)
        harness.batch((0..<6).map { trail(at: monday + Int64($0) * 10 * minute, user: "alice", error: "AccessDenied") })
        harness.batch((0..<5).map { trail(at: monday + 10 * minute + Int64($0) * second, user: "mallory", error: "AccessDenied") })
        harness.finish()
        #expect(harness.late.isEmpty)
        #expect(harness.alerts(of: "burst").count == 1)
        #expect(harness.alerts(of: "burst").first?[.actorUser]?.hasSuffix("mallory") == true)
    }
}
