import Foundation
import PipewatchDetectors
import PipewatchOutput
import PipewatchRules
import Testing

/// `count` records of one hour, spread evenly, for a service.
func hourOfRecords(_ start: Int64, count: Int, service: String = "s3.amazonaws.com", user: String = "pipeline") -> [String] {
    (0..<count).map { k in
        let t = start + Int64(k) * hour / Int64(max(count, 1))
        return trail(at: t, user: user, service: service, id: "v-\(service)-\(t)-\(k)")
    }
}

@Suite struct VolumeDetectorTests {
    static let ewma = """
        title: Ingestion volume above baseline
        id: volume-ewma
        level: medium
        logsource: {product: aws, service: cloudtrail}
        detection:
            selection:
                eventSource|exists: true
            condition: selection
        detector:
            type: volume
            group-by: [api.service]
            bucket: 1h
            threshold: 2
        """

    @Test func aPlantedFourSigmaSpikeFiresAndOneSigmaWobblesDoNot() {
        let harness = StageHarness(Self.ewma)
        // Two services, 400 ± 40 calls an hour (σ = 40, above the Poisson floor √400 = 20).
        var expectedSpike: Int64 = 0
        for h in 0..<100 {
            let start = monday + Int64(h) * hour
            var s3 = h % 2 == 0 ? 360 : 440
            if h == 80 {
                s3 = 560  // +4σ
                expectedSpike = start + hour
            }
            if h == 90 { s3 = 440 }  // +1σ
            if h == 91 { s3 = 450 }  // +1.25σ
            let sagemaker = h % 2 == 0 ? 450 : 350
            harness.feed(hourOfRecords(start, count: s3) + hourOfRecords(start, count: sagemaker / 10, service: "sagemaker.amazonaws.com"), batchSize: 500)
        }
        harness.finish()
        let alerts = harness.alerts(of: "volume-ewma")
        #expect(alerts.count == 1, "\(alerts.map { StageHarness.detector($0) })")
        guard let alert = alerts.first else { return }
        #expect(alert.time == expectedSpike)
        #expect(alert[.apiService] == "s3.amazonaws.com", "the group value fills the normalized field it names")
        let detector = StageHarness.detector(alert)
        #expect(detector["value"] as? Double == 560)
        let z = detector["z"] as? Double ?? 0
        #expect(z > 3.5 && z < 4.5, "z = \(z)")
        #expect(abs((detector["mean"] as? Double ?? 0) - 400) < 10)
        #expect(abs((detector["sigma"] as? Double ?? 0) - 40) < 4)
    }

    /// A rule read by a volume detector and by a correlation: its matches wait in the reorder buffer for the
    /// correlation, and the volume detector counts each of them once (when it is ingested), not again on release.
    @Test func aRuleReadByAVolumeDetectorAndACorrelationIsCountedOnce() {
        let harness = StageHarness("""
            title: Any CloudTrail call
            name: all_calls
            logsource: {product: aws, service: cloudtrail}
            detection:
                selection:
                    eventSource|exists: true
                condition: selection
            ---
            title: Ingestion volume above baseline
            id: volume-shared
            level: medium
            detector:
                type: volume
                rules: [all_calls]
                group-by: [api.service]
                bucket: 1h
                threshold: 2
            ---
            title: A principal calling a million times an hour
            id: never-fires
            level: low
            correlation:
                type: event_count
                rules: [all_calls]
                group-by: [userIdentity.arn]
                timespan: 1h
                condition: {gte: 1000000}
            """)
        var expectedSpike: Int64 = 0
        for h in 0..<100 {
            let start = monday + Int64(h) * hour
            var count = h % 2 == 0 ? 360 : 440
            if h == 80 {
                count = 560
                expectedSpike = start + hour
            }
            harness.feed(hourOfRecords(start, count: count), batchSize: 500)
        }
        harness.finish()
        let alerts = harness.alerts(of: "volume-shared")
        #expect(alerts.count == 1, "\(alerts.map { StageHarness.detector($0) })")
        guard let alert = alerts.first else { return }
        #expect(alert.time == expectedSpike)
        let detector = StageHarness.detector(alert)
        #expect(detector["value"] as? Double == 560, "each record counted once: \(detector)")
        #expect(abs((detector["mean"] as? Double ?? 0) - 400) < 10)
    }

