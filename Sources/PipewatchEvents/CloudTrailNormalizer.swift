import PipewatchJSON

/// Keys read below the top level of a CloudTrail record.
final class CloudTrailFields: Sendable {
    enum Identity: Int, CaseIterable {
        case type, arn, userName, principalId, accountId, invokedBy, sessionContext, onBehalfOf, identityProvider
        case credentialId
    }
    let identity = KeyTable(Identity.allCases.map { "\($0)" })

    /// requestParameters members that name the resource an API call acts on, in order of preference.
    enum Parameter: Int, CaseIterable {
        case trainingJobName, modelPackageGroupName, modelPackageName, endpointConfigName, endpointName
        case notebookInstanceName, processingJobName, transformJobName, pipelineName, featureGroupName, modelName
        case modelPackageArn, modelApprovalStatus, primaryContainer, bucketName, key, roleName, userName, policyArn, name
        case containers, inferenceSpecification, outputDataConfig
    }
    let parameters = KeyTable(Parameter.allCases.map { "\($0)" })

    /// SageMaker eventName fragments and the ml.entity each one means, most specific first.
    /// SageMaker eventName fragments, the ml.entity each one means and the requestParameters member naming it,
    /// most specific first.
    let sageMakerEntities: [(fragment: [UInt8], entity: ArenaConstant, name: Parameter)] = ([
        ("TrainingJob", .trainingJob, .trainingJobName), ("ModelPackageGroup", .modelPackageGroup, .modelPackageGroupName),
        ("ModelPackage", .modelPackage, .modelPackageName), ("EndpointConfig", .endpointConfig, .endpointConfigName),
        ("Endpoint", .endpoint, .endpointName), ("NotebookInstance", .notebook, .notebookInstanceName),
        ("ProcessingJob", .processingJob, .processingJobName), ("TransformJob", .transformJob, .transformJobName),
        ("Pipeline", .pipeline, .pipelineName), ("FeatureGroup", .featureGroup, .featureGroupName),
        ("Model", .model, .modelName),
    ] as [(String, ArenaConstant, Parameter)]).map { (Array($0.0.utf8), $0.1, $0.2) }
}

