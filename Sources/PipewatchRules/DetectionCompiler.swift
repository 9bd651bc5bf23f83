import Foundation
import CHyperscan

/// The value modifiers of Sigma 2.1 (plus the `re` sub-modifiers and pySigma's long names for them).
enum ValueModifier: String, Sendable, CaseIterable {
    case contains, startswith, endswith, all, exists, cased, neq, windash, re
    case ignoreCase = "i", multiLine = "m", dotAll = "s"
    case base64, base64offset, utf16le, wide, utf16be, utf16
    case lt, lte, gt, gte
    case minute, hour, day, week, month, year, weekday
    case cidr, expand, fieldref

    init?(name: String) {
        switch name.lowercased() {
        case "ignorecase": self = .ignoreCase
        case "multiline": self = .multiLine
        case "dotall": self = .dotAll
        default:
            guard let modifier = ValueModifier(rawValue: name) ?? ValueModifier(rawValue: name.lowercased()) else { return nil }
            self = modifier
        }
    }

    /// Transformation modifiers: they rewrite string values before matching.
    var isTransformation: Bool {
        switch self {
        case .contains, .startswith, .endswith, .windash, .base64, .base64offset, .utf16le, .wide, .utf16be, .utf16, .expand:
            return true
        default:
            return false
        }
    }

    var comparison: Comparison? {
        switch self {
        case .lt: return .less
        case .lte: return .lessOrEqual
        case .gt: return .greater
        case .gte: return .greaterOrEqual
        default: return nil
        }
    }

    var timePart: TimePartTest.Part? {
        TimePartTest.Part(rawValue: rawValue)
    }
}

/// What the loader knows when it compiles a detection section: where it is, how to map field names, and the
/// placeholder values.
struct DetectionContext {
    var file: String
    var logsource: LogSource
    var fieldMapping: FieldMapping
    var placeholders: Placeholders
}

/// Turns a detection section (search identifiers and condition) into an `Expression`, collecting every problem with
/// the line of the YAML node at fault.
struct DetectionCompiler {
    let context: DetectionContext
    private(set) var problems: [RuleProblem] = []

    /// Upper bound on the values one field item may expand to (`windash`, `base64offset`, `expand`).
    static let expansionLimit = 4096

    init(context: DetectionContext) {
        self.context = context
    }

    mutating func problem(_ line: Int, _ reason: String) {
        problems.append(RuleProblem(file: context.file, line: line, reason: reason))
    }

    /// Compiles a detection (or filter) section: every key but `condition`, `timeframe` and `ignoring` is a search
    /// identifier. Returns nil when there were problems.
    mutating func compile(section: YAMLNode, sectionName: String, ignoring: Set<String> = []) -> Expression? {
        guard let pairs = section.mapping else {
            problem(section.line, "\(sectionName) must be a map of search identifiers and a condition, not \(section.kindName)")
            return nil
        }
        let problemCount = problems.count
        var identifiers: [(name: String, expression: Expression?)] = []
        var conditionNode: YAMLNode?
        for (key, value) in pairs {
            guard let name = key.text else {
                problem(key.line, "a search identifier needs a name")
                continue
            }
            if name == "condition" {
                conditionNode = value
                continue
            }
            if name == "timeframe" || ignoring.contains(name) { continue }
            identifiers.append((name, compileIdentifier(name, value)))
        }
        guard let conditionNode else {
            problem(section.line, "\(sectionName) has no condition")
            return nil
        }
        var conditions: [(text: String, line: Int)] = []
        if let text = conditionNode.text {
            conditions = [(text, conditionNode.line)]
        } else if let items = conditionNode.sequence, !items.isEmpty {
            for item in items {
                guard let text = item.text else {
                    problem(item.line, "each condition of the list must be a string")
                    continue
                }
                conditions.append((text, item.line))
            }
        } else {
            problem(conditionNode.line, "condition must be a string or a list of strings, not \(conditionNode.kindName)")
        }
        var alternatives: [Expression] = []
        for (text, line) in conditions {
            do {
                let node = try ConditionParser.parse(text)
                if let bound = bind(node, identifiers, line: line) { alternatives.append(bound) }
            } catch {
                problem(line, error.description)
            }
        }
        guard problems.count == problemCount else { return nil }
        return alternatives.count == 1 ? alternatives[0] : .any(alternatives)
    }

