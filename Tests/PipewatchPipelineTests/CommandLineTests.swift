import Foundation
import Testing

@Suite struct CommandLineTests {
    @Test func normalizePrintsEventsAndASummary() throws {
        let result = try PipewatchProcess.run(["normalize", "samples/mlflow", "samples/kubernetes", "--source", "mlflow.webhook"])
        #expect(result.status == 0, "\(result.stderr)")
        let events = result.stdout.split(separator: "\n")
        #expect(events.count == 19)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(events[0].utf8)) as? [String: Any])
        #expect(first["source"] as? String == "mlflow.webhook")
        #expect(first["raw"] == nil)
        #expect(result.stderr.contains("records: 45"))
        #expect(result.stderr.contains("mlflow.webhook 19"))
        #expect(result.stderr.contains("k8s.audit 26"))
    }

    @Test func rawAddsTheOriginalRecordAndStdinWorks() throws {
        let record = #"{"entity": "registered_model", "action": "created", "timestamp": "2026-11-03T10:00:00.000001+00:00", "data": {"name": "m", "tags": {}, "description": null}}"#
        let result = try PipewatchProcess.run(["normalize", "--raw", "-"], stdin: Data((record + "\n").utf8))
        #expect(result.status == 0)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let raw = try #require(event["raw"] as? [String: Any])
        #expect(raw["entity"] as? String == "registered_model")
        #expect((event["api"] as? [String: Any])?["operation"] as? String == "registered_model.created")
    }

    @Test func exitStatusSaysRecordsWereDeadLettered() throws {
        let result = try PipewatchProcess.run(["normalize", "samples/broken"])
        #expect(result.status == 2)
        #expect(result.stdout.split(separator: "\n").count == 2)
        #expect(result.stderr.contains("dead-letter: samples/broken/broken-records.ndjson: line 5: parse: invalid JSON at byte 121: invalid escape"))
        #expect(result.stderr.contains("bad records: 12"))
    }

    @Test func badArgumentsAreRefused() throws {
        let result = try PipewatchProcess.run(["normalize", "samples", "--source", "splunk"])
        #expect(result.status != 0 && result.status != 2)
        #expect(result.stderr.contains("unknown source 'splunk'"))
    }

    @Test func everyCommandHasHelp() throws {
        for command in [["--help"], ["normalize", "--help"]] {
            let result = try PipewatchProcess.run(command)
            #expect(result.status == 0)
            #expect(result.stdout.contains("USAGE"))
        }
    }
}

/// The rule pack against the samples, through the real command line.
@Suite struct RulePackTests {
    /// Record ids listed in one section of samples/README.md (eventID, auditID, insertId or delivery id).
    func sampleIDs(section: String) throws -> Set<String> {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("samples/README.md"), encoding: .utf8)
        let parts = readme.components(separatedBy: "\n## ")
        let body = try #require(parts.first { $0.hasPrefix(section) })
        var ids = Set<String>()
        for line in body.split(separator: "\n") where line.hasPrefix("|") {
            for cell in line.split(separator: "`").enumerated() where cell.offset % 2 == 1 {
                let text = String(cell.element)
                if text.count >= 12 && !text.contains(" ") && !text.contains(".") && !text.contains("/") { ids.insert(text) }
            }
        }
        return ids
    }

    @Test func everyRuleChecksAndPassesItsOwnExamples() throws {
        let check = try PipewatchProcess.run(["rules", "check", "rules/"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let dir = try TemporaryDirectory()
        let junit = dir.path("junit.xml")
        let test = try PipewatchProcess.run(["rules", "test", "rules/", "--junit", junit])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        let cases = xml.components(separatedBy: "<testcase").count - 1
        #expect(cases >= 15, "the pack has at least 15 rules with examples")
        #expect(!xml.contains("<failure"))
    }

    @Test func aBadRuleIsRefusedWithFileLineAndReason() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("bad.yml", """
            title: Broken
            logsource:
                product: aws
                service: cloudtrail
            detection:
                selection:
                    eventName|nosuchmodifier: x
                condition: selection
            """)
        let result = try PipewatchProcess.run(["rules", "check", path])
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains("\(path):7:"), "\(result.stdout)\(result.stderr)")
    }

    @Test func replayAlertsOnThePlantedAttackAndNeverOnBenignRecords() throws {
        let result = try PipewatchProcess.run(["replay", "samples/", "--rules", "rules/"])
        #expect(result.status == 2, "the broken sample records are dead-lettered")
        let alerts = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let alerted = Set(alerts.compactMap { ($0["metadata"] as? [String: Any])?["correlation_uid"] as? String })
        let benign = try sampleIDs(section: "Benign activity")
        let planted = try sampleIDs(section: "Planted suspicious activity")
        #expect(benign.count > 40 && planted.count > 30)
        #expect(alerted.isDisjoint(with: benign), "alerts on benign records: \(alerted.intersection(benign))")
        #expect(alerted.isSubset(of: planted), "alerts on records not listed as planted: \(alerted.subtracting(planted))")
        // The attack's key steps, one per source.
        for id in ["f77b2b63", "a35c6c65", "26254597", "1be03a97", "w15ztq7fluyb", "8073931d", "098bb19d"] {
            #expect(alerted.contains { $0.hasPrefix(id) }, "no alert for planted record \(id)")
        }
        #expect(result.stderr.contains("alerts: \(alerts.count)"))
    }

    @Test func replayDeliversToSeveralOutputsAtOnce() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path("alerts.leef")
        let result = try PipewatchProcess.run([
            "replay", "samples/", "--rules", "rules/", "--output", "leef:file:\(file)?max-bytes=1000000&fsync=batch",
            "--output", "ocsf:stdout",
        ])
        #expect(result.status == 2)
        #expect(result.stdout.split(separator: "\n").count == 41)
        let leef = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(leef.count == 41 && leef.allSatisfy { $0.hasPrefix("LEEF:2.0|") })
        #expect(result.stderr.contains("sink file:\(file):") && result.stderr.contains("0 dead-lettered"))

        let bad = try PipewatchProcess.run(["replay", "samples/", "--rules", "rules/", "--output", "cef:ftp://x"])
        #expect(bad.status != 0 && bad.status != 2)
        #expect(bad.stderr.contains("unknown sink 'ftp://x'"))
        #expect(!bad.stderr.contains("rules:"), "refused before any work")
    }

    @Test(arguments: ["cef", "leef", "ecs", "hec"])
    func replayWritesEveryFormatOneAlertPerLine(format: String) throws {
        let result = try PipewatchProcess.run(["replay", "samples/", "--rules", "rules/", "--format", format])
        #expect(result.status == 2)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 41, "one line per alert")
        switch format {
        case "cef": #expect(lines.allSatisfy { $0.hasPrefix("CEF:0|Pipewatch|Pipewatch|") })
        case "leef": #expect(lines.allSatisfy { $0.hasPrefix("LEEF:2.0|Pipewatch|Pipewatch|") })
        default:
            for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any]) }
        }
    }
}
