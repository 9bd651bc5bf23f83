import PipewatchEvents
import PipewatchJSON

/// OCSF 1.1 Detection Finding (class 2004, activity Create) for one alert: finding_info with the rule as the
/// analytic and its ATT&CK entries (`AttackEntry`), severity from the rule level, time from the event (for an event
/// without time, the alert's creation and `unmapped.time_absent`), the normalized event as evidence. Only
/// attributes of OCSF 1.1 with the cloud and datetime profiles: the tests validate every alert against that schema
/// (`is_alert`, for one, is OCSF 1.4's).
public enum OCSFDetectionFinding {
    public static let schemaVersion = "1.1.0"

    public static func format(_ alert: Alert, product: ProductInfo = .pipewatch) -> [UInt8] {
        var w = JSONWriter(capacity: 2048 + alert.eventJSON.count)
        w.beginObject()
        w.key("activity_id"); w.number(1)
        w.key("activity_name"); w.string("Create")
        w.key("category_uid"); w.number(2)
        w.key("category_name"); w.string("Findings")
        w.key("class_uid"); w.number(2004)
        w.key("class_name"); w.string("Detection Finding")
        w.key("type_uid"); w.number(200401)
        w.key("type_name"); w.string("Detection Finding: Create")
        w.key("severity_id"); w.number(alert.rule.level.ocsfID)
        w.key("severity"); w.string(alert.rule.level.ocsfName)
        w.key("status_id"); w.number(1)
        w.key("status"); w.string("New")
        w.key("time"); w.number(alert.time)
        w.key("time_dt"); w.string(Timestamp.format(milliseconds: alert.time))
        w.key("message"); w.string(alert.rule.title)
        if alert.timeAbsent {
            // `time` is then the finding's creation time, as OCSF allows; the event's own is unknown.
            w.key("unmapped"); w.beginObject(); w.key("time_absent"); w.bool(true); w.endObject()
        }

        w.key("finding_info")
        w.beginObject()
        w.key("uid"); w.string(alert.uid)
        w.key("title"); w.string(alert.rule.title)
        if let description = alert.rule.description {
            w.key("desc"); w.string(description)
        }
        w.key("analytic")
        w.beginObject()
        w.key("type_id"); w.number(1)
        w.key("type"); w.string("Rule")
        w.key("uid"); w.string(alert.rule.id)
        w.key("name"); w.string(alert.rule.title)
        w.endObject()
        let attacks = alert.rule.attacks
        if !attacks.isEmpty {
            w.key("attacks")
            w.beginArray()
            for attack in attacks { attack.write(to: &w) }
            w.endArray()
        }
        if !alert.rule.tags.isEmpty {
            w.key("types")
            w.beginArray()
            for tag in alert.rule.tags { w.string(tag) }
            w.endArray()
        }
        w.key("data_sources"); w.beginArray(); w.string(alert.source.name); w.endArray()
        if !alert.timeAbsent {
            w.key("first_seen_time"); w.number(alert.time)
            w.key("last_seen_time"); w.number(alert.time)
        }
        w.endObject()

        w.key("metadata")
        w.beginObject()
        w.key("version"); w.string(schemaVersion)
        w.key("uid"); w.string(alert.uid)
        w.key("profiles"); w.beginArray(); w.string("cloud"); w.string("datetime"); w.endArray()
        w.key("product")
        w.beginObject()
        w.key("name"); w.string(product.name)
        w.key("vendor_name"); w.string(product.vendor)
        w.key("version"); w.string(product.version)
        w.endObject()
        if let eventUID = alert[.uid] {
            w.key("correlation_uid"); w.string(eventUID)
        }
        w.endObject()

        w.key("cloud")
        w.beginObject()
        w.key("provider"); w.string(alert[.cloudProvider] ?? "unknown")
        if let region = alert[.cloudRegion] {
            w.key("region"); w.string(region)
        }
        if let account = alert[.cloudAccount] {
            w.key("account"); w.beginObject(); w.key("uid"); w.string(account); w.endObject()
        }
        w.endObject()

        w.key("evidences")
        w.beginArray()
        w.beginObject()
        if alert[.actorUser] != nil || alert[.actorUserType] != nil {
            w.key("actor")
            w.beginObject()
            w.key("user")
            w.beginObject()
            if let user = alert[.actorUser] { w.key("name"); w.string(user); w.key("uid"); w.string(user) }
            if let type = alert[.actorUserType] { w.key("type"); w.string(type) }
            w.endObject()
            if let invoker = alert[.actorImpersonatedBy] { w.key("invoked_by"); w.string(invoker) }
            if alert[.actorSession] != nil || alert[.actorSessionIssuer] != nil {
                w.key("session")
                w.beginObject()
                if let session = alert[.actorSession] { w.key("uid"); w.string(session) }
                if let issuer = alert[.actorSessionIssuer] { w.key("issuer"); w.string(issuer) }
                w.endObject()
            }
            w.endObject()
        }
        w.key("api")
        w.beginObject()
        w.key("operation"); w.string(alert[.apiOperation] ?? "")
        if let service = alert[.apiService] {
            w.key("service"); w.beginObject(); w.key("name"); w.string(service); w.endObject()
        }
        if let request = alert[.apiRequestID] {
            w.key("request"); w.beginObject(); w.key("uid"); w.string(request); w.endObject()
        }
        w.endObject()
        if let ip = alert[.srcIP] {
            w.key("src_endpoint"); w.beginObject(); w.key("ip"); w.string(ip); w.endObject()
        }
        w.key("data")
        alert.eventJSON.withUnsafeBufferPointer { w.raw(json: $0) }
        w.endObject()
        w.endArray()

        // OCSF identifies a resource by name or uid: a type alone (a request on no named object) is no resource.
        if alert[.resourceName] != nil || alert[.resourceUID] != nil {
            w.key("resources")
            w.beginArray()
            w.beginObject()
            if let name = alert[.resourceName] { w.key("name"); w.string(name) }
            if let type = alert[.resourceType] { w.key("type"); w.string(type) }
            if let uid = alert[.resourceUID] { w.key("uid"); w.string(uid) }
            if let namespace = alert[.resourceNamespace] { w.key("namespace"); w.string(namespace) }
            if let region = alert[.cloudRegion] { w.key("region"); w.string(region) }
            w.endObject()
            w.endArray()
        }

        let observables: [(String, String, Int, EventField)] = [
            ("evidences[].actor.user.name", "User Name", 4, .actorUser),
            ("evidences[].src_endpoint.ip", "IP Address", 2, .srcIP),
            ("resources[].uid", "Resource UID", 10, .resourceUID),
        ]
        let present = observables.filter { alert[$0.3] != nil }
        if !present.isEmpty {
            w.key("observables")
            w.beginArray()
            for (name, type, typeID, field) in present {
                w.beginObject()
                w.key("name"); w.string(name)
                w.key("type"); w.string(type)
                w.key("type_id"); w.number(typeID)
                w.key("value"); w.string(alert[field]!)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }
}

/// Who produced the finding (`metadata.product`).
public struct ProductInfo: Sendable {
    public var name: String
    public var vendor: String
    public var version: String

    public static let pipewatch = ProductInfo(name: "Pipewatch", vendor: "Pipewatch", version: PipewatchRelease.version)
}

public enum PipewatchRelease {
    public static let version = "0.1.0"
}
