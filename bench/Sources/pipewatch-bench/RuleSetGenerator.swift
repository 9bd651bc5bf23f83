import ArgumentParser
import Foundation

/// Writes a synthetic, deterministic Sigma rule set for CloudTrail shaped like SigmaHQ's: almost every rule selects
/// an eventSource and one or a few eventNames, many add a filter on the principal or user agent, some test request
/// parameters or error codes, and a few (3 %) have no eventName at all, so they are evaluated for every event.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Write N synthetic CloudTrail Sigma rules (one file each) for the replay benchmark.")

    @Option(help: "Number of rules.")
    var count: Int

    @Option(help: "Directory to write the rules into (created; existing rule files are replaced).")
    var output: String

    @Option(help: "Seed of the random stream.")
    var seed: UInt64 = 11

    func run() throws {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: output) where file.hasSuffix(".yml") {
            try FileManager.default.removeItem(atPath: output + "/" + file)
        }
        var random = CorpusRandom(seed: seed)
        for index in 0..<count {
            let text = SyntheticRules.rule(index, &random)
            try text.write(toFile: "\(output)/bench_rule_\(String(format: "%04d", index)).yml", atomically: false, encoding: .utf8)
        }
        FileHandle.standardError.write(Data("wrote \(count) rules to \(output)\n".utf8))
    }
}

