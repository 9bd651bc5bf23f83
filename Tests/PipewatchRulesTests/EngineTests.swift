import Foundation
import PipewatchEvents
import Testing

@testable import PipewatchRules

@Suite struct RuleIndexTests {
    /// `count` CloudTrail rules, rule k matching eventName `Event<k>`.
    static func manyRules(_ count: Int) -> String {
        (0..<count).map { k in
            "title: rule \(k)\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventSource: s3.amazonaws.com, eventName: Event\(k)}, condition: s}\n"
        }.joined(separator: "---\n")
    }

    @Test func anEventEvaluatesOnlyTheRulesFiledUnderItsValues() {
        let harness = Harness(Self.manyRules(1000))
        #expect(harness.problems.isEmpty)
        let before = harness.evaluator.ruleEvaluations
        #expect(harness.titles(cloudTrail(#""eventName":"event731""#)) == ["rule 731"])
        #expect(harness.evaluator.ruleEvaluations - before == 1)
        let miss = harness.evaluator.ruleEvaluations
        #expect(harness.titles(cloudTrail(#""eventName":"Other""#)) == [])
        #expect(harness.evaluator.ruleEvaluations - miss == 0)
        let summary = harness.ruleSet.engine.indexSummary.first { $0.source == .cloudTrail }
        #expect(summary?.indexedFields == ["raw.eventName", "raw.eventSource"])  // both required by every rule
        #expect(summary?.indexedRules == 1000)
        #expect(summary?.unindexedRules == 0)
    }

    @Test func rulesOfOtherSourcesAreNeverEvaluated() {
        let kubernetesOnly = (0..<50).map { k in
            "title: k\(k)\nlogsource: {product: kubernetes, service: audit}\ndetection: {s: {userAgent|contains: 'kubectl'}, condition: s}\n"
        }.joined(separator: "---\n")
        let harness = Harness(kubernetesOnly)
        let before = harness.evaluator.ruleEvaluations
        #expect(harness.titles(cloudTrail()).isEmpty)
        #expect(harness.evaluator.ruleEvaluations == before)
        #expect(harness.titles(kubernetes()).count == 50)
    }

    @Test func rulesWithoutARequiredLiteralAreStillEvaluated() {
        let yaml = """
            title: either
            logsource: {product: aws, service: cloudtrail}
            detection:
                a: {eventName: DeleteTrail}
                b: {userAgent|contains: terraform}
                condition: a or b
            ---
            title: negated
            logsource: {product: aws, service: cloudtrail}
            detection:
                filter: {eventName: GetObject}
                condition: not filter
            ---
            title: one of two selections
            logsource: {product: aws, service: cloudtrail}
            detection:
                selection_a: {eventName: StopLogging}
                selection_b: {eventName: DeleteTrail, eventSource: cloudtrail.amazonaws.com}
                condition: 1 of selection_*
            """
        let harness = Harness(yaml)
        #expect(harness.problems.isEmpty)
        let summary = harness.ruleSet.engine.indexSummary.first { $0.source == .cloudTrail }
        #expect(summary?.indexedRules == 1)  // only "one of two selections": eventName ∈ {StopLogging, DeleteTrail}
        #expect(summary?.unindexedRules == 2)
        #expect(harness.titles(cloudTrail(#""userAgent":"Terraform/1.6","eventName":"ListBuckets""#)) == ["either", "negated"])
        #expect(harness.titles(cloudTrail(#""userAgent":"Terraform/1.6""#)) == ["either"])
        #expect(harness.titles(cloudTrail(#""eventName":"DeleteTrail""#)) == ["either", "negated"])
        #expect(harness.titles(cloudTrail(#""eventName":"DeleteTrail","eventSource":"cloudtrail.amazonaws.com""#)) == ["either", "negated", "one of two selections"])
        #expect(harness.titles(cloudTrail(#""eventName":"StopLogging""#)) == ["negated", "one of two selections"])
        #expect(harness.titles(cloudTrail()) == [])
    }

    @Test func patternOnlyRulesAreGatedByOneAutomaton() {
        let yaml = (0..<40).map { k in
            "title: agent \(k)\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {userAgent|contains: 'tool-\(k)/'}, condition: s}\n"
        }.joined(separator: "---\n")
        let harness = Harness(yaml)
        let gates = harness.ruleSet.engine.plans[0].gates
        #expect(gates.map(\.field.description) == ["raw.userAgent"])
        #expect(gates.first?.automaton != nil)
        let before = harness.evaluator.ruleEvaluations
        #expect(harness.titles(cloudTrail(#""userAgent":"x TOOL-17/2.0""#)) == ["agent 17"])
        #expect(harness.titles(cloudTrail()) == [])
        #expect(harness.evaluator.ruleEvaluations - before == 1)
    }

    @Test func arrayValuedKeysFindEachRuleOnce() {
        let yaml = "title: a\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {probe: [x, y]}, condition: s}\n"
        let harness = Harness(yaml)
        let before = harness.evaluator.ruleEvaluations
        #expect(harness.titles(cloudTrail(#""probe":["x","y","x"]"#)) == ["a"])
        #expect(harness.evaluator.ruleEvaluations - before == 1)
    }

