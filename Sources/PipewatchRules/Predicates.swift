import PipewatchEvents
import PipewatchJSON

/// A test of one value of a field.
class ValueTest: @unchecked Sendable {
    let cost: Int
    init(cost: Int) { self.cost = cost }
    func matches(_ text: UnsafeBufferPointer<UInt8>, _ context: EvaluationContext) -> Bool { fatalError("abstract") }
    /// The same for a value the record holds as a JSON number, which equality compares by value.
    func matches(_ text: UnsafeBufferPointer<UInt8>, number: Bool, _ context: EvaluationContext) -> Bool {
        matches(text, context)
    }
}

/// String matching (plain values, wildcards, modifiers that become patterns, regular expressions).
final class StringTest: ValueTest, @unchecked Sendable {
    let matcher: StringMatcher
    init(_ matcher: StringMatcher) {
        self.matcher = matcher
        super.init(cost: matcher.cost)
    }
    override func matches(_ text: UnsafeBufferPointer<UInt8>, _ context: EvaluationContext) -> Bool {
        matcher.matches(text, scratch: context.scratch)
    }
    override func matches(_ text: UnsafeBufferPointer<UInt8>, number: Bool, _ context: EvaluationContext) -> Bool {
        matcher.matches(text, number: number, scratch: context.scratch)
    }
}

enum Comparison: Sendable {
    case equal, less, lessOrEqual, greater, greaterOrEqual

    func holds(_ a: Double, _ b: Double) -> Bool {
        switch self {
        case .equal: return a == b
        case .less: return a < b
        case .lessOrEqual: return a <= b
        case .greater: return a > b
        case .greaterOrEqual: return a >= b
        }
    }

    /// Whether it holds for an order (-1, 0, 1) of the value against the bound.
    func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: return order == 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        }
    }
}

/// `lt`, `lte`, `gt`, `gte`: the value read as a number (a JSON number or a numeric string). Numbers in JSON's syntax
/// on both sides are compared exactly, as equality compares them (beyond 2^53 a `Double` would merge neighbours);
/// other spellings a number parser takes (`+5`, ` 5`, `0x1A`, `inf`) as `Double`s.
final class NumericTest: ValueTest, @unchecked Sendable {
    let comparison: Comparison
    let bounds: [Double]
    /// The bounds kept exactly, where they are numbers in JSON's syntax.
    let exactBounds: [DecimalNumber.Bound?]
    init(_ comparison: Comparison, _ bounds: [Double], exact: [DecimalNumber.Bound?]) {
        self.comparison = comparison
        self.bounds = bounds
        exactBounds = exact
        super.init(cost: 3)
    }
    override func matches(_ text: UnsafeBufferPointer<UInt8>, _ context: EvaluationContext) -> Bool {
        var value: Double?
        for k in 0..<bounds.count {
            if let bound = exactBounds[k], let order = DecimalNumber.compare(text, bound) {
                if comparison.holds(order) { return true }
                continue
            }
            if value == nil { value = JSONNumber.parseDouble(text) ?? .nan }
            if comparison.holds(value!, bounds[k]) { return true }
        }
        return false
    }
}

/// The time modifiers (`minute` … `year`): a part of the value read as a timestamp (RFC 3339, or Unix time in
/// seconds or milliseconds), compared with numbers.
final class TimePartTest: ValueTest, @unchecked Sendable {
    /// `weekday` (Pipewatch extension): ISO 8601 day of the week, 1 Monday … 7 Sunday.
    enum Part: String, Sendable { case minute, hour, day, week, month, year, weekday }
    let part: Part
    let comparison: Comparison
    let bounds: [Double]
    init(_ part: Part, _ comparison: Comparison, _ bounds: [Double]) {
        self.part = part
        self.comparison = comparison
        self.bounds = bounds
        super.init(cost: 4)
    }
    override func matches(_ text: UnsafeBufferPointer<UInt8>, _ context: EvaluationContext) -> Bool {
        guard let milliseconds = TimePartTest.milliseconds(text) else { return false }
        let value = Double(TimePartTest.extract(part, milliseconds))
        return bounds.contains { comparison.holds(value, $0) }
    }