enum SyntheticRules {
    /// eventSource → API names: those the corpus generator emits plus many it never does (as in a real rule pack,
    /// most rules watch calls that are rare).
    static let services: [(source: String, names: [String])] = [
        ("sagemaker.amazonaws.com", [
            "CreateTrainingJob", "DescribeTrainingJob", "CreateModel", "CreateEndpoint", "UpdateEndpoint",
            "CreateEndpointConfig", "CreateModelPackage", "UpdateModelPackage", "DeleteModel", "DeleteEndpoint",
            "CreatePresignedNotebookInstanceUrl", "CreateNotebookInstance", "StopTrainingJob", "DeleteModelPackage",
            "CreateProcessingJob", "CreatePipeline", "StartPipelineExecution", "DeletePipeline", "AddTags",
            "CreateDomain", "CreateUserProfile", "CreatePresignedDomainUrl", "UpdateDomain", "DeleteDomain",
        ]),
        ("s3.amazonaws.com", [
            "GetObject", "PutObject", "DeleteObject", "PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl",
            "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock", "PutBucketVersioning", "PutBucketLogging",
            "PutBucketReplication", "PutBucketLifecycle", "DeleteBucket", "PutObjectAcl", "CopyObject",
        ]),
        ("iam.amazonaws.com", [
            "CreateAccessKey", "AttachRolePolicy", "PutRolePolicy", "CreateUser", "CreateLoginProfile",
            "UpdateLoginProfile", "AttachUserPolicy", "AddUserToGroup", "CreatePolicyVersion", "SetDefaultPolicyVersion",
            "UpdateAssumeRolePolicy", "DeleteRolePermissionsBoundary", "CreateRole", "DeleteUser", "DeactivateMFADevice",
        ]),
        ("sts.amazonaws.com", ["AssumeRole", "GetSessionToken", "GetFederationToken", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"]),
        ("kms.amazonaws.com", ["Decrypt", "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "ImportKeyMaterial"]),
        ("ec2.amazonaws.com", [
            "RunInstances", "ModifyInstanceAttribute", "AuthorizeSecurityGroupIngress", "CreateSnapshot",
            "ModifySnapshotAttribute", "ModifyImageAttribute", "DeleteFlowLogs", "CreateKeyPair", "GetPasswordData",
        ]),
        ("cloudtrail.amazonaws.com", ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"]),
        ("logs.amazonaws.com", ["DeleteLogGroup", "DeleteLogStream", "PutRetentionPolicy", "CreateLogGroup"]),
        ("ecr.amazonaws.com", ["PutImage", "BatchDeleteImage", "SetRepositoryPolicy", "DeleteRepository"]),
        ("guardduty.amazonaws.com", ["DeleteDetector", "UpdateDetector", "DisassociateFromMasterAccount"]),
        ("config.amazonaws.com", ["StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel"]),
        ("lambda.amazonaws.com", ["CreateFunction20150331", "UpdateFunctionCode20150331v2", "AddPermission20150331v2"]),
        ("secretsmanager.amazonaws.com", ["GetSecretValue", "PutSecretValue", "DeleteSecret"]),
    ]

    static let levels = ["low", "medium", "medium", "high", "critical"]

    /// Calls the corpus generator emits (routine traffic in the benchmark corpus).
    static let frequentNames: Set<String> = [
        "GetObject", "PutObject", "HeadObject", "ListObjects", "CreateTrainingJob", "DescribeTrainingJob",
        "ListTrainingJobs", "AssumeRole", "GetCallerIdentity", "Decrypt", "GenerateDataKey", "CreateModel",
        "CreateEndpoint", "UpdateEndpoint", "DescribeEndpoint", "ListEndpoints", "CreateEndpointConfig",
        "CreateModelPackage", "UpdateModelPackage", "ListModelPackages", "DescribeModelPackage",
        "DescribePipelineExecution", "CreateProcessingJob", "CreateAccessKey", "AttachRolePolicy", "PutRolePolicy",
        "GetRole", "ListAttachedRolePolicies", "GetPolicyVersion", "DescribeInstances", "DescribeSecurityGroups",
        "DescribeNetworkInterfaces", "CreateLogStream", "DescribeLogStreams", "CreateLogGroup",
        "GetAuthorizationToken", "BatchGetImage", "GetDownloadUrlForLayer",
    ]

    static func rule(_ index: Int, _ random: inout CorpusRandom) -> String {
        let id = String(format: "%08x-0000-4000-8000-%012x", index, index &* 2_654_435_761 & 0xFFFF_FFFF_FFFF)
        var lines = [
            "title: Synthetic CloudTrail rule \(index)",
            "id: \(id)",
            "status: test",
            "description: Generated for the replay benchmark.",
            "author: Pipewatch bench",
            "date: 2026-11-21",
            "tags:",
            "    - attack.t\(1000 + random.below(600))",
            "logsource:",
            "    product: aws",
            "    service: cloudtrail",
            "detection:",
        ]
        let style = random.below(100)
        if style < 3 {
            // No eventName: evaluated for every CloudTrail event.
            switch random.below(3) {
            case 0:
                lines += ["    selection:", "        userAgent|contains:", "            - 'sqlmap-\(index)'", "            - 'nmap-\(index)'"]
            case 1:
                lines += ["    selection:", "        sourceIPAddress|cidr: '192.0.2.\(random.below(200))/30'"]
            default:
                lines += ["    selection:", "        errorCode: 'Throttling\(index)'"]
            }
            lines.append("    condition: selection")
        } else {
            let service = services[random.below(services.count)]
            let count = 1 + (random.below(3) == 0 ? random.below(3) : 0)
            var names: [String] = []
            for _ in 0..<count { names.append(service.names[random.below(service.names.count)]) }
            lines += ["    selection:", "        eventSource: \(service.source)", "        eventName:"]
            lines += Array(Set(names)).sorted().map { "            - \($0)" }
            var condition = "selection"
            // Like real rules, a rule on a routine, frequent call narrows it further (and so rarely fires); a rule on
            // a rare call may stand alone.
            let routine = names.contains { frequentNames.contains($0) }
            switch random.below(routine ? 5 : 10) {
            case 0:
                lines += ["    selection_principal:", "        userIdentity.arn|contains: 'contractor-\(random.below(50))'"]
                condition += " and selection_principal"
            case 1:
                lines += [
                    "    selection_error:", "        errorCode:", "            - AccessDenied", "            - UnauthorizedOperation",
                    "        userIdentity.type: IAMUser", "        sourceIPAddress|startswith: '203.0.\(random.below(250)).'",
                ]
                condition += " and selection_error"
            case 2:
                lines += ["    selection_parameter:", "        requestParameters.roleArn|endswith: '-admin-\(random.below(20))'"]
                condition += " and selection_parameter"
            case 3:
                lines += ["    selection_agent:", "        userAgent|re: '(?i)^(python-requests|curl)/\(random.below(9))\\.'"]
                condition += " and selection_agent"
            case 4:
                lines += ["    selection_bucket:", "        requestParameters.bucketName|endswith:", "            - '-public-\(random.below(30))'", "            - '-exfil'"]
                condition += " and selection_bucket"
            default:
                break
            }
            if random.below(3) == 0 {
                lines += ["    filter_pipeline:", "        userIdentity.arn|contains: 'PipelineExecutionRole'"]
                condition += " and not filter_pipeline"
            }
            lines.append("    condition: \(condition)")
        }
        lines += ["falsepositives:", "    - Synthetic", "level: \(levels[random.below(levels.count)])", ""]
        return lines.joined(separator: "\n")
    }
}
