import Foundation
import PipewatchDetectors
import PipewatchOutput
import PipewatchRules
import Testing

/// Records of a burst of `count` denied calls by `user` starting at `start`, one every 20 seconds.
func burst(_ user: String, at start: Int64, count: Int = 5) -> [String] {
    (0..<count).map { trail(at: start + Int64($0) * 20 * second, user: user, error: "AccessDenied", ip: "10.2.\($0).1") }
}

func reasons(_ harness: StageHarness) -> [String] {
    harness.signals.map {
        let object = (try? JSONSerialization.jsonObject(with: Data($0.json))) as? [String: Any]
        return object?["signal_reason"] as? String ?? "?"
    }
}

@Suite struct TuningTests {
    @Test func observeModeRecordsSignalsInsteadOfAlerts() {
        let records = burst("a", at: monday) + burst("b", at: monday + hour) + burst("c", at: monday + 2 * hour)
        let live = StageHarness(deniedBurst)
        live.feed(records)
        live.finish()
        let observed = StageHarness(deniedBurst + "\ntuning:\n    observe: true\n")
        observed.feed(records)
        observed.finish()
        #expect(live.alerts(of: "burst").count == 3)
        #expect(observed.alerts.isEmpty)
        #expect(reasons(observed) == ["observe", "observe", "observe"])
        #expect(observed.stage.statistics.signals[.observe] == 3)
        let first = (try? JSONSerialization.jsonObject(with: Data(observed.signals[0].json))) as? [String: Any]
        #expect((first?["detector"] as? [String: Any])?["rule"] as? String == "burst")
        #expect(first?["event_uid"] as? String != nil, "a signal names its event")
    }

    @Test func theLearningPeriodTurnsEarlyFindingsIntoSignals() {
        let harness = StageHarness(deniedBurst + "\ntuning:\n    learning: 90m\n")
        harness.feed(burst("a", at: monday) + burst("b", at: monday + hour) + burst("c", at: monday + 2 * hour))
        harness.finish()
        #expect(harness.alerts(of: "burst").compactMap { $0[.actorUser]?.split(separator: "/").last } == ["c"])
        #expect(reasons(harness) == ["learning", "learning"])
    }

    @Test func aSignalConditionBelowTheAlertCondition() {
        let yaml = deniedBurst.replacingOccurrences(of: "condition: {gte: 5}", with: "condition: {gte: 10}")
            + "\ntuning:\n    signal_condition: {gte: 4}\n"
        let harness = StageHarness(yaml)
        harness.feed(burst("small", at: monday, count: 6) + burst("large", at: monday + hour, count: 12))
        harness.finish()
        #expect(harness.alerts(of: "burst").count == 1)
        #expect(harness.alerts(of: "burst").first?[.actorUser]?.hasSuffix("large") == true)
        // Each group signals once when it crosses the signal condition: small, and large on its way to the alert.
        #expect(reasons(harness) == ["below_alert_threshold", "below_alert_threshold"])
    }

    @Test func aDetectorsSignalThresholdBelowItsAlertThreshold() {
        let yaml = VolumeDetectorTests.ewma.replacingOccurrences(of: "    threshold: 2", with: "    threshold: 4.5\n    signal_threshold: 2.5\n    min_sigma: 40")
        let harness = StageHarness(yaml)
        for h in 0..<60 {
            var count = h % 2 == 0 ? 360 : 440
            if h == 30 { count = 520 }  // +3σ: a signal
            if h == 50 { count = 640 }  // +6σ: an alert
            harness.feed(hourOfRecords(monday + Int64(h) * hour, count: count), batchSize: 1000)
        }
        harness.finish()
        #expect(harness.alerts(of: "volume-ewma").map(\.time) == [monday + 51 * hour])
        #expect(reasons(harness) == ["below_alert_threshold"])
    }

    static let tunedRule = """
        title: Model package described
        id: described
        logsource: {product: aws, service: cloudtrail}
        detection: {selection: {eventName: DescribeModelPackage}, condition: selection}
        tuning:
            group-by: [userIdentity.userName]
        """

    func describe(_ user: String, at time: Int64) -> String {
        trail(at: time, user: user, event: "DescribeModelPackage", service: "sagemaker.amazonaws.com", id: "dm-\(user)-\(time)")
    }

