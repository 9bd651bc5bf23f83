import CHyperscan
import Foundation  // NSLock
import PipewatchEvents
import PipewatchJSON

/// Compiled rules, ready to evaluate events: immutable and shareable between threads. Each thread evaluates through
/// its own `RuleEvaluator` (`makeEvaluator()`).
///
/// How it stays fast as rules are added:
/// - Rules are split by event source: an event never touches rules of other logsources.
/// - *Gates.* Each rule's logic is analysed for fields whose value must pass a set of literals (`eventName` is one
///   of …) or of patterns (`userAgent` contains …) for the rule to match. Per source, the fields many rules share
///   become gate fields: one hash table holds every rule's literal values for the field, one Hyperscan automaton
///   every rule's patterns. An event reads each gate field once, looks its value up in the table and scans it
///   with the automaton, and counts for each rule how many of its gates passed; a rule is evaluated only when all
///   its gates passed. Rules with no gate at all are evaluated for every event of their source.
/// - Rule logic is lowered to a flat instruction array, cheap tests first, evaluated without reference counting.
public final class RuleEngine: @unchecked Sendable {
    public let rules: [Rule]
    /// The rules' logic as trees (what the flat code is lowered from).
    let programs: [RuleProgram]
    let plans: [SourcePlan]
    let code: ProgramCode
    /// Scratch space sized for every Hyperscan database of the rules and gates; evaluators clone it.
    private let prototypeScratch: HyperscanScratch
    private let scratchLock = NSLock()
    /// The most patterns any gate automaton has (the size of an evaluator's match buffer).
    let maximumGatePatterns: Int

    init(rules: [Rule], programs: [RuleProgram]) {
        self.rules = rules
        self.programs = programs
        code = ProgramCode(programs)
        let constraints = programs.map { $0.expression.gateConstraints() }
        plans = EventSource.allCases.map { source in
            SourcePlan(source: source, members: rules.filter { $0.sources.contains(source) }.map(\.index),
                       constraints: constraints, ruleCount: rules.count)
        }
        maximumGatePatterns = plans.flatMap(\.gates).map(\.patternCount).max() ?? 0
        let scratch = HyperscanScratch()
        for program in programs {
            program.expression.forEachDatabase { scratch.prepare(for: $0) }
            for filter in program.filters { filter.forEachDatabase { scratch.prepare(for: $0) } }
        }
        for plan in plans {
            for gate in plan.gates {
                if let automaton = gate.automaton { scratch.prepare(for: automaton) }
            }
        }
        prototypeScratch = scratch
    }

    /// A new evaluator with its own scratch space.
    public func makeEvaluator() -> RuleEvaluator {
        let scratch = scratchLock.withLock { prototypeScratch.clone() }
        return RuleEvaluator(engine: self, scratch: scratch)
    }

    /// How rules are reached, per source: the gate fields, how many rules have gates, and how many are evaluated for
    /// every event.
    public var indexSummary: [(source: EventSource, indexedFields: [String], indexedRules: Int, unindexedRules: Int)] {
        plans.map { plan in
            (plan.source, plan.gates.map(\.field.description), plan.gatedRuleCount, plan.alwaysCount)
        }
    }
}

// MARK: Flat code

/// One node of lowered rule logic. Children follow their parent; `size` counts a node's whole subtree, so a
/// subtree is skipped by adding it.
struct Instruction {
    enum Operation: UInt8 { case all, any, not, atLeast, predicate, alwaysTrue, alwaysFalse }
    var operation: Operation
    /// Number of children.
    var arity: Int32
    var size: Int32
    /// Predicate index, or the threshold of `atLeast`.
    var operand: Int32
}

/// Every rule's logic and filters as instructions in one buffer, with their predicates.
final class ProgramCode: @unchecked Sendable {
    let instructions: UnsafeMutablePointer<Instruction>
    let predicates: UnsafeMutablePointer<Unmanaged<Predicate>>
    /// Per rule: where its logic starts; where its filters' roots start in `filterRoots`, and how many.
    let roots: UnsafeMutablePointer<Int32>
    let filterStarts: UnsafeMutablePointer<Int32>
    let filterCounts: UnsafeMutablePointer<Int32>
    let filterRoots: UnsafeMutablePointer<Int32>
    /// Owns the predicates the unmanaged references point to.
    private let predicateObjects: [Predicate]

