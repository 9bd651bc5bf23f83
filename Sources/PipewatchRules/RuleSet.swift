import Foundation
import PipewatchEvents

/// How rules are loaded.
public struct RuleLoadOptions: Sendable {
    /// Field renaming applied before names resolve; `FieldMapping.sigmaDefault` covers SigmaHQ's cloud rules. A user
    /// mapping goes on top: `FieldMapping.sigmaDefault.overridden(by: try FieldMapping.load(path:))`.
    public var fieldMapping: FieldMapping
    /// Values of `%placeholders%` for the `expand` modifier.
    public var placeholders: Placeholders
    /// What to do with documents Pipewatch cannot run: rules of logsources it does not read, and correlations or
    /// detectors that reference rules which did not load. `false` (`rules check`): each is a problem. `true` (loading
    /// a rule directory for replay, e.g. a whole SigmaHQ checkout): each is skipped and counted in `RuleSet.skipped`.
    public var skipUnsupported: Bool

    public init(fieldMapping: FieldMapping = .sigmaDefault, placeholders: Placeholders = .none, skipUnsupported: Bool = false) {
        self.fieldMapping = fieldMapping
        self.placeholders = placeholders
        self.skipUnsupported = skipUnsupported
    }
}

/// A Sigma meta filter: a `filter` document whose selection, when it holds, suppresses the matches of the rules it
/// names (by id or name).
public struct SigmaFilter: Sendable {
    public let id: String?
    public let title: String
    public let description: String?
    /// Ids or names of the rules the filter applies to.
    public let rules: [String]
    public let logsource: LogSource
    public let document: RuleValue
    public let file: String
    public let line: Int
}

/// Rules loaded from files or text, compiled into one `RuleEngine`, with every problem found on the way.
///
///     let ruleSet = RuleSet(paths: ["rules/"], options: RuleLoadOptions(skipUnsupported: true))
///     for problem in ruleSet.problems { print(problem) }          // file:line: reason
///     let evaluator = ruleSet.engine.makeEvaluator()              // one per thread
///     evaluator.forEachMatch(in: view) { rule in … }
public final class RuleSet: Sendable {
    /// The rules that loaded without problems, in file order (`rules[k].index == k`).
    public let rules: [Rule]
    public let filters: [SigmaFilter]
    /// Errors: documents that were refused. `rules check` fails when there is any.
    public let problems: [RuleProblem]
    /// Things worth knowing that refuse nothing (a filter naming a rule that is not loaded).
    public let warnings: [RuleProblem]
    /// Documents skipped under `RuleLoadOptions.skipUnsupported`, and why.
    public let skipped: [RuleProblem]
    /// The rule files read, in order.
    public let files: [String]
    public let engine: RuleEngine
    /// Sigma correlation rules (`correlation:` documents), references resolved.
    public let correlations: [CorrelationRule]
    /// Statistical detectors (`detector:` documents), references resolved.
    public let detectors: [DetectorRule]
    /// The `tuning` block of detection rules that have one, by rule index.
    public let ruleTuning: [Int: Tuning]
    /// How the rules were loaded (the field mapping that correlations and detectors read fields with).
    public let options: RuleLoadOptions

    /// Loads rule files and directories (recursively: files ending in .yml or .yaml, in sorted order).
    public convenience init(paths: [String], options: RuleLoadOptions = RuleLoadOptions()) {
        var loader = RuleLoader(options: options)
        for file in RuleFiles.expand(paths, problems: &loader.problems) {
            loader.load(file: file)
        }
        self.init(loader.finish(), options: options)
    }

    /// Loads rules from YAML text (one or more documents).
    public convenience init(yaml: String, file: String = "<rules>", options: RuleLoadOptions = RuleLoadOptions()) {
        var loader = RuleLoader(options: options)
        loader.load(text: yaml, file: file)
        self.init(loader.finish(), options: options)
    }

    private init(_ result: RuleLoader.Result, options: RuleLoadOptions) {
        self.options = options
        correlations = result.correlations
        detectors = result.detectors
        ruleTuning = result.ruleTuning
        rules = result.rules
        filters = result.filters
        problems = result.problems
        warnings = result.warnings
        skipped = result.skipped
        files = result.files
        engine = RuleEngine(rules: result.rules, programs: result.programs)
    }

    /// The rule with this id or name.
    public func rule(_ reference: String) -> Rule? {
        rules.first { $0.id == reference } ?? rules.first { $0.name == reference }
    }
}

