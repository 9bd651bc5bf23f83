/// Something wrong with a rule file, reported as `file:line: reason`.
public struct RuleProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// Line of the offending YAML node (1-based); 0 when the problem concerns the whole file.
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)"
    }
}
