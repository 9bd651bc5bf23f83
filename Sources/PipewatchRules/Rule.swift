import PipewatchEvents

/// A YAML value of a rule, kept as written (scalars as text): how custom keys and the whole rule document are exposed.
public indirect enum RuleValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case string(String)
    case list([RuleValue])
    case map([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: RuleValue

        public init(key: String, value: RuleValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value of `key` in a map.
    public subscript(key: String) -> RuleValue? {
        guard case .map(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// A list of scalars as strings; a single scalar as a one-element list.
    public var strings: [String] {
        switch self {
        case .string(let text): return [text]
        case .list(let items): return items.compactMap(\.string)
        default: return []
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case .string(let text): return text
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .map(let members): return "{" + members.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

/// How urgent a rule's matches are (Sigma `level`).
public enum RuleLevel: String, Sendable, CaseIterable, Comparable {
    case informational, low, medium, high, critical

    public static func < (a: RuleLevel, b: RuleLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// How mature a rule is (Sigma `status`).
public enum RuleStatus: String, Sendable, CaseIterable {
    case stable, test, experimental, deprecated, unsupported
}

/// The `logsource` of a rule: which logs it is written for.
public struct LogSource: Sendable, Equatable, CustomStringConvertible {
    public var category: String?
    public var product: String?
    public var service: String?
    public var definition: String?
    /// Any other keys of the section, as written.
    public var otherKeys: [RuleValue.Member]

    public init(category: String? = nil, product: String? = nil, service: String? = nil, definition: String? = nil,
                otherKeys: [RuleValue.Member] = []) {
        self.category = category
        self.product = product
        self.service = service
        self.definition = definition
        self.otherKeys = otherKeys
    }

    public var description: String {
        [("category", category), ("product", product), ("service", service)]
            .compactMap { key, value in value.map { "\(key): \($0)" } }
            .joined(separator: ", ")
    }
}

/// A link to another rule (Sigma `related`).
public struct RelatedRule: Sendable, Equatable {
    public var id: String
    public var type: String
}

/// Example records a rule carries in its `tests` section: raw records (YAML maps) that must match and must not.
public struct RuleExamples: Sendable {
    public struct Example: Sendable {
        /// The record as JSON text, converted from the YAML map.
        public var json: String
        public var line: Int
    }

    public var match: [Example]
    public var noMatch: [Example]

    public var isEmpty: Bool { match.isEmpty && noMatch.isEmpty }
}

/// A loaded Sigma detection rule: every key of its document, typed where the specification defines the key, plus
/// where it was read from. Compiled detection logic lives in the `RuleEngine`, not here.
public final class Rule: Sendable {
    /// Position of the rule in its `RuleSet` (`ruleSet.rules[rule.index] === rule`).
    public let index: Int
    public let id: String?
    public let name: String?
    public let title: String
    public let status: RuleStatus?
    public let description: String?
    public let license: String?
    public let author: String?
    public let references: [String]
    public let date: String?
    public let modified: String?
    public let tags: [String]
    public let falsepositives: [String]
    public let level: RuleLevel?
    public let fields: [String]
    public let related: [RelatedRule]
    public let taxonomy: String?
    public let scope: [String]
    public let logsource: LogSource
    /// The `detection` section as written.
    public let detection: RuleValue
    /// Top-level keys the Sigma specification does not define (`tests` included), in file order.
    public let customKeys: [RuleValue.Member]
    /// The whole document as written.
    public let document: RuleValue
    /// The example records of the `tests` section.
    public let examples: RuleExamples
    /// The event sources the rule's logsource routes it to.
    public let sources: [EventSource]
    public let file: String
    /// Line of the document's first key.
    public let line: Int

    init(index: Int, document node: YAMLNode, file: String, logsource: LogSource, sources: [EventSource],
         examples: RuleExamples) {
        self.index = index
        self.file = file
        line = node.line
        let document = node.ruleValue
        self.document = document
        id = document["id"]?.string
        name = document["name"]?.string
        title = document["title"]?.string ?? ""
        status = document["status"]?.string.flatMap(RuleStatus.init(rawValue:))
        description = document["description"]?.string
        license = document["license"]?.string
        author = document["author"]?.string
        references = document["references"]?.strings ?? []
        date = document["date"]?.string
        modified = document["modified"]?.string
        tags = document["tags"]?.strings ?? []
        falsepositives = document["falsepositives"]?.strings ?? []
        level = document["level"]?.string.flatMap(RuleLevel.init(rawValue:))
        fields = document["fields"]?.strings ?? []
        if case .list(let items)? = document["related"] {
            related = items.compactMap { item in
                guard let id = item["id"]?.string else { return nil }
                return RelatedRule(id: id, type: item["type"]?.string ?? "")
            }
        } else {
            related = []
        }
        taxonomy = document["taxonomy"]?.string
        scope = document["scope"]?.strings ?? []
        self.logsource = logsource
        detection = document["detection"] ?? .null
        if case .map(let members) = document {
            customKeys = members.filter { !Rule.specifiedKeys.contains($0.key) }
        } else {
            customKeys = []
        }
        self.examples = examples
        self.sources = sources
    }

    /// The top-level keys of the Sigma rules specification.
    static let specifiedKeys: Set<String> = [
        "title", "id", "name", "related", "taxonomy", "status", "description", "license", "author", "references",
        "date", "modified", "logsource", "detection", "fields", "falsepositives", "level", "tags", "scope",
    ]

    /// The value of a custom key.
    public func customKey(_ key: String) -> RuleValue? {
        customKeys.first { $0.key == key }?.value
    }

    /// What names the rule in reports: its id, else its name, else its title.
    public var reference: String { id ?? name ?? title }
}
