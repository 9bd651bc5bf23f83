import Testing

@testable import PipewatchRules

/// Search identifiers a, b, c over the fields fa, fb, fc (each matches when its field is "1").
private func abc(_ condition: String, extra: String = "") -> String {
    "a:\n    fa: '1'\nb:\n    fb: '1'\nc:\n    fc: '1'\n\(extra)condition: \(condition)"
}

private func record(a: Bool = false, b: Bool = false, c: Bool = false) -> String {
    cloudTrail(#""fa":"\#(a ? 1 : 0)","fb":"\#(b ? 1 : 0)","fc":"\#(c ? 1 : 0)""#)
}

/// Every combination of a, b, c.
private let combinations: [(Bool, Bool, Bool)] = [false, true].flatMap { a in [false, true].flatMap { b in [false, true].map { c in (a, b, c) } } }

private func truthTable(_ condition: String, _ expected: (Bool, Bool, Bool) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
    let harness = Harness(rule(abc(condition)))
    #expect(harness.problems.isEmpty, "\(harness.problems)", sourceLocation: sourceLocation)
    for (a, b, c) in combinations {
        #expect(harness.matches(record(a: a, b: b, c: c)) == expected(a, b, c), "\(condition) with a=\(a) b=\(b) c=\(c)",
                sourceLocation: sourceLocation)
    }
}

@Suite struct ConditionTests {
    @Test func andOrNot() {
        truthTable("a and b") { a, b, _ in a && b }
        truthTable("a or b") { a, b, _ in a || b }
        truthTable("not a") { a, _, _ in !a }
        truthTable("a and not b") { a, b, _ in a && !b }
    }

    @Test func precedenceOrAndNot() {
        // or binds least, then and, then not.
        truthTable("a or b and c") { a, b, c in a || (b && c) }
        truthTable("a and b or c") { a, b, c in (a && b) || c }
        truthTable("not a and b") { a, b, _ in !a && b }
        truthTable("not a or b") { a, b, _ in !a || b }
        truthTable("not not a") { a, _, _ in a }
    }

    @Test func parentheses() {
        truthTable("(a or b) and c") { a, b, c in (a || b) && c }
        truthTable("a and (b or c)") { a, b, c in a && (b || c) }
        truthTable("not (a or b)") { a, b, _ in !(a || b) }
        truthTable("((a))") { a, _, _ in a }
    }

    @Test func keywordsAreCaseInsensitive() {
        truthTable("a AND NOT b") { a, b, _ in a && !b }
    }

    @Test func quantifiers() {
        truthTable("1 of them") { a, b, c in a || b || c }
        truthTable("all of them") { a, b, c in a && b && c }
        truthTable("any of them") { a, b, c in a || b || c }
        truthTable("2 of them") { a, b, c in [a, b, c].filter { $0 }.count >= 2 }
        truthTable("1 of them and not c") { a, b, c in (a || b || c) && !c }
    }

    @Test func quantifierPatterns() {
        let detection = "selection_one:\n    fa: '1'\nselection_two:\n    fb: '1'\nfilter_main:\n    fc: '1'\n"
        for (condition, expected) in [
            ("1 of selection_*", { (a: Bool, b: Bool, c: Bool) in a || b }),
            ("all of selection_*", { (a: Bool, b: Bool, c: Bool) in a && b }),
            ("1 of selection* and not 1 of filter*", { (a: Bool, b: Bool, c: Bool) in (a || b) && !c }),
            ("all of *_one", { (a: Bool, b: Bool, c: Bool) in a }),
        ] {
            let harness = Harness(rule(detection + "condition: " + condition))
            #expect(harness.problems.isEmpty)
            for (a, b, c) in combinations {
                #expect(harness.matches(record(a: a, b: b, c: c)) == expected(a, b, c), "\(condition) a=\(a) b=\(b) c=\(c)")
            }
        }
    }

