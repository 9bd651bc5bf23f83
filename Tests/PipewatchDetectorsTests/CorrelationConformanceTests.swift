import Foundation
import PipewatchDetectors
import PipewatchOutput
import PipewatchRules
import Testing

/// A base rule selecting CloudTrail records whose custom top-level `kind` is `kind`.
func baseRule(id: String, name: String? = nil, kind: String) -> String {
    """
    title: base \(kind)
    id: \(id)
    \(name.map { "name: \($0)" } ?? "")
    logsource: {product: aws, service: cloudtrail}
    detection:
        selection:
            kind: \(kind)
        condition: selection
    """
}

/// A CloudTrail record of `kind` with extra raw fields.
func kindRecord(_ kind: String, at time: Int64, _ fields: [String: String] = [:], numbers: [String: Double] = [:]) -> String {
    var members = [#""kind":"\#(kind)""#]
    for (key, value) in fields.sorted(by: { $0.key < $1.key }) { members.append(#""\#(key)":"\#(value)""#) }
    for (key, value) in numbers.sorted(by: { $0.key < $1.key }) { members.append(#""\#(key)":\#(value)"#) }
    return trail(at: time, user: fields["User"] ?? "svc", id: "k-\(kind)-\(time)-\(Hash64.hash(members.joined()) % 1_000_000)", extra: members.joined(separator: ","))
}

/// The correlation examples of the Sigma correlation specification (tests/schema/correlation), run on generated
/// events with known answers. The YAML of each correlation is the specification's own.
@Suite struct CorrelationConformanceTests {
    @Test func eventCount() {
        let yaml = baseRule(id: "5638f7c0-ac70-491d-8465-2a65075e0d86", kind: "failed_login") + "\n---\n" + """
            title: Many failed logins
            id: 0e95725d-7320-415d-80f7-004da920fc11
            correlation:
                type: event_count
                rules:
                    - 5638f7c0-ac70-491d-8465-2a65075e0d86
                group-by:
                    - ComputerName
                timespan: 1h
                condition:
                    gte: 100
            """
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        for k in 0..<99 { records.append((monday + Int64(k) * 30 * second, kindRecord("failed_login", at: monday + Int64(k) * 30 * second, ["ComputerName": "host-99"]))) }
        for k in 0..<100 { records.append((monday + Int64(k) * 30 * second, kindRecord("failed_login", at: monday + Int64(k) * 30 * second, ["ComputerName": "host-100"]))) }
        for k in 0..<100 { records.append((monday + Int64(k) * 72 * second, kindRecord("failed_login", at: monday + Int64(k) * 72 * second, ["ComputerName": "host-slow"]))) }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "0e95725d-7320-415d-80f7-004da920fc11")
        #expect(alerts.count == 1)
        let detector = StageHarness.detector(alerts[0])
        #expect((detector["group"] as? [String: Any])?["ComputerName"] as? String == "host-100")
        #expect(detector["value"] as? Double == 100)
        #expect(detector["type"] as? String == "event_count")
        #expect(alerts[0].time == monday + 99 * 30 * second, "the 100th event completes the window")
        #expect(harness.alerts(of: "5638f7c0-ac70-491d-8465-2a65075e0d86").isEmpty, "referenced rules do not alert on their own")
    }

    @Test func valueCount() {
        let yaml = baseRule(id: "5638f7c0-ac70-491d-8465-2a65075e0d86", kind: "failed_login") + "\n---\n" + """
            title: Failed login
            id: 0e95725d-7320-415d-80f7-004da920fc12
            correlation:
                type: value_count
                rules:
                    - 5638f7c0-ac70-491d-8465-2a65075e0d86
                group-by:
                    - ComputerName
                    - WorkstationName
                timespan: 1d
                condition:
                    field: User
                    gte: 100
            """
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        func add(_ host: String, _ time: Int64, _ user: String) {
            records.append((time, kindRecord("failed_login", at: time, ["ComputerName": host, "WorkstationName": "ws1", "User": user])))
        }
        for k in 0..<100 { add("spray", monday + Int64(k) * minute, "user\(k)") }
        for k in 0..<300 { add("busy", monday + Int64(k) * minute, "user\(k % 99)") }  // 300 events, 99 users
        for k in 0..<100 { add("slow", monday + Int64(k) * 43 * minute, "user\(k)") }  // 100 users over 3 days
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "0e95725d-7320-415d-80f7-004da920fc12")
        #expect(alerts.count == 1)
        #expect((StageHarness.detector(alerts[0])["group"] as? [String: Any])?["ComputerName"] as? String == "spray")
        #expect(StageHarness.detector(alerts[0])["value"] as? Double == 100)
    }

    static let recon = ["recon_cmd_a", "recon_cmd_b", "recon_cmd_c"].map { baseRule(id: "id-\($0)", name: $0, kind: $0) }
        .joined(separator: "\n---\n")

    func reconRecords(user: String, host: String = "pc1", kinds: [String], start: Int64, step: Int64) -> [(Int64, String)] {
        kinds.enumerated().map { k, kind in
            let t = start + Int64(k) * step
            return (t, kindRecord(kind, at: t, ["ComputerName": host, "User": user]))
        }
    }

    @Test func temporal() {
        let yaml = CorrelationConformanceTests.recon + "\n---\n" + """
            title: Recon
            correlation:
                type: temporal
                rules:
                    - recon_cmd_a
                    - recon_cmd_b
                    - recon_cmd_c
                group-by:
                    - ComputerName
                    - User
                timespan: 5m
            """
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        records += reconRecords(user: "any-order", kinds: ["recon_cmd_c", "recon_cmd_a", "recon_cmd_b"], start: monday, step: minute)
        records += reconRecords(user: "two-of-three", kinds: ["recon_cmd_a", "recon_cmd_b", "recon_cmd_a"], start: monday, step: minute)
        records += reconRecords(user: "too-slow", kinds: ["recon_cmd_a", "recon_cmd_b", "recon_cmd_c"], start: monday, step: 3 * minute)
        records += reconRecords(user: "split", host: "pc1", kinds: ["recon_cmd_a", "recon_cmd_b"], start: monday, step: minute)
        records += reconRecords(user: "split", host: "pc2", kinds: ["recon_cmd_c"], start: monday + 2 * minute, step: minute)
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "Recon")
        #expect(alerts.count == 1)
        #expect((StageHarness.detector(alerts[0])["group"] as? [String: Any])?["User"] as? String == "any-order")
    }

    @Test func temporalOrdered() {
        let yaml = CorrelationConformanceTests.recon + "\n---\n" + """
            title: Recon ordered
            correlation:
                type: temporal_ordered
                rules:
                    - recon_cmd_a
                    - recon_cmd_b
                    - recon_cmd_c
                group-by:
                    - ComputerName
                    - User
                timespan: 5m
            """
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        records += reconRecords(user: "in-order", kinds: ["recon_cmd_a", "recon_cmd_b", "recon_cmd_c"], start: monday, step: minute)
        records += reconRecords(user: "reversed", kinds: ["recon_cmd_c", "recon_cmd_b", "recon_cmd_a"], start: monday, step: minute)
        records += reconRecords(user: "swapped", kinds: ["recon_cmd_a", "recon_cmd_c", "recon_cmd_b"], start: monday, step: minute)
        records += reconRecords(user: "interleaved", kinds: ["recon_cmd_b", "recon_cmd_a", "recon_cmd_c", "recon_cmd_b", "recon_cmd_c"], start: monday, step: minute)
        records += reconRecords(user: "too-slow", kinds: ["recon_cmd_a", "recon_cmd_b", "recon_cmd_c"], start: monday, step: 3 * minute)
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let users = Set(harness.alerts(of: "Recon ordered").compactMap { (StageHarness.detector($0)["group"] as? [String: Any])?["User"] as? String })
        #expect(users == ["in-order", "interleaved"])
        #expect(harness.alerts(of: "Recon ordered").count == 2)
    }

    @Test func valueSum() {
        let yaml = baseRule(id: "website_access", name: "website_access", kind: "web") + "\n---\n" + """
            title: Possible Exfiltration to Website
            correlation:
                type: value_sum
                rules:
                    - website_access
                group-by:
                    - SourceIP
                    - User
                timespan: 1h
                condition:
                    field: bytes_sent
                    gt: 1000000
            """
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        for k in 0..<4 {
            let t = monday + Int64(k) * 10 * minute
            records.append((t, kindRecord("web", at: t, ["SourceIP": "10.0.0.1", "User": "exfil"], numbers: ["bytes_sent": 250_001])))
            records.append((t, kindRecord("web", at: t, ["SourceIP": "10.0.0.2", "User": "under"], numbers: ["bytes_sent": 250_000])))
            let slow = monday + Int64(k) * 35 * minute
            records.append((slow, kindRecord("web", at: slow, ["SourceIP": "10.0.0.3", "User": "slow"], numbers: ["bytes_sent": 400_000])))
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "Possible Exfiltration to Website")
        #expect(alerts.count == 1)
        #expect((StageHarness.detector(alerts[0])["group"] as? [String: Any])?["User"] as? String == "exfil")
        #expect(StageHarness.detector(alerts[0])["value"] as? Double == 1_000_004)
    }

    @Test func valueAvg() {
        let yaml = baseRule(id: "rule_a_id", kind: "traffic") + "\n---\n" + """
            title: Suspicious average network traffic
            correlation:
                type: value_avg
                rules:
                    - rule_a_id
                group-by:
                    - SourceIP
                    - User
                timespan: 24h
                condition:
                    field: BytesOut
                    gt: 500
            """
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        for (k, bytes) in [400.0, 400, 900].enumerated() {
            let t = monday + Int64(k) * hour
            records.append((t, kindRecord("traffic", at: t, ["SourceIP": "10.1.1.1", "User": "heavy"], numbers: ["BytesOut": bytes])))
        }
        for (k, bytes) in [400.0, 600].enumerated() {
            let t = monday + Int64(k) * hour
            records.append((t, kindRecord("traffic", at: t, ["SourceIP": "10.1.1.2", "User": "even"], numbers: ["BytesOut": bytes])))
        }
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "Suspicious average network traffic")
        #expect(alerts.count == 1)
        let detector = StageHarness.detector(alerts[0])
        #expect((detector["group"] as? [String: Any])?["User"] as? String == "heavy")
        #expect(abs((detector["value"] as? Double ?? 0) - 1700.0 / 3) < 1e-9)
        #expect(alerts[0].time == monday + 2 * hour)
    }

    @Test func valuePercentile() {
        let yaml = baseRule(id: "process_creation", name: "process_creation", kind: "process") + "\n---\n" + """
            title: A computer spawned a processes name in the last 24h than 1% of all the processes.
            correlation:
                type: value_percentile
                rules:
                    - process_creation
                group-by:
                    - ComputerName
                timespan: 24h
                condition:
                    field: Image
                    lte: 1
            """
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        for k in 0..<200 {
            let t = monday + Int64(k) * 5 * minute
            let image = k == 77 ? "mimikatz.exe" : ["svchost.exe", "explorer.exe"][k % 2]
            records.append((t, kindRecord("process", at: t, ["ComputerName": "pc-rare", "Image": image])))
            records.append((t, kindRecord("process", at: t, ["ComputerName": "pc-plain", "Image": ["svchost.exe", "explorer.exe"][k % 2]])))
        }
        // Something a day later, so that event time passes the end of the first windows.
        records.append((monday + 2 * day, kindRecord("process", at: monday + 2 * day, ["ComputerName": "pc-later", "Image": "a.exe"])))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "A computer spawned a processes name in the last 24h than 1% of all the processes.")
        #expect(alerts.count == 1)
        let detector = StageHarness.detector(alerts[0])
        #expect((detector["group"] as? [String: Any])?["ComputerName"] as? String == "pc-rare")
        let values = detector["values"] as? [[String: Any]] ?? []
        #expect(values.count == 1 && values.first?["value"] as? String == "mimikatz.exe" && values.first?["percent"] as? Double == 0.5)
        #expect(alerts[0].time == monday + day, "judged when the window ends")
        // The evidence is the rare event itself.
        #expect(((StageHarness.event(alerts[0])?["raw"] as? [String: Any])?["Image"] as? String) == "mimikatz.exe")
    }

    /// The specification's complete example: failed logins (event_count) followed by a successful login
    /// (temporal_ordered), chained by name, in one multi-document file.
    static let bruteForce = """
        title: Correlation - Multiple Failed Logins Followed by Successful Login
        id: b180ead8-d58f-40b2-ae54-c8940995b9b6
        status: experimental
        description: Detects multiple failed logins by a single user followed by a successful login of that user
        references:
            - https://reference.com
        author: Florian Roth (Nextron Systems)
        date: 2023-06-16
        correlation:
            type: temporal_ordered
            rules:
                - multiple_failed_login
                - successful_login
            group-by:
                - User
            timespan: 10m
        falsepositives:
            - Unlikely
        level: high
        ---
        title: Multiple failed logons
        id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
        description: Detects multiple failed logins within a certain amount of time
        name: multiple_failed_login
        correlation:
            type: event_count
            rules:
                - failed_login
            group-by:
                - User
            timespan: 10m
            condition:
                gte: 10
        ---
        title: Single failed login
        id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
        name: failed_login
        logsource:
            product: aws
            service: cloudtrail
        detection:
            selection:
                EventID:
                    - 529
                    - 4625
            condition: selection
        ---
        title: Successful login
        id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
        description: Detects a successful login
        name: successful_login
        logsource:
            product: aws
            service: cloudtrail
        detection:
            selection:
                EventID:
                    - 528
                    - 4624
            condition: selection
        """

    static func login(_ user: String, _ eventID: Int, at time: Int64) -> (Int64, String) {
        (time, trail(at: time, user: user, id: "login-\(user)-\(time)-\(eventID)", extra: #""EventID":\#(eventID),"User":"\#(user)""#))
    }

    @Test func chainedCorrelationsOfTheSpecificationExample() {
        let harness = StageHarness(CorrelationConformanceTests.bruteForce)
        var records: [(Int64, String)] = []
        // alice: ten failures in five minutes, then a success: the attack.
        for k in 0..<10 { records.append(Self.login("alice", k % 2 == 0 ? 4625 : 529, at: monday + Int64(k) * 30 * second)) }
        records.append(Self.login("alice", 4624, at: monday + 6 * minute))
        // bob: a success, then ten failures.
        records.append(Self.login("bob", 4624, at: monday))
        for k in 0..<10 { records.append(Self.login("bob", 4625, at: monday + minute + Int64(k) * 10 * second)) }
        // carol: nine failures, then a success.
        for k in 0..<9 { records.append(Self.login("carol", 4625, at: monday + Int64(k) * 10 * second)) }
        records.append(Self.login("carol", 4624, at: monday + 3 * minute))
        // dave: ten failures, and the success 20 minutes later.
        for k in 0..<10 { records.append(Self.login("dave", 4625, at: monday + Int64(k) * 10 * second)) }
        records.append(Self.login("dave", 4624, at: monday + 25 * minute))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        #expect(harness.alerts.count == 1, "only the outermost correlation alerts: \(harness.alerts.map(\.rule.id))")
        let alert = harness.alerts[0]
        #expect(alert.rule.id == "b180ead8-d58f-40b2-ae54-c8940995b9b6")
        #expect(alert.rule.level == .high)
        #expect(alert.time == monday + 6 * minute)
        #expect((StageHarness.detector(alert)["group"] as? [String: Any])?["User"] as? String == "alice")
        #expect(alert[.actorUser]?.hasSuffix("user/alice") == true, "the successful login is the evidence")
        #expect(((StageHarness.event(alert)?["raw"] as? [String: Any])?["EventID"] as? Int) == 4624)
    }

    @Test func evidenceFromTheFirstStep() {
        let yaml = CorrelationConformanceTests.bruteForce.replacingOccurrences(of: "level: high\n", with: "level: high\nevidence: first\n")
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        for k in 0..<10 { records.append(Self.login("alice", 4625, at: monday + Int64(k) * 30 * second)) }
        records.append(Self.login("alice", 4624, at: monday + 6 * minute))
        harness.feed(records.map(\.1))
        harness.finish()
        #expect(harness.alerts.count == 1)
        // The tenth failure completed the inner event_count: its event is the evidence; the time is the success's.
        #expect(harness.alerts.first?[.uid] == "login-alice-\(monday + 9 * 30 * second)-4625")
        #expect(harness.alerts.first?.time == monday + 6 * minute)
        // Only temporal_ordered takes it.
        let refused = RuleSet(yaml: CorrelationConformanceTests.bruteForce
            + "\n---\ntitle: c\ncorrelation: {type: event_count, rules: [successful_login], timespan: 1h, condition: {gte: 2}}\nevidence: first\n")
        #expect(refused.problems.map(\.reason) == ["evidence: first is for temporal_ordered correlations"])
    }

    /// `group-by: [field|prefix]` (Pipewatch extension): refused where it has no meaning, with the group-by's line.
    @Test func prefixGroupByOnlyInTemporalOrdered() {
        func problems(_ correlation: String) -> [String] {
            RuleSet(yaml: CorrelationConformanceTests.bruteForce + "\n---\ntitle: c\ncorrelation:\n" + correlation)
                .problems.map { "\($0.line): \($0.reason)" }
        }
        let line = CorrelationConformanceTests.bruteForce.split(separator: "\n", omittingEmptySubsequences: false).count + 7  // the list's line
        #expect(problems("    type: event_count\n    rules: [successful_login]\n    group-by:\n        - User|prefix\n    timespan: 1h\n    condition: {gte: 2}\n")
            == ["\(line): group-by 'User|prefix': |prefix is for temporal_ordered correlations (the first rule names the prefix)"])
        #expect(problems("    type: temporal_ordered\n    rules: [failed_login, successful_login]\n    group-by:\n        - User|startswith\n    timespan: 1h\n")
            == ["\(line): group-by 'User|startswith': the only group-by modifier is |prefix"])
        #expect(problems("    type: temporal_ordered\n    rules: [failed_login, successful_login]\n    group-by: [User|prefix, ComputerName|prefix]\n    timespan: 1h\n")
            == ["\(line - 1): group-by 'ComputerName|prefix': only one group-by field can be a prefix"])
        #expect(problems("    type: temporal_ordered\n    rules: [failed_login, successful_login]\n    group-by: [ComputerName, User|prefix]\n    timespan: 1h\n").isEmpty)
    }

    @Test func generateMakesReferencedRulesAlertToo() {
        let yaml = CorrelationConformanceTests.bruteForce.replacingOccurrences(of: "level: high\n", with: "level: high\ngenerate: true\n")
        let harness = StageHarness(yaml)
        let records = [Self.login("erin", 4625, at: monday), Self.login("erin", 4624, at: monday + minute)]
        harness.feed(records.map(\.1))
        harness.finish()
        // The outer correlation generates its referenced rules: the inner correlation (no match here) and, through
        // it, not the base rule; the success rule is referenced by the outer one directly.
        #expect(harness.alerts(of: "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8").count == 1)
        #expect(harness.alerts(of: "53ba33fd-3a50-4468-a5ef-c583635cfa92").isEmpty)
    }

    /// The specification's field name aliases example.
    @Test func aliases() {
        let yaml = """
            title: internal error
            name: internal_error
            logsource: {product: aws, service: cloudtrail}
            detection:
                selection:
                    http.response.status_code: 500
                condition: selection
            ---
            title: new network connection
            name: new_network_connection
            logsource: {product: aws, service: cloudtrail}
            detection:
                selection:
                    event.category: network
                    event.type: connection
                    event.outcome: success
                condition: selection
            ---
            title: —
            id: —
            correlation:
                type: temporal
                rules:
                    - internal_error
                    - new_network_connection
                group-by:
                    - internal_ip
                    - remote_ip
                timespan: 10s
                aliases:
                    internal_ip:
                        internal_error: destination.ip
                        new_network_connection: source.ip
                    remote_ip:
                        internal_error: source.ip
                        new_network_connection: destination.ip
            """
        let harness = StageHarness(yaml)
        func error(_ from: String, _ to: String, _ t: Int64) -> String {
            trail(at: t, id: "e-\(from)-\(to)-\(t)", extra: #""http":{"response":{"status_code":500}},"source":{"ip":"\#(from)"},"destination":{"ip":"\#(to)"}"#)
        }
        func connection(_ from: String, _ to: String, _ t: Int64) -> String {
            trail(at: t, id: "c-\(from)-\(to)-\(t)", extra: #""event":{"category":"network","type":"connection","outcome":"success"},"source":{"ip":"\#(from)"},"destination":{"ip":"\#(to)"}"#)
        }
        harness.feed([
            // 10.0.0.5 answers 500 to 203.0.113.9, then itself connects to 203.0.113.9: the pattern.
            error("203.0.113.9", "10.0.0.5", monday),
            connection("10.0.0.5", "203.0.113.9", monday + 3 * second),
            // Same addresses the other way round: no.
            error("203.0.113.7", "10.0.0.6", monday),
            connection("203.0.113.7", "10.0.0.6", monday + 3 * second),
            // Too far apart.
            error("203.0.113.8", "10.0.0.7", monday),
            connection("10.0.0.7", "203.0.113.8", monday + 30 * second),
        ])
        harness.finish()
        let alerts = harness.alerts(of: "—")
        #expect(alerts.count == 1)
        let group = StageHarness.detector(alerts.first!)["group"] as? [String: Any]
        #expect(group?["internal_ip"] as? String == "10.0.0.5" && group?["remote_ip"] as? String == "203.0.113.9")
    }

    @Test func rangesAreJudgedOnCompleteWindows() {
        let yaml = baseRule(id: "ev", name: "ev", kind: "call") + "\n---\n" + """
            title: a few calls
            correlation:
                type: event_count
                rules: [ev]
                group-by: [User]
                timespan: 10m
                condition:
                    gt: 2
                    lte: 4
            """
        let harness = StageHarness(yaml)
        var records: [(Int64, String)] = []
        for (user, count) in [("one", 1), ("three", 3), ("four", 4), ("six", 6)] {
            for k in 0..<count {
                let t = monday + Int64(k) * minute
                records.append((t, kindRecord("call", at: t, ["User": user])))
            }
        }
        records.append((monday + hour, kindRecord("call", at: monday + hour, ["User": "clock"])))
        harness.feed(records.sorted { $0.0 < $1.0 }.map(\.1))
        harness.finish()
        let alerts = harness.alerts(of: "a few calls")
        let users = Set(alerts.compactMap { (StageHarness.detector($0)["group"] as? [String: Any])?["User"] as? String })
        #expect(users == ["three", "four"])
        #expect(alerts.allSatisfy { $0.time == monday + 10 * minute })
        #expect(alerts.allSatisfy { StageHarness.detector($0)["condition"] as? String == "gt 2 and lte 4" })
    }

    @Test func notEqualAndWindowsThatOpenAgain() {
        let yaml = baseRule(id: "ev", name: "ev", kind: "call") + "\n---\n" + """
            title: not exactly one
            correlation:
                type: event_count
                rules: [ev]
                group-by: [User]
                timespan: 10m
                condition:
                    neq: 1
            """
        let harness = StageHarness(yaml)
        let times: [Int64] = [0, 2, 30, 50, 52, 53].map { monday + $0 * minute }
        harness.feed(times.map { kindRecord("call", at: $0, ["User": "u"]) } + [kindRecord("call", at: monday + 2 * hour, ["User": "v"])])
        harness.finish()
        // Windows [0,10] has 2 events, [30,40] has 1, [50,60] has 3: two alerts.
        let values = harness.alerts(of: "not exactly one").map { StageHarness.detector($0)["value"] as? Double }
        #expect(values == [2, 3])
    }

    @Test func correlationAlertsAreDeterministicAndFormattable() throws {
        func run() -> [Alert] {
            let harness = StageHarness(CorrelationConformanceTests.bruteForce)
            var records: [(Int64, String)] = []
            for k in 0..<10 { records.append(Self.login("alice", 4625, at: monday + Int64(k) * 30 * second)) }
            records.append(Self.login("alice", 4624, at: monday + 6 * minute))
            harness.feed(records.map(\.1))
            harness.finish()
            return harness.alerts
        }
        let first = run()
        let again = run()
        #expect(first.count == 1 && first.map(\.uid) == again.map(\.uid))
        #expect(first[0].uid.count == 36)
        let ocsf = try #require(try JSONSerialization.jsonObject(with: Data(OCSFDetectionFinding.format(first[0]))) as? [String: Any])
        let analytic = (ocsf["finding_info"] as? [String: Any])?["analytic"] as? [String: Any]
        #expect(analytic?["uid"] as? String == "b180ead8-d58f-40b2-ae54-c8940995b9b6")
        #expect(String(decoding: CEFFormatter.format(first[0]), as: UTF8.self).hasPrefix("CEF:0|Pipewatch|Pipewatch|"))
    }
}

@Suite struct CorrelationLoaderTests {
    func problems(_ yaml: String) -> [String] { RuleSet(yaml: yaml, file: "c.yml").problems.map(\.description) }

    static let base = baseRule(id: "b", name: "b", kind: "x")

    @Test func refusesWhatTheSpecificationRequires() {
        let cases: [(String, String)] = [
            ("correlation: {type: event_count, rules: [b], group-by: [u], condition: {gte: 2}}", "the correlation has no timespan"),
            ("correlation: {type: event_count, rules: [b], group-by: [u], timespan: 1h}", "a event_count correlation needs a condition"),
            ("correlation: {type: sometimes, rules: [b], timespan: 1h}", "correlation type 'sometimes' is not one of"),
            ("correlation: {type: event_count, rules: [b], timespan: 1x, condition: {gte: 2}}", "timespan '1x' is not a duration"),
            ("correlation: {type: event_count, rules: [b], timespan: 1h, condition: {over: 2}}", "unknown condition 'over'"),
            ("correlation: {type: value_count, rules: [b], timespan: 1h, condition: {gte: 2}}", "needs condition.field"),
            ("correlation: {type: event_count, rules: [b], timespan: 1h, condition: {gte: many}}", "condition gte must be a number"),
            ("correlation: {type: temporal_ordered, rules: [b], timespan: 1h, condition: {gte: 1}}", "takes no condition"),
            ("correlation: {type: event_count, rules: [nope], timespan: 1h, condition: {gte: 2}}", "references 'nope', which is not loaded"),
            ("correlation: {type: event_count, rules: [b], timespan: 1h, condition: {gte: 2}, window: 3}", "unknown key 'window' in correlation"),
            ("correlation: {type: value_percentile, rules: [b], timespan: 1h, condition: {field: f, lte: 200}}", "a percentage, from 0 to 100"),
        ]
        for (section, expected) in cases {
            let found = problems(Self.base + "\n---\ntitle: c\n" + section)
            #expect(found.count == 1 && found[0].contains(expected), "\(section): \(found)")
            #expect(found.first?.hasPrefix("c.yml:") == true)
        }
    }

    @Test func detectorChoicesNameTheirCases() {
        let cases: [(String, String)] = [
            ("type: volume, rules: [b], bucket: 1h, baseline: median", "baseline must be ewma or seasonal"),
            ("type: volume, rules: [b], bucket: 1h, direction: sideways", "direction must be up, down or both"),
            ("type: drift, rules: [b], field: f, bucket: 1h, metric: kl", "metric must be psi or js"),
            ("type: outside_hours, rules: [b], profile: monthly", "profile must be daily or weekly"),
        ]
        for (section, expected) in cases {
            let found = problems(Self.base + "\n---\ntitle: d\nid: d\ndetector: {" + section + "}")
            #expect(found.count == 1 && found[0].hasPrefix("c.yml:") && found[0].contains(expected), "\(section): \(found)")
        }
    }

    @Test func cyclesAreRefused() {
        let yaml = Self.base + """

            ---
            title: one
            name: one
            correlation: {type: temporal, rules: [b, two], group-by: [u], timespan: 1h}
            ---
            title: two
            name: two
            correlation: {type: temporal, rules: [b, one], group-by: [u], timespan: 1h}
            """
        #expect(problems(yaml).count == 2 && problems(yaml).allSatisfy { $0.contains("references itself") })
    }

    @Test func lenientLoadingSkipsCorrelationsOfMissingRules() {
        let yaml = """
            title: windows rule
            id: w1
            logsource: {product: windows, service: security}
            detection: {selection: {EventID: 4625}, condition: selection}
            ---
            title: brute force
            name: inner
            correlation: {type: event_count, rules: [w1], group-by: [User], timespan: 1h, condition: {gte: 5}}
            ---
            title: outer
            correlation: {type: temporal, rules: [inner], group-by: [User], timespan: 1h}
            """
        let lenient = RuleSet(yaml: yaml, options: RuleLoadOptions(skipUnsupported: true))
        #expect(lenient.problems.isEmpty)
        #expect(lenient.correlations.isEmpty)
        #expect(lenient.skipped.count == 3, "the rule, the correlation on it, and the one on that: \(lenient.skipped)")
    }

    @Test func referencesResolveByIdOrNameAcrossDocuments() {
        let yaml = """
            title: c
            correlation: {type: temporal, rules: [later-id, later_name], group-by: [u], timespan: 1h}
            ---
            \(baseRule(id: "later-id", kind: "a"))
            ---
            \(baseRule(id: "other", name: "later_name", kind: "b"))
            """
        let set = RuleSet(yaml: yaml)
        #expect(set.problems.isEmpty, "\(set.problems)")
        #expect(set.correlations.first?.inputs == [.rule(0), .rule(1)])
    }
}

/// The correlation examples of the specification's schema tests, verbatim: each loads, with stub rules for the
/// names and ids it references.
@Suite struct SpecificationExampleTests {
    static let examples: [(file: String, yaml: String)] = [
        ("event_count.yml", """
            title: Many failed logins
            id: 0e95725d-7320-415d-80f7-004da920fc11
            correlation:
                type: event_count
                rules:
                    - 5638f7c0-ac70-491d-8465-2a65075e0d86
                group-by:
                    - ComputerName
                timespan: 1h
                condition:
                    gte: 100
            """),
        ("event_count_ecs.yml", """
            title: Many failed logins
            id: 0e95725d-7320-415d-80f7-004da920fc11
            taxonomy: ecs
            correlation:
                type: event_count
                rules:
                    - 5638f7c0-ac70-491d-8465-2a65075e0d86
                group-by:
                    - dns.question.name
                timespan: 1h
                condition:
                    gte: 100
            """),
        ("temporal.yml", """
            title: Recon
            correlation:
                type: temporal
                rules:
                    - recon_cmd_a
                    - recon_cmd_b
                    - recon_cmd_c
                group-by:
                    - ComputerName
                    - User
                timespan: 5m
            """),
        ("temporal_ordered.yml", """
            title: Recon ordered
            correlation:
                type: temporal_ordered
                rules:
                    - recon_cmd_a
                    - recon_cmd_b
                    - recon_cmd_c
                group-by:
                    - ComputerName
                    - User
                timespan: 5m
            """),
        ("value_avg.yml", """
            title: Suspicious average network traffic
            correlation:
                type: value_avg
                rules: 
                    - rule_a_id
                group-by:
                    - SourceIP
                    - User
                timespan: 24h
                condition:
                    field: BytesOut
                    gt: 500
            """),
        ("value_count.yml", """
            title: Failed login
            id: 0e95725d-7320-415d-80f7-004da920fc12
            correlation:
                type: value_count
                rules:
                    - 5638f7c0-ac70-491d-8465-2a65075e0d86
                group-by:
                    - ComputerName
                    - WorkstationName
                timespan: 1d
                condition:
                    field: User
                    gte: 100
            """),
        ("value_percentile.yml", """
            title: A computer spawned a processes name in the last 24h than 1% of all the processes.
            correlation:
                type: value_percentile
                rules: 
                    - process_creation
                group-by:
                    - ComputerName
                timespan: 24h
                condition:
                    field: Image
                    lte: 1
            """),
        ("value_sum.yml", """
            title: Possible Exfiltration to Website
            correlation:
                type: value_sum
                rules:
                    - website_access
                group-by:
                    - SourceIP
                    - User
                timespan: 1h
                condition:
                    field: bytes_sent
                    gt: 1000000
            """),
    ]

    static let stubs = [baseRule(id: "5638f7c0-ac70-491d-8465-2a65075e0d86", kind: "failed_login")]
        + ["recon_cmd_a", "recon_cmd_b", "recon_cmd_c", "rule_a_id", "website_access", "process_creation"]
        .map { baseRule(id: "stub-\($0)", name: $0, kind: $0) }

    @Test(arguments: examples.map(\.file))
    func loadsUnchanged(file: String) throws {
        let yaml = try #require(Self.examples.first { $0.file == file }?.yaml)
        let set = RuleSet(yaml: yaml + "\n---\n" + Self.stubs.joined(separator: "\n---\n"), file: file)
        #expect(set.problems.isEmpty, "\(set.problems)")
        let correlation = try #require(set.correlations.first)
        #expect(correlation.type.rawValue == file.replacingOccurrences(of: "_ecs", with: "").replacingOccurrences(of: ".yml", with: ""))
        #expect(correlation.inputs.count == correlation.ruleNames.count && !correlation.inputs.isEmpty)
        // And runs: a stage builds from it.
        #expect(DetectorStage(ruleSet: set).operatorCount == 1)
    }
}
