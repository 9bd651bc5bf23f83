import PipewatchInputs
import PipewatchOutput
import PipewatchPipeline

public struct NoAlert: Error, CustomStringConvertible {
    public var description: String { "the record decoded to no event" }
}

/// Decodes one record (one JSON line) through the file reader and the normalizer into an alert for `rule`.
public func makeAlert(_ record: String, rule: AlertRule) throws -> Alert {
    let dir = try TemporaryDirectory()
    let path = try dir.write("one.ndjson", record + "\n")
    let decoder = EventDecoder()
    var alerts: [Alert] = []
    _ = RecordReader().read(path) { chunk in
        decoder.decode(chunk)
        decoder.forEachView { _, view in alerts.append(Alert(rule: rule, view: view)) }
    }
    guard let alert = alerts.first else { throw NoAlert() }
    return alert
}
