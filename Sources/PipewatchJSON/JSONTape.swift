/// The kinds of JSON value a tape node can hold.
public enum JSONKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null
}

/// One value of a parsed document. Objects hold their members as alternating key and value nodes after them;
/// arrays hold their elements. `next` is the index just past this node's subtree, so siblings are one hop apart.
@frozen
public struct JSONNode: Sendable {
    /// Byte offset of the value's first byte; for strings, the first byte after the opening quote.
    public var start: UInt32
    /// Byte offset one past the value's last byte; for strings, the offset of the closing quote.
    public var end: UInt32
    /// Tape index of the node after this value's subtree.
    public var next: UInt32
    public var kind: JSONKind
    /// `JSONNode.escaped` for strings that contain backslash escapes.
    public var flags: UInt8

    public static let escaped: UInt8 = 1

    @inlinable
    public init(start: UInt32, end: UInt32, next: UInt32, kind: JSONKind, flags: UInt8) {
        self.start = start
        self.end = end
        self.next = next
        self.kind = kind
        self.flags = flags
    }

    @inlinable public var isEscaped: Bool { flags & JSONNode.escaped != 0 }
    @inlinable public var byteCount: Int { Int(end &- start) }
}

/// Growable storage for the nodes of many parsed records, reused from batch to batch so that parsing
/// allocates nothing once it has warmed up.
public final class JSONTape: @unchecked Sendable {
    public private(set) var nodes: UnsafeMutablePointer<JSONNode>
    public internal(set) var count: Int = 0
    public private(set) var capacity: Int
    /// Indices of the containers still open while parsing (bounded by `JSONParser.maxDepth`).
    let stack: UnsafeMutablePointer<UInt32>

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        nodes = .allocate(capacity: self.capacity)
        stack = .allocate(capacity: JSONParser.maxDepth + 1)
    }

    deinit {
        nodes.deallocate()
        stack.deallocate()
    }

    /// Forgets every node; keeps the storage.
    public func removeAll() { count = 0 }

    /// Makes room for `additional` more nodes.
    @inlinable
    public func reserve(additional: Int) {
        if count + additional > capacity { grow(to: count + additional) }
    }

    @usableFromInline
    func grow(to minimum: Int) {
        var newCapacity = capacity * 2
        while newCapacity < minimum { newCapacity *= 2 }
        let newNodes = UnsafeMutablePointer<JSONNode>.allocate(capacity: newCapacity)
        newNodes.moveInitialize(from: nodes, count: count)
        nodes.deallocate()
        nodes = newNodes
        capacity = newCapacity
    }

    @inlinable
    public subscript(index: UInt32) -> JSONNode { nodes[Int(index)] }
}