    init(_ programs: [RuleProgram]) {
        var instructions: [Instruction] = []
        var predicates: [Predicate] = []
        var indexOf: [ObjectIdentifier: Int32] = [:]
        func emit(_ expression: Expression) {
            let start = instructions.count
            switch expression {
            case .all(let children), .any(let children), .atLeast(_, let children):
                var operation = Instruction.Operation.all
                var operand: Int32 = 0
                if case .any = expression { operation = .any }
                if case .atLeast(let count, _) = expression {
                    operation = .atLeast
                    operand = Int32(count)
                }
                instructions.append(Instruction(operation: operation, arity: Int32(children.count), size: 0, operand: operand))
                for child in children { emit(child) }
            case .not(let child):
                instructions.append(Instruction(operation: .not, arity: 1, size: 0, operand: 0))
                emit(child)
            case .predicate(let predicate):
                let id = ObjectIdentifier(predicate)
                let index: Int32
                if let known = indexOf[id] {
                    index = known
                } else {
                    index = Int32(predicates.count)
                    indexOf[id] = index
                    predicates.append(predicate)
                }
                instructions.append(Instruction(operation: .predicate, arity: 0, size: 0, operand: index))
            case .constant(let value):
                instructions.append(Instruction(operation: value ? .alwaysTrue : .alwaysFalse, arity: 0, size: 0, operand: 0))
            }
            instructions[start].size = Int32(instructions.count - start)
        }
        var roots: [Int32] = []
        var filterStarts: [Int32] = []
        var filterCounts: [Int32] = []
        var filterRoots: [Int32] = []
        for program in programs {
            roots.append(Int32(instructions.count))
            emit(program.expression)
            filterStarts.append(Int32(filterRoots.count))
            filterCounts.append(Int32(program.filters.count))
            for filter in program.filters {
                filterRoots.append(Int32(instructions.count))
                emit(filter)
            }
        }
        self.instructions = ProgramCode.copy(instructions)
        self.predicates = ProgramCode.copy(predicates.map { Unmanaged.passUnretained($0) })
        self.roots = ProgramCode.copy(roots)
        self.filterStarts = ProgramCode.copy(filterStarts)
        self.filterCounts = ProgramCode.copy(filterCounts)
        self.filterRoots = ProgramCode.copy(filterRoots)
        predicateObjects = predicates
    }

    deinit {
        instructions.deallocate()
        predicates.deallocate()
        roots.deallocate()
        filterStarts.deallocate()
        filterCounts.deallocate()
        filterRoots.deallocate()
    }

    static func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(array.count, 1))
        _ = UnsafeMutableBufferPointer(start: pointer, count: array.count).initialize(from: array)
        return pointer
    }

    /// Evaluates the subtree at `index`.
    func run(_ index: Int, _ context: EvaluationContext) -> Bool {
        let instruction = instructions[index]
        switch instruction.operation {
        case .predicate:
            return predicates[Int(instruction.operand)]._withUnsafeGuaranteedRef { $0.evaluate(context) }
        case .all:
            var child = index + 1
            for _ in 0..<instruction.arity {
                if !run(child, context) { return false }
                child += Int(instructions[child].size)
            }
            return true
        case .any:
            var child = index + 1
            for _ in 0..<instruction.arity {
                if run(child, context) { return true }
                child += Int(instructions[child].size)
            }
            return false
        case .not:
            return !run(index + 1, context)
        case .atLeast:
            var child = index + 1
            var hits: Int32 = 0
            for _ in 0..<instruction.arity {
                if run(child, context) {
                    hits += 1
                    if hits >= instruction.operand { return true }
                }
                child += Int(instructions[child].size)
            }
            return false
        case .alwaysTrue:
            return true
        case .alwaysFalse:
            return false
        }
    }

    /// Whether rule `rule` matches: its logic holds and none of its filters does.
    @inline(__always)
    func matches(_ rule: Int, _ context: EvaluationContext) -> Bool {
        guard run(Int(roots[rule]), context) else { return false }
        let start = Int(filterStarts[rule])
        for k in start..<(start + Int(filterCounts[rule])) where run(Int(filterRoots[k]), context) { return false }
        return true
    }
}

// MARK: Gates

