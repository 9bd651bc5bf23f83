import Foundation
import Testing

@testable import PipewatchRules

private let kubernetesAudit = "product: kubernetes\n    service: audit"

/// A Kubernetes audit event whose response status code is `code` (JSON).
private func status(_ code: String) -> String { kubernetes(#""responseStatus":{"metadata":{},"code":"# + code + "}") }

/// The spellings of 401 a JSON writer may produce.
private let spellingsOf401 = ["401", "401.0", "4.01e2", "401e0", "4010e-1", "4.010E+2", "40100e-2", "0.401e3"]

@Suite struct DecimalNumberTests {
    private func canonical(_ text: String) -> String? {
        DecimalNumber.canonical(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func everySpellingOfAValueIsOne() {
        for spelling in spellingsOf401 { #expect(canonical(spelling) == "401", "\(spelling)") }
        #expect(canonical("-401.00") == "-401")
        #expect(canonical("0") == "0")
        #expect(canonical("-0.0e5") == "0")
        #expect(canonical("0.5") == "5e-1")
        #expect(canonical("5E-1") == "5e-1")
        #expect(canonical("401.5") == "4015e-1")
        #expect(canonical("100000000000000000000") == "100000000000000000000")
        #expect(canonical("1e20") == "100000000000000000000")
        #expect(canonical("1e21") == "1e21")
        #expect(canonical("1000000000000000000000") == "1e21")
        #expect(canonical("-12.5e-3") == "-125e-4")
    }

    @Test func exactBeyondDoublePrecision() {
        // Equal as Doubles, different as numbers.
        #expect(Double("12345678901234567") == Double("12345678901234568"))
        #expect(canonical("12345678901234567") != canonical("12345678901234568"))
        #expect(canonical("12345678901234567.0") == "12345678901234567")
    }

    @Test func theOrderIsExact() {
        func order(_ value: String, _ bound: String) -> Int? {
            guard let bound = DecimalNumber.Bound(bound) else { return nil }
            return Array(value.utf8).withUnsafeBufferPointer { DecimalNumber.compare($0, bound) }
        }
        #expect(order("9007199254740993", "9007199254740992") == 1)
        #expect(order("9007199254740992", "9007199254740993") == -1)
        #expect(order("9.007199254740993e15", "9007199254740993") == 0)
        #expect(order("-9007199254740993", "-9007199254740992") == -1)
        #expect(order("-0", "0") == 0)
        #expect(order("-0.0e7", "0") == 0)
        #expect(order("-1e-400", "0") == -1)
        #expect(order("1e-400", "-0") == 1)
        #expect(order("401.0000000000000000000001", "401") == 1)
        #expect(order("400.9999999999999999999999", "4.01e2") == -1)
        #expect(order("1e400", "9e399") == 1)
        #expect(order("-1e400", "-9e399") == -1)
        #expect(order("0.05", "5e-2") == 0)
        #expect(order("401", "4O1") == nil)
        #expect(order("+401", "401") == nil)
    }

    @Test func onlyJSONNumbers() {
        for text in ["", "-", "01", "1.", ".5", "+1", "1e", "1e+", "0x10", "1_000", "4O1", "401 ", " 401", "1.2.3", "Infinity", "NaN"] {
            #expect(canonical(text) == nil, "\(text)")
        }
        // Exponents too large to compare by value (the text still is).
        #expect(canonical("1e100000001") == nil)
        #expect(canonical("1e100000000") == "1e100000000")
    }
}

@Suite struct NumberEqualityTests {
    @Test func aNumberEqualsEverySpellingOfIt() {
        // responseStatus.code is also the normalized status_code of a Kubernetes event; both are read as numbers.
        for field in ["responseStatus.code", "raw.responseStatus.code"] {
            for spelling in spellingsOf401 {
                #expect(ruleMatches("s:\n    \(field): 401\ncondition: s", status(spelling), logsource: kubernetesAudit), "\(field) \(spelling)")
            }
            for other in ["402", "401.5", "4.011e2", "-401", "40.1"] {
                #expect(!ruleMatches("s:\n    \(field): 401\ncondition: s", status(other), logsource: kubernetesAudit), "\(field) \(other)")
            }
        }
        // The rule's spelling does not matter either.
        #expect(ruleMatches("s:\n    responseStatus.code: 4.01e2\ncondition: s", status("401"), logsource: kubernetesAudit))
        #expect(ruleMatches("s:\n    responseStatus.code: 401.0\ncondition: s", status("4010e-1"), logsource: kubernetesAudit))
    }

    @Test func onRawPathsWithoutANormalizedField() {
        let record = { (port: String) in cloudTrail(#""requestParameters":{"ipPermissions":{"items":[{"fromPort":"# + port + #","toPort":22}]}}"#) }
        let detection = "s:\n    requestParameters.ipPermissions.items.fromPort: 22\ncondition: s"
        #expect(ruleMatches(detection, record("22")))
        #expect(ruleMatches(detection, record("22.0")))
        #expect(ruleMatches(detection, record("2.2e1")))
        #expect(!ruleMatches(detection, record("23")))
        // Numbers anywhere under a container (here every element of an array).
        let codes = cloudTrail(#""probe":[200,4.01e2]"#)
        #expect(ruleMatches("s:\n    probe: 401\ncondition: s", codes))
        #expect(!ruleMatches("s:\n    probe: 404\ncondition: s", codes))
    }

    @Test func onNormalizedFields() {
        let pipewatch = "product: pipewatch"
        #expect(ruleMatches("s:\n    status_code: 401\ncondition: s", status("401.0"), logsource: pipewatch))
        #expect(ruleMatches("s:\n    status_code: 401\ncondition: s", status("4.01e2"), logsource: pipewatch))
        #expect(!ruleMatches("s:\n    status_code: 401\ncondition: s", status("403.0"), logsource: pipewatch))
        // GCP's protoPayload.status.code becomes status_code too.
        let denied = gcpAudit(payload: #""status":{"code":7.0,"message":"denied"}"#)
        #expect(ruleMatches("s:\n    status_code: 7\ncondition: s", denied, logsource: pipewatch))
        #expect(ruleMatches("s:\n    protoPayload.status.code: 7\ncondition: s", denied, logsource: "product: gcp\n    service: gcp.audit"))
    }

    @Test func inListsAndLiteralSets() {
        let detection = "s:\n    responseStatus.code: [403, 401, 404, 409, 422, 429, 500, 502, 503]\ncondition: s"
        #expect(ruleMatches(detection, status("4.01e2"), logsource: kubernetesAudit))
        #expect(ruleMatches(detection, status("503.0"), logsource: kubernetesAudit))
        #expect(!ruleMatches(detection, status("201.0"), logsource: kubernetesAudit))
        // Numbers among patterns (the rule gate then holds patterns).
        let mixed = "s:\n    responseStatus.code: [401, '5*']\ncondition: s"
        #expect(ruleMatches(mixed, status("401.0"), logsource: kubernetesAudit))
        #expect(ruleMatches(mixed, status("503"), logsource: kubernetesAudit))
        #expect(!ruleMatches(mixed, status("403.0"), logsource: kubernetesAudit))
        // Enough patterns for one automaton.
        let many = "s:\n    responseStatus.code: [401, '1*', '2*', '3*', '5*', '6*', '7*', '8*', '9*', '*x']\ncondition: s"
        #expect(ruleMatches(many, status("4.01e2"), logsource: kubernetesAudit))
        #expect(!ruleMatches(many, status("4.02e2"), logsource: kubernetesAudit))
    }

    @Test func notEqual() {
        let detection = "s:\n    responseStatus.code|neq: 401\ncondition: s"
        #expect(!ruleMatches(detection, status("401.0"), logsource: kubernetesAudit))
        #expect(!ruleMatches(detection, status("4.01e2"), logsource: kubernetesAudit))
        #expect(ruleMatches(detection, status("403"), logsource: kubernetesAudit))
    }

    @Test func theGatesOfManyRulesLetEverySpellingThrough() {
        // Many rules on one field: the field becomes a gate holding every rule's values in one table.
        var documents: [String] = []
        for code in [400, 401, 403, 404, 409, 500] {
            documents.append("title: code \(code)\nlogsource: {product: kubernetes, service: audit}\ndetection: {s: {responseStatus.code: \(code)}, condition: s}")
        }
        let harness = Harness(documents.joined(separator: "\n---\n"))
        #expect(harness.problems.isEmpty)
        #expect(harness.ruleSet.engine.indexSummary.contains { $0.indexedFields.contains("raw.responseStatus.code") })
        #expect(harness.titles(status("4.01e2")) == ["code 401"])
        #expect(harness.titles(status("500.000")) == ["code 500"])
        #expect(harness.titles(status("4.05e2")) == [])
    }

    @Test func stringsCompareAsText() {
        // A string that looks like a number matches its own text, as before: by either spelling of the rule value.
        #expect(ruleMatches("s:\n    responseStatus.code: 401\ncondition: s", status(#""401""#), logsource: kubernetesAudit))
        #expect(ruleMatches("s:\n    responseStatus.code: '401'\ncondition: s", status(#""401""#), logsource: kubernetesAudit))
        // It is not a number: another spelling of the value is another string.
        #expect(!ruleMatches("s:\n    responseStatus.code: 401\ncondition: s", status(#""401.0""#), logsource: kubernetesAudit))
        #expect(!ruleMatches("s:\n    responseStatus.code: 401.0\ncondition: s", status(#""401""#), logsource: kubernetesAudit))
        // Strings holding number-like parts of other text stay strings (a GCP resource name is cut into
        // project and location).
        let project = gcpAudit(
            #""resource":{"type":"audited_resource","labels":{}}"#,
            payload: #""resourceName":"projects/1.0/locations/us-central1/endpoints/1""#)
        #expect(!ruleMatches("s:\n    cloud.account: 1\ncondition: s", project, logsource: "product: pipewatch"))
        #expect(ruleMatches("s:\n    cloud.account: '1.0'\ncondition: s", project, logsource: "product: pipewatch"))
    }

    @Test func aQuotedNumberIsANumberToo() {
        // YAML quoting does not change what a Sigma value means (Sigma backends write '401' and 401 the same way):
        // a quoted number equals a JSON number of its value.
        #expect(ruleMatches("s:\n    responseStatus.code: '401'\ncondition: s", status("401.0"), logsource: kubernetesAudit))
        #expect(ruleMatches("s:\n    responseStatus.code: \"4.01e2\"\ncondition: s", status("401"), logsource: kubernetesAudit))
    }

    @Test func negativesAndZero() {
        let negative = "s:\n    responseStatus.code: -5\ncondition: s"
        for spelling in ["-5", "-5.0", "-0.5e1", "-50e-1"] {
            #expect(ruleMatches(negative, status(spelling), logsource: kubernetesAudit), "\(spelling)")
        }
        for other in ["5", "5.0", "-0.5", "-55"] {
            #expect(!ruleMatches(negative, status(other), logsource: kubernetesAudit), "\(other)")
        }
        // Zero has one value whatever its sign and spelling.
        for rule in ["0", "-0", "0.0", "-0e3"] {
            let detection = "s:\n    responseStatus.code: \(rule)\ncondition: s"
            for spelling in ["0", "-0", "0.0", "-0.0", "0e10", "-0E-3"] {
                #expect(ruleMatches(detection, status(spelling), logsource: kubernetesAudit), "\(rule) \(spelling)")
            }
            #expect(!ruleMatches(detection, status("1e-400"), logsource: kubernetesAudit), "\(rule)")
        }
    }

    @Test func integersBeyondDoublePrecisionCompareExactly() {
        // 2^53 + 1 is no Double: going through one would make it equal 2^53.
        let record = { (value: String) in cloudTrail(#""requestParameters":{"maxResults":"# + value + "}") }
        let above = "s:\n    requestParameters.maxResults: 9007199254740993\ncondition: s"
        #expect(ruleMatches(above, record("9007199254740993")))
        #expect(ruleMatches(above, record("9007199254740993.000")))
        #expect(ruleMatches(above, record("9.007199254740993e15")))
        #expect(!ruleMatches(above, record("9007199254740992")))
        #expect(!ruleMatches(above, record("9007199254740994")))
        #expect(!ruleMatches("s:\n    requestParameters.maxResults: 9007199254740992\ncondition: s", record("9007199254740993")))
        // Past 64 bits and 21 digits as well.
        let huge = "s:\n    requestParameters.maxResults: 123456789012345678901234567890\ncondition: s"
        #expect(ruleMatches(huge, record("1.2345678901234567890123456789e29")))
        #expect(!ruleMatches(huge, record("123456789012345678901234567891")))
    }

    /// `eq` is the rule's plain value; `gt`, `gte`, `lt`, `lte` the comparison modifiers.
    private func holds(_ modifier: String, _ bound: String, _ value: String) -> Bool {
        let detection = "s:\n    responseStatus.code\(modifier.isEmpty ? "" : "|" + modifier): \(bound)\ncondition: s"
        return ruleMatches(detection, status(value), logsource: kubernetesAudit)
    }

    @Test func comparisonsAgreeWithEquality() throws {
        // Equality and the `gte` family order the same values the same way, exactly; Foundation's Decimal (38
        // digits) tells what the order is.
        let values = ["-401", "-0", "0", "0.0", "0.5", "400.5", "401", "401.0", "4.01e2", "4010e-1", "401.5", "402",
                      "9007199254740992", "9007199254740993", "9.007199254740993e15", "9007199254740994", "1e30"]
        let bounds = ["-401", "0", "-0", "401", "4.01e2", "401.5", "9007199254740993", "1e30"]
        for bound in bounds {
            let exactBound = try #require(Decimal(string: bound))
            for value in values {
                let exactValue = try #require(Decimal(string: value))
                let context = "\(value) against \(bound)"
                let equal = holds("", bound, value)
                #expect(equal == (exactValue == exactBound), "\(context)")
                #expect(holds("gte", bound, value) == (exactValue >= exactBound), "\(context)")
                #expect(holds("lte", bound, value) == (exactValue <= exactBound), "\(context)")
                #expect(holds("gt", bound, value) == (exactValue > exactBound), "\(context)")
                #expect(holds("lt", bound, value) == (exactValue < exactBound), "\(context)")
            }
        }
    }

    @Test func comparisonsReadNumbersFromStrings() {
        // A comparison has no meaning as text: a string is read as the number it spells, exactly too.
        #expect(holds("gte", "401", #""401.0""#))
        #expect(holds("gt", "9007199254740992", #""9007199254740993""#))
        #expect(!holds("gt", "9007199254740993", #""9007199254740993""#))
        #expect(!holds("gte", "401", #""unauthorized""#))
        // Spellings outside JSON's syntax that a number parser takes are still read, as doubles.
        #expect(holds("gt", "400", #""+401""#))
        #expect(holds("lt", "402", #"" 401""#))
    }

    @Test func patternsStillReadTheNumberAsWritten() {
        #expect(ruleMatches("s:\n    responseStatus.code: '40*'\ncondition: s", status("401.0"), logsource: kubernetesAudit))
        #expect(ruleMatches("s:\n    responseStatus.code|endswith: '.0'\ncondition: s", status("401.0"), logsource: kubernetesAudit))
        #expect(!ruleMatches("s:\n    responseStatus.code|contains: '.'\ncondition: s", status("401"), logsource: kubernetesAudit))
        // Comparisons were numeric already.
        #expect(ruleMatches("s:\n    responseStatus.code|gte: 401\ncondition: s", status("4.01e2"), logsource: kubernetesAudit))
    }
}