extension Normalizer {
    /// `envelopeTime` is the `time` of the EventBridge envelope the record came in, or 0.
    func normalizeCloudTrail(
        _ doc: JSONDocument, _ root: UInt32, _ arena: TextArena, envelopeTime: UInt32
    ) throws(NormalizeFailure) -> Event {
        var event = Event(source: .cloudTrail, record: root)
        guard slot(.eventName) != 0 else { throw .missingField(.cloudTrail, "eventName") }
        guard slot(.eventSource) != 0 else { throw .missingField(.cloudTrail, "eventSource") }
        // Logstash's cloudtrail codec moves eventTime to @timestamp.
        event.time = try firstTime(
            doc, .cloudTrail, (slot(.eventTime), "eventTime"), (slot(.atTimestamp), "@timestamp"), (envelopeTime, "time"))
        event[.uid] = uid(doc, slot(.eventID), record: root, arena)
        event[.apiService] = text(doc, slot(.eventSource))
        event[.apiOperation] = text(doc, slot(.eventName))
        event[.apiRequestID] = firstText(doc, slot(.requestID), slot(.eventID))
        event[.srcIP] = text(doc, slot(.sourceIPAddress))
        event[.userAgent] = text(doc, slot(.userAgent))
        event[.cloudProvider] = arena.constant(.aws)
        event[.cloudRegion] = text(doc, slot(.awsRegion))
        event[.cloudAccount] = text(doc, slot(.recipientAccountId))
        event[.errorCode] = text(doc, slot(.errorCode))
        event[.errorMessage] = text(doc, slot(.errorMessage))

        // No error field means success; a failed ConsoleLogin has only responseElements.ConsoleLogin = "Failure".
        if event[.errorCode].isPresent || event[.errorMessage].isPresent {
            event.outcome = .failure
        } else if let response = Optional(slot(.responseElements)), response != 0,
            equals(doc, doc.member(response, "ConsoleLogin") ?? 0, "Failure")
        {
            event.outcome = .failure
        } else {
            event.outcome = .success
        }

        let fields = cloudTrail
        let identity = slot(.userIdentity)
        if identity != 0 && doc[identity].kind == .object {
            fields.identity.collect(doc, identity, into: inner)
            let type = CloudTrailFields.Identity.self
            event[.actorUserType] = text(doc, inner[type.type.rawValue])
            event[.actorUser] = firstText(
                doc, inner[type.arn.rawValue], inner[type.userName.rawValue], inner[type.principalId.rawValue],
                inner[type.invokedBy.rawValue])
            event[.actorImpersonatedBy] = text(doc, inner[type.invokedBy.rawValue])
            let session = inner[type.sessionContext.rawValue]
            if session != 0, let issuer = doc.member(session, "sessionIssuer") {
                event[.actorSessionIssuer] = text(doc, doc.member(issuer, "arn") ?? 0)
            }
            fillCloudTrailActor(doc, arena, &event)
        }

        if let resources = Optional(slot(.resources)), resources != 0, let first = doc.element(resources, at: 0) {
            event[.resourceType] = text(doc, doc.member(first, "type") ?? 0)
            event[.resourceUID] = firstText(doc, doc.member(first, "ARN") ?? 0, doc.member(first, "arn") ?? 0)
        }

        let parameters = slot(.requestParameters)
        let hasParameters = parameters != 0 && doc[parameters].kind == .object
        if hasParameters { fields.parameters.collect(doc, parameters, into: inner) }
        let p = CloudTrailFields.Parameter.self
        if equals(doc, slot(.eventSource), "s3.amazonaws.com") {
            event[.mlArtifactURI] = s3ObjectURI(doc, hasParameters ? parameters : 0, arena)
        }
        guard hasParameters else { return event }
        event[.resourceName] = firstText(
            doc, inner[p.bucketName.rawValue], inner[p.roleName.rawValue], inner[p.userName.rawValue],
            inner[p.policyArn.rawValue])

        // SageMaker: which ML object the call is about.
        guard equals(doc, slot(.eventSource), "sagemaker.amazonaws.com") else { return event }
        let match = doc.withString(slot(.eventName)) { name in
            fields.sageMakerEntities.first { contains(name, $0.fragment) }
        }
        if let match {
            event[.mlEntity] = arena.constant(match.entity)
            event[.mlName] = text(doc, inner[match.name.rawValue])
            if match.entity == .modelPackage && !event[.mlName].isPresent {
                // Model packages are named by their group (create) or their ARN (update, describe).
                event[.mlName] = firstText(doc, inner[p.modelPackageGroupName.rawValue], inner[p.modelPackageArn.rawValue])
            }
            if !event[.resourceName].isPresent { event[.resourceName] = event[.mlName] }
        }
        event[.mlStage] = text(doc, inner[p.modelApprovalStatus.rawValue])
        let container = inner[p.primaryContainer.rawValue]
        if container != 0 {
            event[.mlSource] = firstText(
                doc, doc.member(container, "modelPackageName") ?? 0, doc.member(container, "modelDataUrl") ?? 0,
                doc.member(container, "image") ?? 0)
        }
        fillSageMakerModel(doc, arena, match?.entity, &event)
        return event
    }
}

// MARK: Who acted