    @Test func aSeasonalBaselineLearnsEachHourOfTheWeek() {
        let yaml = Self.ewma.replacingOccurrences(of: "id: volume-ewma", with: "id: volume-seasonal")
            .replacingOccurrences(of: "    threshold: 2", with: "    threshold: 3\n    baseline: seasonal")
        let seasonal = StageHarness(yaml)
        let flat = StageHarness(Self.ewma)
        var spike: Int64 = 0
        for d in 0..<24 {
            let week = d / 7
            let weekday = d % 7  // 0 = Monday
            var batch: [String] = []
            for h in 0..<24 {
                let start = monday + Int64(d) * day + Int64(h) * hour
                var count = 0
                if weekday < 5 {
                    count = (8..<18).contains(h) ? [90, 110, 100, 108][week] : [3, 5, 4, 4][week]
                }
                if d == 23, h == 3 {  // Wednesday of week 4, 03:00: daytime volume at night.
                    count = 100
                    spike = start + hour
                }
                batch += hourOfRecords(start, count: count)
            }
            seasonal.feed(batch, batchSize: 400)
            flat.feed(batch, batchSize: 400)
        }
        seasonal.finish()
        flat.finish()
        let alerts = seasonal.alerts(of: "volume-seasonal")
        #expect(alerts.map(\.time) == [spike], "\(alerts.map { StageHarness.detector($0) })")
        #expect(StageHarness.detector(alerts.first!)["hour_of_week"] as? Int == 2 * 24 + 3)
        // One mean for all hours alerts every morning instead.
        #expect(flat.alerts(of: "volume-ewma").count > 5)
    }