    static func milliseconds(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        if let time = Timestamp.parseRFC3339(text) { return time }
        guard let number = JSONNumber.parseDouble(text), number.isFinite else { return nil }
        // Unix time: seconds below 10^11 (year 5138), milliseconds above.
        return number.magnitude < 1e11 ? Int64(number * 1000) : Int64(number)
    }

    static func extract(_ part: Part, _ milliseconds: Int64) -> Int {
        let (c, _) = Timestamp.components(milliseconds: milliseconds)
        switch part {
        case .minute: return c.minute
        case .hour: return c.hour
        case .day: return c.day
        case .month: return c.month
        case .year: return c.year
        case .week: return isoWeek(year: c.year, month: c.month, day: c.day, weekday: c.weekday)
        case .weekday: return c.weekday
        }
    }

    /// ISO 8601 week number (1…53).
    static func isoWeek(year: Int, month: Int, day: Int, weekday: Int) -> Int {
        let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        let ordinal = cumulative[month - 1] + day + (month > 2 && isLeap(year) ? 1 : 0)
        let week = (ordinal - weekday + 10) / 7
        if week < 1 {
            // The last week of the previous year.
            let previous = year - 1
            let previousDays = isLeap(previous) ? 366 : 365
            return (ordinal + previousDays - weekday + 10) / 7
        }
        let daysInYear = isLeap(year) ? 366 : 365
        if week == 53 && (daysInYear - ordinal) < (4 - weekday) { return 1 }
        return week
    }
}

/// `cidr`: the value read as an IPv4 or IPv6 address inside one of the networks.
final class CIDRTest: ValueTest, @unchecked Sendable {
    let networks: [IPNetwork]
    init(_ networks: [IPNetwork]) {
        self.networks = networks
        super.init(cost: 3)
    }
    override func matches(_ text: UnsafeBufferPointer<UInt8>, _ context: EvaluationContext) -> Bool {
        guard let address = IPAddress(text) else { return false }
        return networks.contains { $0.contains(address) }
    }
}

/// `fieldref`: the value compared with the values of another field of the same event.
final class FieldReferenceTest: ValueTest, @unchecked Sendable {
    enum Relation: Sendable { case equal, prefix, suffix, substring }
    let other: FieldAccess
    let otherReader: FieldReader
    let relation: Relation
    let cased: Bool
    init(_ other: FieldAccess, _ relation: Relation, cased: Bool) {
        self.other = other
        otherReader = FieldReader(other)
        self.relation = relation
        self.cased = cased
        super.init(cost: 6 + other.cost)
    }
    override func matches(_ text: UnsafeBufferPointer<UInt8>, _ context: EvaluationContext) -> Bool {
        otherReader.anyText(context) { reference in
            // Fold the reference into a temporary buffer when comparing without case.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(reference.count, 1)) { buffer in
                var pattern = reference
                if !cased {
                    for k in 0..<reference.count { buffer[k] = ASCII.lower(reference[k]) }
                    pattern = UnsafeBufferPointer(start: buffer.baseAddress, count: reference.count)
                }
                switch relation {
                case .equal: return ASCII.equals(text, pattern, cased: cased)
                case .prefix: return ASCII.hasPrefix(text, pattern, cased: cased)
                case .suffix: return ASCII.hasSuffix(text, pattern, cased: cased)
                case .substring: return ASCII.contains(text, pattern, cased: cased)
                }
            }
        }
    }
}

/// One leaf of a rule's logic.
class Predicate: @unchecked Sendable {
    let cost: Int
    init(cost: Int) { self.cost = cost }
    func evaluate(_ context: EvaluationContext) -> Bool { fatalError("abstract") }
    /// For the rule gates: a field whose value must pass these values for the predicate to hold.
    var gate: (field: FieldAccess, values: GateValues)? { nil }
}

