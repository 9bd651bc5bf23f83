import Foundation
import PipewatchEvents
import PipewatchOutput
import Testing

/// An independent CEF:0 parser (the grammar of the ArcSight CEF guide): seven pipe-terminated header fields with
/// `\|` and `\\` escapes, then `key=value` pairs separated by single spaces, values with `\\`, `\=`, `\n`, `\r`.
/// Anything off-grammar (raw line breaks, unknown escapes, an unescaped `=` inside a value, duplicate keys) fails.
let cefParser = #"""
import sys, json
line = sys.stdin.buffer.read().decode('utf-8')
if '\n' in line or '\r' in line: raise SystemExit('raw line break')
if not line.startswith('CEF:'): raise SystemExit('no CEF: prefix')
rest = line[4:]
header = []; cur = []; i = 0
while len(header) < 7:
    if i >= len(rest): raise SystemExit('fewer than 7 pipe-terminated header fields')
    c = rest[i]
    if c == '\\':
        n = rest[i + 1] if i + 1 < len(rest) else ''
        if n not in ('\\', '|'): raise SystemExit('bad header escape')
        cur.append(n); i += 2; continue
    if c == '|':
        header.append(''.join(cur)); cur = []; i += 1; continue
    cur.append(c); i += 1
ext = rest[i:]
eqs = []; j = 0
while j < len(ext):
    c = ext[j]
    if c == '\\':
        if j + 1 >= len(ext) or ext[j + 1] not in '\\=nr': raise SystemExit('bad extension escape at %d' % j)
        j += 2; continue
    if c == '=': eqs.append(j)
    j += 1
def keychar(ch): return ch.isascii() and ch.isalnum()
starts = []
for p in eqs:
    k = p
    while k > 0 and keychar(ext[k - 1]): k -= 1
    if k == p: raise SystemExit('empty key before = at %d' % p)
    if k > 0 and ext[k - 1] != ' ': raise SystemExit('unescaped = inside a value at %d' % p)
    starts.append((k, p))
if ext and (not starts or starts[0][0] != 0): raise SystemExit('extension does not start with a key')
pairs = {}
unescape = {'\\': '\\', '=': '=', 'n': '\n', 'r': '\r'}
for n, (k, p) in enumerate(starts):
    end = starts[n + 1][0] - 1 if n + 1 < len(starts) else len(ext)
    raw = ext[p + 1:end]
    out = []; m = 0
    while m < len(raw):
        if raw[m] == '\\':
            out.append(unescape[raw[m + 1]]); m += 2
        else:
            out.append(raw[m]); m += 1
    key = ext[k:p]
    if key in pairs: raise SystemExit('duplicate key ' + key)
    pairs[key] = ''.join(out)
print(json.dumps({'version': header[0], 'vendor': header[1], 'product': header[2], 'deviceVersion': header[3],
                  'signatureID': header[4], 'name': header[5], 'severity': header[6], 'extension': pairs}))