extension Normalizer {
    /// actor.principal, person, session and kind of the userIdentity collected into `inner` (rules: ActorKind).
    func fillCloudTrailActor(_ doc: JSONDocument, _ arena: TextArena, _ event: inout Event) {
        let k = CloudTrailFields.Identity.self
        let arn = inner[k.arn.rawValue]
        let principalId = inner[k.principalId.rawValue]
        let userName = inner[k.userName.rawValue]
        let accountId = inner[k.accountId.rawValue]
        let context = inner[k.sessionContext.rawValue]
        let onBehalfOf = inner[k.onBehalfOf.rawValue]
        let onBehalfOfUser = onBehalfOf != 0 ? doc.member(onBehalfOf, "userId") ?? 0 : 0
        let issuer = context != 0 ? doc.member(context, "sessionIssuer") ?? 0 : 0
        let issuerArn = issuer != 0 ? doc.member(issuer, "arn") ?? 0 : 0

        var type = withString(doc, inner[k.type.rawValue]) { AWSIdentity.IdentityType(type: $0, arn: nil) } ?? .other
        if type == .other { type = withString(doc, arn) { AWSIdentity.IdentityType(arn: $0) } ?? .other }
        if type == .other && equals(doc, issuer != 0 ? doc.member(issuer, "type") ?? 0 : 0, "Role") { type = .assumedRole }

        var kind: ActorKind?
        switch type {
        case .assumedRole:
            // Every session of a role is the role: per-run session names must not make new principals.
            event[.actorPrincipal] = issuerArn != 0 ? text(doc, issuerArn) : roleARN(doc, arn, arena)
            if !event[.actorPrincipal].isPresent { event[.actorPrincipal] = colonPart(doc, principalId, after: false, arena) }
            event[.actorSession] = colonPart(doc, principalId, after: true, arena)
            if !event[.actorSession].isPresent { event[.actorSession] = sessionFromARN(doc, arn, arena) }
            var person = text(doc, onBehalfOfUser)
            if !person.isPresent { person = text(doc, context != 0 ? doc.member(context, "sourceIdentity") ?? 0 : 0) }
            if !person.isPresent && sessionNamesPerson(event[.actorSession], role: event[.actorPrincipal], doc, arena) {
                person = event[.actorSession]
            }
            event[.actorPerson] = person
            kind = person.isPresent ? .human : .workload
        case .iamUser:
            event[.actorPrincipal] = arn != 0 ? text(doc, arn) : composedARN(doc, ":user/", userName, arena)
            event[.actorPerson] = userName != 0 && !isHidden(doc, userName) ? text(doc, userName) : lastSegment(doc, arn, arena)
            kind = .human
        case .root:
            event[.actorPrincipal] = arn != 0 ? text(doc, arn) : composedARN(doc, ":root", 0, arena)
            kind = .human
        case .federatedUser:
            event[.actorPrincipal] = text(doc, arn)
            event[.actorPerson] = lastSegment(doc, arn, arena)
            if !event[.actorPerson].isPresent { event[.actorPerson] = colonPart(doc, principalId, after: true, arena) }
            if !event[.actorPrincipal].isPresent { event[.actorPrincipal] = text(doc, principalId) }
            kind = .human
        case .awsService:
            event[.actorPrincipal] = firstText(doc, inner[k.invokedBy.rawValue], principalId)
            kind = .service
        case .awsAccount:
            kind = fillAccountActor(doc, principalId, accountId, arena, &event)
        case .samlUser:
            event[.actorPrincipal] = firstText(doc, principalId, userName)
            event[.actorPerson] = text(doc, userName)
            kind = .human
        case .webIdentityUser:
            event[.actorPrincipal] = firstText(doc, principalId, userName)
            let workload = withString(doc, inner[k.identityProvider.rawValue], AWSIdentity.isWorkloadIssuer) == true
                || withString(doc, userName) { JSONString.hasPrefix($0, "system:serviceaccount:") } == true
            if !workload { event[.actorPerson] = text(doc, userName) }
            kind = workload ? .workload : .human
        case .identityCenterUser:
            event[.actorPrincipal] = text(doc, onBehalfOfUser)
            event[.actorPerson] = event[.actorPrincipal]
            event[.actorSession] = text(doc, inner[k.credentialId.rawValue])
            kind = .human
        case .other:
            event[.actorPrincipal] = firstText(doc, arn, principalId, userName)
        }
        if let kind { event[.actorKind] = arena.constant(kind.constant) }
        event.dropEmptyActorNames()
    }

    /// Another account's caller as the resource owner's trail sees it: an account id, or a principal id
    /// (`AIDA…` a user, `AROA…:<session>` a role session), or S3's anonymous requester.
    private func fillAccountActor(
        _ doc: JSONDocument, _ principalId: UInt32, _ accountId: UInt32, _ arena: TextArena, _ event: inout Event
    ) -> ActorKind? {
        let anonymous: (UnsafeBufferPointer<UInt8>) -> Bool = {
            JSONString.equalsIgnoringASCIICase($0, "anonymous") || JSONString.equals($0, "ANONYMOUS_PRINCIPAL")
        }
        if withString(doc, accountId, anonymous) == true || withString(doc, principalId, anonymous) == true {
            event[.actorPrincipal] = withString(doc, accountId, anonymous) == true ? text(doc, accountId) : text(doc, principalId)
            return .anonymous
        }
        let id = colonPart(doc, principalId, after: false, arena)
        event[.actorPrincipal] = id.isPresent ? id : text(doc, accountId)
        event[.actorSession] = colonPart(doc, principalId, after: true, arena)
        let prefix = withString(doc, principalId) { bytes -> ActorKind? in
            if JSONString.hasPrefix(bytes, "AIDA") { return .human }
            if JSONString.hasPrefix(bytes, "AROA") { return .workload }
            return nil
        } ?? nil
        if prefix == .workload && sessionNamesPerson(event[.actorSession], role: .missing, doc, arena) {
            event[.actorPerson] = event[.actorSession]
            return .human
        }
        return prefix
    }

    /// An SSO permission-set role's sessions are named for the user; elsewhere an email-like session name is one.
    private func sessionNamesPerson(_ session: TextRef, role: TextRef, _ doc: JSONDocument, _ arena: TextArena) -> Bool {
        guard session.isPresent else { return false }
        if withText(role, doc, arena, AWSIdentity.isSSORole) == true { return true }
        return withText(session, doc, arena, AWSIdentity.sessionNamesPerson) == true
    }