/// A field's values against value tests. Without `requireAll`: some value of the field passes some test (a test may
/// hold many values). With it (`all`): every test is passed by some value. `negated` (`neq`): the field has a non-null
/// value and the tests fail.
final class FieldPredicate: Predicate, @unchecked Sendable {
    let field: FieldAccess
    let reader: FieldReader
    let tests: [ValueTest]
    let requireAll: Bool
    let negated: Bool
    /// The matcher of the common case (one string test, not `all`), read without reference counting.
    private let singleMatcher: Unmanaged<StringMatcher>?

    init(field: FieldAccess, tests: [ValueTest], requireAll: Bool, negated: Bool) {
        self.field = field
        reader = FieldReader(field)
        self.tests = tests
        self.requireAll = requireAll
        self.negated = negated
        singleMatcher = !requireAll && tests.count == 1 ? ((tests[0] as? StringTest)?.matcher).map { Unmanaged.passUnretained($0) } : nil
        super.init(cost: field.cost + tests.reduce(0) { $0 + $1.cost } + (negated ? 1 : 0))
    }

    override func evaluate(_ context: EvaluationContext) -> Bool {
        let positive: Bool
        if let singleMatcher {
            let scratch = context.scratch
            positive = singleMatcher._withUnsafeGuaranteedRef { matcher in
                reader.anyScalar(context) { matcher.matches($0, number: $1, scratch: scratch) }
            }
        } else if requireAll {
            positive = tests.allSatisfy { test in reader.anyScalar(context) { test.matches($0, number: $1, context) } }
        } else {
            positive = reader.anyScalar(context) { text, number in tests.contains { $0.matches(text, number: number, context) } }
        }
        if !negated { return positive }
        return !positive && reader.hasNonNullValue(context)
    }

    override var gate: (field: FieldAccess, values: GateValues)? {
        guard !negated, !tests.isEmpty else { return nil }
        // With `all` every test is required, so any one of them is a gate; otherwise the union of all.
        let required = requireAll ? [tests[0]] : tests
        var union: GateValues?
        for test in required {
            guard let matcher = (test as? StringTest)?.matcher, let values = GateValues(matcher) else { return nil }
            union = union.map { $0.union(values) } ?? values
        }
        return union.map { (field, $0) }
    }
}

/// `field: null`: the field is absent or null.
final class NullPredicate: Predicate, @unchecked Sendable {
    let field: FieldAccess
    let reader: FieldReader
    init(field: FieldAccess) {
        self.field = field
        reader = FieldReader(field)
        super.init(cost: field.cost)
    }
    override func evaluate(_ context: EvaluationContext) -> Bool {
        !reader.hasNonNullValue(context)
    }
}

/// `field|exists: true/false`.
final class ExistsPredicate: Predicate, @unchecked Sendable {
    let field: FieldAccess
    let reader: FieldReader
    let expected: Bool
    init(field: FieldAccess, expected: Bool) {
        self.field = field
        reader = FieldReader(field)
        self.expected = expected
        super.init(cost: field.cost)
    }
    override func evaluate(_ context: EvaluationContext) -> Bool {
        reader.exists(context) == expected
    }
}

/// Keywords: values searched in every key and scalar of the raw record.
final class KeywordPredicate: Predicate, @unchecked Sendable {
    let matchers: [StringMatcher]
    let requireAll: Bool
    init(matchers: [StringMatcher], requireAll: Bool) {
        self.matchers = matchers
        self.requireAll = requireAll
        super.init(cost: 100 + matchers.reduce(0) { $0 + $1.cost })
    }
    override func evaluate(_ context: EvaluationContext) -> Bool {
        for matcher in matchers {
            let found = RecordText.anyText(context) { matcher.matches($0, scratch: context.scratch) }
            if requireAll && !found { return false }
            if !requireAll && found { return true }
        }
        return requireAll
    }
}

