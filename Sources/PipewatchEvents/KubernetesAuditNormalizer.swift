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
        fillKubernetesActor(doc, user, impersonated, arena, &event)

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
                if known == .inferenceService || equals(doc, resource, "trainedmodels") {
                    fillServedModel(doc, root, arena, &event)
                }
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

    /// ServiceAccount, Node, System or User, from the username's conventional prefixes (actor.user_type).
    private func userType(_ doc: JSONDocument, _ username: UInt32) -> ArenaConstant {
        doc.withString(username) { name in
            if JSONString.hasPrefix(name, "system:serviceaccount:") { return .serviceAccount }
            if JSONString.hasPrefix(name, "system:node:") { return .node }
            if JSONString.hasPrefix(name, "system:") { return .system }
            return .user
        }
    }
}

// MARK: Who acted

extension Normalizer {
    /// actor.principal, person, session and kind (rules: ActorKind). The principal is the identity the request
    /// acts as; on EKS, an IAM identity's canonical ARN (`user.extra.canonicalArn`) rather than a username that
    /// may name the session. The person is a human impersonator, else the identity itself when it is a human's.
    func fillKubernetesActor(_ doc: JSONDocument, _ user: UInt32, _ impersonated: UInt32, _ arena: TextArena, _ event: inout Event) {
        let username = user != 0 ? doc.member(user, "username") ?? 0 : 0
        let extra = user != 0 ? doc.member(user, "extra") ?? 0 : 0
        let canonicalArn = extra != 0 ? firstElement(doc, doc.member(extra, "canonicalArn")) : 0
        let sessionName = extra != 0 ? firstElement(doc, doc.member(extra, "sessionName")) : 0
        let credential = extra != 0 ? firstElement(doc, doc.member(extra, "authentication.kubernetes.io/credential-id")) : 0
        event[.actorSession] = firstText(doc, sessionName, credential)
        if event[.actorSession].isPresent && event[.actorSession].length == 0 { event[.actorSession] = text(doc, credential) }
        defer { event.dropEmptyActorNames() }

        // Who authenticated: their kind and, for a human, who they are.
        var authenticatedKind = withString(doc, username, ActorKind.ofKubernetesUser)
        var authenticatedPerson = TextRef.missing
        if authenticatedKind == .human {
            if canonicalArn != 0 {
                authenticatedPerson = eksPerson(doc, canonicalArn, sessionName, arena)
                if !authenticatedPerson.isPresent { authenticatedKind = .workload }
            } else {
                authenticatedPerson = text(doc, username)
            }
        }

        if impersonated != 0 {
            event[.actorPrincipal] = text(doc, impersonated)
            let actingKind = withString(doc, impersonated, ActorKind.ofKubernetesUser)
            event[.actorPerson] = authenticatedPerson.isPresent
                ? authenticatedPerson : actingKind == .human ? text(doc, impersonated) : .missing
            let kind = event[.actorPerson].isPresent ? .human : actingKind
            if let kind { event[.actorKind] = arena.constant(kind.constant) }
            return
        }
        event[.actorPrincipal] = canonicalArn != 0 ? text(doc, canonicalArn) : text(doc, username)
        event[.actorPerson] = authenticatedPerson
        if let authenticatedKind { event[.actorKind] = arena.constant(authenticatedKind.constant) }
    }

    /// The person behind an EKS IAM identity: an IAM user's name, the signed-in user of an SSO role session, an
    /// email-like session name; none for other role sessions (workloads).
    private func eksPerson(_ doc: JSONDocument, _ canonicalArn: UInt32, _ sessionName: UInt32, _ arena: TextArena) -> TextRef {
        // An IAM user's name (what follows the ARN's last slash), or whether the role is an SSO permission set.
        var userName: Range<Int>?
        var isSSORole = false
        _ = withString(doc, canonicalArn) { arn in
            if let marker = TextSearch.find(":user/", in: arn) {
                userName = ((arn[(marker + 6)...].lastIndex(of: UInt8(ascii: "/")) ?? marker + 5) + 1)..<arn.count
            } else {
                isSSORole = AWSIdentity.isSSORole(arn)
            }
        }
        if let userName { return slice(doc, canonicalArn, userName.lowerBound, userName.upperBound, arena) }
        let namesPerson = withString(doc, sessionName) { name in
            !name.isEmpty && (isSSORole || AWSIdentity.sessionNamesPerson(name))
        } ?? false
        return namesPerson ? text(doc, sessionName) : .missing
    }
}

// MARK: Which model

extension Normalizer {
    /// A KServe InferenceService's (or TrainedModel's) model location: `storageUri` of the predictor's model,
    /// whatever its format key (`model`, `sklearn`, `xgboost`, …), or `storage.path` in `storage.parameters.bucket`;
    /// read from the request body (an object, or a JSON patch), else from the response body. ml.model.name is the
    /// object's name.
    func fillServedModel(_ doc: JSONDocument, _ root: UInt32, _ arena: TextArena, _ event: inout Event) {
        let request = doc.member(root, "requestObject") ?? 0
        var uri = servedModelURI(doc, request, arena)
        if !uri.isPresent { uri = servedModelURI(doc, doc.member(root, "responseObject") ?? 0, arena) }
        if !uri.isPresent && request != 0 && doc[request].kind == .array {
            // JSON patch: [{"op":"replace","path":"/spec/predictor/model/storageUri","value":"s3://…"}]
            doc.forEachElement(request) { operation in
                guard !uri.isPresent, let path = doc.member(operation, "path"),
                    withString(doc, path, { TextSearch.hasSuffix($0, "/storageUri") }) == true
                else { return }
                uri = artifactURI(doc, doc.member(operation, "value") ?? 0, arena)
            }
        }
        event[.mlArtifactURI] = uri
        event[.mlModelName] = event[.resourceName]
        if !event[.mlModelName].isPresent, request != 0, let metadata = doc.member(request, "metadata") {
            event[.mlModelName] = text(doc, doc.member(metadata, "name") ?? 0)
        }
    }

    private func servedModelURI(_ doc: JSONDocument, _ object: UInt32, _ arena: TextArena) -> TextRef {
        guard object != 0, doc[object].kind == .object, let spec = doc.member(object, "spec") else { return .missing }
        if let model = doc.member(spec, "model") {  // TrainedModel
            let uri = storageURI(doc, model, arena)
            if uri.isPresent { return uri }
        }
        guard let predictor = doc.member(spec, "predictor") else { return .missing }
        var uri = TextRef.missing
        doc.forEachMember(predictor) { _, component in
            if !uri.isPresent && doc[component].kind == .object { uri = storageURI(doc, component, arena) }
        }
        return uri
    }

    private func storageURI(_ doc: JSONDocument, _ model: UInt32, _ arena: TextArena) -> TextRef {
        if let storageUri = doc.member(model, "storageUri") { return artifactURI(doc, storageUri, arena) }
        guard let storage = doc.member(model, "storage"), let path = doc.member(storage, "path") else { return .missing }
        // Without a bucket in the object, the location is in the storage secret: not in the record.
        guard let parameters = doc.member(storage, "parameters"), let bucket = doc.member(parameters, "bucket") else {
            return .missing
        }
        let type = doc.member(parameters, "type") ?? 0
        let gcs = equals(doc, type, "gs") || equals(doc, type, "gcs")
        return artifactURI(gcs ? "gs://" : "s3://", doc, bucket: bucket, key: path, arena)
    }
}
