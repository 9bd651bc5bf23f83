import Foundation
import PipewatchEvents
import PipewatchJSON
@testable import PipewatchOutput
import Testing

/// Findings written from each rule's fragments and the alert's bytes are byte for byte those of the formatter that
/// encoded everything per alert (kept below as the reference), on hostile records of every source, with rules
/// with and without description, tags and ATT&CK entries, and for events without time.
@Suite struct OCSFFragmentTests {
    static let rules: [AlertRule] = [
        HostileRecords.rule, HostileRecords.plainRule,
        AlertRule(id: "bare", title: "No description, no tags", level: .informational),
        AlertRule(
            id: "tactics-only", title: "Zoë's \"rule\"", level: .critical, description: "tab\there",
            tags: ["attack.exfiltration", "attack.t1041", "attack.s0002", "attack.unknown_tactic", "attack.t9999"]),
    ]

    static let records: [String] = [
        HostileRecords.cloudTrail(), HostileRecords.plainCloudTrail, HostileRecords.kubernetes, HostileRecords.mlflow,
        HostileRecords.cloudTrail(userAgent: HostileRecords.long),
        "{\n  \"eventVersion\": \"1.09\",\n  \"eventTime\": \"2026-11-03T10:07:00Z\", \"eventSource\": \"s3.amazonaws.com\",\n  \"eventName\": \"GetObject\", \"awsRegion\": \"eu-west-1\", \"userIdentity\": { \"type\": \"Root\", \"arn\": \"arn:aws:iam::1:root\" },\n  \"requestParameters\": { \"bucketName\": \"b \\\" c\", \"key\": \"k \\u00e9\" } }",
        #"{"entity":"model_version","action":"created","data":{"name":"no time here"}}"#,
    ]

    @Test func findingsAreTheReferenceBytes() throws {
        var compared = 0
        for record in Self.records {
            for rule in Self.rules {
                let alert = try makeAlert(record, rule: rule)
                #expect(OCSFDetectionFinding.format(alert) == ReferenceOCSF.format(alert), "\(rule.id) on \(record.prefix(60))")
                let product = ProductInfo(name: "Other \"tool\"", vendor: "Zoë", version: "9")
                #expect(OCSFDetectionFinding.format(alert, product: product) == ReferenceOCSF.format(alert, product: product))
                compared += 1
            }
        }
        #expect(compared == Self.records.count * Self.rules.count)
    }

    @Test func aRuleChangedAfterItsFragmentsWereMadeIsWrittenAsChanged() throws {
        var alert = try makeAlert(HostileRecords.plainCloudTrail, rule: HostileRecords.plainRule)
        alert.rule.title = "Renamed"
        alert.rule.level = .low
        alert.rule.description = nil
        alert.rule.tags = ["attack.t1078", "attack.persistence"]
        let text = String(decoding: OCSFDetectionFinding.format(alert), as: UTF8.self)
        #expect(text.contains(#""message":"Renamed""#))
        #expect(text.contains(#""severity":"Low""#))
        #expect(!text.contains(#""desc""#))
        #expect(OCSFDetectionFinding.format(alert) == ReferenceOCSF.format(alert))
    }

    @Test func uidAndFieldsAreTheOldOnes() throws {
        for record in Self.records {
            let alert = try makeAlert(record, rule: HostileRecords.rule)
            let identity = alert[.uid].map { Array($0.utf8) }
            let expected = ReferenceOCSF.findingUID(
                ruleID: alert.rule.id, source: alert.source, eventIdentity: identity ?? [], isPreliminary: false)
            if identity != nil, alert.source != .kubernetesAudit { #expect(alert.uid == expected) }
            #expect(alert.uid.count == 36)
            // Fields through the byte storage and back as Strings.
            var copy = alert
            copy.fields = alert.fields
            #expect(copy.fields == alert.fields)
            #expect(OCSFDetectionFinding.format(copy) == OCSFDetectionFinding.format(alert))
        }
    }
}

/// The formatter as it was before the rule fragments: the reference for the bytes.
enum ReferenceOCSF {
    static func format(_ alert: Alert, product: ProductInfo = .pipewatch) -> [UInt8] {
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
        w.key("version"); w.string(OCSFDetectionFinding.schemaVersion)
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

    /// The finding uid as it was computed with Strings.
    static func findingUID(ruleID: String, source: EventSource, eventIdentity: [UInt8], isPreliminary: Bool) -> String {
        var low: UInt64 = 0xcbf2_9ce4_8422_2325
        var high: UInt64 = 0x8422_2325_cbf2_9ce4
        func mix(_ byte: UInt8) {
            low = (low ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            high = (high ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 ^ (high >> 29)
        }
        for byte in ruleID.utf8 { mix(byte) }
        mix(0)
        for byte in source.name.utf8 { mix(byte) }
        mix(isPreliminary ? 1 : 2)
        for byte in eventIdentity { mix(byte) }
        func padded(_ s: String) -> String { String(repeating: "0", count: 16 - s.count) + s }
        let chars = Array(padded(String(high, radix: 16)) + padded(String(low, radix: 16)))
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }
}