    private mutating func bind(_ node: ConditionNode, _ identifiers: [(name: String, expression: Expression?)], line: Int) -> Expression? {
        switch node {
        case .identifier(let name, let column):
            guard let entry = identifiers.first(where: { $0.name == name }) else {
                let known = identifiers.map(\.name).joined(separator: ", ")
                problem(line, "condition: unknown search identifier '\(name)' at column \(column) (defined: \(known))")
                return nil
            }
            return entry.expression
        case .and(let a, let b):
            let left = bind(a, identifiers, line: line)
            let right = bind(b, identifiers, line: line)
            guard let left, let right else { return nil }
            return .all([left, right])
        case .or(let a, let b):
            let left = bind(a, identifiers, line: line)
            let right = bind(b, identifiers, line: line)
            guard let left, let right else { return nil }
            return .any([left, right])
        case .not(let inner):
            return bind(inner, identifiers, line: line).map { .not($0) }
        case .of(let count, let pattern, let column):
            let selected = identifiers.filter { entry in
                if let pattern { return IdentifierPattern.matches(pattern, entry.name) }
                return !entry.name.hasPrefix("_")
            }
            guard !selected.isEmpty else {
                problem(line, "condition: '\(pattern ?? "them")' at column \(column) matches no search identifier")
                return nil
            }
            let expressions = selected.compactMap(\.expression)
            guard expressions.count == selected.count else { return nil }
            if let count {
                if count > expressions.count {
                    problem(line, "condition: '\(count) of \(pattern ?? "them")' at column \(column) asks for more than the \(expressions.count) identifiers it names")
                    return nil
                }
                return .atLeast(count, expressions)
            }
            return .all(expressions)
        }
    }

    // MARK: Search identifiers

    private mutating func compileIdentifier(_ name: String, _ node: YAMLNode) -> Expression? {
        switch node.value {
        case .mapping(let pairs):
            return compileMap(name, pairs, line: node.line)
        case .sequence(let items):
            guard !items.isEmpty else {
                problem(node.line, "search identifier '\(name)' is an empty list")
                return nil
            }
            var alternatives: [Expression] = []
            var keywords: [YAMLNode] = []
            var failed = false
            for item in items {
                switch item.value {
                case .mapping(let pairs):
                    if let expression = compileMap(name, pairs, line: item.line) {
                        alternatives.append(expression)
                    } else {
                        failed = true
                    }
                case .scalar where !item.isNull:
                    keywords.append(item)
                default:
                    problem(item.line, "items of search identifier '\(name)' must be maps or keyword strings, not \(item.kindName)")
                    failed = true
                }
            }
            if !keywords.isEmpty {
                if let keyword = compileKeywords(keywords, modifiers: ParsedModifiers(), key: name, line: keywords[0].line) {
                    alternatives.append(keyword)
                } else {
                    failed = true
                }
            }
            return failed ? nil : .any(alternatives)
        case .scalar:
            if node.isNull {
                problem(node.line, "search identifier '\(name)' is empty")
                return nil
            }
            return compileKeywords([node], modifiers: ParsedModifiers(), key: name, line: node.line)
        }
    }

    private mutating func compileMap(_ name: String, _ pairs: [(key: YAMLNode, value: YAMLNode)], line: Int) -> Expression? {
        guard !pairs.isEmpty else {
            problem(line, "search identifier '\(name)' is an empty map")
            return nil
        }
        var items: [Expression] = []
        var failed = false
        for (key, value) in pairs {
            if let item = compileFieldItem(key, value) { items.append(item) } else { failed = true }
        }
        return failed ? nil : .all(items)
    }

    // MARK: Field items

    /// How a field item's values are tested, decided by its modifiers.
    private enum ValueKind: Equatable {
        case string
        case regex
        case cidr
        case numeric(Comparison)
        case timePart(TimePartTest.Part, Comparison)
        case fieldReference
    }

    private struct ParsedModifiers {
        var kind: ValueKind = .string
        var transforms: [ValueModifier] = []
        var requireAll = false
        var cased = false
        var negated = false
        var exists = false
        var regexFlags: UInt32 = 0
        var fieldRelation: FieldReferenceTest.Relation = .equal
        var names: [String] = []
    }

