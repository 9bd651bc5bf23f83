import Foundation
import PipewatchEvents
import PipewatchOutput
import Testing

@Suite struct OCSFTests {
    let rule = AlertRule(
        id: "5f0e8d6e-4b8a-4b1e-9d3a-2c1f0a9b7e61", title: "Training job \"without\" isolation", level: .high,
        description: "desc", tags: ["attack.t1078.004", "attack.defense-evasion", "attack.g0016"])

    @Test func detectionFindingHasTheRequiredShape() throws {
        let alert = try makeAlert(SampleRecords.cloudTrail(7), rule: rule)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(OCSFDetectionFinding.format(alert))) as? [String: Any])
        #expect(object["class_uid"] as? Int == 2004)
        #expect(object["activity_id"] as? Int == 1)
        #expect(object["type_uid"] as? Int == 200401)
        #expect(object["category_uid"] as? Int == 2)
        #expect(object["severity_id"] as? Int == 4)
        #expect(object["time"] as? Int == 1_793_700_420_000)  // 2026-11-03T10:07:00Z
        let info = try #require(object["finding_info"] as? [String: Any])
        #expect(info["title"] as? String == rule.title)
        #expect((info["uid"] as? String)?.count == 36)
        let analytic = try #require(info["analytic"] as? [String: Any])
        #expect(analytic["uid"] as? String == rule.id && analytic["name"] as? String == rule.title && analytic["type_id"] as? Int == 1)
        // One entry: the technique with the one tactic the rule tags that ATT&CK lists it under; the group tag is
        // no attack.
        let attacks = try #require(info["attacks"] as? [[String: Any]])
        #expect(attacks.count == 1)
        #expect(attacks[0]["technique"] as? [String: String] == ["uid": "T1078", "name": "Valid Accounts"])
        #expect(attacks[0]["sub_technique"] as? [String: String] == ["uid": "T1078.004", "name": "Cloud Accounts"])
        #expect(attacks[0]["tactic"] as? [String: String] == ["uid": "TA0005", "name": "Defense Evasion"])
        #expect(attacks[0]["version"] as? String == "v18.1")
        #expect(object["is_alert"] == nil, "OCSF 1.4's, not 1.1's")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect((metadata["product"] as? [String: Any])?["name"] as? String == "Pipewatch")
        #expect(metadata["version"] as? String == "1.1.0")
        let evidence = try #require((object["evidences"] as? [[String: Any]])?.first)
        let data = try #require(evidence["data"] as? [String: Any])
        #expect((data["api"] as? [String: Any])?["operation"] as? String == "CreateTrainingJob")
        #expect((data["raw"] as? [String: Any])?["eventID"] as? String == "evt-7")
        #expect((evidence["src_endpoint"] as? [String: Any])?["ip"] as? String == "198.51.100.7")
        #expect((object["cloud"] as? [String: Any])?["region"] as? String == "us-east-1")
    }

    @Test func actorCarriesTheSessionAndTheEvidenceTheIdentityFields() throws {
        let alert = try makeAlert(SampleRecords.cloudTrail(7), rule: rule)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(OCSFDetectionFinding.format(alert))) as? [String: Any])
        let evidence = try #require((object["evidences"] as? [[String: Any]])?.first)
        let actor = try #require(evidence["actor"] as? [String: Any])
        #expect((actor["user"] as? [String: Any])?["uid"] as? String == "arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/run-7")
        #expect((actor["session"] as? [String: Any])?["uid"] as? String == "run-7")
        // The record has no sessionIssuer: no issuer is made up.
        #expect((actor["session"] as? [String: Any])?["issuer"] == nil)
        let normalized = try #require((evidence["data"] as? [String: Any])?["actor"] as? [String: Any])
        #expect(normalized["principal"] as? String == "arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole")
        #expect(normalized["kind"] as? String == "workload")
        #expect(normalized["session"] as? String == "run-7")
    }

    /// The OCSF `attacks[]` of a rule with `tags`: (technique uid, sub-technique uid, tactic uid or name, version).
    func attacks(_ tags: [String]) throws -> [[String?]] {
        let alert = try makeAlert(SampleRecords.cloudTrail(1), rule: AlertRule(id: "r", title: "t", level: .low, tags: tags))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(OCSFDetectionFinding.format(alert))) as? [String: Any])
        let entries = (object["finding_info"] as? [String: Any])?["attacks"] as? [[String: Any]] ?? []
        return entries.map { entry in
            let tactic = entry["tactic"] as? [String: String]
            return [(entry["technique"] as? [String: String])?["uid"], (entry["sub_technique"] as? [String: String])?["uid"],
                    tactic?["uid"] ?? tactic?["name"], entry["version"] as? String]
        }
    }

    @Test func attackEntriesPairEachTechniqueWithTheRulesTacticsThatATTACKListsItUnder() throws {
        // T1078.004 is under initial access, persistence, privilege escalation and defense evasion; exfiltration
        // fits no technique and stands alone.
        #expect(try attacks(["attack.initial_access", "attack.persistence", "attack.exfiltration", "attack.t1078.004"]) == [
            ["T1078", "T1078.004", "TA0001", "v18.1"], ["T1078", "T1078.004", "TA0003", "v18.1"], [nil, nil, "TA0010", "v18.1"],
        ])
        // No tactic tagged, or none that fits: the technique's own tactics.
        #expect(try attacks(["attack.t1530"]) == [["T1530", nil, "TA0009", "v18.1"]])
        #expect(try attacks(["attack.t1530", "attack.impact"]) == [["T1530", nil, "TA0009", "v18.1"], [nil, nil, "TA0040", "v18.1"]])
        // Groups and software are not attacks; tags are case-insensitive and counted once.
        #expect(try attacks(["attack.g0016", "attack.s0002", "attack.T1530", "attack.t1530"]) == [["T1530", nil, "TA0009", "v18.1"]])
    }

    @Test func attackEntriesOfATTACKv19AndOfWhatTheTableDoesNotKnow() throws {
        // v19's Defense Impairment (TA0112) and T1685; a v18 technique under Defense Evasion goes with v19's
        // Stealth, which kept TA0005.
        #expect(try attacks(["attack.defense-impairment", "attack.t1685"]) == [["T1685", nil, "TA0112", "v19"]])
        #expect(try attacks(["attack.stealth", "attack.t1562.008"]) == [["T1562", "T1562.008", "TA0005", "v19"]])
        // An unknown technique keeps its uid, has no name and takes every tactic tagged; an unknown tactic keeps its
        // words and has no uid.
        #expect(try attacks(["attack.t1999.001", "attack.persistence", "attack.model-theft"]) == [
            ["T1999", "T1999.001", "TA0003", "v18.1"], ["T1999", "T1999.001", "Model Theft", "v18.1"],
        ])
        let alert = try makeAlert(SampleRecords.cloudTrail(1), rule: AlertRule(
            id: "r", title: "t", level: .low, tags: ["attack.t1999.001", "attack.model-theft"]))
        let text = String(decoding: OCSFDetectionFinding.format(alert), as: UTF8.self)
        #expect(text.contains(#""technique":{"uid":"T1999"},"sub_technique":{"uid":"T1999.001"},"tactic":{"name":"Model Theft"}"#))
    }

    @Test func findingUIDIsDeterministicPerRuleAndEvent() throws {
        let a = try makeAlert(SampleRecords.cloudTrail(1), rule: rule)
        let again = try makeAlert(SampleRecords.cloudTrail(1), rule: rule)
        let other = try makeAlert(SampleRecords.cloudTrail(2), rule: rule)
        var otherRule = rule
        otherRule.id = "another"
        let otherRuleAlert = try makeAlert(SampleRecords.cloudTrail(1), rule: otherRule)
        #expect(a.uid == again.uid)
        #expect(a.uid != other.uid)
        #expect(a.uid != otherRuleAlert.uid)
    }

    @Test func severityFollowsTheSigmaLevel() {
        #expect(Severity.allCases.map(\.ocsfID) == [1, 2, 3, 4, 5])
        #expect(Severity(sigmaLevel: "CRITICAL") == .critical)
        #expect(Severity(sigmaLevel: nil) == .medium)
    }
}