/// A rule's logic: predicates joined by and, or, not and "at least n of". The engine runs it lowered to flat code
/// (`ProgramCode`); `evaluate` here is the direct reading, kept as the reference the lowered code is tested against.
indirect enum Expression: Sendable {
    case all([Expression])
    case any([Expression])
    case not(Expression)
    case atLeast(Int, [Expression])
    case predicate(Predicate)
    case constant(Bool)

    func evaluate(_ context: EvaluationContext) -> Bool {
        switch self {
        case .all(let children):
            for child in children where !child.evaluate(context) { return false }
            return true
        case .any(let children):
            for child in children where child.evaluate(context) { return true }
            return false
        case .not(let child):
            return !child.evaluate(context)
        case .atLeast(let count, let children):
            var hits = 0
            for child in children where child.evaluate(context) {
                hits += 1
                if hits >= count { return true }
            }
            return false
        case .predicate(let predicate):
            return predicate.evaluate(context)
        case .constant(let value):
            return value
        }
    }

    var cost: Int {
        switch self {
        case .all(let children), .any(let children), .atLeast(_, let children):
            return children.reduce(0) { $0 + $1.cost }
        case .not(let child): return child.cost
        case .predicate(let predicate): return predicate.cost
        case .constant: return 0
        }
    }

    /// The same logic with cheap tests first (and/or children sorted by cost) and trivial nodes folded.
    func optimized() -> Expression {
        switch self {
        case .all(let children):
            var flat: [Expression] = []
            for child in children.map({ $0.optimized() }) {
                switch child {
                case .constant(true): continue
                case .constant(false): return .constant(false)
                case .all(let inner): flat += inner
                default: flat.append(child)
                }
            }
            if flat.isEmpty { return .constant(true) }
            if flat.count == 1 { return flat[0] }
            return .all(flat.sorted { $0.cost < $1.cost })
        case .any(let children):
            var flat: [Expression] = []
            for child in children.map({ $0.optimized() }) {
                switch child {
                case .constant(false): continue
                case .constant(true): return .constant(true)
                case .any(let inner): flat += inner
                default: flat.append(child)
                }
            }
            if flat.isEmpty { return .constant(false) }
            if flat.count == 1 { return flat[0] }
            return .any(flat.sorted { $0.cost < $1.cost })
        case .not(let child):
            let inner = child.optimized()
            if case .constant(let value) = inner { return .constant(!value) }
            if case .not(let doubled) = inner { return doubled }
            return .not(inner)
        case .atLeast(let count, let children):
            if count <= 1 { return Expression.any(children).optimized() }
            if count >= children.count { return Expression.all(children).optimized() }
            return .atLeast(count, children.map { $0.optimized() }.sorted { $0.cost < $1.cost })
        case .predicate, .constant:
            return self
        }
    }

    /// Fields whose values must pass a set of literals or patterns whenever the expression holds: what the rule
    /// gates are built from. Sound but not complete: anything not provable is left out.
    func gateConstraints() -> [FieldAccess: GateValues] {
        switch self {
        case .predicate(let predicate):
            guard let (field, values) = predicate.gate else { return [:] }
            return [field: values]
        case .all(let children):
            var result: [FieldAccess: GateValues] = [:]
            for child in children {
                for (field, values) in child.gateConstraints() {
                    result[field] = result[field].map { $0.intersection(values) } ?? values
                }
            }
            return result
        case .any(let children):
            guard var result = children.first?.gateConstraints() else { return [:] }
            for child in children.dropFirst() {
                let other = child.gateConstraints()
                var merged: [FieldAccess: GateValues] = [:]
                for (field, values) in result {
                    if let more = other[field] { merged[field] = values.union(more) }
                }
                result = merged
                if result.isEmpty { break }
            }
            return result
        case .atLeast(let count, let children):
            return count >= children.count ? Expression.all(children).gateConstraints() : Expression.any(children).gateConstraints()
        case .not, .constant:
            return [:]
        }
    }
}