    /// The part of a principal id before or after its first colon (`AROA…:<session>`; a federated user's
    /// `<account>:<name>`). Without a colon the whole id is the part before.
    func colonPart(_ doc: JSONDocument, _ index: UInt32, after: Bool, _ arena: TextArena) -> TextRef {
        withString(doc, index) { bytes -> TextRef in
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
                return after ? .missing : slice(doc, index, 0, bytes.count, arena)
            }
            return after ? slice(doc, index, colon + 1, bytes.count, arena) : slice(doc, index, 0, colon, arena)
        } ?? .missing
    }

    /// The session of `arn:…:assumed-role/<role>/<session>`.
    private func sessionFromARN(_ doc: JSONDocument, _ arn: UInt32, _ arena: TextArena) -> TextRef {
        withString(doc, arn) { bytes -> TextRef in
            guard let role = AWSIdentity.assumedRoleNameRange(bytes), role.upperBound < bytes.count else { return .missing }
            return slice(doc, arn, role.upperBound + 1, bytes.count, arena)
        } ?? .missing
    }

    /// What follows an ARN's last slash (a user's or federated user's name).
    private func lastSegment(_ doc: JSONDocument, _ arn: UInt32, _ arena: TextArena) -> TextRef {
        withString(doc, arn) { bytes -> TextRef in
            guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return .missing }
            return slice(doc, arn, slash + 1, bytes.count, arena)
        } ?? .missing
    }

    /// `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` → `arn:<partition>:iam::<account>:role/<role>`,
    /// for sessions logged without their sessionIssuer (the role's path is not in a session ARN).
    private func roleARN(_ doc: JSONDocument, _ arn: UInt32, _ arena: TextArena) -> TextRef {
        withString(doc, arn) { bytes -> TextRef in
            guard let role = AWSIdentity.assumedRoleNameRange(bytes), let partition = AWSIdentity.partitionRange(bytes),
                let account = AWSIdentity.accountRange(bytes)
            else { return .missing }
            let mark = arena.mark
            arena.append("arn:")
            arena.appendBytes(UnsafeBufferPointer(rebasing: bytes[partition]))
            arena.append(":iam::")
            arena.appendBytes(UnsafeBufferPointer(rebasing: bytes[account]))
            arena.append(":role/")
            arena.appendBytes(UnsafeBufferPointer(rebasing: bytes[role]))
            return arena.finish(from: mark)
        } ?? .missing
    }

    /// `arn:<partition>:iam::<accountId><resource><name>` for identities logged without an ARN (an IAM user's
    /// failed console sign-in). The partition follows the region; a user's path is not in the record.
    private func composedARN(_ doc: JSONDocument, _ resource: StaticString, _ name: UInt32, _ arena: TextArena) -> TextRef {
        let account = inner[CloudTrailFields.Identity.accountId.rawValue]
        guard account != 0, doc[account].kind == .string else { return .missing }
        if name != 0 && (doc[name].kind != .string || isHidden(doc, name)) { return .missing }
        let mark = arena.mark
        arena.append("arn:")
        arena.append(withString(doc, slot(.awsRegion)) { AWSIdentity.partition(ofRegion: $0) } ?? "aws")
        arena.append(":iam::")
        appendString(doc, account, to: arena)
        arena.append(resource)
        if name != 0 { appendString(doc, name, to: arena) }
        return arena.finish(from: mark)
    }

    private func isHidden(_ doc: JSONDocument, _ index: UInt32) -> Bool {
        equals(doc, index, "HIDDEN_DUE_TO_SECURITY_REASONS")
    }
}

// MARK: Which model

extension Normalizer {
    /// The object an S3 data event acts on: requestParameters' bucket and key, the first key of a DeleteObjects
    /// body, or the first object ARN of `resources`.
    func s3ObjectURI(_ doc: JSONDocument, _ parameters: UInt32, _ arena: TextArena) -> TextRef {
        let p = CloudTrailFields.Parameter.self
        let bucket = parameters != 0 ? inner[p.bucketName.rawValue] : 0
        if parameters != 0 && inner[p.key.rawValue] != 0 {
            return artifactURI("s3://", doc, bucket: bucket, key: inner[p.key.rawValue], arena)
        }
        let delete = member(doc, parameters, "delete", "Delete")
        if delete != 0 && doc[delete].kind == .object {
            var object = member(doc, delete, "Object", "object")
            if object != 0 && doc[object].kind == .array { object = doc.element(object, at: 0) ?? 0 }
            let key = member(doc, object, "Key", "key")
            if key != 0 { return artifactURI("s3://", doc, bucket: bucket, key: key, arena) }
        }
        var found: UInt32 = 0
        let resources = slot(.resources)
        guard resources != 0 else { return .missing }
        doc.forEachElement(resources) { resource in
            guard found == 0, equals(doc, doc.member(resource, "type") ?? 0, "AWS::S3::Object") else { return }
            found = member(doc, resource, "ARN", "arn")
        }
        return artifactURI(doc, found, arena)
    }