/// The rules of one event source and how they are reached.
final class SourcePlan: @unchecked Sendable {
    let source: EventSource
    let gates: [Gate]
    let gateReferences: UnsafeMutablePointer<Unmanaged<Gate>>
    let gateCount: Int
    /// Rules evaluated for every event of the source.
    let always: UnsafeMutablePointer<Int32>
    let alwaysCount: Int
    /// Per rule (by rule index): how many gates must pass before the rule is evaluated.
    let needed: UnsafeMutablePointer<Int32>
    let gatedRuleCount: Int

    init(source: EventSource, members: [Int], constraints: [[FieldAccess: GateValues]], ruleCount: Int) {
        self.source = source
        // Fields many rules share are read once per event for all of them: each rule's best field (shared by the
        // most rules, literals before patterns, fewest values) is a gate field, and so is any field 2 % of the
        // source's rules constrain.
        var usage: [FieldAccess: Int] = [:]
        for rule in members {
            for field in constraints[rule].keys { usage[field, default: 0] += 1 }
        }
        var active = Set<FieldAccess>()
        for rule in members {
            let best = constraints[rule].max { a, b in
                let (ua, ub) = (usage[a.key]!, usage[b.key]!)
                if ua != ub { return ua < ub }
                if a.value.isLiteral != b.value.isLiteral { return !a.value.isLiteral }
                if a.value.count != b.value.count { return a.value.count > b.value.count }
                return a.key.description > b.key.description
            }
            if let best { active.insert(best.key) }
        }
        for (field, count) in usage where count >= 2 && count * 50 >= members.count { active.insert(field) }
        let fields = active.sorted { (usage[$0]!, $1.description) > (usage[$1]!, $0.description) }

        var literalRules: [[(rule: Int, values: Set<[UInt8]>)]] = Array(repeating: [], count: fields.count)
        var patternRules: [[(rule: Int, patterns: Set<GatePattern>)]] = Array(repeating: [], count: fields.count)
        var needed = [Int32](repeating: 0, count: ruleCount)
        var always: [Int32] = []
        for rule in members {
            for (slot, field) in fields.enumerated() {
                switch constraints[rule][field] {
                case .literals(let values)?: literalRules[slot].append((rule, values))
                case .patterns(let patterns)?: patternRules[slot].append((rule, patterns))
                case nil: continue
                }
                needed[rule] += 1
            }
            if needed[rule] == 0 { always.append(Int32(rule)) }
        }
        var gates: [Gate] = []
        for (slot, field) in fields.enumerated() {
            gates.append(Gate(field: field, literalRules: literalRules[slot], patternRules: patternRules[slot]))
        }
        self.gates = gates
        gateReferences = ProgramCode.copy(gates.map { Unmanaged.passUnretained($0) })
        gateCount = gates.count
        self.always = ProgramCode.copy(always)
        alwaysCount = always.count
        self.needed = ProgramCode.copy(needed)
        gatedRuleCount = members.count - always.count
    }

    deinit {
        gateReferences.deallocate()
        always.deallocate()
        needed.deallocate()
    }
}

/// One gate field of a source: every rule's literal values for it in one hash table, every rule's patterns for it
/// compared directly (a few prefixes, suffixes or substrings) or in one automaton; each entry lists the rules it
/// lets through.
final class Gate: @unchecked Sendable {
    let field: FieldAccess
    let reader: FieldReader
    let table: LiteralTable?
    private let tableReference: Unmanaged<LiteralTable>?
    let automaton: HyperscanDatabase?
    private let automatonReference: Unmanaged<HyperscanDatabase>?
    let patternCount: Int
    /// Patterns compared directly (lowercased), when there are few and all are simple.
    private let simpleShapes: UnsafeMutablePointer<GatePattern.Shape>
    private let simpleBytes: ByteStrings
    private let simpleCount: Int
    /// Rules per table entry, then rules per pattern: `ruleLists[starts[k]..<starts[k] + counts[k]]`.
    private let ruleLists: UnsafeMutablePointer<Int32>
    private let starts: UnsafeMutablePointer<Int32>
    private let counts: UnsafeMutablePointer<Int32>
    private let entryCount: Int
    /// Patterns that could not be compiled into an automaton: their rules pass this gate unconditionally.
    private let unfilteredPatterns: Bool
    /// Whether some rule value is a number, which JSON numbers are also checked against in canonical spelling.
    private let comparesNumbers: Bool

    /// At most this many simple patterns are compared directly; more go into an automaton.
    static let directPatternLimit = 8