    @Test func sumsOfAFieldAndTheDownDirection() {
        let yaml = """
            title: bytes
            id: bytes
            logsource: {product: aws, service: cloudtrail}
            detection: {selection: {eventName: GetObject}, condition: selection}
            detector:
                type: volume
                field: bytes
                group-by: [userIdentity.userName]
                bucket: 1h
                direction: down
                min_sigma: 10
                threshold: 3
            """
        let harness = StageHarness(yaml)
        for h in 0..<40 {
            let start = monday + Int64(h) * hour
            let bytes = h == 30 ? 100.0 : (h % 2 == 0 ? 1000.0 : 1100.0)
            harness.batch([trail(at: start + minute, user: "etl", extra: #""bytes":\#(bytes / 2)"#), trail(at: start + 2 * minute, user: "etl", ip: "10.0.0.2", extra: #""bytes":\#(bytes / 2)"#)])
        }
        harness.finish()
        let alerts = harness.alerts(of: "bytes")
        #expect(alerts.count == 1)
        #expect(alerts.first.map { StageHarness.detector($0)["value"] as? Double } == 100)
        #expect(alerts.first.map { StageHarness.detector($0)["measure"] as? String } == "sum")
    }

    @Test func aBucketAlreadyJudgedTurnsLateRecordsAway() {
        let harness = StageHarness(Self.ewma, lateness: 10 * minute)
        harness.batch(hourOfRecords(monday, count: 10))
        harness.batch(hourOfRecords(monday + 2 * hour, count: 10))
        harness.batch(hourOfRecords(monday, count: 3))  // two hours late
        #expect(harness.late.count == 3)
        #expect(harness.late.allSatisfy { $0.reason.contains("already judged") })
    }
}

@Suite struct NewValueDetectorTests {
    static let yaml = """
        title: New principal on the model registry
        id: new-principal
        level: high
        logsource: {product: aws, service: cloudtrail}
        detection:
            selection:
                eventSource: sagemaker.amazonaws.com
                eventName|startswith: ['CreateModelPackage', 'UpdateModelPackage', 'DescribeModelPackage']
            condition: selection
        detector:
            type: new_value
            group-by: [recipientAccountId]
            field: userIdentity.arn
            history: 30d
        tuning:
            learning: 7d
        """

    func registryCall(_ user: String, at time: Int64, event: String = "DescribeModelPackage") -> String {
        trail(at: time, user: user, event: event, service: "sagemaker.amazonaws.com", id: "r-\(user)-\(time)")
    }

    @Test func aPlantedNewPrincipalFiresOnce() {
        let harness = StageHarness(Self.yaml)
        var records: [(Int64, String)] = []
        var random = SeededRandom(seed: 5)
        for d in 0..<12 {
            for u in 0..<10 {
                for _ in 0..<3 {
                    let t = monday + Int64(d) * day + Int64(random.int(8 * 60..<18 * 60)) * minute
                    records.append((t, registryCall("engineer\(u)", at: t)))
                }
            }
        }
        // Seen only during learning, back on day 10: not new.
        records.append((monday + 2 * day, registryCall("auditor", at: monday + 2 * day)))
        records.append((monday + 10 * day, registryCall("auditor", at: monday + 10 * day)))
        // mallory, three times on day 9.
        let planted = monday + 9 * day + 3 * hour
        for k in 0..<3 { records.append((planted + Int64(k) * minute, registryCall("mallory", at: planted + Int64(k) * minute, event: "UpdateModelPackage"))) }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 64)
        harness.finish()
        let alerts = harness.alerts(of: "new-principal")
        #expect(alerts.count == 1)
        #expect(alerts.first?.time == planted)
        #expect(alerts.first?[.actorUser] == "arn:aws:iam::111122223333:user/mallory")
        #expect(alerts.first.map { StageHarness.detector($0)["new_value"] as? String } == "arn:aws:iam::111122223333:user/mallory")
    }

    @Test func valuesExpireAfterTheHistoryAndMemoryIsBounded() {
        let yaml = Self.yaml.replacingOccurrences(of: "history: 30d", with: "history: 3d\n    max_values: 4")
            .replacingOccurrences(of: "learning: 7d", with: "learning: 1d")
        let harness = StageHarness(yaml)
        var records: [String] = []
        records.append(registryCall("a", at: monday))
        records.append(registryCall("b", at: monday + 2 * day))  // new after learning
        records.append(registryCall("a", at: monday + 5 * day))  // a: last seen 5 days ago, beyond the history
        // Six principals: only four are remembered, so the least recently seen come back as new.
        for (k, user) in ["c", "d", "e", "f", "g", "c"].enumerated() { records.append(registryCall(user, at: monday + 6 * day + Int64(k) * hour)) }
        harness.feed(records, batchSize: 3)
        harness.finish()
        let users = harness.alerts(of: "new-principal").compactMap { $0[.actorUser]?.split(separator: "/").last.map(String.init) }
        #expect(users == ["b", "a", "c", "d", "e", "f", "g", "c"])
    }
}

@Suite struct DriftDetectorTests {
    static let yaml = """
        title: Operation mix drift
        id: drift
        logsource: {product: aws, service: cloudtrail}
        detection: {selection: {eventSource: s3.amazonaws.com}, condition: selection}
        detector:
            type: drift
            group-by: [userIdentity.userName]
            field: eventName
            bucket: 1d
            metric: psi
            threshold: 0.25
        """

    /// A day of operations drawn from `mix` (name → weight).
    func operations(_ d: Int, user: String, mix: [(String, Double)], count: Int, random: inout SeededRandom) -> [(Int64, String)] {
        (0..<count).map { k in
            var pick = random.uniform()
            var name = mix.last!.0
            for (candidate, weight) in mix {
                if pick < weight {
                    name = candidate
                    break
                }
                pick -= weight
            }
            let t = monday + Int64(d) * day + Int64(k) * (day / Int64(count))
            return (t, trail(at: t, user: user, event: name, id: "d-\(user)-\(d)-\(k)"))
        }
    }

    static let usual: [(String, Double)] = [("GetObject", 0.4), ("PutObject", 0.3), ("ListObjects", 0.2), ("HeadObject", 0.1)]
    static let drifted: [(String, Double)] = [("DeleteObject", 0.6), ("GetObject", 0.2), ("ListObjects", 0.2)]

    func run(_ yaml: String) -> StageHarness {
        let harness = StageHarness(yaml)
        var random = SeededRandom(seed: 9)
        var records: [(Int64, String)] = []
        for d in 0..<12 {
            records += operations(d, user: "steady", mix: Self.usual, count: 300, random: &random)
            records += operations(d, user: "wiper", mix: d == 10 ? Self.drifted : Self.usual, count: 300, random: &random)
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 200)
        harness.finish()
        return harness
    }

    @Test func aDriftedDistributionFiresAndAnUnchangedOneDoesNot() {
        let harness = run(Self.yaml)
        let alerts = harness.alerts(of: "drift")
        #expect(alerts.count == 1, "\(alerts.map { StageHarness.detector($0) })")
        guard let alert = alerts.first else { return }
        let detector = StageHarness.detector(alert)
        #expect((detector["group"] as? [String: Any])?["userIdentity.userName"] as? String == "wiper")
        #expect(alert.time == monday + 11 * day)
        #expect((detector["value"] as? Double ?? 0) > 1)
        let shifts = detector["shifts"] as? [[String: Any]] ?? []
        #expect(shifts.first?["value"] as? String == "DeleteObject")
    }

    @Test func jensenShannonDistanceToo() {
        let harness = run(Self.yaml.replacingOccurrences(of: "metric: psi\n    threshold: 0.25", with: "metric: js\n    threshold: 0.3"))
        let alerts = harness.alerts(of: "drift")
        #expect(alerts.count == 1)
        let distance = alerts.first.flatMap { StageHarness.detector($0)["value"] as? Double } ?? 0
        #expect(distance > 0.3 && distance <= 1)
    }
}

@Suite struct OutsideHoursDetectorTests {
    static let yaml = """
        title: Training job submitted outside the submitter's normal hours
        id: odd-hours
        logsource: {product: aws, service: cloudtrail}
        detection: {selection: {eventName: CreateTrainingJob}, condition: selection}
        detector:
            type: outside_hours
            group-by: [userIdentity.arn]
            threshold: 0.01
            tolerance: 1
            min_events: 30
        tuning:
            learning: 14d
        """

    func job(_ user: String, at time: Int64) -> String {
        trail(at: time, user: user, event: "CreateTrainingJob", service: "sagemaker.amazonaws.com", id: "j-\(user)-\(time)")
    }

    @Test func aJobAtThreeInTheMorningFiresAndOfficeHoursDoNot() {
        let harness = StageHarness(Self.yaml)
        var random = SeededRandom(seed: 3)
        var records: [(Int64, String)] = []
        for d in 0..<28 where d % 7 < 5 {
            for _ in 0..<5 {
                let t = monday + Int64(d) * day + Int64(random.int(9 * 60..<17 * 60)) * minute
                records.append((t, job("scientist", at: t)))
            }
        }
        let night = monday + 23 * day + 3 * hour  // Wednesday of week 4, 03:00
        records.append((night, job("scientist", at: night)))
        records.append((monday + 22 * day + 10 * hour, job("scientist", at: monday + 22 * day + 10 * hour)))
        // A Saturday morning: the usual hour, but never on a weekend.
        let saturday = monday + 26 * day + 11 * hour
        records.append((saturday, job("scientist", at: saturday)))
        // Someone new, at night in week 4: no profile yet.
        records.append((night + minute, job("newcomer", at: night + minute)))
        // During the learning period, an odd hour is only a signal.
        let early = monday + 12 * day + 2 * hour  // Saturday of week 2
        records.append((early, job("scientist", at: early)))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1), batchSize: 16)
        harness.finish()
        let alerts = harness.alerts(of: "odd-hours")
        #expect(alerts.map(\.time) == [night, saturday])
        let detector = alerts.first.map(StageHarness.detector) ?? [:]
        #expect(detector["local_time"] as? String == "Wednesday 03:00")
        #expect(harness.signals.contains { String(decoding: $0.json, as: UTF8.self).contains(#""signal_reason":"learning""#) } == true)
    }
}