"""#

/// What a header field should read as after a round trip: line breaks become spaces.
func cefHeaderValue(_ s: String) -> String {
    s.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        .replacingOccurrences(of: "\n", with: " ")
}

/// What an extension value should read as after a round trip: every line break is LF.
func cefExtensionValue(_ s: String) -> String {
    s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
}

/// Bytes a value takes once CEF-escaped (backslash, `=` and line breaks take two).
func cefEscapedLength(_ s: String) -> Int {
    s.unicodeScalars.reduce(0) { $0 + (["\\", "=", "\n", "\r"].contains($1) ? 2 : String($1).utf8.count) }
}

/// Bytes a header field takes once CEF-escaped (backslash and pipe take two).
func cefHeaderLength(_ s: String) -> Int {
    s.unicodeScalars.reduce(0) { $0 + (["\\", "|"].contains($1) ? 2 : String($1).utf8.count) }
}

@Suite struct CEFTests {
    /// Parses the alert's CEF line with the independent parser and compares every field with the alert.
    func roundTrip(_ alert: Alert, sourceKey: String?, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
        let line = CEFFormatter.format(alert)
        #expect(!line.contains(0x0A) && !line.contains(0x0D), sourceLocation: sourceLocation)
        let parsed = try runPython(cefParser, input: line)
        #expect(parsed["version"] as? String == "0", sourceLocation: sourceLocation)
        #expect(parsed["vendor"] as? String == "Pipewatch", sourceLocation: sourceLocation)
        #expect(parsed["product"] as? String == "Pipewatch", sourceLocation: sourceLocation)
        #expect(parsed["deviceVersion"] as? String == PipewatchRelease.version, sourceLocation: sourceLocation)
        #expect(parsed["signatureID"] as? String == cefHeaderValue(alert.rule.id), sourceLocation: sourceLocation)
        let name = try #require(parsed["name"] as? String, sourceLocation: sourceLocation)
        let wantName = cefHeaderValue(alert.rule.title)
        if cefHeaderLength(wantName) <= CEFFormatter.headerLimits.name {
            #expect(name == wantName, sourceLocation: sourceLocation)
        } else {
            // Cut to the 512-byte header limit, on a character boundary, without splitting an escape.
            #expect(cefHeaderLength(name) <= CEFFormatter.headerLimits.name, sourceLocation: sourceLocation)
            #expect(cefHeaderLength(name) > CEFFormatter.headerLimits.name - 4, sourceLocation: sourceLocation)
            #expect(wantName.unicodeScalars.starts(with: name.unicodeScalars), sourceLocation: sourceLocation)
        }
        #expect(parsed["severity"] as? String == String(alert.rule.level.cefSeverity), sourceLocation: sourceLocation)
        let ext = try #require(parsed["extension"] as? [String: String], sourceLocation: sourceLocation)

        var expected: [String: String] = [
            "rt": String(alert.time), "externalId": alert.uid, "cat": alert.source.name,
            "msg": alert.rule.description ?? alert.rule.title,
        ]
        if alert.outcome != .unknown { expected["outcome"] = alert.outcome.name }
        expected["act"] = alert[.apiOperation]
        expected["suser"] = alert[.actorUser]
        expected["requestClientApplication"] = alert[.userAgent]
        if let sourceKey { expected[sourceKey] = alert[.srcIP] }
        let attackTags = alert.rule.tags.filter { $0.hasPrefix("attack.") }.joined(separator: ",")
        let custom: [(String, String?)] = [
            ("ruleId", alert.rule.id), ("apiService", alert[.apiService]), ("resource", alert[.resourceName]),
            ("cloudAccount", alert[.cloudAccount]), ("cloudRegion", alert[.cloudRegion]),
            ("attackTags", attackTags.isEmpty ? nil : attackTags),
        ]
        for (index, (label, value)) in custom.enumerated() where value != nil {
            expected["cs\(index + 1)"] = value
            expected["cs\(index + 1)Label"] = label
        }
        #expect(Set(ext.keys) == Set(expected.keys), sourceLocation: sourceLocation)
        for (key, value) in expected {
            let want = cefExtensionValue(value)
            guard let got = ext[key] else { continue }
            if got == want { continue }
            // Only a value over the ArcSight limit may differ, and only by being cut short.
            let limit = try #require(CEFFormatter.extensionLimits[key], "\(key) differs", sourceLocation: sourceLocation)
            #expect(cefEscapedLength(want) > limit, "\(key) differs", sourceLocation: sourceLocation)
            #expect(cefEscapedLength(got) <= limit && cefEscapedLength(got) > limit - 4, sourceLocation: sourceLocation)
            #expect(want.unicodeScalars.starts(with: got.unicodeScalars), "\(key) is not a prefix", sourceLocation: sourceLocation)
        }
        return ext
    }

    @Test func hostileCloudTrailRoundTrips() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail())
        // The hostile characters really reached the alert.
        let agent = try #require(alert[.userAgent])
        #expect(agent.contains("|") && agent.contains("=") && agent.contains("\\") && agent.contains("\n") && agent.contains("\t"))
        #expect(alert[.actorUser]?.contains("=") == true)
        let ext = try roundTrip(alert, sourceKey: "src")
        #expect(ext["src"] == "198.51.100.7")
        #expect(ext["rt"] == "1793700420123")
        #expect(ext["cs6"] == "attack.t1078.004,attack.defense-evasion,attack.g0016")
        #expect(ext["suser"] == "arn:aws:iam::111122223333:user/ops=admin|x\\y")
        // Pipes stay unescaped in the extension; `=` and `\` are escaped.
        let line = text(CEFFormatter.format(alert))
        #expect(line.contains(#"requestClientApplication=a|b\=c\\d]e "q" \n2nd\n3rd"#))
        #expect(line.hasPrefix(#"CEF:0|Pipewatch|Pipewatch|0.1.0|R\|1=\\x|Training job \| "without" = isolation\\  second line|8|"#))
    }

    @Test func nonIPSourcesGoToShost() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail(sourceIP: "sagemaker.amazonaws.com"))
        let ext = try roundTrip(alert, sourceKey: "shost")
        #expect(ext["src"] == nil && ext["shost"] == "sagemaker.amazonaws.com")
    }

    @Test func kubernetesWithIPv6Source() throws {
        let alert = try makeAlert(HostileRecords.kubernetes)
        #expect(alert[.srcIP] == "2001:db8::7")
        let ext = try roundTrip(alert, sourceKey: "c6a2")
        #expect(ext["cat"] == "k8s.audit")
        #expect(ext["cs3"] == "db=creds|a\\b]")
    }

    @Test func mlflowWithZonedAddressAndUnicode() throws {
        let alert = try makeAlert(HostileRecords.mlflow)
        #expect(alert[.srcIP] == "fe80::1%eth0")
        let ext = try roundTrip(alert, sourceKey: "shost")
        #expect(ext["cs3"] == "fraud|model=\\x Zoë 模型 🚀")
        #expect(ext["suser"] == "carol=ops|x\\y\nz")
    }

    @Test func tenKilobyteValuesAreCutOnABoundaryWithinTheLimits() throws {
        let alert = try makeAlert(HostileRecords.cloudTrail(userAgent: HostileRecords.long))
        #expect((alert[.userAgent]?.utf8.count ?? 0) > 10_000)
        let ext = try roundTrip(alert, sourceKey: "src")
        #expect(cefEscapedLength(ext["requestClientApplication"] ?? "") <= 1023)

        var rule = HostileRecords.rule
        rule.title = String(repeating: "a|\\\n模", count: 2000)
        rule.description = String(repeating: "=\\🚀", count: 3000)
        let long = try makeAlert(HostileRecords.plainCloudTrail, rule: rule)
        let parsed = try roundTrip(long, sourceKey: "src")
        #expect(cefEscapedLength(parsed["msg"] ?? "") <= 1023)
    }

    @Test func plainAlertIsExactlyTheExpectedLine() throws {
        let alert = try makeAlert(HostileRecords.plainCloudTrail, rule: HostileRecords.plainRule)
        let expected = "CEF:0|Pipewatch|Pipewatch|0.1.0|5f0e8d6e-4b8a-4b1e-9d3a-2c1f0a9b7e61|Training job without isolation|5|"
            + "rt=1793700420000 externalId=\(alert.uid) cat=aws.cloudtrail act=CreateTrainingJob outcome=success "
            + "suser=arn:aws:sts::111122223333:assumed-role/Exec/run-7 src=198.51.100.7 requestClientApplication=Boto3/1.34.0 "
            + "msg=desc cs1=5f0e8d6e-4b8a-4b1e-9d3a-2c1f0a9b7e61 cs2=sagemaker.amazonaws.com cs3=job-7 cs4=111122223333 "
            + "cs5=us-east-1 cs6=attack.t1078.004 cs1Label=ruleId cs2Label=apiService cs3Label=resource "
            + "cs4Label=cloudAccount cs5Label=cloudRegion cs6Label=attackTags"
        #expect(text(CEFFormatter.format(alert)) == expected)
    }

    /// formats.md §11 CEF vector.
    @Test func goldenVector() {
        let line = CEFFormatter.line(
            vendor: "Acme|Sec", product: "Engine", version: "1.2", signatureID: "R-001", name: "Susp = cmd \\ run",
            severity: 8,
            extension: [
                ("src", "10.0.0.5"), ("suser", "corp\\alice"), ("msg", "cmd=whoami /all\nline2 | piped"),
                ("rt", "1700000000123"),
            ])
        #expect(text(line) == #"CEF:0|Acme\|Sec|Engine|1.2|R-001|Susp = cmd \\ run|8|src=10.0.0.5 suser=corp\\alice msg=cmd\=whoami /all\nline2 | piped rt=1700000000123"#)
    }

    /// The escaping examples of the CEF guide (formats.md §1.3).
    @Test(arguments: [
        ("detected a | in message", "blocked a |", #"CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a | dst=1.1.1.1"#),
        ("detected a \\ in packet", "blocked a \\", #"CEF:0|security|threatmanager|1.0|100|detected a \\ in packet|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1"#),
        ("detected a = in message", "blocked a =", #"CEF:0|security|threatmanager|1.0|100|detected a = in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1"#),
    ])
    func specEscapingExamples(name: String, action: String, expected: String) {
        let line = CEFFormatter.line(
            vendor: "security", product: "threatmanager", version: "1.0", signatureID: "100", name: name, severity: 10,
            extension: [("src", "10.0.0.1"), ("act", action), ("dst", "1.1.1.1")])
        #expect(text(line) == expected)
    }

    @Test func specMultiLineMessageAndEmptyExtension() {
        let line = CEFFormatter.line(
            vendor: "security", product: "threatmanager", version: "1.0", signatureID: "100",
            name: "Detected a threat. No action needed.", severity: 10,
            extension: [("src", "10.0.0.1"), ("msg", "Detected a threat.\n No action needed")])
        #expect(text(line) == #"CEF:0|security|threatmanager|1.0|100|Detected a threat. No action needed.|10|src=10.0.0.1 msg=Detected a threat.\n No action needed"#)
        // The pipe after Severity is written even without extensions; empty values are dropped.
        let bare = CEFFormatter.line(vendor: "v", product: "p", version: "1", signatureID: "s", name: "n", severity: 42, extension: [("msg", "")])
        #expect(text(bare) == "CEF:0|v|p|1|s|n|10|")
    }

    @Test func escapesAreNeverSplitByTruncation() {
        let escaped = CEFFormatter.escapeExtension("ab\\\\", limit: 5)
        #expect(text(escaped) == #"ab\\"#)
        #expect(text(CEFFormatter.escapeExtension("a\r\nb\rc", limit: 100)) == #"a\nb\nc"#)
        #expect(text(CEFFormatter.escapeExtension("模🚀", limit: 6)) == "模")
        #expect(text(CEFFormatter.escapeHeader("a\r\nb|c\\", limit: 100)) == #"a b\|c\\"#)
    }
}