    init(field: FieldAccess, literalRules: [(rule: Int, values: Set<[UInt8]>)], patternRules: [(rule: Int, patterns: Set<GatePattern>)]) {
        self.field = field
        reader = FieldReader(field)
        var lists: [[Int32]] = []
        // Literals.
        var keys: [[UInt8]] = []
        var keyIndex: [[UInt8]: Int] = [:]
        for (rule, values) in literalRules {
            for value in values.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                if let index = keyIndex[value] {
                    lists[index].append(Int32(rule))
                } else {
                    keyIndex[value] = keys.count
                    keys.append(value)
                    lists.append([Int32(rule)])
                }
            }
        }
        table = keys.isEmpty ? nil : LiteralTable(keys, cased: false)
        tableReference = table.map { Unmanaged.passUnretained($0) }
        entryCount = keys.count
        // Patterns.
        var patterns: [GatePattern] = []
        var patternIndex: [GatePattern: Int] = [:]
        for (rule, rulePatterns) in patternRules {
            let ordered = rulePatterns.sorted { ($0.expression.expression, $0.expression.flags) < ($1.expression.expression, $1.expression.flags) }
            for pattern in ordered {
                if let index = patternIndex[pattern] {
                    lists[entryCount + index].append(Int32(rule))
                } else {
                    patternIndex[pattern] = patterns.count
                    patterns.append(pattern)
                    lists.append([Int32(rule)])
                }
            }
        }
        patternCount = patterns.count
        let direct = patterns.count <= Gate.directPatternLimit && patterns.allSatisfy { $0.simple != nil }
        if direct {
            automaton = nil
            simpleCount = patterns.count
            simpleShapes = ProgramCode.copy(patterns.map { $0.simple!.shape })
            simpleBytes = ByteStrings(patterns.map { $0.simple!.bytes })
        } else {
            // Every pattern compiled alone when its rule was loaded, so together they should compile too; if
            // Hyperscan still refuses the set, the gate lets every pattern rule through (slower, never wrong).
            automaton = patterns.isEmpty ? nil : try? HyperscanDatabase.compile(patterns.map(\.expression))
            simpleCount = 0
            simpleShapes = ProgramCode.copy([])
            simpleBytes = ByteStrings([])
        }
        automatonReference = automaton.map { Unmanaged.passUnretained($0) }
        unfilteredPatterns = !direct && !patterns.isEmpty && automaton == nil
        comparesNumbers = keys.contains { DecimalNumber.canonical($0) != nil }
            || patterns.contains { $0.simple.map { DecimalNumber.canonical($0.bytes) != nil } ?? false }
        var flat: [Int32] = []
        var starts: [Int32] = []
        var counts: [Int32] = []
        for list in lists {
            starts.append(Int32(flat.count))
            counts.append(Int32(list.count))
            flat += list
        }
        ruleLists = ProgramCode.copy(flat)
        self.starts = ProgramCode.copy(starts)
        self.counts = ProgramCode.copy(counts)
    }

    deinit {
        ruleLists.deallocate()
        starts.deallocate()
        counts.deallocate()
        simpleShapes.deallocate()
    }

    /// Calls `body` with each rule whose values let `text` through (a rule may come more than once); a JSON number
    /// (`number`) passes as it is spelled and as its canonical spelling, which holds the rule values that are numbers.
    @inline(__always)
    func forEachRule(passing text: UnsafeBufferPointer<UInt8>, number: Bool, _ evaluator: RuleEvaluator, _ body: (Int) -> Void) {
        forEachRule(passing: text, evaluator, body)
        if number && comparesNumbers { forEachRule(passingValueOf: text, evaluator, body) }
    }

    /// The canonical spelling's lookup, out of line and without reference counting: inlined, its closure retained the
    /// gate and the evaluator on every field the gate reads.
    @inline(never)
    private func forEachRule(passingValueOf text: UnsafeBufferPointer<UInt8>, _ evaluator: RuleEvaluator, _ body: (Int) -> Void) {
        _ = DecimalNumber.withCanonical(text) { [unowned(unsafe) self, unowned(unsafe) evaluator] canonical in
            if !ASCII.equals(canonical, text, cased: true) { self.forEachRule(passing: canonical, evaluator, body) }
        }
    }

    @inline(__always)
    private func forEachRule(passing text: UnsafeBufferPointer<UInt8>, _ evaluator: RuleEvaluator, _ body: (Int) -> Void) {
        if let tableReference {
            let entry = tableReference._withUnsafeGuaranteedRef { $0.lookup(text) }
            if entry >= 0 { forEachRule(inList: entry, body) }
        }
        for k in 0..<simpleCount {
            let pattern = simpleBytes[k]
            let passes: Bool
            switch simpleShapes[k] {
            case .exact: passes = ASCII.equals(text, pattern, cased: false)
            case .prefix: passes = ASCII.hasPrefix(text, pattern, cased: false)
            case .suffix: passes = ASCII.hasSuffix(text, pattern, cased: false)
            case .substring: passes = ASCII.contains(text, pattern, cased: false)
            }
            if passes { forEachRule(inList: entryCount + k, body) }
        }
        if unfilteredPatterns {
            for k in 0..<patternCount { forEachRule(inList: entryCount + k, body) }
        }
        if let automatonReference, let scratch = evaluator.scratchPointer {
            let found = automatonReference._withUnsafeGuaranteedRef { evaluator.collectMatches($0, text, scratch) }
            for k in 1...max(found, 1) where found > 0 { forEachRule(inList: entryCount + Int(evaluator.matchBuffer[k]), body) }
        }
    }

    @inline(__always)
    private func forEachRule(inList list: Int, _ body: (Int) -> Void) {
        let start = Int(starts[list])
        for k in start..<(start + Int(counts[list])) { body(Int(ruleLists[k])) }
    }
}

