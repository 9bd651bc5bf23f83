import PipewatchEvents
import PipewatchJSON

/// Who or what alerts are about, one section of the report per kind.
public enum EntityKind: Int, CaseIterable, Sendable {
    /// The principal or actor: `actor.principal` when the event names one, else the actor's user.
    case principal
    /// The human behind a principal, when the event names one (`actor.person`).
    case person
    case address
    /// A model or other ML object by name (`ml.name`).
    case model
    /// A model artifact (`ml.artifact.uri`, else `ml.source`).
    case artifact

    var title: String {
        switch self {
        case .principal: return "Principals"
        case .person: return "People"
        case .address: return "Source addresses"
        case .model: return "Models and ML resources"
        case .artifact: return "Artifacts"
        }
    }

    var singular: String {
        switch self {
        case .principal: return "principal"
        case .person: return "person"
        case .address: return "address"
        case .model: return "model"
        case .artifact: return "artifact"
        }
    }
}

/// What a detector's evidence (`evidences[0].data.detector`) says, for its chart.
struct DetectorEvidence: Sendable {
    var type: String
    var rule: String
    /// The group-by values as `name=value`, in order.
    var group: String
    var value: Double?
    var mean: Double?
    var sigma: Double?
    var threshold: Double?
    var windowStart: Int64?
    var windowEnd: Int64?
    /// new_value: the value seen for the first time (a tuple joined by ", ") and the fields it is of.
    var newValue: String?
    var fields: [String] = []
}

/// What the report keeps of one alert, read from its OCSF Detection Finding.
struct ReportedAlert: Sendable {
    var uid: String
    /// Milliseconds since the epoch (0 when the finding has none).
    var time: Int64
    /// OCSF severity_id: 0 Unknown, 1 Informational … 5 Critical, 6 Fatal (99 Other is kept as 0).
    var severity: Int
    var ruleID: String
    var ruleTitle: String
    var source: String
    /// The event's own id (`metadata.correlation_uid`): the record to look up in the inputs.
    var recordID: String?
    var operation: String?
    var outcome: String?
    var entities: [(kind: EntityKind, value: String)]
    var detector: DetectorEvidence?
    /// ATT&CK entries as text: technique uid and name, or the tactic.
    var attacks: [String]
    /// The evidence pretty-printed and HTML-escaped (only for alerts shown in detail), cut at the per-alert limit.
    var evidence: String?
    var evidenceTruncated = false
}

/// Reads OCSF Detection Findings with the tape parser, one at a time on one reused tape.
final class FindingReader {
    private let tape = JSONTape(capacity: 1 << 12)

    enum Problem: Error, CustomStringConvertible {
        case json(JSONError)
        case notAFinding
        var description: String {
            switch self {
            case .json(let error): return "\(error)"
            case .notAFinding: return "not an OCSF Detection Finding (class_uid 2004 with finding_info.uid)"
            }
        }
    }