    @Test func underscoreIdentifiersAreNotPartOfThem() {
        let detection = "a:\n    fa: '1'\n_helper:\n    fb: '1'\ncondition: all of them"
        let harness = Harness(rule(detection))
        #expect(harness.matches(record(a: true, b: false)))
        // A pattern still reaches them.
        let explicit = Harness(rule("a:\n    fa: '1'\n_helper:\n    fb: '1'\ncondition: a and 1 of _help*"))
        #expect(!explicit.matches(record(a: true, b: false)))
        #expect(explicit.matches(record(a: true, b: true)))
    }

    @Test func aListOfConditionsIsTheirOr() {
        let detection = "a:\n    fa: '1'\nb:\n    fb: '1'\ncondition:\n    - a\n    - b"
        let harness = Harness(rule(detection))
        #expect(harness.problems.isEmpty)
        #expect(harness.matches(record(a: true)))
        #expect(harness.matches(record(b: true)))
        #expect(!harness.matches(record(c: true)))
    }

    /// The specification's example: `selection_main and 1 of selection_empty*` with '' and null.
    @Test func specificationEmptyAndNullExample() {
        let detection = """
            selection_main:
                fa: 'something'
            selection_empty1:
                fb: ''
            selection_empty2:
                fb: null
            condition: selection_main and 1 of selection_empty*
            """
        let harness = Harness(rule(detection))
        #expect(harness.problems.isEmpty)
        #expect(harness.matches(cloudTrail(#""fa":"something","fb":"""#)))
        #expect(harness.matches(cloudTrail(#""fa":"something""#)))
        #expect(!harness.matches(cloudTrail(#""fa":"something","fb":"x""#)))
    }

    @Test func parseErrorsArePrecise() {
        func error(_ condition: String) -> String? {
            ruleProblems(abc(condition)).first?.reason
        }
        #expect(error("a and") == "condition: expected an identifier after 'and', found the end at column 6")
        #expect(error("a and (b or c") == "condition: '(' is never closed at column 7")
        #expect(error("a )") == "condition: unbalanced ')' at column 3")
        #expect(error("a b") == "condition: expected 'and', 'or' or the end, found 'b' at column 3")
        #expect(error("selction") == "condition: unknown search identifier 'selction' at column 1 (defined: a, b, c)")
        #expect(error("1 of filter_*") == "condition: 'filter_*' at column 1 matches no search identifier")
        #expect(error("2 off them") == "condition: expected 'and', 'or' or the end, found 'off' at column 3")
        #expect(error("3 of") == "condition: expected a search identifier pattern or 'them' after '3 of' at column 5")
        #expect(error("a | count() > 5")?.contains("aggregation expressions") == true)
        #expect(error("") == "condition must be a string or a list of strings, not null")
        #expect(error("' '") == "condition: empty condition at column 1")
        #expect(error("4 of them") == "condition: '4 of them' at column 1 asks for more than the 3 identifiers it names")
        #expect(error("few of them") == "condition: 'few of' is not a quantifier; use '1 of', 'all of' or 'any of' at column 1")
    }

    @Test func conditionErrorsCarryTheConditionLine() {
        let problems = ruleProblems(abc("a and nope"))
        #expect(problems.count == 1)
        // title, logsource (3 lines), detection:, a/fa, b/fb, c/fc, condition → line 12.
        #expect(problems.first?.line == 12)
    }

    @Test func missingCondition() {
        let problems = ruleProblems("a:\n    fa: '1'")
        #expect(problems.map(\.reason) == ["detection has no condition"])
    }

    @Test func parserProducesTheExpectedTree() throws {
        let tree = try ConditionParser.parse("a or not b and (1 of sel_*)")
        #expect(tree == .or(
            .identifier("a", column: 1),
            .and(.not(.identifier("b", column: 10)), .of(count: 1, pattern: "sel_*", column: 17))))
    }
}
