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
        var w = JSONWriter(capacity: 1536 + alert.eventJSON.count)
        write(alert, product: product, to: &w)
        return w.bytes
    }

    /// Writes the finding into `w`: what the rule alone decides comes from its fragments (encoded once per rule),
    /// the rest from the alert's bytes, so nothing here makes a String, an array or a dictionary.
    public static func write(_ alert: Alert, product: ProductInfo = .pipewatch, to w: inout JSONWriter) {
        let rule = alert.rule.ocsf
        let fields = alert.fieldValues
        w.fragment(rule.head, endsValue: false)
        w.number(alert.time)
        w.key(quoted: Keys.timeDT)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Timestamp.textLength) { buffer in
            let count = Timestamp.write(milliseconds: alert.time, into: buffer.baseAddress!)
            w.string(utf8: UnsafeBufferPointer(start: buffer.baseAddress, count: count))
        }
        w.fragment(rule.message, endsValue: true)
        if alert.timeAbsent {
            // `time` is then the finding's creation time, as OCSF allows; the event's own is unknown.
            w.fragment(Keys.unmappedTimeAbsent, endsValue: true)
        }

        w.key(quoted: Keys.findingInfo)
        w.beginObject()
        w.key(quoted: Keys.uid); w.string(alert.uid)
        w.fragment(rule.findingInfo, endsValue: true)
        w.key(quoted: Keys.dataSources); w.beginArray(); w.string(alert.source.name); w.endArray()
        if !alert.timeAbsent {
            w.key(quoted: Keys.firstSeenTime); w.number(alert.time)
            w.key(quoted: Keys.lastSeenTime); w.number(alert.time)
        }
        w.endObject()

        w.fragment(Keys.metadataHead, endsValue: false)
        w.string(alert.uid)
        w.fragment(Keys.profiles, endsValue: true)
        w.key(quoted: Keys.product)
        w.beginObject()
        w.key(quoted: Keys.name); w.string(product.name)
        w.key(quoted: Keys.vendorName); w.string(product.vendor)
        w.key(quoted: Keys.version); w.string(product.version)
        w.endObject()
        fields.withBytes(.uid) { w.key(quoted: Keys.correlationUID); w.string(utf8: $0) }
        w.endObject()

        w.key(quoted: Keys.cloud)
        w.beginObject()
        w.key(quoted: Keys.provider)
        if fields.withBytes(.cloudProvider, { w.string(utf8: $0) }) == nil { w.string("unknown") }
        fields.withBytes(.cloudRegion) { w.key(quoted: Keys.region); w.string(utf8: $0) }
        fields.withBytes(.cloudAccount) {
            w.key(quoted: Keys.account); w.beginObject(); w.key(quoted: Keys.uid); w.string(utf8: $0); w.endObject()
        }
        w.endObject()

        w.key(quoted: Keys.evidences)
        w.beginArray()
        w.beginObject()
        if fields.isPresent(.actorUser) || fields.isPresent(.actorUserType) {
            w.key(quoted: Keys.actor)
            w.beginObject()
            w.key(quoted: Keys.user)
            w.beginObject()
            fields.withBytes(.actorUser) {
                w.key(quoted: Keys.name); w.string(utf8: $0); w.key(quoted: Keys.uid); w.string(utf8: $0)
            }
            fields.withBytes(.actorUserType) { w.key(quoted: Keys.type); w.string(utf8: $0) }
            w.endObject()
            fields.withBytes(.actorImpersonatedBy) { w.key(quoted: Keys.invokedBy); w.string(utf8: $0) }
            if fields.isPresent(.actorSession) || fields.isPresent(.actorSessionIssuer) {
                w.key(quoted: Keys.session)
                w.beginObject()
                fields.withBytes(.actorSession) { w.key(quoted: Keys.uid); w.string(utf8: $0) }
                fields.withBytes(.actorSessionIssuer) { w.key(quoted: Keys.issuer); w.string(utf8: $0) }
                w.endObject()
            }
            w.endObject()
        }
        w.key(quoted: Keys.api)
        w.beginObject()
        w.key(quoted: Keys.operation)
        if fields.withBytes(.apiOperation, { w.string(utf8: $0) }) == nil { w.string("") }
        fields.withBytes(.apiService) {
            w.key(quoted: Keys.service); w.beginObject(); w.key(quoted: Keys.name); w.string(utf8: $0); w.endObject()
        }
        fields.withBytes(.apiRequestID) {
            w.key(quoted: Keys.request); w.beginObject(); w.key(quoted: Keys.uid); w.string(utf8: $0); w.endObject()
        }
        w.endObject()
        fields.withBytes(.srcIP) {
            w.key(quoted: Keys.srcEndpoint); w.beginObject(); w.key(quoted: Keys.ip); w.string(utf8: $0); w.endObject()
        }
        w.key(quoted: Keys.data)
        // The event JSON is this writer's own compact output: copied as it is.
        alert.eventJSON.withUnsafeBufferPointer { w.raw(compactJSON: $0) }
        w.endObject()
        w.endArray()

        // OCSF identifies a resource by name or uid: a type alone (a request on no named object) is no resource.
        if fields.isPresent(.resourceName) || fields.isPresent(.resourceUID) {
            w.key(quoted: Keys.resources)
            w.beginArray()
            w.beginObject()
            fields.withBytes(.resourceName) { w.key(quoted: Keys.name); w.string(utf8: $0) }
            fields.withBytes(.resourceType) { w.key(quoted: Keys.type); w.string(utf8: $0) }
            fields.withBytes(.resourceUID) { w.key(quoted: Keys.uid); w.string(utf8: $0) }
            fields.withBytes(.resourceNamespace) { w.key(quoted: Keys.namespace); w.string(utf8: $0) }
            fields.withBytes(.cloudRegion) { w.key(quoted: Keys.region); w.string(utf8: $0) }
            w.endObject()
            w.endArray()
        }

        if fields.isPresent(.actorUser) || fields.isPresent(.srcIP) || fields.isPresent(.resourceUID) {
            w.key(quoted: Keys.observables)
            w.beginArray()
            fields.withBytes(.actorUser) { w.fragment(Keys.userNameObservable, endsValue: false); w.string(utf8: $0); w.endObject() }
            if fields.isPresent(.actorUser) && fields.isPresent(.srcIP) { w.fragment(Keys.comma, endsValue: false) }
            fields.withBytes(.srcIP) { w.fragment(Keys.ipObservable, endsValue: false); w.string(utf8: $0); w.endObject() }
            if (fields.isPresent(.actorUser) || fields.isPresent(.srcIP)) && fields.isPresent(.resourceUID) {
                w.fragment(Keys.comma, endsValue: false)
            }
            fields.withBytes(.resourceUID) { w.fragment(Keys.resourceUIDObservable, endsValue: false); w.string(utf8: $0); w.endObject() }
            w.endArray()
        }
        w.endObject()
    }

    /// Keys and constant pieces, encoded once.
    private enum Keys {
        static let timeDT = JSONWriter.quotedKey("time_dt")
        static let findingInfo = JSONWriter.quotedKey("finding_info")
        static let uid = JSONWriter.quotedKey("uid")
        static let dataSources = JSONWriter.quotedKey("data_sources")
        static let firstSeenTime = JSONWriter.quotedKey("first_seen_time")
        static let lastSeenTime = JSONWriter.quotedKey("last_seen_time")
        static let product = JSONWriter.quotedKey("product")
        static let name = JSONWriter.quotedKey("name")
        static let vendorName = JSONWriter.quotedKey("vendor_name")
        static let version = JSONWriter.quotedKey("version")
        static let correlationUID = JSONWriter.quotedKey("correlation_uid")
        static let cloud = JSONWriter.quotedKey("cloud")
        static let provider = JSONWriter.quotedKey("provider")
        static let region = JSONWriter.quotedKey("region")
        static let account = JSONWriter.quotedKey("account")
        static let evidences = JSONWriter.quotedKey("evidences")
        static let actor = JSONWriter.quotedKey("actor")
        static let user = JSONWriter.quotedKey("user")
        static let type = JSONWriter.quotedKey("type")
        static let invokedBy = JSONWriter.quotedKey("invoked_by")
        static let session = JSONWriter.quotedKey("session")
        static let issuer = JSONWriter.quotedKey("issuer")
        static let api = JSONWriter.quotedKey("api")
        static let operation = JSONWriter.quotedKey("operation")
        static let service = JSONWriter.quotedKey("service")
        static let request = JSONWriter.quotedKey("request")
        static let srcEndpoint = JSONWriter.quotedKey("src_endpoint")
        static let ip = JSONWriter.quotedKey("ip")
        static let data = JSONWriter.quotedKey("data")
        static let resources = JSONWriter.quotedKey("resources")
        static let namespace = JSONWriter.quotedKey("namespace")
        static let observables = JSONWriter.quotedKey("observables")
        static let comma: [UInt8] = [UInt8(ascii: ",")]

        /// `,"unmapped":{"time_absent":true}`
        static let unmappedTimeAbsent: [UInt8] = {
            var w = JSONWriter()
            w.fragment([UInt8(ascii: ",")], endsValue: false)
            w.key("unmapped"); w.beginObject(); w.key("time_absent"); w.bool(true); w.endObject()
            return w.bytes
        }()

        /// `,"metadata":{"version":"1.1.0","uid":` (the alert's uid follows).
        static let metadataHead: [UInt8] = {
            var w = JSONWriter()
            w.fragment([UInt8(ascii: ",")], endsValue: false)
            w.key("metadata"); w.beginObject(); w.key("version"); w.string(schemaVersion); w.key("uid")
            return w.bytes
        }()

        /// `,"profiles":["cloud","datetime"]`
        static let profiles: [UInt8] = {
            var w = JSONWriter()
            w.fragment([UInt8(ascii: ",")], endsValue: false)
            w.key("profiles"); w.beginArray(); w.string("cloud"); w.string("datetime"); w.endArray()
            return w.bytes
        }()

        /// `{"name":"…","type":"…","type_id":N,"value":` for each observable (its value and `}` follow).
        static func observable(_ name: String, _ type: String, _ typeID: Int) -> [UInt8] {
            var w = JSONWriter()
            w.beginObject(); w.key("name"); w.string(name); w.key("type"); w.string(type)
            w.key("type_id"); w.number(typeID); w.key("value")
            return w.bytes
        }
        static let userNameObservable = observable("evidences[].actor.user.name", "User Name", 4)
        static let ipObservable = observable("evidences[].src_endpoint.ip", "IP Address", 2)
        static let resourceUIDObservable = observable("resources[].uid", "Resource UID", 10)
    }

    /// What a finding says about its rule, encoded once per rule (`AlertRule.ocsf`).
    public struct RuleFragments: Sendable {
        /// From `{` to `"time":`: the class, the severity of the rule's level and the status.
        let head: [UInt8]
        /// `,"message":"title"`
        let message: [UInt8]
        /// After `finding_info.uid`: title, description, analytic, ATT&CK entries and tags as types.
        let findingInfo: [UInt8]

        static let empty = RuleFragments(head: [], message: [], findingInfo: [])

        private init(head: [UInt8], message: [UInt8], findingInfo: [UInt8]) {
            self.head = head
            self.message = message
            self.findingInfo = findingInfo
        }

        init(_ rule: AlertRule) {
            var w = JSONWriter(capacity: 512)
            w.beginObject()
            w.key("activity_id"); w.number(1)
            w.key("activity_name"); w.string("Create")
            w.key("category_uid"); w.number(2)
            w.key("category_name"); w.string("Findings")
            w.key("class_uid"); w.number(2004)
            w.key("class_name"); w.string("Detection Finding")
            w.key("type_uid"); w.number(200401)
            w.key("type_name"); w.string("Detection Finding: Create")
            w.key("severity_id"); w.number(rule.level.ocsfID)
            w.key("severity"); w.string(rule.level.ocsfName)
            w.key("status_id"); w.number(1)
            w.key("status"); w.string("New")
            w.key("time")
            head = w.bytes

            w = JSONWriter(capacity: 256)
            w.fragment([UInt8(ascii: ",")], endsValue: false)
            w.key("message"); w.string(rule.title)
            message = w.bytes

            w = JSONWriter(capacity: 1024)
            w.fragment([UInt8(ascii: ",")], endsValue: false)
            w.key("title"); w.string(rule.title)
            if let description = rule.description {
                w.key("desc"); w.string(description)
            }
            w.key("analytic")
            w.beginObject()
            w.key("type_id"); w.number(1)
            w.key("type"); w.string("Rule")
            w.key("uid"); w.string(rule.id)
            w.key("name"); w.string(rule.title)
            w.endObject()
            if !rule.attacks.isEmpty {
                w.key("attacks")
                w.beginArray()
                for attack in rule.attacks { attack.write(to: &w) }
                w.endArray()
            }
            if !rule.tags.isEmpty {
                w.key("types")
                w.beginArray()
                for tag in rule.tags { w.string(tag) }
                w.endArray()
            }
            findingInfo = w.bytes
        }
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