    /// `evidenceLimit`: pretty-print the evidence up to that many bytes (nil: leave it out).
    func read(_ bytes: UnsafeBufferPointer<UInt8>, evidenceLimit: Int?) throws(Problem) -> ReportedAlert {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { throw .json(JSONError(.empty, at: 0)) }
        tape.removeAll()
        let root: UInt32
        do throws(JSONError) {
            root = try JSONParser.parse(base, from: 0, to: bytes.count, into: tape)
        } catch {
            throw .json(error)
        }
        let doc = JSONDocument(bytes: base, nodes: tape.nodes)
        func text(_ path: JSONPath, _ from: UInt32 = root) -> String? {
            path.first(in: doc, from: from).flatMap { doc.scalarText($0) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        func number(_ path: JSONPath, _ from: UInt32) -> Double? {
            path.first(in: doc, from: from).flatMap { doc.double($0) }
        }
        guard text(Paths.classUID) == "2004", let uid = text(Paths.findingUID) else { throw .notAFinding }

        let evidence = Paths.evidence.first(in: doc, from: root)
        let data = evidence.flatMap { Paths.data.first(in: doc, from: $0) }
        let detectorNode = data.flatMap { Paths.detector.first(in: doc, from: $0) }
        // A detector's alert carries its triggering event under `event`; a rule's alert is the event itself.
        let event = detectorNode == nil ? data : data.flatMap { Paths.event.first(in: doc, from: $0) }

        var entities: [(EntityKind, String)] = []
        let principal = event.flatMap { text(Paths.actorPrincipal, $0) }
            ?? evidence.flatMap { text(Paths.evidenceUser, $0) } ?? event.flatMap { text(Paths.actorUser, $0) }
        if let principal { entities.append((.principal, principal)) }
        if let person = event.flatMap({ text(Paths.actorPerson, $0) }) { entities.append((.person, person)) }
        if let address = evidence.flatMap({ text(Paths.evidenceIP, $0) }) ?? event.flatMap({ text(Paths.srcIP, $0) }) {
            entities.append((.address, address))
        }
        if let model = event.flatMap({ text(Paths.mlName, $0) }) { entities.append((.model, model)) }
        if let artifact = event.flatMap({ text(Paths.artifactURI, $0) ?? text(Paths.mlSource, $0) }) {
            entities.append((.artifact, artifact))
        }

        var detector: DetectorEvidence?
        if let d = detectorNode {
            var group: [String] = []
            if let g = Paths.group.first(in: doc, from: d), doc[g].kind == .object {
                doc.forEachMember(g) { key, value in
                    group.append("\(doc.string(key) ?? "")=\(doc.scalarText(value) ?? "null")")
                }
            }
            var newValue: String?
            var fields: [String] = []
            if let v = Paths.newValue.first(in: doc, from: d) {
                if doc[v].kind == .array {
                    var parts: [String] = []
                    doc.forEachElement(v) { parts.append(doc.scalarText($0) ?? "null") }
                    newValue = parts.joined(separator: ", ")
                } else {
                    newValue = doc.scalarText(v) ?? "null"
                }
            }
            if let f = Paths.field.first(in: doc, from: d) {
                if doc[f].kind == .array { doc.forEachElement(f) { if let s = doc.string($0) { fields.append(s) } } }
                else if let s = doc.string(f) { fields.append(s) }
            }
            detector = DetectorEvidence(
                type: text(Paths.type, d) ?? "", rule: text(Paths.rule, d) ?? "", group: group.joined(separator: ", "),
                value: number(Paths.value, d), mean: number(Paths.mean, d), sigma: number(Paths.sigma, d),
                threshold: number(Paths.threshold, d),
                windowStart: text(Paths.windowStart, d).flatMap(Timestamp.parseRFC3339),
                windowEnd: text(Paths.windowEnd, d).flatMap(Timestamp.parseRFC3339), newValue: newValue, fields: fields)
        }

        // One line per technique with the tactics it is listed under (OCSF has one entry per technique and tactic).
        var attacks: [String] = []
        var tacticsOf: [[String]] = []
        if let list = Paths.attacks.first(in: doc, from: root), doc[list].kind == .array {
            doc.forEachElement(list) { entry in
                let technique = text(Paths.subTechniqueUID, entry) ?? text(Paths.techniqueUID, entry)
                let name = text(Paths.subTechniqueName, entry) ?? text(Paths.techniqueName, entry)
                let tactic = text(Paths.tacticName, entry) ?? text(Paths.tacticUID, entry)
                let label = technique.map { technique in name.map { "\(technique) \($0)" } ?? technique } ?? tactic
                guard let label else { return }
                if let k = attacks.firstIndex(of: label) {
                    if technique != nil, let tactic, !tacticsOf[k].contains(tactic) { tacticsOf[k].append(tactic) }
                } else {
                    attacks.append(label)
                    tacticsOf.append(technique != nil ? tactic.map { [$0] } ?? [] : [])
                }
            }
        }
        attacks = zip(attacks, tacticsOf).map { $1.isEmpty ? $0 : "\($0) (\($1.joined(separator: ", ")))" }

        let severity = Int(number(Paths.severityID, root) ?? 0)
        var alert = ReportedAlert(
            uid: uid, time: Int64(number(Paths.time, root) ?? 0), severity: (0...6).contains(severity) ? severity : 0,
            ruleID: text(Paths.analyticUID) ?? "", ruleTitle: text(Paths.analyticName) ?? text(Paths.title) ?? "(untitled)",
            source: text(Paths.dataSource) ?? "unknown", recordID: text(Paths.correlationUID),
            operation: evidence.flatMap { text(Paths.operation, $0) }, outcome: event.flatMap { text(Paths.outcome, $0) },
            entities: entities, detector: detector, attacks: attacks)
        if let evidenceLimit, let data {
            var printer = PrettyJSON(limit: evidenceLimit)
            printer.write(doc, data)
            alert.evidence = printer.text
            alert.evidenceTruncated = printer.truncated
        }
        return alert
    }

    /// Paths compiled once.
    enum Paths {
        static let classUID = JSONPath("class_uid")
        static let findingUID = JSONPath("finding_info.uid")
        static let analyticUID = JSONPath("finding_info.analytic.uid")
        static let analyticName = JSONPath("finding_info.analytic.name")
        static let title = JSONPath("finding_info.title")
        static let dataSource = JSONPath("finding_info.data_sources.0")
        static let attacks = JSONPath("finding_info.attacks")
        static let techniqueUID = JSONPath("technique.uid")
        static let techniqueName = JSONPath("technique.name")
        static let subTechniqueUID = JSONPath("sub_technique.uid")
        static let subTechniqueName = JSONPath("sub_technique.name")
        static let tacticName = JSONPath("tactic.name")
        static let tacticUID = JSONPath("tactic.uid")
        static let severityID = JSONPath("severity_id")
        static let time = JSONPath("time")
        static let correlationUID = JSONPath("metadata.correlation_uid")
        static let evidence = JSONPath("evidences.0")
        static let evidenceUser = JSONPath("actor.user.name")
        static let evidenceIP = JSONPath("src_endpoint.ip")
        static let operation = JSONPath("api.operation")
        static let data = JSONPath("data")
        static let detector = JSONPath("detector")
        static let event = JSONPath("event")
        static let actorPrincipal = JSONPath("actor.principal")
        static let actorPerson = JSONPath("actor.person")
        static let actorUser = JSONPath("actor.user")
        static let srcIP = JSONPath("src.ip")
        static let mlName = JSONPath("ml.name")
        static let artifactURI = JSONPath("ml.artifact.uri")
        static let mlSource = JSONPath("ml.source")
        static let outcome = JSONPath("outcome")
        static let type = JSONPath("type")
        static let rule = JSONPath("rule")
        static let group = JSONPath("group")
        static let value = JSONPath("value")
        static let mean = JSONPath("mean")
        static let sigma = JSONPath("sigma")
        static let threshold = JSONPath("threshold")
        static let windowStart = JSONPath("window.start")
        static let windowEnd = JSONPath("window.end")
        static let newValue = JSONPath("new_value")
        static let field = JSONPath("field")
    }
}
