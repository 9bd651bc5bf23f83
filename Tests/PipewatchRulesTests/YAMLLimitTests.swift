import Foundation
import Testing

@testable import PipewatchRules

/// `levels` levels of aliases, each naming the level below nine times, under a rule's detection; the last is used by
/// the selection. 7 levels name 9^7 (4.8 million) scalars in about 500 bytes.
private func aliasBomb(levels: Int) -> String {
    let names = (0..<levels).map { "l\($0)" }
    var lines = ["title: alias bomb", "logsource: {product: aws, service: cloudtrail}", "detection:"]
    lines.append("    \(names[0]): &\(names[0]) [x, x, x, x, x, x, x, x, x]")
    for level in 1..<levels {
        let below = Array(repeating: "*" + names[level - 1], count: 9).joined(separator: ", ")
        lines.append("    \(names[level]): &\(names[level]) [\(below)]")
    }
    lines += ["    selection: {eventName: *\(names[levels - 1])}", "    condition: selection"]
    return lines.joined(separator: "\n") + "\n"
}

/// Maps that each merge the previous one: `m1: &m1 {<<: *m0, k1: 1}` …
private func mergeChain(_ count: Int) -> String {
    var lines = ["m0: &m0 {k0: 0}"]
    for k in 1..<count { lines.append("m\(k): &m\(k) {<<: *m\(k - 1), k\(k): \(k)}") }
    return lines.joined(separator: "\n") + "\n"
}