    /// Parses `field|mod1|mod2` modifiers, checking that they combine; nil after reporting a problem.
    private mutating func parseModifiers(_ names: [String], key: String, line: Int) -> ParsedModifiers? {
        var parsed = ParsedModifiers()
        parsed.names = names
        var previous: [ValueModifier] = []
        func conflict(_ modifier: ValueModifier, _ with: ValueModifier?) -> String {
            if let with { return "modifier '\(modifier.rawValue)' cannot be combined with '\(with.rawValue)' (in '\(key)')" }
            return "modifier '\(modifier.rawValue)' cannot be used here (in '\(key)')"
        }
        for name in names {
            guard let modifier = ValueModifier(name: name) else {
                problem(line, "unknown value modifier '\(name)' (in '\(key)')")
                return nil
            }
            let typed = previous.first { !$0.isTransformation && ![.all, .cased, .neq].contains($0) }
            switch modifier {
            case .all: parsed.requireAll = true
            case .cased: parsed.cased = true
            case .neq: parsed.negated = true
            case .exists:
                parsed.exists = true
            case .contains, .startswith, .endswith:
                if parsed.kind == .fieldReference {
                    parsed.fieldRelation = modifier == .contains ? .substring : modifier == .startswith ? .prefix : .suffix
                } else if parsed.kind != .string {
                    problem(line, conflict(modifier, typed))
                    return nil
                } else {
                    parsed.transforms.append(modifier)
                }
            case .windash, .base64, .base64offset, .utf16le, .wide, .utf16be, .utf16, .expand:
                guard parsed.kind == .string else {
                    problem(line, conflict(modifier, typed))
                    return nil
                }
                parsed.transforms.append(modifier)
            case .re:
                guard parsed.kind == .string, parsed.transforms.isEmpty else {
                    problem(line, conflict(modifier, typed ?? parsed.transforms.first))
                    return nil
                }
                parsed.kind = .regex
            case .ignoreCase, .multiLine, .dotAll:
                guard parsed.kind == .regex else {
                    problem(line, "modifier '\(modifier.rawValue)' applies only after 're' (in '\(key)')")
                    return nil
                }
                parsed.regexFlags |= modifier == .ignoreCase ? UInt32(HS_FLAG_CASELESS)
                    : modifier == .multiLine ? UInt32(HS_FLAG_MULTILINE) : UInt32(HS_FLAG_DOTALL)
            case .cidr:
                guard parsed.kind == .string, parsed.transforms.isEmpty else {
                    problem(line, conflict(modifier, typed ?? parsed.transforms.first))
                    return nil
                }
                parsed.kind = .cidr
            case .lt, .lte, .gt, .gte:
                if case .timePart(let part, .equal) = parsed.kind {
                    parsed.kind = .timePart(part, modifier.comparison!)
                } else if parsed.kind == .string && parsed.transforms.isEmpty {
                    parsed.kind = .numeric(modifier.comparison!)
                } else {
                    problem(line, conflict(modifier, typed ?? parsed.transforms.first))
                    return nil
                }
            case .minute, .hour, .day, .week, .month, .year, .weekday:
                guard parsed.kind == .string, parsed.transforms.isEmpty else {
                    problem(line, conflict(modifier, typed ?? parsed.transforms.first))
                    return nil
                }
                parsed.kind = .timePart(modifier.timePart!, .equal)
            case .fieldref:
                // `contains`/`startswith`/`endswith` may come before or after `fieldref`.
                guard parsed.kind == .string, parsed.transforms.allSatisfy({ [.contains, .startswith, .endswith].contains($0) }) else {
                    problem(line, conflict(modifier, typed ?? parsed.transforms.first))
                    return nil
                }
                if let relation = parsed.transforms.last {
                    parsed.fieldRelation = relation == .contains ? .substring : relation == .startswith ? .prefix : .suffix
                }
                parsed.transforms = []
                parsed.kind = .fieldReference
            }
            previous.append(modifier)
        }
        if parsed.exists && names.count > 1 {
            problem(line, "modifier 'exists' takes no other modifier (in '\(key)')")
            return nil
        }
        return parsed
    }

