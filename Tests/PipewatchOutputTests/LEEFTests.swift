import Foundation
import PipewatchEvents
import PipewatchOutput
import Testing

/// An independent LEEF 2.0 parser (IBM LEEF guide): `LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|` where the
/// delimiter is one character or `x`/`0x` + hex, then `key=value` attributes split on the delimiter; the value is
/// everything after the first `=`. Raw line breaks, bad keys and duplicate keys fail.
let leefParser = #"""
import sys, json
line = sys.stdin.buffer.read().decode('utf-8')
if '\n' in line or '\r' in line: raise SystemExit('raw line break')
parts = line.split('|', 6)
if len(parts) != 7 or parts[0] != 'LEEF:2.0': raise SystemExit('bad LEEF 2.0 header')
_, vendor, product, version, event_id, declared, attrs = parts
low = declared.lower()
if low.startswith('0x') and len(declared) > 2: delim = chr(int(declared[2:], 16))
elif low.startswith('x') and len(declared) > 1: delim = chr(int(declared[1:], 16))
elif len(declared) == 1: delim = declared
else: raise SystemExit('bad delimiter declaration')
pairs = {}
for item in (attrs.split(delim) if attrs else []):
    key, sep, value = item.partition('=')
    if not sep or not key.isascii() or not key.isalnum(): raise SystemExit('bad attribute %r' % item[:60])
    if key in pairs: raise SystemExit('duplicate key ' + key)
    pairs[key] = value
print(json.dumps({'vendor': vendor, 'product': product, 'version': version, 'eventID': event_id,
                  'delimiter': delim, 'attributes': pairs}))
