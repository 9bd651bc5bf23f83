import CYaml  // the libyaml that Yams wraps: its event parser sees anchors and aliases before anything is expanded
import Foundation

/// What a YAML file (rules, field mapping, placeholders, daemon configuration) may cost to load. Aliases let a file of
/// a few hundred bytes name billions of nodes (`b: &b [*a, *a, …]` nine times over); these limits refuse such a file
/// with the line of the alias or merge key that crosses them, after one pass over its parser events, before any node
/// is built. A real Sigma rule is a few KB (SigmaHQ's largest are under 100 KB) and far from every limit.
public struct YAMLLimits: Sendable, Equatable {
    /// Size of the file.
    public var fileBytes: Int
    /// Nodes (scalars, lists and maps) of the whole file, every alias counted as the nodes it names.
    public var nodes: Int
    /// Bytes of scalar text of the whole file, every alias counted as the text it names.
    public var scalarBytes: Int
    /// How deeply lists and maps nest, aliases expanded.
    public var depth: Int
    /// Merge keys (`<<: *base`) in the file.
    public var mergeKeys: Int

    public init(fileBytes: Int, nodes: Int, scalarBytes: Int, depth: Int, mergeKeys: Int) {
        self.fileBytes = fileBytes
        self.nodes = nodes
        self.scalarBytes = scalarBytes
        self.depth = depth
        self.mergeKeys = mergeKeys
    }

    public static let `default` = YAMLLimits(
        fileBytes: 1 << 20, nodes: 250_000, scalarBytes: 8 << 20, depth: 64, mergeKeys: 1_000)

    var fileTooLarge: YAMLSyntaxError {
        YAMLSyntaxError(line: 0, reason: "larger than \(fileBytes) bytes, the limit for a YAML file")
    }
}

/// Checks a YAML text against `YAMLLimits` on libyaml's event stream, where an alias is one event: the size, text and
/// depth of every anchored node are recorded when it ends, and an alias adds them without expanding anything. Time
/// and memory are linear in the text.
struct YAMLLimitCheck {
    /// What a node amounts to once its aliases are expanded.
    struct Extent {
        var nodes = 1
        var scalarBytes = 0
        /// 1 for a scalar, one more than the deepest child for a list or map.
        var depth = 1
    }

    /// A list or map being read.
    struct Open {
        var extent = Extent()
        var anchor: String?
        var isMapping: Bool
        /// In a map: whether the next node is a key.
        var expectingKey = true
    }

    let limits: YAMLLimits
    /// Like Yams, anchors stay defined for the rest of the stream and a later definition replaces an earlier one.
    var anchors: [String: Extent] = [:]
    var stack: [Open] = []
    var nodes = 0
    var scalarBytes = 0
    var mergeKeys = 0

    /// The first limit the text crosses, or nil. A text libyaml cannot parse is left to the YAML reader, which
    /// reports the syntax error; everything before the error was within the limits.
    static func check(_ text: String, limits: YAMLLimits) -> YAMLSyntaxError? {
        var text = text
        return text.withUTF8 { bytes in
            var check = YAMLLimitCheck(limits: limits)
            return check.run(bytes)
        }
    }