    // Not optimized: Swift 6.3's optimizer crashes on this function (Mem2Reg); it runs once per rule field at load.
    @_optimize(none)
    private mutating func compileFieldItem(_ keyNode: YAMLNode, _ valueNode: YAMLNode) -> Expression? {
        guard let key = keyNode.text else {
            problem(keyNode.line, "a field name is missing")
            return nil
        }
        // components(separatedBy:), not split(separator:): the latter crashes Swift 6.3's optimizer here (Mem2Reg).
        let pieces = key.components(separatedBy: "|")
        let fieldName = pieces[0]
        guard let modifiers = parseModifiers(Array(pieces.dropFirst()), key: key, line: keyNode.line) else { return nil }

        // Values: a scalar, null, or a list of scalars.
        var values: [YAMLNode]
        switch valueNode.value {
        case .sequence(let items):
            guard !items.isEmpty else {
                problem(valueNode.line, "'\(key)' has an empty list of values")
                return nil
            }
            values = items
        case .mapping:
            problem(valueNode.line, "the value of '\(key)' is a map; Sigma values are scalars or lists of scalars (write nested fields as 'a.b.c')")
            return nil
        case .scalar:
            values = [valueNode]
        }
        for value in values where !value.isScalar {
            problem(value.line, "values of '\(key)' must be scalars, not \(value.kindName)")
            return nil
        }

        if fieldName.isEmpty {
            return compileKeywords(values, modifiers: modifiers, key: key, line: keyNode.line)
        }
        let fields = context.fieldMapping.targets(for: fieldName, logsource: context.logsource).map(FieldAccess.init(resolving:))

        if modifiers.exists {
            guard values.count == 1, let expected = values[0].bool else {
                problem(valueNode.line, "'\(key)' needs true or false")
                return nil
            }
            return .any(fields.map { .predicate(ExistsPredicate(field: $0, expected: expected)) })
        }

        if let null = values.first(where: \.isNull) {
            guard values.count == 1 else {
                problem(null.line, "null cannot be part of a list of values (in '\(key)'); write it as its own search identifier")
                return nil
            }
            guard modifiers.names.isEmpty else {
                problem(keyNode.line, "a null value takes no modifiers (in '\(key)')")
                return nil
            }
            return .any(fields.map { .predicate(NullPredicate(field: $0)) })
        }

        if modifiers.requireAll && values.count < 2 {
            problem(keyNode.line, "modifier 'all' needs a list of at least two values (in '\(key)')")
            return nil
        }
        guard let tests = makeTests(modifiers, values, key: key) else { return nil }
        return .any(fields.map {
            .predicate(FieldPredicate(field: $0, tests: tests, requireAll: modifiers.requireAll, negated: modifiers.negated))
        })
    }

    /// The value tests of a field item.
    private mutating func makeTests(_ modifiers: ParsedModifiers, _ values: [YAMLNode], key: String) -> [ValueTest]? {
        switch modifiers.kind {
        case .string:
            guard let groups = stringValues(values, modifiers, key: key) else { return nil }
            return stringTests(groups, modifiers, line: values[0].line)
        case .regex:
            return regexTests(values, modifiers, key: key)
        case .cidr:
            var networks: [IPNetwork] = []
            for value in values {
                guard let text = value.text, let network = IPNetwork(text) else {
                    problem(value.line, "'\(value.text ?? "")' is not an IPv4 or IPv6 network in CIDR notation (in '\(key)')")
                    return nil
                }
                networks.append(network)
            }
            return modifiers.requireAll ? networks.map { CIDRTest([$0]) } : [CIDRTest(networks)]
        case .numeric(let comparison):
            guard let numbers = numbers(values, key: key) else { return nil }
            let exact = values.map { DecimalNumber.Bound($0.text?.trimmingSpaces ?? "") }
            if modifiers.requireAll {
                return zip(numbers, exact).map { NumericTest(comparison, [$0], exact: [$1]) }
            }
            return [NumericTest(comparison, numbers, exact: exact)]
        case .timePart(let part, let comparison):
            guard let numbers = numbers(values, key: key) else { return nil }
            return modifiers.requireAll ? numbers.map { TimePartTest(part, comparison, [$0]) } : [TimePartTest(part, comparison, numbers)]
        case .fieldReference:
            var tests: [ValueTest] = []
            for value in values {
                guard let name = value.text, !name.isEmpty else {
                    problem(value.line, "'fieldref' needs a field name (in '\(key)')")
                    return nil
                }
                let others = context.fieldMapping.targets(for: name, logsource: context.logsource).map(FieldAccess.init(resolving:))
                tests += others.map { FieldReferenceTest($0, modifiers.fieldRelation, cased: modifiers.cased) }
            }
            // With `all`, each referenced field must match; otherwise any.
            return tests
        }
    }

