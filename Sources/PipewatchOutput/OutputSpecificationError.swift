/// A sink string (`--output FORMAT:SINK`, or an output of the configuration file) that cannot be used, with the
/// reason.
public struct OutputSpecificationError: Error, CustomStringConvertible {
    public var description: String

    public init(_ text: String, _ reason: String) { description = "output \(text): \(reason)" }
}