    private mutating func run(_ bytes: UnsafeBufferPointer<UInt8>) -> YAMLSyntaxError? {
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer {
            parser.deallocate()
            event.deallocate()
        }
        guard yaml_parser_initialize(parser) == 1 else { return nil }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, bytes.baseAddress, bytes.count)
        while yaml_parser_parse(parser, event) == 1 {
            let type = event.pointee.type
            let problem = take(event.pointee)
            yaml_event_delete(event)
            if let problem { return problem }
            if type == YAML_STREAM_END_EVENT { break }
        }
        return nil
    }

    /// Accounts for one event; the problem it causes, if any.
    private mutating func take(_ event: yaml_event_t) -> YAMLSyntaxError? {
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let isKey = stack.last.map { $0.isMapping && $0.expectingKey } ?? false
            if isKey && scalar.style == YAML_PLAIN_SCALAR_STYLE && scalar.length == 2
                && scalar.value[0] == UInt8(ascii: "<") && scalar.value[1] == UInt8(ascii: "<")
            {
                mergeKeys += 1
                if mergeKeys > limits.mergeKeys {
                    return YAMLSyntaxError(line: line, reason: "more than \(limits.mergeKeys) merge keys ('<<') in one file")
                }
            }
            let extent = Extent(nodes: 1, scalarBytes: scalar.length, depth: 1)
            return place(extent, anchor: YAMLLimitCheck.name(scalar.anchor), line: line, alias: nil)
        case YAML_ALIAS_EVENT:
            guard let name = YAMLLimitCheck.name(event.data.alias.anchor), let extent = anchors[name] else {
                // An undefined alias: the reader reports it.
                return place(Extent(), anchor: nil, line: line, alias: nil)
            }
            return place(extent, anchor: nil, line: line, alias: name)
        case YAML_SEQUENCE_START_EVENT:
            return open(anchor: YAMLLimitCheck.name(event.data.sequence_start.anchor), isMapping: false, line: line)
        case YAML_MAPPING_START_EVENT:
            return open(anchor: YAMLLimitCheck.name(event.data.mapping_start.anchor), isMapping: true, line: line)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let closed = stack.popLast() else { return nil }
            if let anchor = closed.anchor { anchors[anchor] = closed.extent }
            return finish(closed.extent)
        default:
            return nil
        }
    }

    private mutating func open(anchor: String?, isMapping: Bool, line: Int) -> YAMLSyntaxError? {
        // The collection's own node counts now; its children add to it as they come.
        if let problem = count(Extent(), line: line, alias: nil) { return problem }
        if stack.count + 1 > limits.depth {
            return YAMLSyntaxError(line: line, reason: "lists and maps nest more than \(limits.depth) levels deep")
        }
        stack.append(Open(anchor: anchor, isMapping: isMapping))
        return nil
    }

    /// A scalar or an alias takes its place in the open collection.
    private mutating func place(_ extent: Extent, anchor: String?, line: Int, alias: String?) -> YAMLSyntaxError? {
        if let problem = count(extent, line: line, alias: alias) { return problem }
        if stack.count + extent.depth > limits.depth {
            let what = alias.map { "alias '*\($0)' nests lists and maps" } ?? "lists and maps nest"
            return YAMLSyntaxError(line: line, reason: "\(what) more than \(limits.depth) levels deep")
        }
        if let anchor { anchors[anchor] = extent }
        return finish(extent)
    }

    /// Adds a node's expanded size to the file's totals.
    private mutating func count(_ extent: Extent, line: Int, alias: String?) -> YAMLSyntaxError? {
        nodes += extent.nodes
        scalarBytes += extent.scalarBytes
        if nodes > limits.nodes {
            return YAMLSyntaxError(line: line, reason: beyond("\(limits.nodes) YAML nodes", alias))
        }
        if scalarBytes > limits.scalarBytes {
            return YAMLSyntaxError(line: line, reason: beyond("\(limits.scalarBytes) bytes of scalar text", alias))
        }
        return nil
    }

    private func beyond(_ limit: String, _ alias: String?) -> String {
        guard let alias else { return "the file has more than \(limit)" }
        return "alias '*\(alias)' expands the file beyond \(limit) (an alias counts as all it names)"
    }

    /// A finished node adds its extent to its parent (a collection's own node was counted when it opened).
    private mutating func finish(_ extent: Extent) -> YAMLSyntaxError? {
        guard !stack.isEmpty else { return nil }
        let top = stack.count - 1
        stack[top].extent.nodes += extent.nodes
        stack[top].extent.scalarBytes += extent.scalarBytes
        stack[top].extent.depth = max(stack[top].extent.depth, extent.depth + 1)
        if stack[top].isMapping { stack[top].expectingKey.toggle() }
        return nil
    }

    private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        anchor.map { String(cString: $0) }
    }
}
