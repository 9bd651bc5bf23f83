import Foundation

/// Header fields of a request or response, in the order they came. Names compare case-insensitively (RFC 9110).
public struct HTTPFields: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return fields.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}

/// One request, with its whole body.
public struct HTTPRequest: Sendable {
    /// Upper case, as sent ("POST").
    public var method: String
    /// The request target up to `?`.
    public var path: String
    /// What follows `?`, if anything.
    public var query: String?
    public var headers: HTTPFields
    public var body: [UInt8]
    /// The TCP peer's IP address ("127.0.0.1", "::1"); nil for a non-IP socket.
    public var remoteAddress: String?

    public init(
        method: String, path: String, query: String? = nil, headers: HTTPFields = HTTPFields(), body: [UInt8] = [],
        remoteAddress: String? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(status: Int, headers: HTTPFields = HTTPFields(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A one-line plain-text answer; the line break is added.
    public static func text(_ status: Int, _ line: String) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: HTTPFields([("Content-Type", "text/plain; charset=utf-8")]),
            body: Array((line + "\n").utf8))
    }
}
