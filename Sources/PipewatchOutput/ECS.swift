import PipewatchEvents
import PipewatchJSON

/// An Elastic Common Schema (8.11) alert document for one alert, as one JSON object (nested objects, no dotted
/// keys). `event.kind` is `alert` (never `signal`, which Kibana reserves); `event.category`/`event.type` are
/// `intrusion_detection`/`info`; `event.severity` reuses the CEF number. The normalized event rides along under
/// `pipewatch.event`.
public enum ECSFormatter {
    public static let ecsVersion = "8.11.0"

    public static func format(_ alert: Alert, product: ProductInfo = .pipewatch) -> [UInt8] {
        var w = JSONWriter(capacity: 2048 + alert.eventJSON.count)
        w.beginObject()
        w.key("@timestamp"); w.string(Timestamp.format(milliseconds: alert.time))
        w.key("ecs"); w.beginObject(); w.key("version"); w.string(ecsVersion); w.endObject()
        w.key("message"); w.string(alert.rule.title)

        w.key("event")
        w.beginObject()
        w.key("kind"); w.string("alert")
        w.key("category"); w.beginArray(); w.string("intrusion_detection"); w.endArray()
        w.key("type"); w.beginArray(); w.string("info"); w.endArray()
        w.key("outcome"); w.string(alert.outcome.name)
        if let operation = alert[.apiOperation] { w.key("action"); w.string(operation) }
        w.key("dataset"); w.string(alert.source.name)
        w.key("id"); w.string(alert.uid)
        w.key("severity"); w.number(alert.rule.level.cefSeverity)
        if let service = alert[.apiService] { w.key("provider"); w.string(service) }
        w.endObject()

        w.key("rule")
        w.beginObject()
        w.key("id"); w.string(alert.rule.id)
        w.key("name"); w.string(alert.rule.title)
        if let description = alert.rule.description { w.key("description"); w.string(description) }
        if let reference = alert.rule.references.first { w.key("reference"); w.string(reference) }
        w.key("ruleset"); w.string("pipewatch")
        w.key("severity"); w.string(alert.rule.level.rawValue)
        if let author = alert.rule.author { w.key("author"); w.beginArray(); w.string(author); w.endArray() }
        w.endObject()

        writeThreat(alert.rule.attacks, to: &w)

        if let user = alert[.actorUser] {
            w.key("user"); w.beginObject(); w.key("name"); w.string(user); w.endObject()
        }
        if let source = alert[.srcIP] {
            w.key("source")
            w.beginObject()
            w.key("address"); w.string(source)
            if FormatSupport.isIPLiteral(source) { w.key("ip"); w.string(source) }
            w.endObject()
        }
        if let agent = alert[.userAgent] {
            w.key("user_agent"); w.beginObject(); w.key("original"); w.string(agent); w.endObject()
        }

        if alert.source == .kubernetesAudit {
            w.key("orchestrator")
            w.beginObject()
            w.key("type"); w.string("kubernetes")
            if let namespace = alert[.resourceNamespace] { w.key("namespace"); w.string(namespace) }
            if alert[.resourceType] != nil || alert[.resourceName] != nil {
                w.key("resource")
                w.beginObject()
                if let type = alert[.resourceType] { w.key("type"); w.string(type) }
                if let name = alert[.resourceName] { w.key("name"); w.string(name) }
                w.endObject()
            }
            w.endObject()
        } else if alert[.cloudProvider] != nil || alert[.cloudRegion] != nil || alert[.cloudAccount] != nil {
            w.key("cloud")
            w.beginObject()
            if let provider = alert[.cloudProvider] { w.key("provider"); w.string(provider) }
            if let region = alert[.cloudRegion] { w.key("region"); w.string(region) }
            if let account = alert[.cloudAccount] {
                w.key("account"); w.beginObject(); w.key("id"); w.string(account); w.endObject()
            }
            if let service = alert[.apiService] {
                w.key("service"); w.beginObject(); w.key("name"); w.string(service); w.endObject()
            }
            w.endObject()
        }

        // Every name of the actor: the identity, the stable principal, the person behind it.
        var relatedUsers: [String] = []
        for field in [EventField.actorUser, .actorPrincipal, .actorPerson] {
            if let user = alert[field], !relatedUsers.contains(user) { relatedUsers.append(user) }
        }
        let relatedIPs = alert[.srcIP].flatMap { FormatSupport.isIPLiteral($0) ? [$0] : nil } ?? []
        if !relatedUsers.isEmpty || !relatedIPs.isEmpty {
            w.key("related")
            w.beginObject()
            if !relatedUsers.isEmpty { w.key("user"); w.beginArray(); relatedUsers.forEach { w.string($0) }; w.endArray() }
            if !relatedIPs.isEmpty { w.key("ip"); w.beginArray(); relatedIPs.forEach { w.string($0) }; w.endArray() }
            w.endObject()
        }

        w.key("observer")
        w.beginObject()
        w.key("vendor"); w.string(product.vendor)
        w.key("product"); w.string(product.name)
        w.key("version"); w.string(product.version)
        w.endObject()

        if !alert.rule.tags.isEmpty {
            w.key("tags"); w.beginArray(); for tag in alert.rule.tags { w.string(tag) }; w.endArray()
        }

        w.key("pipewatch")
        w.beginObject()
        if alert.timeAbsent { w.key("time_absent"); w.bool(true) }  // `@timestamp` is then the alert's creation
        w.key("event")
        alert.eventJSON.withUnsafeBufferPointer { w.raw(json: $0) }
        w.endObject()
        w.endObject()
        return w.bytes
    }

    /// `threat.*` from the rule's ATT&CK entries: technique, sub-technique and tactic ids and names (ids and names
    /// of the known ones, in the same order; names alone of tactics ATT&CK does not know).
    static func writeThreat(_ attacks: [AttackEntry], to w: inout JSONWriter) {
        var techniques: [AttackEntry.Reference] = []
        var subTechniques: [AttackEntry.Reference] = []
        var tactics: [AttackEntry.Reference] = []
        for attack in attacks {
            if let technique = attack.technique, !techniques.contains(technique) { techniques.append(technique) }
            if let sub = attack.subTechnique, !subTechniques.contains(sub) { subTechniques.append(sub) }
            if let tactic = attack.tactic, !tactics.contains(tactic) { tactics.append(tactic) }
        }
        guard !techniques.isEmpty || !tactics.isEmpty else { return }
        w.key("threat")
        w.beginObject()
        w.key("framework"); w.string("MITRE ATT&CK")
        if !techniques.isEmpty {
            w.key("technique")
            w.beginObject()
            writeIDsAndNames(techniques, to: &w)
            if !subTechniques.isEmpty {
                w.key("subtechnique")
                w.beginObject()
                writeIDsAndNames(subTechniques, to: &w)
                w.endObject()
            }
            w.endObject()
        }
        if !tactics.isEmpty {
            w.key("tactic")
            w.beginObject()
            writeIDsAndNames(tactics, to: &w)
            w.endObject()
        }
        w.endObject()
    }

    private static func writeIDsAndNames(_ references: [AttackEntry.Reference], to w: inout JSONWriter) {
        let ids = references.compactMap(\.uid), names = references.compactMap(\.name)
        if !ids.isEmpty { w.key("id"); w.beginArray(); ids.forEach { w.string($0) }; w.endArray() }
        if !names.isEmpty { w.key("name"); w.beginArray(); names.forEach { w.string($0) }; w.endArray() }
    }
}
