import PipewatchJSON

/// Keys read below the top level of a CloudTrail record.
final class CloudTrailFields: Sendable {
    enum Identity: Int, CaseIterable { case type, arn, userName, principalId, accountId, invokedBy, sessionContext }
    let identity = KeyTable(Identity.allCases.map { "\($0)" })

    /// requestParameters members that name the resource an API call acts on, in order of preference.
    enum Parameter: Int, CaseIterable {
        case trainingJobName, modelPackageGroupName, modelPackageName, endpointConfigName, endpointName
        case notebookInstanceName, processingJobName, transformJobName, pipelineName, featureGroupName, modelName
        case modelPackageArn, modelApprovalStatus, primaryContainer, bucketName, key, roleName, userName, policyArn, name
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
        }

        if let resources = Optional(slot(.resources)), resources != 0, let first = doc.element(resources, at: 0) {
            event[.resourceType] = text(doc, doc.member(first, "type") ?? 0)
            event[.resourceUID] = firstText(doc, doc.member(first, "ARN") ?? 0, doc.member(first, "arn") ?? 0)
        }

        let parameters = slot(.requestParameters)
        guard parameters != 0 && doc[parameters].kind == .object else { return event }
        fields.parameters.collect(doc, parameters, into: inner)
        let p = CloudTrailFields.Parameter.self
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
        return event
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