    private mutating func numbers(_ values: [YAMLNode], key: String) -> [Double]? {
        var numbers: [Double] = []
        for value in values {
            guard let text = value.text, let number = Double(text.trimmingSpaces) else {
                problem(value.line, "'\(value.text ?? "")' is not a number (in '\(key)')")
                return nil
            }
            numbers.append(number)
        }
        return numbers
    }

    /// Each value after the transformation modifiers, grouped by the value it came from.
    private mutating func stringValues(_ values: [YAMLNode], _ modifiers: ParsedModifiers, key: String) -> [[SigmaString]]? {
        let expand = modifiers.transforms.contains(.expand)
        var groups: [[SigmaString]] = []
        var total = 0
        for value in values {
            let parsed = SigmaString(parsing: value.text ?? "", placeholders: expand)
            guard let transformed = transform(parsed, modifiers.transforms, key: key, line: value.line) else { return nil }
            total += transformed.count
            if total > DetectionCompiler.expansionLimit {
                problem(value.line, "'\(key)' expands to more than \(DetectionCompiler.expansionLimit) values")
                return nil
            }
            groups.append(transformed)
        }
        return groups
    }

    private mutating func transform(_ value: SigmaString, _ transforms: [ValueModifier], key: String, line: Int) -> [SigmaString]? {
        var current = [value]
        for modifier in transforms {
            var next: [SigmaString] = []
            for item in current {
                switch modifier {
                case .contains:
                    next.append(item.withLeadingWildcard().withTrailingWildcard())
                case .startswith:
                    next.append(item.withTrailingWildcard())
                case .endswith:
                    next.append(item.withLeadingWildcard())
                case .windash:
                    guard let variants = SigmaEncoding.windashVariants(item, limit: DetectionCompiler.expansionLimit) else {
                        problem(line, "'windash' expands '\(item)' to more than \(DetectionCompiler.expansionLimit) values (in '\(key)')")
                        return nil
                    }
                    next += variants
                case .base64, .base64offset:
                    guard let bytes = item.plainBytes else {
                        problem(line, "'\(modifier.rawValue)' needs a value without wildcards or placeholders, got '\(item)' (in '\(key)')")
                        return nil
                    }
                    if modifier == .base64 {
                        next.append(SigmaString(literal: SigmaEncoding.base64(bytes)))
                    } else {
                        next += SigmaEncoding.base64Offsets(bytes).map { SigmaString(literal: $0) }
                    }
                case .utf16le, .wide:
                    next.append(item.mapLiterals { SigmaEncoding.utf16($0, littleEndian: true) })
                case .utf16be:
                    next.append(item.mapLiterals { SigmaEncoding.utf16($0, littleEndian: false) })
                case .utf16:
                    let encoded = item.mapLiterals { SigmaEncoding.utf16($0, littleEndian: true) }
                    next.append(SigmaString(parts: [.literal([0xFF, 0xFE])] + encoded.parts))
                case .expand:
                    guard let expanded = expandPlaceholders(item, key: key, line: line) else { return nil }
                    next += expanded
                default:
                    next.append(item)
                }
                if next.count > DetectionCompiler.expansionLimit {
                    problem(line, "'\(key)' expands to more than \(DetectionCompiler.expansionLimit) values")
                    return nil
                }
            }
            current = next
        }
        for item in current {
            if let name = item.placeholderNames.first {
                problem(line, "placeholder '%\(name)%' is not expanded (in '\(key)')")
                return nil
            }
        }
        return current
    }

    private mutating func expandPlaceholders(_ value: SigmaString, key: String, line: Int) -> [SigmaString]? {
        var variants: [[SigmaString.Part]] = [[]]
        for part in value.parts {
            guard case .placeholder(let name) = part else {
                variants = variants.map { $0 + [part] }
                continue
            }
            guard let replacements = context.placeholders.values[name], !replacements.isEmpty else {
                problem(line, "placeholder '%\(name)%' has no value (in '\(key)'); give it in a placeholders file (--placeholders)")
                return nil
            }
            let alternatives = replacements.map { SigmaString(parsing: $0, placeholders: false).parts }
            variants = variants.flatMap { prefix in alternatives.map { prefix + $0 } }
            if variants.count > DetectionCompiler.expansionLimit {
                problem(line, "placeholder '%\(name)%' expands '\(key)' to more than \(DetectionCompiler.expansionLimit) values")
                return nil
            }
        }
        return variants.map { SigmaString(parts: $0) }
    }