// MARK: Evaluation

/// Evaluates events against a `RuleEngine`. Not thread-safe (it owns Hyperscan scratch space and bookkeeping): use
/// one per thread, made with `RuleEngine.makeEvaluator()`. Evaluating allocates nothing when no rule matches.
public final class RuleEvaluator {
    public let engine: RuleEngine
    let scratch: HyperscanScratch
    let scratchPointer: OpaquePointer?
    private let code: Unmanaged<ProgramCode>
    private let plans: UnsafeMutablePointer<Unmanaged<SourcePlan>>
    /// Per rule: the event generation it was last counted in, how many gates passed, the last gate counted.
    private let stamps: UnsafeMutablePointer<UInt32>
    private let passed: UnsafeMutablePointer<Int32>
    private let lastGate: UnsafeMutablePointer<Int32>
    private var generation: UInt32 = 0
    private let ruleCount: Int
    /// Pattern ids reported by a gate automaton scan: the count, then the ids.
    let matchBuffer: UnsafeMutablePointer<UInt32>
    /// Indices of the rules that matched the current event.
    private var matched: UnsafeMutablePointer<Int32>
    private var matchedCount = 0
    /// How many rule evaluations this evaluator has run: what the gates save.
    public private(set) var ruleEvaluations = 0

    init(engine: RuleEngine, scratch: HyperscanScratch) {
        self.engine = engine
        self.scratch = scratch
        scratchPointer = scratch.scratch
        code = Unmanaged.passUnretained(engine.code)
        plans = ProgramCode.copy(engine.plans.map { Unmanaged.passUnretained($0) })
        ruleCount = engine.rules.count
        stamps = .allocate(capacity: max(ruleCount, 1))
        stamps.initialize(repeating: 0, count: max(ruleCount, 1))
        passed = .allocate(capacity: max(ruleCount, 1))
        passed.initialize(repeating: 0, count: max(ruleCount, 1))
        lastGate = .allocate(capacity: max(ruleCount, 1))
        lastGate.initialize(repeating: -1, count: max(ruleCount, 1))
        matchBuffer = .allocate(capacity: engine.maximumGatePatterns + 1)
        matched = .allocate(capacity: max(ruleCount, 1))
    }

    deinit {
        plans.deallocate()
        stamps.deallocate()
        passed.deallocate()
        lastGate.deallocate()
        matchBuffer.deallocate()
        matched.deallocate()
    }

    /// Calls `body` with each rule that matches the event (rule order), after meta filters.
    public func forEachMatch(in view: EventView, _ body: (Rule) throws -> Void) rethrows {
        let count = evaluate(view)
        guard count > 0 else { return }
        for k in 0..<count { try body(engine.rules[Int(matched[k])]) }
    }

    /// The rules that match the event (allocates; for tests and tools).
    public func matchingRules(in view: EventView) -> [Rule] {
        var result: [Rule] = []
        forEachMatch(in: view) { result.append($0) }
        return result
    }