    @Test func persistNeedsConsecutiveWindows() {
        let yaml = Self.tunedRule + "\n    persist: 3\n    window: 1h\n"
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        for h: Int64 in [0, 1, 2] { records.append((monday + h * hour + 5 * minute, describe("steady", at: monday + h * hour + 5 * minute))) }
        for h: Int64 in [0, 2, 4] { records.append((monday + h * hour + 7 * minute, describe("gappy", at: monday + h * hour + 7 * minute))) }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "described")
        #expect(alerts.map(\.time) == [monday + 2 * hour + 5 * minute])
        #expect(alerts.first?[.actorUser]?.hasSuffix("steady") == true)
        #expect(reasons(harness).filter { $0 == "persist" }.count == 5)
    }

    @Test func persistMOfN() {
        let harness = StageHarness(Self.tunedRule + "\n    persist: 2 of 3\n    window: 1h\n")
        harness.feed([describe("u", at: monday + 5 * minute), describe("u", at: monday + 2 * hour + 5 * minute), describe("u", at: monday + 6 * hour)])
        harness.finish()
        #expect(harness.alerts(of: "described").map(\.time) == [monday + 2 * hour + 5 * minute])
    }

    @Test func suppressionCarriesTheSuppressedCountOnTheNextAlert() throws {
        let harness = StageHarness(Self.tunedRule + "\n    suppress: 1h\n")
        var records: [String] = []
        for m: Int64 in [0, 10] { records.append(describe("noisy", at: monday + m * minute)) }
        records.append(describe("other", at: monday + 15 * minute))
        for m: Int64 in [20, 30, 70] { records.append(describe("noisy", at: monday + m * minute)) }
        harness.feed(records, batchSize: 2)
        harness.finish()
        let alerts = harness.alerts(of: "described").sorted { $0.time < $1.time }
        #expect(alerts.map(\.time) == [monday, monday + 15 * minute, monday + 70 * minute])
        #expect(alerts.map { StageHarness.detector($0)["suppressed"] as? Int } == [0, 0, 3])
        #expect(reasons(harness) == ["suppressed", "suppressed", "suppressed"])
        // A tuned rule keeps the uid its alert has without tuning.
        let plain = StageHarness(Self.tunedRule.replacingOccurrences(of: "tuning:\n    group-by: [userIdentity.userName]", with: ""))
        plain.feed([describe("noisy", at: monday)])
        #expect(plain.alerts.first?.uid == alerts.first?.uid)
        #expect(StageHarness.event(alerts[0])?["uid"] as? String == "dm-noisy-\(monday)")
    }

    @Test func tuningOnADetector() {
        let yaml = NewValueDetectorTests.yaml.replacingOccurrences(of: "learning: 7d", with: "learning: 1d\n    observe: true")
        let harness = StageHarness(yaml)
        let call = { (user: String, time: Int64) in
            trail(at: time, user: user, event: "DescribeModelPackage", service: "sagemaker.amazonaws.com", id: "n-\(user)-\(time)")
        }
        harness.feed([call("a", monday), call("b", monday + 2 * day), call("b", monday + 3 * day)])
        harness.finish()
        #expect(harness.alerts.isEmpty)
        #expect(reasons(harness) == ["observe"])
    }

    @Test func tuningIsValidated() {
        let cases: [(String, String)] = [
            ("persist: 0", "tuning.persist must be"),
            ("persist: 3 of 2", "tuning.persist must be"),
            ("suppress: soon", "tuning.suppress 'soon' is not a duration"),
            ("observe: maybe", "tuning.observe must be true or false"),
            ("quiet: true", "unknown key 'quiet' in tuning"),
        ]
        for (line, expected) in cases {
            let problems = RuleSet(yaml: deniedBurst + "\ntuning:\n    \(line)\n", file: "t.yml").problems.map(\.description)
            #expect(problems.count == 1 && problems[0].contains(expected), "\(line): \(problems)")
        }
        let persistWithoutWindow = RuleSet(yaml: Self.tunedRule + "\n    persist: 2\n").problems.map(\.reason)
        #expect(persistWithoutWindow == ["tuning.persist of a detection rule needs tuning.window (the window persistence counts in)"])
    }
}
