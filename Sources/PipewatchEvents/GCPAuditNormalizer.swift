import PipewatchJSON

/// Keys read inside a GCP audit LogEntry's protoPayload.
final class GCPFields: Sendable {
    enum Payload: Int, CaseIterable {
        case serviceName, methodName, resourceName, authenticationInfo, requestMetadata, status
    }
    let payload = KeyTable(Payload.allCases.map { "\($0)" })

    /// Vertex AI services (the `<Service>` of `google.cloud.aiplatform.<version>.<Service>.<Method>`) and the
    /// ml.entity each acts on.
    let vertexEntities: [(service: [UInt8], entity: ArenaConstant)] = ([
        ("ModelService", .model), ("EndpointService", .endpoint), ("PredictionService", .endpoint),
        ("PipelineService", .pipelineJob), ("JobService", .customJob), ("DatasetService", .dataset),
        ("FeaturestoreService", .featureGroup), ("NotebookService", .notebook),
    ] as [(String, ArenaConstant)]).map { (Array($0.0.utf8), $0.1) }
}

extension Normalizer {
    func normalizeGCP(_ doc: JSONDocument, _ root: UInt32, _ arena: TextArena) throws(NormalizeFailure) -> Event {
        var event = Event(source: .gcpAudit, record: root)
        // A log sink's BigQuery export keeps the payload's fields under `protopayload_auditlog`.
        let sinkExport = slot(.protoPayload) == 0
        let payload = sinkExport ? slot(.protopayloadAuditlog) : slot(.protoPayload)
        guard doc[payload].kind == .object else {
            throw .invalidField(.gcpAudit, sinkExport ? "protopayload_auditlog" : "protoPayload", "not an object")
        }
        gcp.payload.collect(doc, payload, into: inner)
        let p = GCPFields.Payload.self
        let service = inner[p.serviceName.rawValue]
        let method = inner[p.methodName.rawValue]
        guard method != 0 else {
            throw .missingField(.gcpAudit, sinkExport ? "protopayload_auditlog.methodName" : "protoPayload.methodName")
        }

        // The entry's time, else when the service received the request, else when Logging received the entry.
        if let time = try time(doc, slot(.timestamp), .gcpAudit, "timestamp") {
            event.time = time
        } else {
            let metadata = inner[p.requestMetadata.rawValue]
            let requestTime = metadata != 0 ? doc.member(metadata, "requestAttributes", "time") ?? 0 : 0
            event.time = try firstTime(
                doc, .gcpAudit, (requestTime, "requestMetadata.requestAttributes.time"),
                (slot(.receiveTimestamp), "receiveTimestamp"), (0, ""))
        }

        event[.uid] = uid(doc, slot(.insertId), record: root, arena)
        let operation = slot(.operation)
        event[.apiRequestID] = operation != 0 ? text(doc, doc.member(operation, "id") ?? 0) : .missing
        if !event[.apiRequestID].isPresent { event[.apiRequestID] = text(doc, slot(.insertId)) }
        event[.apiService] = text(doc, service)
        event[.apiOperation] = text(doc, method)
        event[.resourceName] = text(doc, inner[p.resourceName.rawValue])
        event[.cloudProvider] = arena.constant(.gcp)

        let authentication = inner[p.authenticationInfo.rawValue]
        if authentication != 0 {
            let email = doc.member(authentication, "principalEmail") ?? 0
            event[.actorUser] = firstText(doc, email, doc.member(authentication, "principalSubject") ?? 0)
            if email != 0 {
                let isServiceAccount = doc.withString(email) { contains($0, GCPAuditNormalizerText.serviceAccountSuffix) }
                event[.actorUserType] = arena.constant(isServiceAccount ? .serviceAccount : .user)
            }
            if let delegation = doc.member(authentication, "serviceAccountDelegationInfo"),
                let first = doc.element(delegation, at: 0),
                let principal = doc.member(first, "firstPartyPrincipal")
            {
                event[.actorImpersonatedBy] = text(doc, doc.member(principal, "principalEmail") ?? 0)
            }
            fillGCPActor(doc, authentication, arena, &event)
        }
        let metadata = inner[p.requestMetadata.rawValue]
        if metadata != 0 {
            event[.srcIP] = text(doc, doc.member(metadata, "callerIp") ?? 0)
            event[.userAgent] = text(doc, doc.member(metadata, "callerSuppliedUserAgent") ?? 0)
        }

        // google.rpc.Status: absent, {} or code 0 is OK.
        event.outcome = .success
        let status = inner[p.status.rawValue]
        if status != 0, let code = doc.member(status, "code") {
            event[.statusCode] = text(doc, code)
            if let value = doc.double(code), value != 0 { event.outcome = .failure }
            event[.errorMessage] = text(doc, doc.member(status, "message") ?? 0)
        }

        let resource = slot(.resource)
        if resource != 0 {
            event[.resourceType] = text(doc, doc.member(resource, "type") ?? 0)
            if let labels = doc.member(resource, "labels") {
                event[.cloudAccount] = text(doc, doc.member(labels, "project_id") ?? 0)
                event[.cloudRegion] = firstText(
                    doc, doc.member(labels, "location") ?? 0, doc.member(labels, "region") ?? 0)
            }
        }
        if !event[.cloudRegion].isPresent || !event[.cloudAccount].isPresent {
            // projects/<project>/locations/<location>/...
            fillFromResourceName(doc, inner[p.resourceName.rawValue], &event)
        }

        // Vertex AI: which ML object the call is about.
        if equals(doc, service, "aiplatform.googleapis.com") {
            let entity = doc.withString(method) { name in
                gcp.vertexEntities.first { contains(name, $0.service) }?.entity
            }
            if let entity { event[.mlEntity] = arena.constant(entity) }
            event[.mlName] = event[.resourceName]
            fillVertexModel(doc, payload, inner[p.resourceName.rawValue], arena, &event)
        } else if equals(doc, service, "storage.googleapis.com") {
            event[.mlArtifactURI] = cloudStorageObjectURI(doc, inner[p.resourceName.rawValue], arena)
        }
        return event
    }

