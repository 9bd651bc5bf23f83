import PipewatchJSON

/// Keys read below the top level of a Kubernetes audit event.
final class KubernetesFields: Sendable {
    enum ObjectRef: Int, CaseIterable { case resource, subresource, namespace, name, uid, apiGroup }
    let objectRef = KeyTable(ObjectRef.allCases.map { "\($0)" })

    /// API groups whose objects are ML pipeline objects (Kubeflow, KServe).
    static let mlGroups: [StaticString] = [
        "kubeflow.org", "serving.kserve.io", "pipelines.kubeflow.org", "serving.kubeflow.org", "trainer.kubeflow.org",
    ]

    /// Kubeflow/KServe resources and the ml.entity they are, in the words the other sources use.
    let mlResources: [(resource: [UInt8], entity: ArenaConstant)] = ([
        ("inferenceservices", .inferenceService), ("notebooks", .notebook), ("pipelines", .pipeline),
        ("runs", .pipelineRun), ("pipelineruns", .pipelineRun), ("scheduledworkflows", .pipelineRun),
        ("pytorchjobs", .trainingJob), ("tfjobs", .trainingJob), ("mpijobs", .trainingJob), ("xgboostjobs", .trainingJob),
        ("trainjobs", .trainingJob), ("experiments", .trainingJob),
    ] as [(String, ArenaConstant)]).map { (Array($0.0.utf8), $0.1) }
}

extension Normalizer {
    func normalizeKubernetes(_ doc: JSONDocument, _ root: UInt32, _ arena: TextArena) throws(NormalizeFailure) -> Event {
        var event = Event(source: .kubernetesAudit, record: root)
        guard slot(.verb) != 0 else { throw .missingField(.kubernetesAudit, "verb") }
        // audit.k8s.io/v1beta1 events also have `timestamp`.
        event.time = try firstTime(
            doc, .kubernetesAudit, (slot(.stageTimestamp), "stageTimestamp"),
            (slot(.requestReceivedTimestamp), "requestReceivedTimestamp"), (slot(.timestamp), "timestamp"))
        event[.uid] = uid(doc, slot(.auditID), record: root, arena)
        event[.apiRequestID] = text(doc, slot(.auditID))
        event[.stage] = text(doc, slot(.stage))
        event.isPreliminary = equals(doc, slot(.stage), "RequestReceived")
        event[.userAgent] = text(doc, slot(.userAgent))
        event[.cloudProvider] = arena.constant(.kubernetes)

        // Only the last source IP is the peer's own address; earlier ones come from forwarding headers.
        let sourceIPs = slot(.sourceIPs)
        if sourceIPs != 0 {
            var last: UInt32 = 0
            doc.forEachElement(sourceIPs) { last = $0 }
            event[.srcIP] = text(doc, last)
        }

        // When a user impersonates another, the request acts as the impersonated identity: that is the actor, and
        // the authenticated user is who it was done by (as invokedBy is for CloudTrail).
        let user = slot(.user)
        let authenticated = user != 0 ? doc.member(user, "username") ?? 0 : 0
        let impersonatedUser = slot(.impersonatedUser)
        let impersonated = impersonatedUser != 0 ? doc.member(impersonatedUser, "username") ?? 0 : 0
        let actor = impersonated != 0 ? impersonated : authenticated
        if actor != 0 {
            event[.actorUser] = text(doc, actor)
            event[.actorUserType] = arena.constant(userType(doc, actor))
        }
        if impersonated != 0 { event[.actorImpersonatedBy] = text(doc, authenticated) }

        let status = slot(.responseStatus)
        if status != 0, let code = doc.member(status, "code") {
            event[.statusCode] = text(doc, code)
            if let value = doc.double(code) { event.outcome = value < 400 ? .success : .failure }
            event[.errorCode] = text(doc, doc.member(status, "reason") ?? 0)
            event[.errorMessage] = text(doc, doc.member(status, "message") ?? 0)
        }

        // Operation: verb:resource[/subresource], or verb:path for non-resource requests.
        let objectRef = slot(.objectRef)
        let mark = arena.mark
        appendString(doc, slot(.verb), to: arena)
        arena.appendByte(UInt8(ascii: ":"))
        if objectRef != 0 && doc[objectRef].kind == .object {
            kubernetes.objectRef.collect(doc, objectRef, into: inner)
            let o = KubernetesFields.ObjectRef.self
            appendString(doc, inner[o.resource.rawValue], to: arena)
            if inner[o.subresource.rawValue] != 0 {
                arena.appendByte(UInt8(ascii: "/"))
                appendString(doc, inner[o.subresource.rawValue], to: arena)
            }
            event[.apiOperation] = arena.finish(from: mark)
            event[.resourceType] = text(doc, inner[o.resource.rawValue])
            event[.resourceNamespace] = text(doc, inner[o.namespace.rawValue])
            event[.resourceName] = text(doc, inner[o.name.rawValue])
            event[.resourceUID] = text(doc, inner[o.uid.rawValue])
            let group = inner[o.apiGroup.rawValue]
            let isCore = group == 0 || doc[group].kind != .string || doc[group].byteCount == 0
            event[.apiService] = isCore ? arena.constant(.kubernetes) : text(doc, group)
            if !isCore && KubernetesFields.mlGroups.contains(where: { equals(doc, group, $0) }) {
                let resource = inner[o.resource.rawValue]
                let known = resource == 0 ? nil : doc.withString(resource) { name in
                    kubernetes.mlResources.first { $0.resource.count == name.count && contains(name, $0.resource) }?.entity
                }
                event[.mlEntity] = known.map { arena.constant($0) } ?? text(doc, resource)
                event[.mlName] = text(doc, inner[o.name.rawValue])
            }
        } else {
            let uri = slot(.requestURI)
            if uri != 0 {
                // The path without its query string.
                doc.withString(uri) { bytes in
                    let end = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.count
                    arena.appendBytes(UnsafeBufferPointer(rebasing: bytes[0..<end]))
                }
            }
            event[.apiOperation] = arena.finish(from: mark)
            event[.apiService] = arena.constant(.kubernetes)
        }
        return event
    }

    /// ServiceAccount, Node, System or User, from the username's conventional prefixes.
    private func userType(_ doc: JSONDocument, _ username: UInt32) -> ArenaConstant {
        doc.withString(username) { name in
            if JSONString.hasPrefix(name, "system:serviceaccount:") { return .serviceAccount }
            if JSONString.hasPrefix(name, "system:node:") { return .node }
            if JSONString.hasPrefix(name, "system:") { return .system }
            return .user
        }
    }
}
