import Foundation
import PipewatchEvents
import PipewatchOutput
import Testing

@Suite struct ECSTests {
    @Test func hostileCloudTrailDocument() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail())
        let doc = try jsonObject(ECSFormatter.format(alert))
        #expect(doc["@timestamp"] as? String == "2026-11-03T10:07:00.123Z")
        #expect((doc["ecs"] as? [String: Any])?["version"] as? String == "8.11.0")
        #expect(doc["message"] as? String == alert.rule.title)
        let event = try #require(doc["event"] as? [String: Any])
        #expect(event["kind"] as? String == "alert")
        #expect(event["category"] as? [String] == ["intrusion_detection"])
        #expect(event["type"] as? [String] == ["info"])
        #expect(event["outcome"] as? String == alert.outcome.name)
        #expect(["success", "failure", "unknown"].contains(event["outcome"] as? String ?? ""))
        #expect(event["dataset"] as? String == "aws.cloudtrail")
        #expect(event["id"] as? String == alert.uid)
        #expect(event["action"] as? String == "CreateTrainingJob")
        #expect(event["severity"] as? Int == 8)
        let rule = try #require(doc["rule"] as? [String: Any])
        #expect(rule["id"] as? String == #"R|1=\x"#)
        #expect(rule["name"] as? String == alert.rule.title)
        #expect(rule["description"] as? String == alert.rule.description)
        #expect(rule["reference"] as? String == "https://example.com/r?a=b|c")
        #expect(rule["ruleset"] as? String == "pipewatch")
        #expect(rule["severity"] as? String == "high")
        #expect(rule["author"] as? [String] == ["Zoë"])
        #expect((doc["user"] as? [String: Any])?["name"] as? String == #"arn:aws:iam::111122223333:user/ops=admin|x\y"#)
        #expect((doc["source"] as? [String: Any])?["ip"] as? String == "198.51.100.7")
        #expect((doc["user_agent"] as? [String: Any])?["original"] as? String == alert[.userAgent])
        #expect((doc["user_agent"] as? [String: Any])?["original"] as? String == "a|b=c\\d]e \"q\" \n2nd\r\n3rd\t4th Zoë 模型 🚀")
        let cloud = try #require(doc["cloud"] as? [String: Any])
        #expect(cloud["provider"] as? String == "aws")
        #expect(cloud["region"] as? String == "us-east-1")
        #expect((cloud["account"] as? [String: Any])?["id"] as? String == "111122223333")
        #expect(doc["orchestrator"] == nil)
        let threat = try #require(doc["threat"] as? [String: Any])
        #expect(threat["framework"] as? String == "MITRE ATT&CK")
        let technique = try #require(threat["technique"] as? [String: Any])
        #expect(technique["id"] as? [String] == ["T1078"])
        #expect(technique["name"] as? [String] == ["Valid Accounts"])
        #expect((technique["subtechnique"] as? [String: Any])?["id"] as? [String] == ["T1078.004"])
        #expect((technique["subtechnique"] as? [String: Any])?["name"] as? [String] == ["Cloud Accounts"])
        #expect((threat["tactic"] as? [String: Any])?["name"] as? [String] == ["Defense Evasion"])
        #expect((threat["tactic"] as? [String: Any])?["id"] as? [String] == ["TA0005"])
        let embedded = try #require((doc["pipewatch"] as? [String: Any])?["event"] as? [String: Any])
        #expect(NSDictionary(dictionary: embedded).isEqual(to: try jsonObject(alert.eventJSON)))
        // related.user: the user, then the person (the principal is the user's ARN: not repeated).
        #expect((doc["related"] as? [String: Any])?["user"] as? [String] == [#"arn:aws:iam::111122223333:user/ops=admin|x\y"#, "ops"])
    }

    @Test func kubernetesDocumentHasOrchestratorFields() throws {
        let alert = try makeAlert(HostileRecords.kubernetes)
        let doc = try jsonObject(ECSFormatter.format(alert))
        let orchestrator = try #require(doc["orchestrator"] as? [String: Any])
        #expect(orchestrator["type"] as? String == "kubernetes")
        #expect(orchestrator["namespace"] as? String == "kube-flow")
        let resource = try #require(orchestrator["resource"] as? [String: Any])
        #expect(resource["type"] as? String == "secrets")
        #expect(resource["name"] as? String == #"db=creds|a\b]"#)
        #expect((doc["source"] as? [String: Any])?["ip"] as? String == "2001:db8::7")
        #expect((doc["event"] as? [String: Any])?["dataset"] as? String == "k8s.audit")
        #expect((doc["user"] as? [String: Any])?["name"] as? String == #"system:serviceaccount:ci=x|y:bot\z"#)
    }

    @Test func nonIPSourceIsAnAddressOnly() throws {
        let alert = try makeAlert(HostileRecords.mlflow)
        let doc = try jsonObject(ECSFormatter.format(alert))
        let source = try #require(doc["source"] as? [String: Any])
        #expect(source["ip"] == nil)
        #expect(source["address"] as? String == "fe80::1%eth0")
        #expect((doc["related"] as? [String: Any])?["ip"] == nil)
    }

    @Test func longValuesSurviveIntact() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail(userAgent: HostileRecords.long))
        let doc = try jsonObject(ECSFormatter.format(alert))
        #expect((doc["user_agent"] as? [String: Any])?["original"] as? String == alert[.userAgent])
        #expect(!ECSFormatter.format(alert).contains(0x0A))
    }
}

