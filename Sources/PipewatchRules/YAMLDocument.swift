import Foundation
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

    /// The node Yams composed, aliases expanded and merge keys applied.
    public init(_ node: Node) throws(YAMLSyntaxError) {
        let mark = node.mark
        line = mark?.line ?? 0
        column = mark?.column ?? 0
        switch node {
        case .scalar(let scalar):
            value = .scalar(scalar.string, plain: scalar.style == .plain)
        case .mapping(let mapping):
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var merged: [(key: YAMLNode, value: YAMLNode)] = []
            for (key, value) in mapping {
                if case .scalar(let scalar) = key, scalar.string == "<<", scalar.style == .plain {
                    merged += try YAMLNode.mergedPairs(try YAMLNode(value))
                } else {
                    pairs.append((try YAMLNode(key), try YAMLNode(value)))
                }
            }
            value = .mapping(merged.isEmpty ? pairs : YAMLNode.merge(merged, under: pairs))
        case .sequence(let sequence):
            var items: [YAMLNode] = []
            items.reserveCapacity(sequence.count)
            for item in sequence { items.append(try YAMLNode(item)) }
            value = .sequence(items)
        case .alias:
            // The composer replaces aliases by the nodes they name; an unresolved one reads as null.
            value = .scalar("", plain: true)
        }
    }

    /// The pairs a merge key brings: those of a map, or of each map of a list.
    private static func mergedPairs(_ value: YAMLNode) throws(YAMLSyntaxError) -> [(key: YAMLNode, value: YAMLNode)] {
        if let pairs = value.mapping { return pairs }
        if let items = value.sequence, items.allSatisfy({ $0.mapping != nil }) { return items.flatMap { $0.mapping! } }
        throw YAMLSyntaxError(line: value.line, reason: "a merge key ('<<') takes a map or a list of maps, not \(value.kindName)")
    }

    /// Merge keys as YAML 1.1 defines them (and PyYAML applies them, so pySigma reads the same rule): a key of the
    /// map itself overrides a merged one, and an earlier merged map overrides a later one. Merged pairs come first.
    private static func merge(_ merged: [(key: YAMLNode, value: YAMLNode)], under own: [(key: YAMLNode, value: YAMLNode)])
        -> [(key: YAMLNode, value: YAMLNode)]
    {
        func name(_ key: YAMLNode) -> String? {
            if case .scalar(let text, _) = key.value { return text }
            return nil
        }
        var taken = Set(own.compactMap { name($0.key) })
        var result: [(key: YAMLNode, value: YAMLNode)] = []
        for pair in merged {
            if let name = name(pair.key), !taken.insert(name).inserted { continue }
            result.append(pair)
        }
        return result + own
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
    /// Every document of a YAML text, or the problem that stopped reading: a limit of `limits` crossed (no documents
    /// then), or a syntax error (with the documents before it).
    public static func documents(_ text: String, limits: YAMLLimits = .default) -> (documents: [YAMLNode], error: YAMLSyntaxError?) {
        if text.utf8.count > limits.fileBytes {
            return ([], limits.fileTooLarge)
        }
        if let problem = YAMLLimitCheck.check(text, limits: limits) { return ([], problem) }
        var documents: [YAMLNode] = []
        do {
            var sequence = try Yams.compose_all(yaml: text)
            while let node = sequence.next() { documents.append(try YAMLNode(node)) }
            if let error = sequence.error { return (documents, onALine(describe(error), of: text)) }
        } catch {
            return (documents, onALine(describe(error), of: text))
        }
        return (documents, nil)
    }

    /// libyaml marks an error at the end of the input on the line after the last one (past a final line break, or
    /// past a last line without one): name the last line that has text instead, so `file:line` points into the file.
    static func onALine(_ error: YAMLSyntaxError, of text: String) -> YAMLSyntaxError {
        var last = 0, line = 1, previousCR = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n":
                if !previousCR { line += 1 }
            case "\r", "\u{85}", "\u{2028}", "\u{2029}":
                line += 1
            case " ", "\t", "\u{FEFF}":
                break
            default:
                last = line
            }
            previousCR = scalar == "\r"
        }
        guard last > 0, error.line > last else { return error }
        return YAMLSyntaxError(line: last, reason: error.reason)
    }

    /// The text of a YAML file: at most `limits.fileBytes` are read, and a file that is larger, unreadable or not
    /// UTF-8 is refused (line 0 for the whole file; the line of the first invalid byte for UTF-8).
    public static func text(ofFile path: String, limits: YAMLLimits = .default) throws(YAMLSyntaxError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw YAMLSyntaxError(line: 0, reason: "cannot read file") }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: limits.fileBytes + 1) ?? Data()
        } catch {
            throw YAMLSyntaxError(line: 0, reason: "cannot read file: \(error.localizedDescription)")
        }
        if data.count > limits.fileBytes { throw limits.fileTooLarge }
        let text = data.withUnsafeBytes { raw -> Result<String, YAMLSyntaxError> in
            let bytes = raw.bindMemory(to: UInt8.self)
            if let problem = invalidUTF8(bytes) { return .failure(problem) }
            return .success(String(decoding: bytes, as: UTF8.self))
        }
        return try text.get()
    }

    /// Where `bytes` stop being UTF-8, if they do: the line, column and value of the first invalid byte.
    static func invalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> YAMLSyntaxError? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar):
                offset += scalar.count
            case .emptyInput:
                return nil
            case .error:
                let before = bytes[..<offset]
                let line = 1 + before.count(where: { $0 == UInt8(ascii: "\n") })
                let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                return YAMLSyntaxError(
                    line: line,
                    reason: "not UTF-8 text: invalid byte 0x\(byte.count == 1 ? "0" + byte : byte) at column \(offset - lineStart + 1)")
            }
        }
    }

    static func describe(_ error: Error) -> YAMLSyntaxError {
        if let error = error as? YAMLSyntaxError { return error }
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