    /// Reads project and location out of a `projects/<p>/locations/<l>/…` resource name (raw byte ranges, so no copy).
    private func fillFromResourceName(_ doc: JSONDocument, _ index: UInt32, _ event: inout Event) {
        guard index != 0, doc[index].kind == .string, !doc[index].isEscaped else { return }
        let node = doc[index]
        let bytes = doc.rawBytes(index)
        // The first four segments, in a tuple rather than an array: this runs for every GCP record.
        var parts: ((Int, Int), (Int, Int), (Int, Int), (Int, Int)) = ((0, 0), (0, 0), (0, 0), (0, 0))
        var count = 0
        var start = 0
        for k in 0...bytes.count where k == bytes.count || bytes[k] == UInt8(ascii: "/") {
            switch count {
            case 0: parts.0 = (start, k)
            case 1: parts.1 = (start, k)
            case 2: parts.2 = (start, k)
            default: parts.3 = (start, k)
            }
            count += 1
            start = k + 1
            if count == 4 { break }
        }
        func ref(_ part: (Int, Int)) -> TextRef {
            TextRef(offset: node.start + UInt32(part.0), length: UInt32(part.1 - part.0), flags: TextRef.present)
        }
        func word(_ part: (Int, Int), _ literal: StaticString) -> Bool {
            JSONString.equals(UnsafeBufferPointer(rebasing: bytes[part.0..<part.1]), literal)
        }
        if count >= 2 && word(parts.0, "projects") && !event[.cloudAccount].isPresent {
            event[.cloudAccount] = ref(parts.1)
        }
        if count >= 4 && word(parts.2, "locations") && !event[.cloudRegion].isPresent {
            event[.cloudRegion] = ref(parts.3)
        }
    }
}

// MARK: Who acted