    /// SageMaker's model artifacts (model and model package containers, a training job's output) and the
    /// registry's names for a model (a model package group and version), from the requestParameters in `inner`.
    func fillSageMakerModel(_ doc: JSONDocument, _ arena: TextArena, _ entity: ArenaConstant?, _ event: inout Event) {
        let p = CloudTrailFields.Parameter.self
        let primary = inner[p.primaryContainer.rawValue]
        var uri = containerArtifact(doc, primary, arena)
        if !uri.isPresent { uri = firstContainerArtifact(doc, inner[p.containers.rawValue], arena) }
        let specification = inner[p.inferenceSpecification.rawValue]
        if !uri.isPresent && specification != 0 {
            uri = firstContainerArtifact(doc, member(doc, specification, "containers", "Containers"), arena)
        }
        let output = inner[p.outputDataConfig.rawValue]
        if !uri.isPresent && output != 0 { uri = artifactURI(doc, member(doc, output, "s3OutputPath", "S3OutputPath"), arena) }
        event[.mlArtifactURI] = uri

        if entity == .modelPackage || entity == .modelPackageGroup {
            event[.mlModelName] = text(doc, inner[p.modelPackageGroupName.rawValue])
        }
        // The package's ARN: updated or described (modelPackageArn / Name), deployed (a container's), or created.
        let response = slot(.responseElements)
        _ = fillModelPackage(doc, inner[p.modelPackageArn.rawValue], arena, &event)
            || fillModelPackage(doc, inner[p.modelPackageName.rawValue], arena, &event)
            || fillModelPackage(doc, primary != 0 ? doc.member(primary, "modelPackageName") ?? 0 : 0, arena, &event)
            || fillModelPackage(doc, response != 0 ? doc.member(response, "modelPackageArn") ?? 0 : 0, arena, &event)
        if entity == .modelPackage && !event[.mlModelName].isPresent {
            event[.mlModelName] = text(doc, inner[p.modelPackageName.rawValue])  // an unversioned package's own name
        }
    }

    private func containerArtifact(_ doc: JSONDocument, _ container: UInt32, _ arena: TextArena) -> TextRef {
        guard container != 0, doc[container].kind == .object else { return .missing }
        let url = member(doc, container, "modelDataUrl", "ModelDataUrl")
        if url != 0 { return artifactURI(doc, url, arena) }
        let source = member(doc, container, "modelDataSource", "ModelDataSource")
        let s3 = member(doc, source, "s3DataSource", "S3DataSource")
        return artifactURI(doc, member(doc, s3, "s3Uri", "S3Uri"), arena)
    }

    private func firstContainerArtifact(_ doc: JSONDocument, _ containers: UInt32, _ arena: TextArena) -> TextRef {
        var uri = TextRef.missing
        guard containers != 0 else { return uri }
        doc.forEachElement(containers) { container in
            if !uri.isPresent { uri = containerArtifact(doc, container, arena) }
        }
        return uri
    }

    /// Group and version from `arn:…:model-package/<group>/<version>` (or a group's `model-package-group/<group>`);
    /// false when `index` is no such ARN.
    private func fillModelPackage(_ doc: JSONDocument, _ index: UInt32, _ arena: TextArena, _ event: inout Event) -> Bool {
        withString(doc, index) { bytes -> Bool in
            let marker = TextSearch.find(":model-package/", in: bytes).map { $0 + 15 }
                ?? TextSearch.find(":model-package-group/", in: bytes).map { $0 + 21 }
            guard let start = marker, start < bytes.count else { return false }
            let slash = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.count
            if !event[.mlModelName].isPresent { event[.mlModelName] = slice(doc, index, start, slash, arena) }
            if slash + 1 < bytes.count { event[.mlModelVersion] = slice(doc, index, slash + 1, bytes.count, arena) }
            return true
        } ?? false
    }
}

@inline(__always)
func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    let first = needle[0]
    var i = 0
    while i + needle.count <= haystack.count {
        if haystack[i] == first {
            var k = 1
            while k < needle.count && haystack[i + k] == needle[k] { k += 1 }
            if k == needle.count { return true }
        }
        i += 1
    }
    return false
}