    /// The index must never hide a match: random rules and events, engine against evaluating every rule directly.
    @Test func indexAgreesWithEvaluatingEveryRule() {
        var generator = SplitMix(seed: 20261105)
        let names = ["GetObject", "PutObject", "DeleteTrail", "StopLogging", "CreateUser"]
        let sources = ["s3.amazonaws.com", "iam.amazonaws.com", "cloudtrail.amazonaws.com"]
        let agents = ["aws-cli/2", "Terraform/1.6", "console.amazonaws.com"]
        func pick(_ values: [String]) -> String { values[Int(generator.next() % UInt64(values.count))] }
        let substrings = ["et", "bj", "ut", "Tr", "ai", "Us", "Lo", "Ob", "ele", "rea", "top", "ng"]
        let regexes = ["^aws-cli/[0-9]", "Terraform/1\\.[0-9]+", "console\\.amazon", "^(Get|Put)Object$"]
        let types = ["IAMUser", "AssumedRole", "Root"]
        func item(_ kind: UInt64) -> String {
            switch kind {
            case 0: return "eventName: \(pick(names))"
            case 1: return "eventName: [\(pick(names)), \(pick(names))]"
            case 2: return "eventSource: \(pick(sources))"
            case 3: return "userAgent|contains: '\(pick(agents).prefix(4))'"
            case 4: return "eventName|startswith: '\(pick(names).prefix(3))'"
            case 5: return "eventName|cased: \(pick(names))"
            case 6: return "userAgent|re: '\(pick(regexes))'"
            case 7: return "eventName|contains: '\(pick(substrings))'"
            default: return "userIdentity.type: \(pick(types))"
            }
        }
        func item() -> String { item(generator.next() % 9) }
        /// Two items with different keys.
        func pair() -> String {
            let keyOf: (UInt64) -> Int = { [0: 0, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7][$0]! }
            let first = generator.next() % 9
            var second = generator.next() % 9
            while keyOf(second) == keyOf(first) { second = generator.next() % 9 }
            return item(first) + ", " + item(second)
        }
        let conditions = ["a", "a and b", "a or b", "a and not b", "not a", "1 of them", "all of them", "(a or b) and c", "a and (b or not c)"]
        var yaml: [String] = []
        for k in 0..<300 {
            yaml.append("""
                title: r\(k)
                logsource: {product: aws, service: cloudtrail}
                detection:
                    a: {\(item())}
                    b: {\(pair())}
                    c: {\(item())}
                    condition: \(pick(conditions))
                """)
        }
        let harness = Harness(yaml.joined(separator: "\n---\n"))
        #expect(harness.problems.isEmpty)
        let engine = harness.ruleSet.engine
        #expect(engine.indexSummary.first { $0.source == .cloudTrail }!.indexedRules > 150)
        // More than eight distinct patterns on a field: the gate uses an automaton.
        #expect(engine.plans[0].gates.contains { $0.automaton != nil })
        for _ in 0..<300 {
            let record = cloudTrail(#""eventName":"\#(pick(names))","eventSource":"\#(pick(sources))","userAgent":"\#(pick(agents))","userIdentity":{"type":"\#(pick(types))"}"#)
            let (viaIndex, direct) = try! harness.decoder.withEventView(json: record) { view in
                let viaIndex = harness.evaluator.matchingRules(in: view).map(\.index)
                let context = EvaluationContext(view: view, scratch: harness.evaluator.scratch.scratch)
                let direct = engine.programs.indices.filter { engine.programs[$0].expression.evaluate(context) }
                return (viaIndex, direct)
            }
            #expect(viaIndex == direct, "\(record)")
        }
    }

    @Test func evaluatorCopiesWorkOnSeveralThreads() {
        let harness = Harness(Self.manyRules(200) + "---\ntitle: regex\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {userAgent|re: '^aws-cli/[0-9]'}, condition: s}\n")
        let engine = harness.ruleSet.engine
        let results = Mutex(Array(repeating: 0, count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            let evaluator = engine.makeEvaluator()
            let decoder = RecordDecoder()
            var count = 0
            for k in 0..<200 {
                count += try! decoder.withEventView(json: cloudTrail(#""eventName":"Event\#(k)""#)) { evaluator.matchingRules(in: $0).count }
            }
            results.withLock { $0[thread] = count }
        }
        #expect(results.withLock { $0 } == [400, 400, 400, 400])
    }
}

/// A tiny deterministic random generator for reproducible tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A lock around a value.
final class Mutex<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

@Suite struct RegexLinearityTests {
    /// `(a+)+$` backtracks exponentially in a backtracking engine on a run of a's that ends in another character.
    /// Hyperscan matches with automata: 100,000 characters take linear time, and the answers are right.
    @Test func nestedQuantifiersRunInLinearTime() {
        let harness = Harness(rule("s:\n    probe|re: '(a+)+$'\ncondition: s"))
        #expect(harness.problems.isEmpty)
        let run = String(repeating: "a", count: 100_000)
        let start = DispatchTime.now().uptimeNanoseconds
        #expect(!harness.matches(cloudTrail(#""probe":"\#(run)!""#)))
        #expect(harness.matches(cloudTrail(#""probe":"\#(run)""#)))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(seconds < 2, "took \(seconds) s")
    }

    @Test func otherPathologicalPatterns() {
        let run = String(repeating: "x", count: 100_000)
        let start = DispatchTime.now().uptimeNanoseconds
        #expect(!ruleMatches("s:\n    probe|re: '(x+x+)+y'\ncondition: s", cloudTrail(#""probe":"\#(run)""#)))
        #expect(ruleMatches("s:\n    probe|re: '(x+x+)+y'\ncondition: s", cloudTrail(#""probe":"\#(run)y""#)))
        #expect(!ruleMatches("s:\n    probe|re: '^(x|xx)*z$'\ncondition: s", cloudTrail(#""probe":"\#(run)""#)))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #expect(seconds < 2, "took \(seconds) s")
    }
}