/// Problems of loading `yaml`, and how long it took.
private func load(_ yaml: String, file: String = "r.yml") -> (problems: [String], seconds: Double) {
    let clock = ContinuousClock()
    var problems: [String] = []
    let elapsed = clock.measure { problems = RuleSet(yaml: yaml, file: file).problems.map(\.description) }
    return (problems, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

private func temporaryFile(_ bytes: [UInt8], name: String = "rule.yml") throws -> (path: String, folder: URL) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipewatch-yaml-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let path = folder.appendingPathComponent(name).path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return (path, folder)
}

@Suite struct YAMLLimitTests {
    @Test func anAliasBombIsRefusedAtTheAliasThatCrossesTheLimit() {
        let seven = aliasBomb(levels: 7)
        #expect(seven.utf8.count < 600)
        // Level l5 (line 9) names 9^6 scalars: one of its aliases crosses 250,000 nodes.
        let (problems, seconds) = load(seven)
        #expect(problems == ["r.yml:9: alias '*l4' expands the file beyond 250000 YAML nodes (an alias counts as all it names)"])
        #expect(seconds < 1)
        // More levels cost no more: the file is refused at the same alias.
        let (ten, tenSeconds) = load(aliasBomb(levels: 10))
        #expect(ten == problems)
        #expect(tenSeconds < 1)
    }

    @Test func anAliasUsedAsAKeyIsCountedBeforeAnythingIsBuilt() {
        // Comparing map keys for duplicates walks every node an alias key names: the key is counted first.
        var lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        for (name, below) in zip(["b", "c", "d", "e"], ["a", "b", "c", "d"]) {
            lines.append("\(name): &\(name) [" + Array(repeating: "*" + below, count: 9).joined(separator: ", ") + "]")
        }
        lines.append("? [*e, *e, *e, *e]\n: value")
        let (problems, seconds) = load(lines.joined(separator: "\n"))
        #expect(problems == ["r.yml:6: alias '*e' expands the file beyond 250000 YAML nodes (an alias counts as all it names)"])
        #expect(seconds < 1)
    }

    @Test func chainedMergeKeysAreRefused() {
        // Each map merges the previous one, so the maps nest one level deeper per line before they are merged.
        let (problems, seconds) = load(mergeChain(2_000))
        #expect(problems == ["r.yml:63: alias '*m61' nests lists and maps more than 64 levels deep"])
        #expect(seconds < 1)
    }

    @Test func mergeKeysAreLimited() {
        let limit = YAMLLimits.default.mergeKeys
        func file(_ merges: Int) -> String {
            "base: &base {eventSource: s3.amazonaws.com}\n" + (1...merges).map { "m\($0): {<<: *base, n: \($0)}" }.joined(separator: "\n")
        }
        #expect(load(file(limit)).problems.allSatisfy { !$0.contains("merge keys") })
        #expect(load(file(limit + 1)).problems == ["r.yml:\(limit + 2): more than \(limit) merge keys ('<<') in one file"])
    }

    @Test func nestingIsLimited() {
        let depth = YAMLLimits.default.depth
        let allowed = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(YAMLReader.documents(allowed).error == nil)
        let deeper = "a: 1\nb: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
        #expect(YAMLReader.documents(deeper).error?.line == 2)
        #expect(YAMLReader.documents(deeper).error?.reason == "lists and maps nest more than 64 levels deep")
        // Through an alias: the alias's depth is where it is used plus the depth of what it names.
        let nested = String(repeating: "[", count: depth - 2) + "x" + String(repeating: "]", count: depth - 2)
        #expect(YAMLReader.documents("a: &deep \(nested)\nb: *deep\n").error == nil)
        let viaAlias = "a: &deep \(nested)\nb: [*deep]\n"
        #expect(YAMLReader.documents(viaAlias).error.map { "\($0.line): \($0.reason)" } == "2: alias '*deep' nests lists and maps more than 64 levels deep")
    }

    @Test func repeatedTextIsLimited() {
        // A 64 KiB scalar named 200 times: 200 nodes, but 12.8 MB of text to compile.
        let text = String(repeating: "x", count: 64 << 10)
        let yaml = "a: &big \(text)\nb: [" + Array(repeating: "*big", count: 200).joined(separator: ", ") + "]\n"
        #expect(yaml.utf8.count < YAMLLimits.default.fileBytes)
        let error = YAMLReader.documents(yaml).error
        #expect(error?.line == 2)
        #expect(error?.reason == "alias '*big' expands the file beyond 8388608 bytes of scalar text (an alias counts as all it names)")
    }

    @Test func nodesAreLimitedWithoutAliasesToo() {
        let yaml = "[" + Array(repeating: "x", count: YAMLLimits.default.nodes).joined(separator: ",") + "]"
        #expect(yaml.utf8.count < YAMLLimits.default.fileBytes)
        #expect(YAMLReader.documents(yaml).error.map { "\($0.line): \($0.reason)" } == "1: the file has more than 250000 YAML nodes")
    }

    @Test func theCountIsExact() {
        // Root map 1, key a 1, list 3, key b 1, list 1 + two aliases of 3 each: 13 nodes.
        let yaml = "a: &a [x, y]\nb: [*a, *a]\n"
        func limits(nodes: Int) -> YAMLLimits {
            var limits = YAMLLimits.default
            limits.nodes = nodes
            return limits
        }
        #expect(YAMLReader.documents(yaml, limits: limits(nodes: 13)).error == nil)
        let error = YAMLReader.documents(yaml, limits: limits(nodes: 12)).error
        #expect(error.map { "\($0.line): \($0.reason)" } == "2: alias '*a' expands the file beyond 12 YAML nodes (an alias counts as all it names)")
    }

    @Test func fileSizeIsLimited() throws {
        let limit = YAMLLimits.default.fileBytes
        let rule = Array("title: big\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: A}, condition: s}\n#".utf8)
        let padded = rule + Array(repeating: UInt8(ascii: "x"), count: limit - rule.count)
        let (atLimit, folder) = try temporaryFile(padded)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(RuleSet(paths: [atLimit]).rules.map(\.title) == ["big"])
        try Data(padded + [UInt8(ascii: "x")]).write(to: URL(fileURLWithPath: atLimit))
        #expect(RuleSet(paths: [atLimit]).problems.map(\.description) == ["\(atLimit): larger than \(limit) bytes, the limit for a YAML file"])
        // Text handed over directly is held to the same limit.
        let text = String(decoding: padded + [UInt8(ascii: "x")], as: UTF8.self)
        #expect(RuleSet(yaml: text, file: "t.yml").problems.map(\.description) == ["t.yml: larger than \(limit) bytes, the limit for a YAML file"])
    }

    @Test func honestAnchorsAndMergeKeysStillLoad() {
        let yaml = """
            title: honest anchors
            logsource: {product: aws, service: cloudtrail}
            detection:
                base: &base
                    eventSource: s3.amazonaws.com
                    eventName: &names [GetObject, PutObject]
                selection_bob:
                    <<: *base
                    userIdentity.userName: bob
                selection_override:
                    <<: *base
                    eventName: DeleteObject
                other_names:
                    requestParameters.name: *names
                condition: selection_bob or selection_override
            """
        let harness = Harness(yaml)
        #expect(harness.problems.isEmpty)
        #expect(harness.matches(cloudTrail()))  // bob's GetObject on S3
        #expect(!harness.matches(cloudTrail(#""eventSource":"ec2.amazonaws.com""#)))
        #expect(!harness.matches(cloudTrail(#""eventName":"ListBuckets""#)))
        // The map's own key overrides the merged one.
        #expect(harness.matches(cloudTrail(#""eventName":"DeleteObject","userIdentity":{"userName":"carol"}"#)))
    }

    @Test func mergeKeysFollowYAML11() {
        let yaml = "a: &a {k: a, x: 1}\nb: &b {k: b, y: 2}\nm: {<<: [*a, *b], z: 3}\nn: {<<: *a, k: own}\n"
        let (documents, error) = YAMLReader.documents(yaml)
        #expect(error == nil)
        func pairs(_ key: String) -> [String] {
            documents.first?[key]?.mapping?.map { "\($0.key.text ?? ""):\($0.value.text ?? "")" } ?? []
        }
        // An earlier merged map overrides a later one; merged pairs come first.
        #expect(pairs("m") == ["k:a", "x:1", "y:2", "z:3"])
        #expect(pairs("n") == ["x:1", "k:own"])
        let scalar = YAMLReader.documents("a: {<<: text}\n").error
        #expect(scalar.map { "\($0.line): \($0.reason)" } == "1: a merge key ('<<') takes a map or a list of maps, not a scalar")
    }

    @Test func aFileThatIsNotUTF8IsRefusedAtTheFirstInvalidByte() throws {
        let rule = "title: latin-1\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    s: {eventName: caf"
        let (path, folder) = try temporaryFile(Array(rule.utf8) + [0xE9] + Array("}\n    condition: s\n".utf8))
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(RuleSet(paths: [path]).problems.map(\.description) == ["\(path):4: not UTF-8 text: invalid byte 0xE9 at column 23"])
        // Field mapping and placeholder files are read the same way.
        let mapping = try temporaryFile(Array("field_name_mapping:\n    user: actor.user\n    ip: src.".utf8) + [0xFF, 0x0A])
        defer { try? FileManager.default.removeItem(at: mapping.folder) }
        #expect(throws: RuleProblem(file: mapping.path, line: 3, reason: "not UTF-8 text: invalid byte 0xFF at column 13")) {
            try FieldMapping.load(path: mapping.path)
        }
        let placeholders = try temporaryFile(Array("placeholders:\n    admins: [r".utf8) + [0xC3, 0x28] + Array("]\n".utf8))
        defer { try? FileManager.default.removeItem(at: placeholders.folder) }
        #expect(throws: RuleProblem(file: placeholders.path, line: 2, reason: "not UTF-8 text: invalid byte 0xC3 at column 15")) {
            try Placeholders.load(path: placeholders.path)
        }
        // A UTF-16 file is refused on its first line.
        let utf16 = try temporaryFile([0xFF, 0xFE] + Array("t".utf8))
        defer { try? FileManager.default.removeItem(at: utf16.folder) }
        #expect(RuleSet(paths: [utf16.path]).problems.map(\.line) == [1])
    }
}
