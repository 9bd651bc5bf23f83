import Yams

/// A YAML node with the position it was written at: what the loader walks so that every problem can name its line.
public struct YAMLNode: Sendable {
    public indirect enum Value: Sendable {
        /// `plain` is false for quoted and block scalars (whose text is never null, a boolean or a number).
        case scalar(String, plain: Bool)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    public var value: Value
    public var line: Int
    public var column: Int

    init(_ value: Value, line: Int, column: Int) {
        self.value = value
        self.line = line
        self.column = column
    }

    public init(_ node: Node) {
        let mark = node.mark
        line = mark?.line ?? 0
        column = mark?.column ?? 0
        switch node {
        case .scalar(let scalar):
            value = .scalar(scalar.string, plain: scalar.style == .plain)
        case .mapping(let mapping):
            value = .mapping(mapping.map { (YAMLNode($0.key), YAMLNode($0.value)) })
        case .sequence(let sequence):
            value = .sequence(sequence.map(YAMLNode.init))
        case .alias:
            // The composer replaces aliases by the nodes they name; an unresolved one reads as null.
            value = .scalar("", plain: true)
        }
    }

    // MARK: Reading

    /// A plain scalar that YAML reads as null (`~`, `null`, empty).
    public var isNull: Bool {
        if case .scalar(let text, true) = value { return YAMLNode.nullWords.contains(text) }
        return false
    }

    static let nullWords: Set<String> = ["", "~", "null", "Null", "NULL"]
    static let trueWords: Set<String> = ["true", "True", "TRUE"]
    static let falseWords: Set<String> = ["false", "False", "FALSE"]

    /// The text of a scalar that is not null.
    public var text: String? {
        if case .scalar(let text, _) = value, !isNull { return text }
        return nil
    }

    public var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let pairs) = value { return pairs }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    public var isScalar: Bool {
        if case .scalar = value { return true }
        return false
    }

    /// A boolean scalar (`true`/`false`, also `yes`/`no` as many Sigma tools accept), or nil.
    public var bool: Bool? {
        guard case .scalar(let text, _) = value else { return nil }
        if YAMLNode.trueWords.contains(text) || text.lowercased() == "yes" { return true }
        if YAMLNode.falseWords.contains(text) || text.lowercased() == "no" { return false }
        return nil
    }

    /// The value of `key` in a mapping.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.text == key }?.value
    }

    /// What kind of node this is, for messages.
    public var kindName: String {
        switch value {
        case .scalar: return isNull ? "null" : "a scalar"
        case .mapping: return "a map"
        case .sequence: return "a list"
        }
    }

    /// The node as a `RuleValue` (positions dropped).
    var ruleValue: RuleValue {
        switch value {
        case .scalar(let text, _): return isNull ? .null : .string(text)
        case .mapping(let pairs): return .map(pairs.map { RuleValue.Member(key: $0.key.text ?? "", value: $0.value.ruleValue) })
        case .sequence(let items): return .list(items.map(\.ruleValue))
        }
    }
}

/// A YAML syntax problem: where and what.
public struct YAMLSyntaxError: Error {
    public var line: Int
    public var reason: String
}

public enum YAMLReader {
    /// Every document of a YAML text, or the syntax error that stopped reading (with the documents before it).
    public static func documents(_ text: String) -> (documents: [YAMLNode], error: YAMLSyntaxError?) {
        var documents: [YAMLNode] = []
        do {
            var sequence = try Yams.compose_all(yaml: text)
            while let node = sequence.next() { documents.append(YAMLNode(node)) }
            if let error = sequence.error { return (documents, describe(error)) }
        } catch {
            return (documents, describe(error))
        }
        return (documents, nil)
    }

    static func describe(_ error: Error) -> YAMLSyntaxError {
        guard let yamlError = error as? YamlError else { return YAMLSyntaxError(line: 0, reason: "\(error)") }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let where_ = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return YAMLSyntaxError(line: mark.line, reason: "invalid YAML: \(problem)\(where_)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = Array(Set(duplicates)).sorted().map { "'\($0)'" }.joined(separator: ", ")
            return YAMLSyntaxError(line: context.mark.line, reason: "duplicate key \(keys) in a map")
        case .reader(let problem, _, _, _):
            return YAMLSyntaxError(line: 0, reason: "invalid YAML input: \(problem)")
        default:
            return YAMLSyntaxError(line: 0, reason: "invalid YAML: \(yamlError)")
        }
    }
}