    private mutating func stringTests(_ groups: [[SigmaString]], _ modifiers: ParsedModifiers, line: Int) -> [ValueTest]? {
        do {
            if modifiers.requireAll {
                return try groups.map { group throws(HyperscanError) in StringTest(try StringMatcher(values: group, cased: modifiers.cased)) }
            }
            return [StringTest(try StringMatcher(values: groups.flatMap { $0 }, cased: modifiers.cased))]
        } catch {
            problem(line, "these values cannot be compiled: \(error.message)")
            return nil
        }
    }

    private mutating func regexTests(_ values: [YAMLNode], _ modifiers: ParsedModifiers, key: String) -> [ValueTest]? {
        let patterns = values.map { value in
            HyperscanPattern(
                expression: value.text ?? "", flags: modifiers.regexFlags | UInt32(HS_FLAG_UTF8) | UInt32(HS_FLAG_ALLOWEMPTY))
        }
        // Each pattern is compiled once (a large alternation takes Hyperscan a second or more): a refusal names its
        // pattern from Hyperscan's error, or, when the error names none, from compiling the patterns alone.
        func refuse(_ error: HyperscanError, among group: [Int]) {
            var index = error.pattern.map { group[$0] }
            var message = error.message
            if index == nil {
                for k in group {
                    do { _ = try HyperscanDatabase.compile([patterns[k]]) } catch { index = k; message = error.message; break }
                }
            }
            if let index {
                problem(values[index].line, "regular expression '\(patterns[index].expression)' is refused: \(message) (in '\(key)'; Pipewatch matches regular expressions with Hyperscan, which has no backreferences or lookaround)")
            } else {
                problem(values[0].line, "regular expressions of '\(key)' cannot be compiled together: \(message)")
            }
        }
        if modifiers.requireAll {
            var tests: [ValueTest] = []
            for k in patterns.indices {
                do {
                    tests.append(StringTest(try StringMatcher(regularExpressions: [patterns[k]])))
                } catch {
                    refuse(error, among: [k])
                    return nil
                }
            }
            return tests
        }
        do {
            return [StringTest(try StringMatcher(regularExpressions: patterns))]
        } catch {
            refuse(error, among: Array(patterns.indices))
            return nil
        }
    }

    // MARK: Keywords

    /// Keyword values: searched anywhere in the raw record (every key and every scalar), as substrings unless
    /// `startswith`/`endswith`/`re` say otherwise.
    private mutating func compileKeywords(_ values: [YAMLNode], modifiers: ParsedModifiers, key: String, line: Int) -> Expression? {
        switch modifiers.kind {
        case .string, .regex:
            break
        default:
            problem(line, "keywords take only string modifiers (in '\(key)')")
            return nil
        }
        if modifiers.negated || modifiers.exists {
            problem(line, "keywords cannot use '\(modifiers.negated ? "neq" : "exists")' (in '\(key)')")
            return nil
        }
        if modifiers.requireAll && values.count < 2 {
            problem(line, "modifier 'all' needs a list of at least two values (in '\(key)')")
            return nil
        }
        if values.contains(where: \.isNull) {
            problem(line, "keywords cannot be null (in '\(key)')")
            return nil
        }
        let tests: [ValueTest]
        if modifiers.kind == .regex {
            guard let regex = regexTests(values, modifiers, key: key) else { return nil }
            tests = regex
        } else {
            var effective = modifiers
            if !effective.transforms.contains(where: { [.contains, .startswith, .endswith].contains($0) }) {
                effective.transforms.append(.contains)
            }
            guard let groups = stringValues(values, effective, key: key),
                let strings = stringTests(groups, effective, line: line)
            else { return nil }
            tests = strings
        }
        let matchers = tests.compactMap { ($0 as? StringTest)?.matcher }
        return .predicate(KeywordPredicate(matchers: matchers, requireAll: modifiers.requireAll))
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
