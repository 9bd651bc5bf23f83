/// A dotted field path such as `userIdentity.sessionContext.attributes.mfaAuthenticated`, compiled once and
/// resolved against many records.
///
/// Resolution rules:
/// - a segment applied to an object selects that key;
/// - a segment applied to an array selects from every element (so `requestObject.spec.containers.image` yields
///   the image of each container), unless it is an index: `containers.0.image` or `containers[0].image`;
/// - keys that themselves contain dots (`annotations.authorization.k8s.io/decision`) resolve too: when a key is
///   missing, the longer keys made by joining it with the following segments are tried.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public let segments: [[UInt8]]
    /// Per segment: the array index it names, if it is all digits.
    let indices: [Int?]
    public let description: String

    public init(_ dotted: String) {
        // `name[3]` is the same as `name.3`.
        var normalized = ""
        var rest = Substring(dotted)
        while let open = rest.firstIndex(of: "[") {
            normalized += rest[..<open]
            let afterOpen = rest.index(after: open)
            if let close = rest[afterOpen...].firstIndex(of: "]"), close > afterOpen,
                rest[afterOpen..<close].allSatisfy(\.isNumber)
            {
                normalized += "." + rest[afterOpen..<close]
                rest = rest[rest.index(after: close)...]
            } else {
                normalized += "["
                rest = rest[afterOpen...]
            }
        }
        normalized += rest
        let parts = normalized.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        segments = parts.map { Array($0.utf8) }
        indices = parts.map { part in part.allSatisfy(\.isNumber) && !part.isEmpty ? Int(part) : nil }
        description = dotted
    }

    /// Calls `body` with every value the path reaches from `root`; stops as soon as `body` returns true.
    /// Returns whether it was stopped.
    @discardableResult
    public func anyValue(in document: JSONDocument, from root: UInt32, _ body: (UInt32) -> Bool) -> Bool {
        resolve(document, root, 0, body)
    }

    /// The first value the path reaches, if any.
    public func first(in document: JSONDocument, from root: UInt32) -> UInt32? {
        var found: UInt32?
        anyValue(in: document, from: root) { value in
            found = value
            return true
        }
        return found
    }

    private func resolve(_ doc: JSONDocument, _ node: UInt32, _ segment: Int, _ body: (UInt32) -> Bool) -> Bool {
        if segment == segments.count { return body(node) }
        switch doc[node].kind {
        case .object:
            var joined = segments[segment]
            var last = segment
            while true {
                let hit = joined.withUnsafeBufferPointer { doc.member(node, $0) }
                if let hit, resolve(doc, hit, last + 1, body) { return true }
                if hit != nil { return false }
                last += 1
                guard last < segments.count else { return false }
                joined.append(UInt8(ascii: "."))
                joined.append(contentsOf: segments[last])
            }
        case .array:
            if let index = indices[segment] {
                guard let element = doc.element(node, at: index) else { return false }
                return resolve(doc, element, segment + 1, body)
            }
            var stopped = false
            doc.forEachElement(node) { element in
                if !stopped && resolve(doc, element, segment, body) { stopped = true }
            }
            return stopped
        default:
            return false
        }
    }
}