extension Normalizer {
    /// actor.principal, person and kind of an authenticationInfo (rules: ActorKind). The person is the first
    /// principal of the delegation chain when it is a human's, else the principal when it is a human's.
    func fillGCPActor(_ doc: JSONDocument, _ authentication: UInt32, _ arena: TextArena, _ event: inout Event) {
        let email = doc.member(authentication, "principalEmail") ?? 0
        let principal = email != 0 && doc[email].kind == .string && doc[email].byteCount > 0
            ? email : doc.member(authentication, "principalSubject") ?? 0
        event[.actorPrincipal] = text(doc, principal)
        let kind = withString(doc, principal, ActorKind.ofGCPPrincipal) ?? nil

        var origin: UInt32 = 0
        if let delegation = doc.member(authentication, "serviceAccountDelegationInfo"), let first = doc.element(delegation, at: 0) {
            let firstParty = doc.member(first, "firstPartyPrincipal") ?? 0
            origin = firstParty != 0 ? doc.member(firstParty, "principalEmail") ?? 0 : 0
            if !text(doc, origin).isPresent { origin = doc.member(first, "principalSubject") ?? 0 }
            if !text(doc, origin).isPresent, let thirdParty = doc.member(first, "thirdPartyPrincipal"),
                let claims = doc.member(thirdParty, "thirdPartyClaims")
            {
                origin = doc.member(claims, "email") ?? doc.member(claims, "sub") ?? 0
            }
        }
        if origin != 0, withString(doc, origin, ActorKind.ofGCPPrincipal) == .human {
            event[.actorPerson] = gcpPerson(doc, origin, arena)
        } else if kind == .human {
            event[.actorPerson] = gcpPerson(doc, principal, arena)
        }
        let decided: ActorKind? = event[.actorPerson].isPresent ? .human : kind
        if let decided { event[.actorKind] = arena.constant(decided.constant) }
        event.dropEmptyActorNames()
    }

    private func gcpPerson(_ doc: JSONDocument, _ index: UInt32, _ arena: TextArena) -> TextRef {
        withString(doc, index) { name -> TextRef in
            let range = ActorKind.gcpPersonRange(name)
            return slice(doc, index, range.lowerBound, range.upperBound, arena)
        } ?? .missing
    }
}

// MARK: Which model

extension Normalizer {
    /// Vertex AI: the artifact an uploaded model points at (`request.model.artifactUri`) and the model's id and
    /// version (`…/models/<id>[@<version>]` of the resource, of a new version's parent model, or of a deployment).
    func fillVertexModel(_ doc: JSONDocument, _ payload: UInt32, _ resourceName: UInt32, _ arena: TextArena, _ event: inout Event) {
        let request = doc.member(payload, "request") ?? 0
        let model = request != 0 ? doc.member(request, "model") ?? 0 : 0
        if model != 0 && doc[model].kind == .object {
            event[.mlArtifactURI] = artifactURI(doc, doc.member(model, "artifactUri") ?? 0, arena)
        }
        if fillVertexModelName(doc, resourceName, arena, &event) || request == 0 { return }
        if fillVertexModelName(doc, doc.member(request, "parentModel") ?? 0, arena, &event) { return }
        if let deployed = doc.member(request, "deployedModel"), fillVertexModelName(doc, doc.member(deployed, "model") ?? 0, arena, &event) {
            return
        }
        if model != 0 && doc[model].kind == .string { _ = fillVertexModelName(doc, model, arena, &event) }
    }

    private func fillVertexModelName(_ doc: JSONDocument, _ index: UInt32, _ arena: TextArena, _ event: inout Event) -> Bool {
        withString(doc, index) { name -> Bool in
            guard let marker = TextSearch.find("/models/", in: name) else { return false }
            let start = marker + 8
            let end = name[start...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "@") } ?? name.count
            guard end > start else { return false }
            event[.mlModelName] = slice(doc, index, start, end, arena)
            if end < name.count && name[end] == UInt8(ascii: "@") {
                let versionEnd = name[(end + 1)...].firstIndex(of: UInt8(ascii: "/")) ?? name.count
                event[.mlModelVersion] = slice(doc, index, end + 1, versionEnd, arena)
            }
            return true
        } ?? false
    }

    /// Cloud Storage audit entries name an object `projects/_/buckets/<bucket>/objects/<object>`.
    func cloudStorageObjectURI(_ doc: JSONDocument, _ resourceName: UInt32, _ arena: TextArena) -> TextRef {
        withString(doc, resourceName) { name -> TextRef in
            guard let buckets = TextSearch.find("/buckets/", in: name) else { return .missing }
            let start = buckets + 9
            guard let objects = TextSearch.find("/objects/", in: name, from: start) else { return .missing }
            return ArtifactURI.appendObject(
                "gs://", bucket: UnsafeBufferPointer(rebasing: name[start..<objects]),
                key: UnsafeBufferPointer(rebasing: name[(objects + 9)...]), to: arena)
        } ?? .missing
    }
}

enum GCPAuditNormalizerText {
    static let serviceAccountSuffix = Array(".gserviceaccount.com".utf8)
}
