import PipewatchJSON

/// Keys read inside an MLflow webhook delivery. The body is MLflow's own (`entity`, `action`, `timestamp`,
/// `data`); `_delivery` is what Pipewatch's webhook receiver adds from the HTTP request: `id`
/// (X-MLflow-Delivery-Id), `timestamp` (X-MLflow-Timestamp, Unix seconds), `remote_addr` and `registry`.
final class MLflowFields: Sendable {
    enum Data: Int, CaseIterable { case name, version, alias, key, value, source, run_id, user_id }
    let data = KeyTable(Data.allCases.map { "\($0)" })
}

extension Normalizer {
    func normalizeMLflow(_ doc: JSONDocument, _ root: UInt32, _ arena: TextArena) throws(NormalizeFailure) -> Event {
        var event = Event(source: .mlflowWebhook, record: root)
        let entity = slot(.entity)
        let action = slot(.action)
        let entityText: TextRef
        if entity != 0 && action != 0 {
            guard doc[entity].kind == .string else { throw .invalidField(.mlflowWebhook, "entity", "not a string") }
            guard doc[action].kind == .string else { throw .invalidField(.mlflowWebhook, "action", "not a string") }
            let mark = arena.mark
            appendString(doc, entity, to: arena)
            arena.appendByte(UInt8(ascii: "."))
            appendString(doc, action, to: arena)
            event[.apiOperation] = arena.finish(from: mark)
            entityText = text(doc, entity)
        } else {
            // Recognised by its event type, `<entity>.<action>`.
            let type = slot(.event)
            event[.apiOperation] = text(doc, type)
            entityText = slice(doc, type, 0, mlflowEventType(doc, type) ?? 0, arena)
        }
        // A trimmed export may leave the data out; data that is there must be MLflow's object.
        let data = slot(.data)
        guard data == 0 || doc[data].kind == .object else { throw .invalidField(.mlflowWebhook, "data", "not an object") }

        let delivery = slot(.delivery)
        let deliveryTime = delivery != 0 ? doc.member(delivery, "timestamp") : nil
        if let bodyTime = try time(doc, slot(.timestamp), .mlflowWebhook, "timestamp") {
            event.time = bodyTime
        } else if let deliveryTime, doc[deliveryTime].kind == .string {
            // X-MLflow-Timestamp as received: whoever reaches the receiver chooses it, so it is checked, not trusted.
            guard let header = doc.withString(deliveryTime, { Timestamp.parseUnixSeconds($0) }) else {
                throw .invalidField(.mlflowWebhook, "_delivery.timestamp", "not Unix seconds")
            }
            event.time = header
        }
        event.outcome = .success  // MLflow sends webhooks only for registry changes that happened
        event[.apiService] = arena.constant(.mlflow)
        event[.cloudProvider] = arena.constant(.mlflow)
        event[.mlEntity] = entityText
        event[.resourceType] = entityText

        let deliveryID = delivery != 0 ? doc.member(delivery, "id") ?? 0 : 0
        event[.uid] = uid(doc, deliveryID, record: root, arena)
        if delivery != 0 {
            event[.apiRequestID] = text(doc, deliveryID)
            event[.srcIP] = text(doc, doc.member(delivery, "remote_addr") ?? 0)
            event[.cloudAccount] = text(doc, doc.member(delivery, "registry") ?? 0)
        }

        if data != 0 {
            mlflow.data.collect(doc, data, into: inner)
        } else {
            inner.update(repeating: 0, count: mlflow.data.keys.count)
        }
        let d = MLflowFields.Data.self
        event[.mlName] = text(doc, inner[d.name.rawValue])
        event[.resourceName] = event[.mlName]
        event[.mlVersion] = text(doc, inner[d.version.rawValue])
        event[.mlAlias] = text(doc, inner[d.alias.rawValue])
        event[.mlTagKey] = text(doc, inner[d.key.rawValue])
        event[.mlTagValue] = text(doc, inner[d.value.rawValue])
        event[.mlSource] = text(doc, inner[d.source.rawValue])
        event[.mlRunID] = text(doc, inner[d.run_id.rawValue])
        event[.actorUser] = text(doc, inner[d.user_id.rawValue])
        // MLflow says nothing of who a user is: the principal only, no person or kind.
        event[.actorPrincipal] = event[.actorUser]
        event.dropEmptyActorNames()

        let source = inner[d.source.rawValue]
        event[.mlArtifactURI] = artifactURI(doc, source, arena)
        if !event[.mlRunID].isPresent { event[.mlRunID] = runOfSource(doc, source, arena) }
        let isModel = withText(entityText, doc, arena) { name in
            JSONString.equals(name, "registered_model") || JSONString.hasPrefix(name, "model_version")
        } ?? false
        if isModel {
            event[.mlModelName] = event[.mlName]
            event[.mlModelVersion] = event[.mlVersion]
        }
        return event
    }

    /// The run of a `runs:/<run-id>/<path>` source (a version registered from a run's artifacts).
    private func runOfSource(_ doc: JSONDocument, _ source: UInt32, _ arena: TextArena) -> TextRef {
        withString(doc, source) { uri -> TextRef in
            guard JSONString.hasPrefix(uri, "runs:/") else { return .missing }
            var start = 6
            while start < uri.count && uri[start] == UInt8(ascii: "/") { start += 1 }
            let end = uri[start...].firstIndex(of: UInt8(ascii: "/")) ?? uri.count
            return slice(doc, source, start, end, arena)
        } ?? .missing
    }
}
