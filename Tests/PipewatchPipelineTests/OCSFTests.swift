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
        let attacks = try #require(info["attacks"] as? [[String: Any]])
        #expect(attacks.count == 2)
        #expect((attacks[0]["sub_technique"] as? [String: Any])?["uid"] as? String == "T1078.004")
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
