import PipewatchJSON

extension Normalizer {
    /// Which source a record is, from the keys that tell the sources apart rather than from one field each: exports
    /// and shippers drop fields (an id, a stage, a time) but keep enough of the others. `slots` must hold the
    /// record's top-level keys. A record of a source that lacks what its normalizer needs is refused there, by name.
    func recognise(_ doc: JSONDocument) -> EventSource? {
        @inline(__always) func has(_ key: Top) -> Bool { slots[key.rawValue] != 0 }

        // MLflow: the body's entity and action, with its data or its timestamp (exports drop one or the other); or
        // the event type as one string beside the data, as some receivers store a delivery.
        if has(.entity) && has(.action) && (has(.data) || has(.timestamp)) { return .mlflowWebhook }
        if has(.event) && has(.data) && mlflowEventType(doc, slot(.event)) != nil { return .mlflowWebhook }

        // GCP: a LogEntry whose payload is an AuditLog, by its type, by serviceName and methodName, or by its log;
        // a log sink's BigQuery export names the payload column after the type.
        if has(.protopayloadAuditlog) { return .gcpAudit }
        let payload = slot(.protoPayload)
        if payload != 0 {
            guard doc[payload].kind == .object else { return .gcpAudit }  // refused there, as not an object
            if let type = doc.member(payload, "@type"), equals(doc, type, "type.googleapis.com/google.cloud.audit.AuditLog") {
                return .gcpAudit
            }
            if doc.member(payload, "methodName") != nil && doc.member(payload, "serviceName") != nil { return .gcpAudit }
            if has(.logName) && doc[slot(.logName)].kind == .string
                && doc.withString(slot(.logName), { contains($0, SourceRecognitionText.auditLogName) })
            {
                return .gcpAudit
            }
        }

        // Kubernetes: an audit.k8s.io Event, or (EventList items and trimmed exports drop kind and apiVersion) two of
        // the keys only audit events have.
        if equals(doc, slot(.kind), "Event") && has(.apiVersion) && doc[slot(.apiVersion)].kind == .string
            && doc.withString(slot(.apiVersion), { JSONString.hasPrefix($0, "audit.k8s.io/") })
        {
            return .kubernetesAudit
        }
        var kubernetesKeys = 0
        for key in SourceRecognitionText.kubernetesKeys where has(key) { kubernetesKeys += 1 }
        if kubernetesKeys >= 2 { return .kubernetesAudit }

        // CloudTrail: two of eventVersion, userIdentity, eventSource and eventName (eventSource + eventName,
        // eventVersion + userIdentity, …).
        var cloudTrailKeys = 0
        for key in SourceRecognitionText.cloudTrailKeys where has(key) { cloudTrailKeys += 1 }
        if cloudTrailKeys >= 2 { return .cloudTrail }
        return nil
    }
}

extension Normalizer {
    /// Where the entity ends in an MLflow event type `<entity>.<action>` (lowercase entity, one of MLflow's actions),
    /// or nil when the value is not one.
    func mlflowEventType(_ doc: JSONDocument, _ index: UInt32) -> Int? {
        withString(doc, index) { text -> Int? in
            guard let dot = text.lastIndex(of: UInt8(ascii: ".")), dot > 0,
                text[..<dot].allSatisfy({ $0 == UInt8(ascii: "_") || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) })
            else { return nil }
            let action = UnsafeBufferPointer(rebasing: text[(dot + 1)...])
            for known in SourceRecognitionText.mlflowActions where JSONString.equals(action, known) { return dot }
            return nil
        } ?? nil
    }
}

enum SourceRecognitionText {
    static let mlflowActions: [StaticString] = ["created", "updated", "deleted", "set", "exceeded"]
    static let auditLogName = Array("cloudaudit.googleapis.com".utf8)
    static let kubernetesKeys: [Normalizer.Top] = [
        .auditID, .verb, .requestURI, .objectRef, .stage, .stageTimestamp, .requestReceivedTimestamp,
    ]
    static let cloudTrailKeys: [Normalizer.Top] = [.eventVersion, .userIdentity, .eventSource, .eventName]
}