/// Finding rule files.
public enum RuleFiles {
    public static let extensions: Set<String> = ["yml", "yaml"]

    /// Files named by `paths`: files as given, directories searched recursively for .yml/.yaml files (sorted).
    /// Paths that cannot be read are reported.
    public static func expand(_ paths: [String], problems: inout [RuleProblem]) -> [String] {
        var files: [String] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                problems.append(RuleProblem(file: path, line: 0, reason: "no such file or directory"))
                continue
            }
            if !isDirectory.boolValue {
                files.append(path)
                continue
            }
            guard let enumerator = manager.enumerator(atPath: path) else {
                problems.append(RuleProblem(file: path, line: 0, reason: "cannot read directory"))
                continue
            }
            var found: [String] = []
            while let relative = enumerator.nextObject() as? String {
                let name = relative.split(separator: "/").last.map(String.init) ?? relative
                guard !name.hasPrefix("."), let dot = name.lastIndex(of: "."),
                    extensions.contains(name[name.index(after: dot)...].lowercased())
                else { continue }
                let full = path.hasSuffix("/") ? path + relative : path + "/" + relative
                var entryIsDirectory: ObjCBool = false
                if manager.fileExists(atPath: full, isDirectory: &entryIsDirectory), !entryIsDirectory.boolValue {
                    found.append(full)
                }
            }
            files += found.sorted()
        }
        return files
    }
}

/// A rule's compiled logic.
struct RuleProgram: Sendable {
    var expression: Expression
    /// Meta filters that apply to the rule: a match is dropped when any of them holds.
    var filters: [Expression]
}

/// Reads documents one by one and keeps what loads.
struct RuleLoader {
    struct Result {
        var rules: [Rule]
        var programs: [RuleProgram]
        var filters: [SigmaFilter]
        var problems: [RuleProblem]
        var warnings: [RuleProblem]
        var skipped: [RuleProblem]
        var files: [String]
        var correlations: [CorrelationRule]
        var detectors: [DetectorRule]
        var ruleTuning: [Int: Tuning]
    }

    let options: RuleLoadOptions
    var rules: [Rule] = []
    var programs: [RuleProgram] = []
    var filterDocuments: [(filter: SigmaFilter, section: YAMLNode)] = []
    var problems: [RuleProblem] = []
    var warnings: [RuleProblem] = []
    var skipped: [RuleProblem] = []
    var files: [String] = []
    var ids: [String: (file: String, line: Int)] = [:]
    var pendingCorrelations: [PendingCorrelation] = []
    var pendingDetectors: [PendingDetector] = []
    var ruleTuning: [Int: Tuning] = [:]

    init(options: RuleLoadOptions) {
        self.options = options
    }

    mutating func load(file: String) {
        files.append(file)
        do {
            load(text: try YAMLReader.text(ofFile: file), file: file)
        } catch {
            problems.append(RuleProblem(file: file, line: error.line, reason: error.reason))
        }
    }

    mutating func load(text: String, file: String) {
        let (documents, syntaxError) = YAMLReader.documents(text)
        for document in documents where !document.isNull {
            loadDocument(document, file: file)
        }
        if let syntaxError {
            problems.append(RuleProblem(file: file, line: syntaxError.line, reason: syntaxError.reason))
        }
    }

    mutating func problem(_ file: String, _ line: Int, _ reason: String) {
        problems.append(RuleProblem(file: file, line: line, reason: reason))
    }

    mutating func loadDocument(_ document: YAMLNode, file: String) {
        guard document.mapping != nil else {
            problem(file, document.line, "a Sigma document must be a map, not \(document.kindName)")
            return
        }
        if let action = document["action"] {
            problem(file, action.line, "rule collections ('action: \(action.text ?? "")') are Sigma 1.0 syntax and not supported; write each rule as a complete document")
            return
        }
        if document["correlation"] != nil {
            loadCorrelation(document, file: file)
            return
        }
        if document["detector"] != nil {
            loadDetector(document, file: file)
            return
        }
        if document["filter"] != nil && document["detection"] == nil {
            loadFilter(document, file: file)
            return
        }
        let rulesBefore = rules.count
        loadRule(document, file: file)
        if rules.count > rulesBefore { loadRuleTuning(document, file: file, rule: rulesBefore) }
    }

    // MARK: Rules