"""#

/// What a value should read as: LEEF has no escapes, so TAB and line breaks become spaces (CR LF one space).
func leefValue(_ s: String) -> String {
    s.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
}

@Suite struct LEEFTests {
    func roundTrip(_ alert: Alert, sourceKey: String?, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
        let line = LEEFFormatter.format(alert)
        let parsed = try runPython(leefParser, input: line)
        #expect(parsed["vendor"] as? String == "Pipewatch", sourceLocation: sourceLocation)
        #expect(parsed["product"] as? String == "Pipewatch", sourceLocation: sourceLocation)
        #expect(parsed["version"] as? String == PipewatchRelease.version, sourceLocation: sourceLocation)
        #expect(parsed["eventID"] as? String == leefValue(alert.rule.id).replacingOccurrences(of: "|", with: " "), sourceLocation: sourceLocation)
        #expect(parsed["delimiter"] as? String == "\t", sourceLocation: sourceLocation)
        let attributes = try #require(parsed["attributes"] as? [String: String], sourceLocation: sourceLocation)

        var expected: [String: String] = [
            "devTime": String(alert.time), "sev": String(alert.rule.level.leefSeverity), "cat": alert.source.name,
            "alertId": alert.uid, "ruleName": alert.rule.title,
        ]
        if alert.outcome != .unknown { expected["outcome"] = alert.outcome.name }
        if let sourceKey { expected[sourceKey] = alert[.srcIP] }
        let optional: [(String, String?)] = [
            ("usrName", alert[.actorUser]), ("resource", alert[.resourceName]), ("accountName", alert[.cloudAccount]),
            ("msg", alert.rule.description), ("action", alert[.apiOperation]), ("service", alert[.apiService]),
            ("userAgent", alert[.userAgent]), ("resourceType", alert[.resourceType]),
            ("namespace", alert[.resourceNamespace]), ("cloudProvider", alert[.cloudProvider]),
            ("region", alert[.cloudRegion]),
        ]
        for (key, value) in optional { expected[key] = value }
        let attackTags = alert.rule.tags.filter { $0.hasPrefix("attack.") }
        if !attackTags.isEmpty { expected["attackTags"] = attackTags.joined(separator: ",") }
        #expect(Set(attributes.keys) == Set(expected.keys), sourceLocation: sourceLocation)
        for (key, value) in expected {
            guard let got = attributes[key] else { continue }
            let want = leefValue(value)
            if key == "usrName", want.utf8.count > 255 {
                #expect(got.utf8.count <= 255 && want.unicodeScalars.starts(with: got.unicodeScalars), sourceLocation: sourceLocation)
            } else {
                #expect(got == want, "\(key)", sourceLocation: sourceLocation)
            }
        }
        return attributes
    }

    @Test func hostileCloudTrailRoundTrips() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail())
        let attributes = try roundTrip(alert, sourceKey: "src")
        #expect(attributes["devTime"] == "1793700420123")
        #expect(attributes["sev"] == "8")
        #expect(attributes["userAgent"] == #"a|b=c\d]e "q"  2nd 3rd 4th Zoë 模型 🚀"#)
        #expect(attributes["usrName"] == #"arn:aws:iam::111122223333:user/ops=admin|x\y"#)
        let line = text(LEEFFormatter.format(alert))
        #expect(line.hasPrefix(#"LEEF:2.0|Pipewatch|Pipewatch|0.1.0|R 1=\x|x09|devTime=1793700420123"# + "\tsev=8\tcat=aws.cloudtrail\t"))
    }

    @Test func kubernetesAndMLflowRoundTrip() throws {
        let k8s = try makeAlert(HostileRecords.kubernetes)
        let attributes = try roundTrip(k8s, sourceKey: "src")
        #expect(attributes["src"] == "2001:db8::7")
        #expect(attributes["namespace"] == "kube-flow")
        let mlflow = try makeAlert(HostileRecords.mlflow)
        let ml = try roundTrip(mlflow, sourceKey: "srcHost")
        #expect(ml["srcHost"] == "fe80::1%eth0")
        #expect(ml["resource"] == "fraud|model=\\x Zoë 模型 🚀")
        #expect(ml["usrName"] == "carol=ops|x\\y z")
    }

    @Test func tenKilobyteValues() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail(userAgent: HostileRecords.long))
        let attributes = try roundTrip(alert, sourceKey: "src")
        #expect((attributes["userAgent"]?.utf8.count ?? 0) > 10_000)
    }

    @Test func plainAlertIsExactlyTheExpectedLine() throws {
        let alert = try makeAlert(HostileRecords.plainCloudTrail, rule: HostileRecords.plainRule)
        let expected = [
            "LEEF:2.0|Pipewatch|Pipewatch|0.1.0|5f0e8d6e-4b8a-4b1e-9d3a-2c1f0a9b7e61|x09|devTime=1793700420000",
            "sev=5", "cat=aws.cloudtrail", "usrName=arn:aws:sts::111122223333:assumed-role/Exec/run-7",
            "src=198.51.100.7", "resource=job-7", "accountName=111122223333", "alertId=\(alert.uid)",
            "ruleName=Training job without isolation", "msg=desc", "action=CreateTrainingJob", "outcome=success",
            "service=sagemaker.amazonaws.com", "userAgent=Boto3/1.34.0", "cloudProvider=aws", "region=us-east-1",
            "attackTags=attack.t1078.004",
        ].joined(separator: "\t")
        #expect(text(LEEFFormatter.format(alert)) == expected)
    }

    /// formats.md §11 LEEF 2.0 vector, with this formatter's TAB delimiter in place of the caret.
    @Test func goldenVector() {
        let line = LEEFFormatter.line(
            vendor: "Acme", product: "Engine", version: "1.2", eventID: "R-001",
            attributes: [("devTime", "1700000000123"), ("sev", "8"), ("src", "10.0.0.5"), ("msg", "")])
        #expect(text(line) == "LEEF:2.0|Acme|Engine|1.2|R-001|x09|devTime=1700000000123\tsev=8\tsrc=10.0.0.5")
    }

    @Test func headerPipesAndValueDelimitersAreReplaced() {
        let line = LEEFFormatter.line(
            vendor: "Ac|me", product: "En\tgine", version: "1\n2", eventID: "R|1",
            attributes: [("msg", "a\tb\r\nc=d|e\\f")])
        #expect(text(line) == "LEEF:2.0|Ac me|En gine|1 2|R 1|x09|msg=a b c=d|e\\f")
    }
}