/// What a rule gate lets through on one field: literal values (ASCII-lowercased, looked up in a hash table) or
/// patterns (compared directly when few and simple, else scanned by one Hyperscan automaton per field).
enum GateValues: Equatable, Sendable {
    case literals(Set<[UInt8]>)
    case patterns(Set<GatePattern>)

    /// The gate of a matcher; nil when it lets everything through. Values that are numbers are there in their
    /// canonical spelling too, which the gate checks JSON numbers in as well (`Gate.forEachRule`).
    init?(_ matcher: StringMatcher) {
        if matcher.matchesAnything { return nil }
        if let literals = matcher.literalValues {
            self = .literals(Set(literals.map(ASCII.lowercased)).union(matcher.numberValues))
        } else if !matcher.regularExpressions.isEmpty {
            self = .patterns(Set(matcher.regularExpressions.map { GatePattern(expression: $0, simple: nil) }))
        } else {
            let numbers = matcher.numberValues.map { GatePattern(SigmaString(literal: $0)) }
            self = .patterns(Set(matcher.values.map(GatePattern.init)).union(numbers))
        }
    }

    var isLiteral: Bool {
        if case .literals = self { return true }
        return false
    }

    var count: Int {
        switch self {
        case .literals(let values): return values.count
        case .patterns(let patterns): return patterns.count
        }
    }

    /// Both must pass: keep the literals when there are some (cheaper, and sound either way).
    func intersection(_ other: GateValues) -> GateValues {
        switch (self, other) {
        case (.literals(let a), .literals(let b)): return .literals(a.intersection(b))
        case (.literals, .patterns): return self
        case (.patterns, .literals): return other
        case (.patterns, .patterns): return count <= other.count ? self : other
        }
    }

    /// Either may pass.
    func union(_ other: GateValues) -> GateValues {
        if case .literals(let a) = self, case .literals(let b) = other { return .literals(a.union(b)) }
        return .patterns(patterns.union(other.patterns))
    }

    /// Everything as patterns (a literal as an exact one).
    var patterns: Set<GatePattern> {
        switch self {
        case .patterns(let patterns): return patterns
        case .literals(let values): return Set(values.map { GatePattern(SigmaString(literal: $0)) })
        }
    }
}

/// One pattern of a gate, caseless: its Hyperscan form, and its plain form when it is an exact value, a prefix, a
/// suffix or a substring.
struct GatePattern: Hashable, Sendable {
    enum Shape: UInt8, Sendable { case exact, prefix, suffix, substring }
    var expression: HyperscanPattern
    var simple: (shape: Shape, bytes: [UInt8])?

    init(expression: HyperscanPattern, simple: (shape: Shape, bytes: [UInt8])?) {
        self.expression = expression
        self.simple = simple
    }

    init(_ value: SigmaString) {
        expression = StringMatcher.pattern(for: value, cased: false)
        let parts = value.parts
        switch parts.count {
        case 0: simple = (.exact, [])
        case 1: if case .literal(let bytes) = parts[0] { simple = (.exact, ASCII.lowercased(bytes)) }
        case 2:
            if case .literal(let bytes) = parts[0], parts[1] == .anyString { simple = (.prefix, ASCII.lowercased(bytes)) }
            if case .literal(let bytes) = parts[1], parts[0] == .anyString { simple = (.suffix, ASCII.lowercased(bytes)) }
        case 3:
            if case .literal(let bytes) = parts[1], parts[0] == .anyString, parts[2] == .anyString {
                simple = (.substring, ASCII.lowercased(bytes))
            }
        default: break
        }
    }

    static func == (a: GatePattern, b: GatePattern) -> Bool { a.expression == b.expression }
    func hash(into hasher: inout Hasher) { hasher.combine(expression) }
}