    mutating func loadRule(_ document: YAMLNode, file: String) {
        let before = problems.count
        // Metadata.
        if let title = document["title"] {
            if title.text == nil { problem(file, title.line, "title must be a string") }
        } else {
            problem(file, document.line, "the rule has no title")
        }
        checkScalar(document, "id", file)
        checkScalar(document, "name", file)
        checkScalar(document, "description", file)
        checkScalar(document, "author", file)
        for key in ["references", "tags", "falsepositives", "fields", "scope"] { checkList(document, key, file) }
        if let level = document["level"] {
            if level.text.flatMap(RuleLevel.init(rawValue:)) == nil {
                problem(file, level.line, "level '\(level.text ?? "")' is not one of \(RuleLevel.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let status = document["status"] {
            if status.text.flatMap(RuleStatus.init(rawValue:)) == nil {
                problem(file, status.line, "status '\(status.text ?? "")' is not one of \(RuleStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let related = document["related"] {
            if let items = related.sequence {
                for item in items where item["id"]?.text == nil || item["type"]?.text == nil {
                    problem(file, item.line, "each related entry needs an id and a type")
                }
            } else {
                problem(file, related.line, "related must be a list of {id, type} maps")
            }
        }
        if let id = document["id"]?.text {
            if let first = ids[id] {
                problem(file, document["id"]!.line, "rule id \(id) is already used by \(first.file):\(first.line)")
            }
        }

        // Logsource.
        guard let logsourceNode = document["logsource"] else {
            problem(file, document.line, "the rule has no logsource")
            return
        }
        guard let logsource = readLogSource(logsourceNode, file) else { return }
        var route: LogSourceRoute?
        switch LogSourceRoute.route(logsource) {
        case .success(let found):
            route = found
        case .failure(let refusal):
            if options.skipUnsupported {
                skipped.append(RuleProblem(file: file, line: logsourceNode.line, reason: refusal.description))
                return
            }
            // Reported, and the detection is still compiled so that its own problems are reported too.
            problem(file, logsourceNode.line, refusal.description)
        }

        // Detection.
        guard let detection = document["detection"] else {
            problem(file, document.line, "the rule has no detection")
            return
        }
        var compiler = DetectionCompiler(context: DetectionContext(
            file: file, logsource: logsource, fieldMapping: options.fieldMapping, placeholders: options.placeholders))
        let compiled = compiler.compile(section: detection, sectionName: "detection")
        problems += compiler.problems

        // Examples.
        let examples = readExamples(document["tests"], file)

        guard problems.count == before, var expression = compiled, let route else { return }
        if let restriction = route.restriction {
            let matcher = try! StringMatcher(values: [SigmaString(literal: Array(restriction.value.utf8))], cased: false)
            let field = FieldAccess(resolving: "raw." + restriction.field)
            expression = .all([.predicate(FieldPredicate(field: field, tests: [StringTest(matcher)], requireAll: false, negated: false)), expression])
        }
        let rule = Rule(index: rules.count, document: document, file: file, logsource: logsource, sources: route.sources, examples: examples)
        if let id = rule.id { ids[id] = (file, document.line) }
        rules.append(rule)
        programs.append(RuleProgram(expression: expression.optimized(), filters: []))
    }

    mutating func checkScalar(_ document: YAMLNode, _ key: String, _ file: String) {
        if let node = document[key], !node.isScalar {
            problem(file, node.line, "\(key) must be a string, not \(node.kindName)")
        }
    }

    mutating func checkList(_ document: YAMLNode, _ key: String, _ file: String) {
        guard let node = document[key] else { return }
        if node.isScalar { return }  // a single value is accepted
        guard let items = node.sequence else {
            problem(file, node.line, "\(key) must be a list of strings, not \(node.kindName)")
            return
        }
        for item in items where !item.isScalar {
            problem(file, item.line, "\(key) must be a list of strings; this item is \(item.kindName)")
        }
    }

    private mutating func readLogSource(_ node: YAMLNode, _ file: String) -> LogSource? {
        guard let pairs = node.mapping else {
            problem(file, node.line, "logsource must be a map (category, product, service), not \(node.kindName)")
            return nil
        }
        var logsource = LogSource()
        for (key, value) in pairs {
            let name = key.text ?? ""
            switch name {
            case "category", "product", "service", "definition":
                guard value.isScalar else {
                    problem(file, value.line, "logsource \(name) must be a string, not \(value.kindName)")
                    return nil
                }
                let text = value.text
                if name == "category" { logsource.category = text }
                if name == "product" { logsource.product = text }
                if name == "service" { logsource.service = text }
                if name == "definition" { logsource.definition = text }
            default:
                logsource.otherKeys.append(RuleValue.Member(key: name, value: value.ruleValue))
            }
        }
        return logsource
    }

    /// The `tests` section: `match` and `no_match` lists of records written as YAML maps.
    private mutating func readExamples(_ node: YAMLNode?, _ file: String) -> RuleExamples {
        var examples = RuleExamples(match: [], noMatch: [])
        guard let node else { return examples }
        guard let pairs = node.mapping else {
            problem(file, node.line, "tests must be a map with match and no_match lists")
            return examples
        }
        for (key, value) in pairs {
            guard key.text == "match" || key.text == "no_match" else {
                problem(file, key.line, "unknown key '\(key.text ?? "")' in tests (expected match and no_match)")
                continue
            }
            guard let items = value.sequence else {
                problem(file, value.line, "tests.\(key.text!) must be a list of records")
                continue
            }
            for item in items {
                guard item.mapping != nil else {
                    problem(file, item.line, "each example in tests.\(key.text!) must be a record written as a map, not \(item.kindName)")
                    continue
                }
                let example = RuleExamples.Example(json: YAMLJSON.json(item), line: item.line)
                if key.text == "match" { examples.match.append(example) } else { examples.noMatch.append(example) }
            }
        }
        return examples
    }

    // MARK: Filters

    private mutating func loadFilter(_ document: YAMLNode, file: String) {
        let before = problems.count
        guard let title = document["title"]?.text else {
            problem(file, document.line, "the filter has no title")
            return
        }
        guard let logsourceNode = document["logsource"], let logsource = readLogSource(logsourceNode, file) else {
            if document["logsource"] == nil { problem(file, document.line, "the filter has no logsource") }
            return
        }
        let section = document["filter"]!
        guard section.mapping != nil else {
            problem(file, section.line, "filter must be a map with rules, search identifiers and a condition")
            return
        }
        var targets: [String] = []
        if let rulesNode = section["rules"] {
            if let text = rulesNode.text {
                targets = [text]
            } else if let items = rulesNode.sequence, !items.isEmpty {
                for item in items {
                    if let text = item.text { targets.append(text) } else { problem(file, item.line, "filter rules must be rule ids or names") }
                }
            } else {
                problem(file, rulesNode.line, "filter rules must be a list of rule ids or names")
            }
        } else {
            problem(file, section.line, "the filter names no rules (filter.rules)")
        }
        // Compiled once against its own logsource so that its problems are reported even without target rules.
        var compiler = DetectionCompiler(context: DetectionContext(
            file: file, logsource: logsource, fieldMapping: options.fieldMapping, placeholders: options.placeholders))
        _ = compiler.compile(section: section, sectionName: "filter", ignoring: ["rules"])
        problems += compiler.problems
        guard problems.count == before else { return }
        let filter = SigmaFilter(
            id: document["id"]?.text, title: title, description: document["description"]?.text, rules: targets,
            logsource: logsource, document: document.ruleValue, file: file, line: document.line)
        filterDocuments.append((filter, section))
    }

    /// Attaches every filter to the rules it names, compiled with each rule's own logsource (field mapping).
    private mutating func attachFilters() {
        for (filter, section) in filterDocuments {
            for target in filter.rules {
                let matches = rules.filter { $0.id == target || $0.name == target }
                if matches.isEmpty {
                    warnings.append(RuleProblem(file: filter.file, line: filter.line, reason: "filter '\(filter.title)' names rule '\(target)', which is not loaded"))
                }
                for rule in matches {
                    var compiler = DetectionCompiler(context: DetectionContext(
                        file: filter.file, logsource: rule.logsource, fieldMapping: options.fieldMapping,
                        placeholders: options.placeholders))
                    if let expression = compiler.compile(section: section, sectionName: "filter", ignoring: ["rules"]) {
                        programs[rule.index].filters.append(expression.optimized())
                    } else {
                        problems += compiler.problems
                    }
                }
            }
        }
    }

    mutating func finish() -> Result {
        attachFilters()
        let (correlations, detectors) = resolveCorrelations()
        return Result(
            rules: rules, programs: programs, filters: filterDocuments.map(\.filter), problems: problems,
            warnings: warnings, skipped: skipped, files: files, correlations: correlations, detectors: detectors,
            ruleTuning: ruleTuning)
    }
}