@Suite struct SplunkHECTests {
    @Test func envelopeCarriesTheFindingAndIndexedFields() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail())
        let hec = SplunkHECFormatter(host: "sensor-01|\"x\"", sourcetype: "pipewatch:alert", index: "security")
        let bytes = hec.format(alert)
        let line = text(bytes)
        #expect(line.hasPrefix(#"{"time":1793700420.123,"host":"sensor-01|\"x\"","source":"pipewatch","sourcetype":"pipewatch:alert","index":"security","event":{"#))
        #expect(!bytes.contains(0x0A))
        let object = try jsonObject(bytes)
        #expect(Set(object.keys) == ["time", "host", "source", "sourcetype", "index", "event", "fields"])
        #expect((object["time"] as? Double).map { abs($0 - 1_793_700_420.123) < 0.0005 } == true)
        let event = try #require(object["event"] as? [String: Any])
        // The finding is embedded byte for byte.
        #expect(line.contains(#""event":"# + text(OCSFDetectionFinding.format(alert)) + #","fields":"#))
        #expect(event["finding_info"] != nil && event["evidences"] != nil)
        #expect(event["class_uid"] as? Int == 2004)
        let fields = try #require(object["fields"] as? [String: String])
        #expect(fields == ["rule_id": #"R|1=\x"#, "severity": "high", "event_source": "aws.cloudtrail"])
    }

    @Test func indexIsOptionalAndBatchesAreConcatenations() throws {
        let a = try makeAlert(HostileRecords.kubernetes)
        let b = try makeAlert(HostileRecords.mlflow)
        let hec = SplunkHECFormatter(host: "h")
        let object = try jsonObject(hec.format(a))
        #expect(object["index"] == nil)
        #expect(object["sourcetype"] as? String == "pipewatch:alert")
        #expect(text(hec.format(a)).hasPrefix(#"{"time":1793700000.000,"#))
        // Two envelopes back to back, as a /services/collector/event body.
        let batch = hec.format(a) + hec.format(b)
        let text = String(decoding: batch, as: UTF8.self)
        #expect(text.contains(#"}{"time":"#))
    }

    @Test func timeIsFixedPointSeconds() {
        #expect(SplunkHECFormatter.epochSeconds(milliseconds: 1_700_000_000_123) == "1700000000.123")
        #expect(SplunkHECFormatter.epochSeconds(milliseconds: 1_700_000_000_456) == "1700000000.456")
        #expect(SplunkHECFormatter.epochSeconds(milliseconds: 1_700_000_000_000) == "1700000000.000")
        #expect(SplunkHECFormatter.epochSeconds(milliseconds: 5) == "0.005")
        #expect(SplunkHECFormatter.epochSeconds(milliseconds: -1500) == "-1.500")
    }
}

@Suite struct AlertFormatTests {
    @Test func everyFormatDispatches() throws {
        let alert = try makeAlert(HostileRecords.plainCloudTrail, rule: HostileRecords.plainRule)
        #expect(AlertFormat.allCases.map(\.rawValue) == ["ocsf", "cef", "leef", "ecs", "hec"])
        #expect(AlertFormat.ocsf.format(alert) == OCSFDetectionFinding.format(alert))
        #expect(AlertFormat.cef.format(alert) == CEFFormatter.format(alert))
        #expect(AlertFormat.leef.format(alert) == LEEFFormatter.format(alert))
        #expect(AlertFormat.ecs.format(alert) == ECSFormatter.format(alert))
        let hec = try jsonObject(AlertFormat.hec.format(alert))
        #expect(hec["host"] as? String == ProcessInfo.processInfo.hostName)
        #expect(hec["sourcetype"] as? String == "pipewatch:alert")
        #expect(AlertFormat(rawValue: "leef") == .leef)
    }

    @Test func severityTable() {
        #expect(Severity.allCases.map(\.cefSeverity) == [1, 3, 5, 8, 10])
        #expect(Severity.allCases.map(\.leefSeverity) == [1, 3, 5, 8, 10])
        #expect(Severity.allCases.map(\.syslogSeverity) == [6, 5, 4, 3, 2])
        #expect(Severity.allCases.map(\.ocsfID) == [1, 2, 3, 4, 5])
    }
}