    /// A copy with its own scratch space, for another thread.
    public func copy() -> RuleEvaluator {
        RuleEvaluator(engine: engine, scratch: scratch.clone())
    }

    /// Evaluates the event; the matching rules are `matched[0..<count]`, sorted.
    private func evaluate(_ view: EventView) -> Int {
        matchedCount = 0
        let context = EvaluationContext(view: view, scratch: scratchPointer)
        plans[Int(view.source.rawValue)]._withUnsafeGuaranteedRef { plan in
            for k in 0..<plan.alwaysCount { check(Int(plan.always[k]), context) }
            guard plan.gateCount > 0 else { return }
            generation &+= 1
            if generation == 0 {
                stamps.update(repeating: 0, count: ruleCount)
                generation = 1
            }
            let needed = plan.needed
            for gateIndex in 0..<plan.gateCount {
                plan.gateReferences[gateIndex]._withUnsafeGuaranteedRef { gate in
                    _ = gate.reader.anyScalar(context) { text, number in
                        gate.forEachRule(passing: text, number: number, self) { rule in
                            count(rule, gate: Int32(gateIndex), needed: needed[rule], context)
                        }
                        return false
                    }
                }
            }
        }
        if matchedCount > 1 {
            var buffer = UnsafeMutableBufferPointer(start: matched, count: matchedCount)
            buffer.sort()
        }
        return matchedCount
    }

    /// Records that one more gate of `rule` passed; evaluates the rule once all of them have.
    @inline(__always)
    private func count(_ rule: Int, gate: Int32, needed: Int32, _ context: EvaluationContext) {
        if stamps[rule] != generation {
            stamps[rule] = generation
            passed[rule] = 0
            lastGate[rule] = -1
        }
        guard lastGate[rule] != gate else { return }
        lastGate[rule] = gate
        passed[rule] += 1
        if passed[rule] == needed { check(rule, context) }
    }

    @inline(__always)
    private func check(_ rule: Int, _ context: EvaluationContext) {
        ruleEvaluations &+= 1
        if code._withUnsafeGuaranteedRef({ $0.matches(rule, context) }) {
            matched[matchedCount] = Int32(rule)
            matchedCount += 1
        }
    }

    /// Scans `text` with a gate automaton; the ids of the patterns found are `matchBuffer[1...count]`.
    @inline(__always)
    func collectMatches(_ automaton: HyperscanDatabase, _ text: UnsafeBufferPointer<UInt8>, _ scratch: OpaquePointer) -> Int {
        matchBuffer[0] = 0
        automaton.scan(text, scratch: scratch, matches: matchBuffer)
        return Int(matchBuffer[0])
    }
}

extension HyperscanDatabase {
    /// Scans with every pattern reporting at most once (`HS_FLAG_SINGLEMATCH`): the ids of the patterns found are
    /// appended to the `UInt32` buffer at `matches`, whose element 0 counts them (ids from element 1).
    @inline(__always)
    func scan(_ bytes: UnsafeBufferPointer<UInt8>, scratch: OpaquePointer, matches: UnsafeMutablePointer<UInt32>) {
        let base = UnsafeRawPointer(bytes.baseAddress ?? HyperscanDatabase.emptyInput.utf8Start)
        _ = hs_scan(
            database, base.assumingMemoryBound(to: CChar.self), UInt32(bytes.count), 0, scratch,
            { id, _, _, _, context in
                let buffer = context.unsafelyUnwrapped.assumingMemoryBound(to: UInt32.self)
                let found = buffer[0] &+ 1
                buffer[Int(found)] = id
                buffer[0] = found
                return 0
            },
            UnsafeMutableRawPointer(matches))
    }
}

extension Expression {
    /// Calls `body` with every Hyperscan database the expression uses.
    func forEachDatabase(_ body: (HyperscanDatabase) -> Void) {
        switch self {
        case .all(let children), .any(let children), .atLeast(_, let children):
            for child in children { child.forEachDatabase(body) }
        case .not(let child):
            child.forEachDatabase(body)
        case .constant:
            break
        case .predicate(let predicate):
            if let field = predicate as? FieldPredicate {
                for test in field.tests {
                    if let automaton = (test as? StringTest)?.matcher.automaton { body(automaton) }
                }
            } else if let keyword = predicate as? KeywordPredicate {
                for matcher in keyword.matchers {
                    if let automaton = matcher.automaton { body(automaton) }
                }
            }
        }
    }
}
