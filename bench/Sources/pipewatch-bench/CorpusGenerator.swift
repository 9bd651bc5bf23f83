import Foundation
import PipewatchEvents

// Deterministic synthetic audit records for benchmarks.
//
// The records follow the public wire formats of AWS CloudTrail and Kubernetes audit (`audit.k8s.io/v1`):
// real field names and order, nesting, value styles, timestamp formats and id shapes. All organisations,
// people, accounts, keys and ids are fictional; public addresses come from the documentation ranges
// 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24.
//
// The same seed and parameters always produce the same bytes, on every platform: the only randomness is
// the generator's own xoshiro256** stream, and the output never depends on the wall clock or on hashing.

// MARK: - Random numbers

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64.
struct CorpusRandom {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    init(seed: UInt64) {
        var x = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&x)
        s1 = splitMix(&x)
        s2 = splitMix(&x)
        s3 = splitMix(&x)
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotate(s3, 45)
        return result
    }

    /// Uniform in `0..<n` (multiply-high; the bias is far below anything a benchmark can observe).
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: UInt64(truncatingIfNeeded: n).multipliedFullWidth(by: next()).high)
    }

    /// True with probability `p` percent.
    @inline(__always)
    mutating func percent(_ p: Int) -> Bool { below(100) < p }

    /// True with probability `p` per ten thousand.
    @inline(__always)
    mutating func perTenThousand(_ p: Int) -> Bool { below(10_000) < p }

    @inline(__always)
    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

// MARK: - Byte writing

extension Array where Element == UInt8 {
    @inline(__always)
    fileprivate mutating func lit(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }

    @inline(__always)
    fileprivate mutating func put(_ bytes: [UInt8]) {
        append(contentsOf: bytes)
    }

    /// A non-negative integer in decimal.
    fileprivate mutating func decimal(_ value: Int) {
        var n = UInt64(truncatingIfNeeded: value)
        if n < 10 {
            append(UInt8(truncatingIfNeeded: n) &+ 48)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var i = 20
            repeat {
                i -= 1
                buffer[i] = UInt8(truncatingIfNeeded: n % 10) &+ 48
                n /= 10
            } while n > 0
            append(contentsOf: UnsafeBufferPointer(rebasing: buffer[i..<20]))
        }
    }

    /// A non-negative integer in decimal, zero-padded to `width` digits.
    fileprivate mutating func padded(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor &*= 10 }
        var n = value
        while divisor > 0 {
            append(UInt8(truncatingIfNeeded: n / divisor) &+ 48)
            n %= divisor
            divisor /= 10
        }
    }

    @inline(__always)
    fileprivate mutating func two(_ value: Int) {
        append(UInt8(truncatingIfNeeded: value / 10) &+ 48)
        append(UInt8(truncatingIfNeeded: value % 10) &+ 48)
    }

    /// The low `digits` nibbles of `value` in lowercase hex.
    fileprivate mutating func hex(_ value: UInt64, digits: Int) {
        var shift = (digits - 1) * 4
        while shift >= 0 {
            let d = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 15)
            append(d < 10 ? d &+ 48 : d &+ 87)
            shift -= 4
        }
    }

    /// `YYYY-MM-DD`
    fileprivate mutating func isoDate(_ epochSeconds: Int64) {
        let c = civilDate(days: floorDiv(epochSeconds, 86_400))
        padded(c.year, width: 4)
        append(45)
        two(c.month)
        append(45)
        two(c.day)
    }

    /// `YYYY-MM-DDTHH:MM:SS` without a zone designator.
    fileprivate mutating func isoDateTime(_ epochSeconds: Int64) {
        isoDate(epochSeconds)
        let s = Int(epochSeconds - floorDiv(epochSeconds, 86_400) * 86_400)
        append(84)
        two(s / 3600)
        append(58)
        two(s / 60 % 60)
        append(58)
        two(s % 60)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (CloudTrail).
    fileprivate mutating func isoSeconds(_ epochSeconds: Int64) {
        isoDateTime(epochSeconds)
        append(90)
    }

    /// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` (Kubernetes audit).
    fileprivate mutating func isoMicros(_ epochMicros: Int64) {
        let seconds = floorDiv(epochMicros, 1_000_000)
        isoDateTime(seconds)
        append(46)
        padded(Int(epochMicros - seconds * 1_000_000), width: 6)
        append(90)
    }

    /// `Nov 3, 2026 3:05:40 PM` (the style of STS and IAM response dates).
    fileprivate mutating func awsLongDate(_ epochSeconds: Int64) {
        let c = civilDate(days: floorDiv(epochSeconds, 86_400))
        lit(monthAbbreviation(c.month))
        append(32)
        decimal(c.day)
        lit(", ")
        decimal(c.year)
        append(32)
        let s = Int(epochSeconds - floorDiv(epochSeconds, 86_400) * 86_400)
        let hour = s / 3600
        let hour12 = hour % 12 == 0 ? 12 : hour % 12
        decimal(hour12)
        append(58)
        two(s / 60 % 60)
        append(58)
        two(s % 60)
        lit(hour < 12 ? " AM" : " PM")
    }
}

@inline(__always)
private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Calendar date of a day count since 1970-01-01.
private func civilDate(days: Int64) -> (year: Int, month: Int, day: Int) {
    let (c, _) = Timestamp.components(milliseconds: days * 86_400_000)
    return (c.year, c.month, c.day)
}

private func monthAbbreviation(_ month: Int) -> StaticString {
    switch month {
    case 1: return "Jan"
    case 2: return "Feb"
    case 3: return "Mar"
    case 4: return "Apr"
    case 5: return "May"
    case 6: return "Jun"
    case 7: return "Jul"
    case 8: return "Aug"
    case 9: return "Sep"
    case 10: return "Oct"
    case 11: return "Nov"
    default: return "Dec"
    }
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

// MARK: - Vocabulary

private enum Vocabulary {
    static let models: [StaticString] = [
        "fraud-detection-xgb", "churn-predictor", "credit-limit-lgbm", "recsys-two-tower", "demand-forecast-deepar",
        "doc-classifier-bert", "anomaly-iforest", "ltv-regressor", "search-ranker-lambdamart", "image-moderation-vit",
        "price-elasticity-glm", "support-intent-distilbert",
    ]
    static let firstNames = [
        "alice", "bob", "carol", "dmitri", "erin", "farah", "gustavo", "hana", "ivan", "jun", "kalani", "lena",
        "mateo", "nadia", "oscar", "priya", "quentin", "rosa", "sven", "tamar", "uma", "viktor", "wen", "ximena",
        "yusuf", "zoe", "amara", "bruno", "chloe", "diego", "elif", "femi",
    ]
    static let lastNames = [
        "nguyen", "okafor", "schmidt", "tanaka", "rossi", "kowalski", "haddad", "silva", "johansson", "patel",
        "moreau", "kim", "garcia", "novak", "oconnor", "ibrahim", "larsen", "costa", "yamamoto", "mensah",
        "fischer", "lopez", "chen", "dubois", "singh", "berg", "popescu", "ahmed", "walsh", "reyes", "holm", "sato",
    ]
    static let regions: [StaticString] = ["us-east-1", "eu-west-1", "us-west-2"]
    static let accounts = ["111122223333", "444455556666", "777788889999"]
    static let instanceTypes: [StaticString] = [
        "ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.2xlarge", "ml.g5.xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge",
    ]
    static let pipelineSteps: [StaticString] = ["TrainModel", "Preprocess", "EvaluateModel", "RegisterModel", "BatchTransform"]
    static let splits: [StaticString] = ["train", "validation", "test"]
    static let managedPolicies: [StaticString] = [
        "arn:aws:iam::aws:policy/AmazonS3FullAccess", "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
        "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]
    static let permissionSets = ["MLEngineer", "DataScientist", "PlatformAdmin", "ReadOnly"]

    static let boto3Agents = [
        "Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/linux#5.10.225-213.878.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.162",
        "Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#5.10.223-211.872.amzn2.x86_64 md/arch#x86_64 lang/python#3.10.14 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.34.131 AWS-SageMaker-Python-SDK/2.227.0",
        "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.1.109-118.189.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.35.36 AWS-SageMaker-Python-SDK/2.232.1 AWS-SageMaker-Studio",
        "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.15.0-1068-aws md/arch#x86_64 lang/python#3.9.19 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    ]
    /// The pre-`ua/2.0` format, still common in long-lived job containers.
    static let legacyBoto3Agents = [
        "Boto3/1.26.137 Python/3.10.8 Linux/5.10.184-175.731.amzn2.x86_64 Botocore/1.29.137",
        "Boto3/1.28.57 Python/3.9.16 Linux/4.14.336-253.554.amzn2.x86_64 exec-env/AWS_ECS_EC2 Botocore/1.31.57",
        "Boto3/1.24.28 Python/3.8.13 Linux/5.10.178-162.673.amzn2.x86_64 Botocore/1.27.28 sagemaker-training-toolkit/4.4.5",
    ]
    static let javaAgents = [
        "aws-sdk-java/1.12.770 Linux/5.10.225-213.878.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS java/17.0.12 vendor/Amazon.com_Inc. cfg/retry-mode/standard",
        "aws-sdk-java/1.12.746 Linux/5.10.220-209.869.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/11.0.24+8-LTS java/11.0.24 scala/2.12.18 vendor/Amazon.com_Inc. cfg/retry-mode/legacy",
        "aws-sdk-java/2.28.16 Linux/5.10.226-214.879.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    ]
    /// Everything before the command name; the record appends `<service>.<operation>`.
    static let cliAgentPrefixes = [
        "aws-cli/2.13.5 Python/3.11.4 Darwin/22.5.0 exe/x86_64 prompt/off command/",
        "aws-cli/1.29.62 Python/3.9.16 Linux/5.10.192-183.736.amzn2.x86_64 botocore/1.31.62 command/",
        "aws-cli/2.17.60 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#",
        "aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#",
        "aws-cli/2.17.43 md/awscrt#0.21.2 ua/2.0 os/windows#10 md/arch#amd64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#",
    ]
    static let terraformAgent =
        "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.66.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64"
    static let consoleAgents = [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
        "AWS Internal",
    ]

    static let kubectlAgents = [
        "kubectl/v1.31.1 (darwin/arm64) kubernetes/948afe5",
        "kubectl/v1.30.4 (linux/amd64) kubernetes/a51b3b7",
        "kubectl/v1.31.1 (windows/amd64) kubernetes/948afe5",
    ]
    static let kubeletAgent = "kubelet/v1.31.0-eks-a737599 (linux/amd64) kubernetes/a737599"
}

// MARK: - CloudTrail vocabulary

private enum AWSService: UInt8 {
    case sagemaker, s3, sts, kms, iam, ec2, logs, ecr

    var source: StaticString {
        switch self {
        case .sagemaker: return "sagemaker.amazonaws.com"
        case .s3: return "s3.amazonaws.com"
        case .sts: return "sts.amazonaws.com"
        case .kms: return "kms.amazonaws.com"
        case .iam: return "iam.amazonaws.com"
        case .ec2: return "ec2.amazonaws.com"
        case .logs: return "logs.amazonaws.com"
        case .ecr: return "ecr.amazonaws.com"
        }
    }

    var actionPrefix: StaticString {
        switch self {
        case .sagemaker: return "sagemaker"
        case .s3: return "s3"
        case .sts: return "sts"
        case .kms: return "kms"
        case .iam: return "iam"
        case .ec2: return "ec2"
        case .logs: return "logs"
        case .ecr: return "ecr"
        }
    }
}

private enum CloudTrailEvent: UInt8, CaseIterable {
    case createTrainingJob, describeTrainingJob, listTrainingJobs, createProcessingJob, createModel
    case createEndpointConfig, createEndpoint, updateEndpoint, describeEndpoint, listEndpoints
    case createModelPackage, updateModelPackage, listModelPackages, describeModelPackage, describePipelineExecution
    case getObject, putObject, headObject, listObjects
    case assumeRole, getCallerIdentity
    case decrypt, generateDataKey
    case getRole, listAttachedRolePolicies, createAccessKey, attachRolePolicy, putRolePolicy, getPolicyVersion
    case describeInstances, describeSecurityGroups, describeNetworkInterfaces
    case createLogStream, describeLogStreams, createLogGroup
    case getAuthorizationToken, batchGetImage, getDownloadUrlForLayer

    /// Share of CloudTrail records, in parts per ten thousand (sums to 10,000).
    var weight: Int {
        switch self {
        case .createTrainingJob: return 350
        case .describeTrainingJob: return 800
        case .listTrainingJobs: return 250
        case .createProcessingJob: return 100
        case .createModel: return 200
        case .createEndpointConfig: return 120
        case .createEndpoint: return 60
        case .updateEndpoint: return 80
        case .describeEndpoint: return 350
        case .listEndpoints: return 100
        case .createModelPackage: return 100
        case .updateModelPackage: return 80
        case .listModelPackages: return 400
        case .describeModelPackage: return 330
        case .describePipelineExecution: return 180
        case .getObject: return 1800
        case .putObject: return 700
        case .headObject: return 400
        case .listObjects: return 100
        case .assumeRole: return 500
        case .getCallerIdentity: return 300
        case .decrypt: return 600
        case .generateDataKey: return 300
        case .getRole: return 200
        case .listAttachedRolePolicies: return 110
        case .createAccessKey: return 20
        case .attachRolePolicy: return 20
        case .putRolePolicy: return 30
        case .getPolicyVersion: return 20
        case .describeInstances: return 300
        case .describeSecurityGroups: return 100
        case .describeNetworkInterfaces: return 100
        case .createLogStream: return 300
        case .describeLogStreams: return 150
        case .createLogGroup: return 50
        case .getAuthorizationToken: return 150
        case .batchGetImage: return 150
        case .getDownloadUrlForLayer: return 100
        }
    }

    var service: AWSService {
        switch self {
        case .createTrainingJob, .describeTrainingJob, .listTrainingJobs, .createProcessingJob, .createModel,
             .createEndpointConfig, .createEndpoint, .updateEndpoint, .describeEndpoint, .listEndpoints,
             .createModelPackage, .updateModelPackage, .listModelPackages, .describeModelPackage,
             .describePipelineExecution:
            return .sagemaker
        case .getObject, .putObject, .headObject, .listObjects: return .s3
        case .assumeRole, .getCallerIdentity: return .sts
        case .decrypt, .generateDataKey: return .kms
        case .getRole, .listAttachedRolePolicies, .createAccessKey, .attachRolePolicy, .putRolePolicy,
             .getPolicyVersion:
            return .iam
        case .describeInstances, .describeSecurityGroups, .describeNetworkInterfaces: return .ec2
        case .createLogStream, .describeLogStreams, .createLogGroup: return .logs
        case .getAuthorizationToken, .batchGetImage, .getDownloadUrlForLayer: return .ecr
        }
    }

    var name: StaticString {
        switch self {
        case .createTrainingJob: return "CreateTrainingJob"
        case .describeTrainingJob: return "DescribeTrainingJob"
        case .listTrainingJobs: return "ListTrainingJobs"
        case .createProcessingJob: return "CreateProcessingJob"
        case .createModel: return "CreateModel"
        case .createEndpointConfig: return "CreateEndpointConfig"
        case .createEndpoint: return "CreateEndpoint"
        case .updateEndpoint: return "UpdateEndpoint"
        case .describeEndpoint: return "DescribeEndpoint"
        case .listEndpoints: return "ListEndpoints"
        case .createModelPackage: return "CreateModelPackage"
        case .updateModelPackage: return "UpdateModelPackage"
        case .listModelPackages: return "ListModelPackages"
        case .describeModelPackage: return "DescribeModelPackage"
        case .describePipelineExecution: return "DescribePipelineExecution"
        case .getObject: return "GetObject"
        case .putObject: return "PutObject"
        case .headObject: return "HeadObject"
        case .listObjects: return "ListObjects"
        case .assumeRole: return "AssumeRole"
        case .getCallerIdentity: return "GetCallerIdentity"
        case .decrypt: return "Decrypt"
        case .generateDataKey: return "GenerateDataKey"
        case .getRole: return "GetRole"
        case .listAttachedRolePolicies: return "ListAttachedRolePolicies"
        case .createAccessKey: return "CreateAccessKey"
        case .attachRolePolicy: return "AttachRolePolicy"
        case .putRolePolicy: return "PutRolePolicy"
        case .getPolicyVersion: return "GetPolicyVersion"
        case .describeInstances: return "DescribeInstances"
        case .describeSecurityGroups: return "DescribeSecurityGroups"
        case .describeNetworkInterfaces: return "DescribeNetworkInterfaces"
        case .createLogStream: return "CreateLogStream"
        case .describeLogStreams: return "DescribeLogStreams"
        case .createLogGroup: return "CreateLogGroup"
        case .getAuthorizationToken: return "GetAuthorizationToken"
        case .batchGetImage: return "BatchGetImage"
        case .getDownloadUrlForLayer: return "GetDownloadUrlForLayer"
        }
    }

    /// The `md/command#` suffix of an AWS CLI user agent.
    var cliCommand: StaticString {
        switch self {
        case .createTrainingJob: return "sagemaker.create-training-job"
        case .describeTrainingJob: return "sagemaker.describe-training-job"
        case .listTrainingJobs: return "sagemaker.list-training-jobs"
        case .createProcessingJob: return "sagemaker.create-processing-job"
        case .createModel: return "sagemaker.create-model"
        case .createEndpointConfig: return "sagemaker.create-endpoint-config"
        case .createEndpoint: return "sagemaker.create-endpoint"
        case .updateEndpoint: return "sagemaker.update-endpoint"
        case .describeEndpoint: return "sagemaker.describe-endpoint"
        case .listEndpoints: return "sagemaker.list-endpoints"
        case .createModelPackage: return "sagemaker.create-model-package"
        case .updateModelPackage: return "sagemaker.update-model-package"
        case .listModelPackages: return "sagemaker.list-model-packages"
        case .describeModelPackage: return "sagemaker.describe-model-package"
        case .describePipelineExecution: return "sagemaker.describe-pipeline-execution"
        case .getObject, .putObject: return "s3.cp"
        case .headObject: return "s3api.head-object"
        case .listObjects: return "s3.ls"
        case .assumeRole: return "sts.assume-role"
        case .getCallerIdentity: return "sts.get-caller-identity"
        case .decrypt: return "kms.decrypt"
        case .generateDataKey: return "kms.generate-data-key"
        case .getRole: return "iam.get-role"
        case .listAttachedRolePolicies: return "iam.list-attached-role-policies"
        case .createAccessKey: return "iam.create-access-key"
        case .attachRolePolicy: return "iam.attach-role-policy"
        case .putRolePolicy: return "iam.put-role-policy"
        case .getPolicyVersion: return "iam.get-policy-version"
        case .describeInstances: return "ec2.describe-instances"
        case .describeSecurityGroups: return "ec2.describe-security-groups"
        case .describeNetworkInterfaces: return "ec2.describe-network-interfaces"
        case .createLogStream: return "logs.create-log-stream"
        case .describeLogStreams: return "logs.describe-log-streams"
        case .createLogGroup: return "logs.create-log-group"
        case .getAuthorizationToken: return "ecr.get-login-password"
        case .batchGetImage: return "ecr.batch-get-image"
        case .getDownloadUrlForLayer: return "ecr.get-download-url-for-layer"
        }
    }

    var readOnly: Bool {
        switch self {
        case .describeTrainingJob, .listTrainingJobs, .describeEndpoint, .listEndpoints, .listModelPackages,
             .describeModelPackage, .describePipelineExecution, .getObject, .headObject, .listObjects,
             .getCallerIdentity, .decrypt, .getRole, .listAttachedRolePolicies, .getPolicyVersion,
             .describeInstances, .describeSecurityGroups, .describeNetworkInterfaces, .describeLogStreams,
             .getAuthorizationToken, .batchGetImage, .getDownloadUrlForLayer:
            return true
        case .assumeRole:
            return true
        default:
            return false
        }
    }

    /// Calls a SageMaker job container or the SageMaker control plane makes with a customer role.
    var invocableBySageMaker: Bool {
        switch self {
        case .getObject, .putObject, .headObject, .listObjects, .decrypt, .generateDataKey, .createLogStream,
             .describeLogStreams, .getAuthorizationToken, .batchGetImage, .getDownloadUrlForLayer,
             .describeNetworkInterfaces, .describeSecurityGroups:
            return true
        default:
            return false
        }
    }
}

private enum AWSPrincipalRole {
    case pipeline, human, iamUser, automation
}

private enum AgentStyle {
    case plain, cli
}

private struct AWSPrincipal {
    var role: AWSPrincipalRole
    /// `{"type":...` up to the opening quote of `creationDate`'s value (roles) or up to the last member (users).
    var identityHead: [UInt8]
    /// `","mfaAuthenticated":"..."}}` after the creation date (roles); empty for users.
    var identityTail: [UInt8]
    var hasSession: Bool
    var arn: [UInt8]
    var issuerArn: [UInt8]
    var roleId: [UInt8]
    var sessionName: [UInt8]
    var userName: [UInt8]
    var account: [UInt8]
    var agent: [UInt8]
    var agentStyle: AgentStyle
    var homeIP: Int
    var homeRegion: Int
    var team: Int
    var sessionPhase: Int64
}

// MARK: - Kubernetes vocabulary

private enum KubeOp: UInt8 {
    case getConfigMap, watchConfigMap, getSecret, listSecrets
    case listPods, getPod, watchPods, createPod, deletePod, patchPodStatus, getPodLog, createPodExec
    case createEvent, getLease, updateLease
    case getInferenceService, watchInferenceServices, patchInferenceService
    case listWorkflows, patchWorkflow, listScheduledWorkflows
    case createToken, getDeployment, updateDeploymentStatus
    case createTokenReview, createSubjectAccessReview

    var verb: StaticString {
        switch self {
        case .getConfigMap, .getSecret, .getPod, .getPodLog, .getLease, .getInferenceService, .getDeployment:
            return "get"
        case .listSecrets, .listPods, .listWorkflows, .listScheduledWorkflows: return "list"
        case .watchConfigMap, .watchPods, .watchInferenceServices: return "watch"
        case .createPod, .createPodExec, .createEvent, .createToken, .createTokenReview, .createSubjectAccessReview:
            return "create"
        case .deletePod: return "delete"
        case .patchPodStatus, .patchInferenceService, .patchWorkflow: return "patch"
        case .updateLease, .updateDeploymentStatus: return "update"
        }
    }

    var resource: StaticString {
        switch self {
        case .getConfigMap, .watchConfigMap: return "configmaps"
        case .getSecret, .listSecrets: return "secrets"
        case .listPods, .getPod, .watchPods, .createPod, .deletePod, .patchPodStatus, .getPodLog, .createPodExec:
            return "pods"
        case .createEvent: return "events"
        case .getLease, .updateLease: return "leases"
        case .getInferenceService, .watchInferenceServices, .patchInferenceService: return "inferenceservices"
        case .listWorkflows, .patchWorkflow: return "workflows"
        case .listScheduledWorkflows: return "scheduledworkflows"
        case .createToken: return "serviceaccounts"
        case .getDeployment, .updateDeploymentStatus: return "deployments"
        case .createTokenReview: return "tokenreviews"
        case .createSubjectAccessReview: return "subjectaccessreviews"
        }
    }

    /// API group; empty for the core group.
    var group: StaticString {
        switch self {
        case .getLease, .updateLease: return "coordination.k8s.io"
        case .getInferenceService, .watchInferenceServices, .patchInferenceService: return "serving.kserve.io"
        case .listWorkflows, .patchWorkflow: return "argoproj.io"
        case .listScheduledWorkflows: return "kubeflow.org"
        case .getDeployment, .updateDeploymentStatus: return "apps"
        case .createTokenReview: return "authentication.k8s.io"
        case .createSubjectAccessReview: return "authorization.k8s.io"
        default: return ""
        }
    }

    var version: StaticString {
        switch self {
        case .getInferenceService, .watchInferenceServices, .patchInferenceService: return "v1beta1"
        case .listWorkflows, .patchWorkflow: return "v1alpha1"
        case .listScheduledWorkflows: return "v1beta1"
        default: return "v1"
        }
    }

    var subresource: StaticString {
        switch self {
        case .patchPodStatus, .updateDeploymentStatus: return "status"
        case .getPodLog: return "log"
        case .createPodExec: return "exec"
        case .createToken: return "token"
        default: return ""
        }
    }

    var isGet: Bool {
        switch self {
        case .getConfigMap, .getSecret, .getPod, .getPodLog, .getLease, .getInferenceService, .getDeployment: return true
        default: return false
        }
    }

    var isCreate: Bool {
        switch self {
        case .createPod, .createPodExec, .createEvent, .createToken, .createTokenReview, .createSubjectAccessReview:
            return true
        default:
            return false
        }
    }

    var clusterScoped: Bool {
        switch self {
        case .createTokenReview, .createSubjectAccessReview, .watchInferenceServices: return true
        default: return false
        }
    }

    var hasName: Bool {
        switch self {
        case .listSecrets, .listPods, .watchPods, .listWorkflows, .listScheduledWorkflows, .watchInferenceServices,
             .createTokenReview, .createSubjectAccessReview:
            return false
        default:
            return true
        }
    }

    var hasBody: Bool {
        switch self {
        case .createPod, .createEvent, .updateLease, .patchPodStatus, .patchInferenceService, .patchWorkflow,
             .createToken, .updateDeploymentStatus, .createTokenReview, .createSubjectAccessReview:
            return true
        default:
            return false
        }
    }

    var longRunning: Bool {
        switch self {
        case .watchConfigMap, .watchPods, .watchInferenceServices, .createPodExec, .getPodLog: return true
        default: return false
        }
    }
}

private enum KubePrincipalKind {
    case serviceAccount, node, human, controlPlane
}

private struct KubePrincipal {
    var kind: KubePrincipalKind
    /// The complete `user` object.
    var user: [UInt8]
    var agent: [UInt8]
    /// Fixed caller address (pods, nodes, control plane); empty when drawn from the shared pool (humans).
    var sourceIP: [UInt8]
    /// `authorization.k8s.io/reason`, already escaped for a JSON string.
    var reason: [UInt8]
    var namespace: [UInt8]
    /// Node name for nodes, service account name for service accounts.
    var name: [UInt8]
    var ops: [KubeOp]
    var homeIP: Int
    var team: Int
}

// MARK: - Generator

/// Produces realistic CloudTrail and Kubernetes audit records, byte-for-byte reproducible from a seed.
///
/// Records are appended as compact JSON without a trailing newline. Event times start at `startTime` and
/// advance by a random gap (mean `meanGapMicros`) per record, shared by both record kinds.
struct CorpusGenerator {
    let seed: UInt64
    let principalCount: Int
    let ipCount: Int
    let bucketCount: Int
    let meanGapMicros: Int64

    /// Event time of the most recent record, in microseconds since the Unix epoch.
    private(set) var clockMicros: Int64
    private(set) var cloudTrailRecords = 0
    private(set) var kubernetesRecords = 0

    private var rng: CorpusRandom
    private var resourceVersion: Int
    private var resourcesScratch: [UInt8] = []
    private var nameScratch: [UInt8] = []
    private let awsPrincipals: [AWSPrincipal]
    private let kubePrincipals: [KubePrincipal]
    private let ips: [[UInt8]]
    private let buckets: [[UInt8]]
    private let kmsKeys: [[UInt8]]
    private let ssoSuffixes: [[UInt8]]
    private let eventTable: [CloudTrailEvent]

    /// - Parameters:
    ///   - seed: selects the stream; every byte of output is a function of the seed and the parameters.
    ///   - principalCount: distinct AWS principals and distinct Kubernetes users.
    ///   - ipCount: distinct caller addresses (default: twice the principal count).
    ///   - bucketCount: distinct S3 buckets (default: a tenth of the principal count, at least 4).
    ///   - startTime: first event time, seconds since the Unix epoch (default 2026-11-03T08:00:00Z).
    ///   - meanGapMicros: mean time between consecutive records.
    init(
        seed: UInt64, principalCount: Int = 200, ipCount: Int? = nil, bucketCount: Int? = nil,
        startTime: Int64 = 1_793_692_800, meanGapMicros: Int64 = 20_000
    ) {
        precondition(principalCount > 0, "principalCount must be positive")
        self.seed = seed
        self.principalCount = principalCount
        self.ipCount = max(1, ipCount ?? principalCount * 2)
        self.bucketCount = max(1, bucketCount ?? max(4, principalCount / 10))
        self.meanGapMicros = max(0, meanGapMicros)
        self.clockMicros = startTime * 1_000_000
        self.rng = CorpusRandom(seed: seed)
        // The pools come from their own stream so that record-level choices never shift them.
        var setup = CorpusRandom(seed: seed ^ 0x5EED_0F_C0_4B_05)
        self.resourceVersion = 48_000_000 + setup.below(1_000_000)

        var table: [CloudTrailEvent] = []
        table.reserveCapacity(10_000)
        for event in CloudTrailEvent.allCases {
            table.append(contentsOf: repeatElement(event, count: event.weight))
        }
        precondition(table.count == 10_000, "CloudTrail event weights must sum to 10,000")
        self.eventTable = table

        self.ips = Self.makeIPs(count: self.ipCount)
        self.buckets = Self.makeBuckets(count: self.bucketCount)
        var keys: [[UInt8]] = []
        for _ in 0..<6 { keys.append(Self.uuidBytes(&setup)) }
        self.kmsKeys = keys
        var sso: [[UInt8]] = []
        for _ in Vocabulary.permissionSets { sso.append(bytes(Self.hexString(&setup, digits: 16))) }
        self.ssoSuffixes = sso
        self.awsPrincipals = Self.makeAWSPrincipals(
            count: principalCount, ipCount: self.ipCount, ssoSuffixes: sso, rng: &setup)
        self.kubePrincipals = Self.makeKubePrincipals(count: principalCount, ipCount: self.ipCount, rng: &setup)
        resourcesScratch.reserveCapacity(512)
        nameScratch.reserveCapacity(256)
    }

    // MARK: Pools

    private static func makeIPs(count: Int) -> [[UInt8]] {
        let publicPrefixes = ["198.51.100.", "203.0.113.", "192.0.2."]
        var result: [[UInt8]] = []
        result.reserveCapacity(count)
        var publicIndex = 0
        var privateIndex = 0
        for i in 0..<count {
            if i % 3 != 2 && publicIndex < 3 * 254 {
                let prefix = publicPrefixes[publicIndex % 3]
                result.append(bytes(prefix + String(publicIndex / 3 + 1)))
                publicIndex += 1
            } else {
                let q = privateIndex
                privateIndex += 1
                result.append(bytes("10.\(20 + q / 64_516 % 200).\(q / 254 % 254 + 1).\(q % 254 + 1)"))
            }
        }
        return result
    }

    private static func makeBuckets(count: Int) -> [[UInt8]] {
        let canonical = ["acme-ml-training-data", "acme-ml-model-artifacts", "acme-ml-feature-store", "acme-ml-inference-capture"]
        let purposes = ["datasets", "artifacts", "features", "capture", "scratch", "eval"]
        var result: [[UInt8]] = []
        for i in 0..<count {
            if i < canonical.count {
                result.append(bytes(canonical[i]))
                continue
            }
            let j = i - canonical.count
            result.append(bytes("acme-ml-\(purposes[j % purposes.count])-\(j / purposes.count + 1)"))
        }
        return result
    }

    private static func personName(_ i: Int) -> (first: String, last: String) {
        let first = Vocabulary.firstNames[i % Vocabulary.firstNames.count]
        let k = i / Vocabulary.firstNames.count
        var last = Vocabulary.lastNames[(k + i * 7) % Vocabulary.lastNames.count]
        let round = i / (Vocabulary.firstNames.count * Vocabulary.lastNames.count)
        if round > 0 { last += String(round + 1) }
        return (first, last)
    }

    private static func makeAWSPrincipals(
        count: Int, ipCount: Int, ssoSuffixes: [[UInt8]], rng: inout CorpusRandom
    ) -> [AWSPrincipal] {
        var result: [AWSPrincipal] = []
        result.reserveCapacity(count)
        // One human with a non-ASCII name (escaped in JSON), placed outside the busiest part of the pool.
        var accentedHuman = -1
        if count >= 50 {
            var i = count - 1
            while i >= 0 && i % 10 != 7 { i -= 1 }
            accentedHuman = i
        }
        for i in 0..<count {
            let slot = i % 10
            let role: AWSPrincipalRole
            switch slot {
            case 0..<6: role = .pipeline
            case 6..<8: role = .human
            case 8: role = .iamUser
            default: role = .automation
            }
            let accountRoll = rng.below(100)
            let account = Vocabulary.accounts[accountRoll < 70 ? 0 : (accountRoll < 90 ? 1 : 2)]
            let team = rng.below(Vocabulary.models.count)
            let model = Vocabulary.models[team].description
            let regionRoll = rng.below(100)
            let homeRegion = regionRoll < 80 ? 0 : (regionRoll < 93 ? 1 : 2)
            var agent: String
            var agentStyle = AgentStyle.plain
            var roleName = ""
            var sessionName = ""
            var mfa = "false"
            var userName = ""

            switch role {
            case .pipeline:
                switch (i / 10) % 3 {
                case 0:
                    let stamp = "2026\(twoDigits(1 + rng.below(10)))\(twoDigits(1 + rng.below(28)))T\(twoDigits(rng.below(24)))\(twoDigits(rng.below(60)))\(twoDigits(rng.below(60)))"
                    roleName = "AmazonSageMaker-ExecutionRole-\(stamp)"
                    sessionName = "SageMaker"
                case 1:
                    roleName = "\(model)-pipeline-role"
                    sessionName = "SageMaker-pipeline-run-\(randomChars(&rng, 12, lowerAlnum))"
                default:
                    roleName = "ml-batch-\(model)-role"
                    sessionName = "botocore-session-\(1_790_000_000 + rng.below(3_000_000))"
                }
                let roll = rng.below(100)
                if roll < 35 {
                    agent = Vocabulary.legacyBoto3Agents[rng.below(Vocabulary.legacyBoto3Agents.count)]
                } else if roll < 75 {
                    agent = Vocabulary.boto3Agents[rng.below(Vocabulary.boto3Agents.count)]
                } else {
                    agent = Vocabulary.javaAgents[rng.below(Vocabulary.javaAgents.count)]
                }
            case .human:
                let person = personName(i)
                var email = "\(person.first).\(person.last)@acme.example"
                if i == accentedHuman { email = "ren\\u00e9e.\(person.last)@acme.example" }
                let permission = rng.below(Vocabulary.permissionSets.count)
                let suffix = String(decoding: ssoSuffixes[permission], as: UTF8.self)
                roleName = "AWSReservedSSO_\(Vocabulary.permissionSets[permission])_\(suffix)"
                sessionName = email
                let roll = rng.below(100)
                if roll < 50 {
                    agent = Vocabulary.cliAgentPrefixes[rng.below(Vocabulary.cliAgentPrefixes.count)]
                    agentStyle = .cli
                } else if roll < 80 {
                    agent = Vocabulary.boto3Agents[2]
                } else {
                    agent = Vocabulary.consoleAgents[rng.below(Vocabulary.consoleAgents.count)]
                }
            case .iamUser:
                let bases = ["svc-ci-deployer", "terraform-ci", "airflow-prod", "jenkins-ml", "feature-sync", "label-export"]
                let k = i / 10
                userName = bases[k % bases.count] + (k >= bases.count ? "-\(k / bases.count + 1)" : "")
                let roll = rng.below(100)
                if roll < 40 {
                    agent = Vocabulary.terraformAgent
                } else if roll < 70 {
                    agent = Vocabulary.javaAgents[rng.below(Vocabulary.javaAgents.count)]
                } else {
                    agent = Vocabulary.cliAgentPrefixes[rng.below(Vocabulary.cliAgentPrefixes.count)]
                    agentStyle = .cli
                }
                mfa = "false"
            case .automation:
                let bases = ["MLOpsDeployRole", "GitHubActionsDeployRole", "airflow-worker-role", "ModelMonitorRole"]
                let k = i / 10
                roleName = bases[k % bases.count] + (k >= bases.count ? "-\(k / bases.count + 1)" : "")
                switch k % bases.count {
                case 1: sessionName = "GitHubActions-\(1_000_000_000 + rng.below(900_000_000))"
                case 2: sessionName = "airflow-\(randomChars(&rng, 8, lowerAlnum))"
                default: sessionName = "\(roleName.lowercased())-\(rng.below(100_000))"
                }
                agent = rng.percent(50) ? Vocabulary.terraformAgent : Vocabulary.boto3Agents[rng.below(2)]
                mfa = rng.percent(10) ? "true" : "false"
            }

            let head: String
            var tail = ""
            let arn: String
            let issuerArn: String
            let roleId: String
            if role == .iamUser {
                roleId = "AIDA" + randomChars(&rng, 17, upperBase32)
                arn = "arn:aws:iam::\(account):user/\(userName)"
                issuerArn = arn
                head = "{\"type\":\"IAMUser\",\"principalId\":\"\(roleId)\",\"arn\":\"\(arn)\",\"accountId\":\"\(account)\",\"accessKeyId\":\"AKIA\(randomChars(&rng, 16, upperBase32))\",\"userName\":\"\(userName)\""
            } else {
                roleId = "AROA" + randomChars(&rng, 17, upperBase32)
                arn = "arn:aws:sts::\(account):assumed-role/\(roleName)/\(sessionName)"
                issuerArn = role == .human
                    ? "arn:aws:iam::\(account):role/aws-reserved/sso.amazonaws.com/\(roleName)"
                    : (role == .pipeline && roleName.hasPrefix("AmazonSageMaker")
                        ? "arn:aws:iam::\(account):role/service-role/\(roleName)"
                        : "arn:aws:iam::\(account):role/\(roleName)")
                userName = roleName
                head = "{\"type\":\"AssumedRole\",\"principalId\":\"\(roleId):\(sessionName)\",\"arn\":\"\(arn)\",\"accountId\":\"\(account)\",\"accessKeyId\":\"ASIA\(randomChars(&rng, 16, upperBase32))\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"\(roleId)\",\"arn\":\"\(issuerArn)\",\"accountId\":\"\(account)\",\"userName\":\"\(roleName)\"},\"webIdFederationData\":{},\"attributes\":{\"creationDate\":\""
                tail = "\",\"mfaAuthenticated\":\"\(mfa)\"}}"
            }
            result.append(AWSPrincipal(
                role: role, identityHead: bytes(head), identityTail: bytes(tail), hasSession: role != .iamUser,
                arn: bytes(arn), issuerArn: bytes(issuerArn), roleId: bytes(roleId), sessionName: bytes(sessionName),
                userName: bytes(userName), account: bytes(account), agent: bytes(agent), agentStyle: agentStyle,
                homeIP: rng.below(ipCount), homeRegion: homeRegion, team: team,
                sessionPhase: Int64(rng.below(3600))))
        }
        return result
    }

    private static func makeKubePrincipals(count: Int, ipCount: Int, rng: inout CorpusRandom) -> [KubePrincipal] {
        // Service-account templates: namespace ("" = the owner's profile namespace), name, agent, ops, binding.
        typealias Template = (namespace: String, name: String, agent: String, ops: [KubeOp], binding: String)
        let pipelineOps: [KubeOp] = [
            .createPod, .createPod, .getPod, .getPod, .listPods, .watchPods, .deletePod, .listWorkflows,
            .patchWorkflow, .patchWorkflow, .createEvent, .getConfigMap, .getSecret, .patchPodStatus,
        ]
        let kserveOps: [KubeOp] = [
            .watchInferenceServices, .getInferenceService, .getInferenceService, .getInferenceService,
            .getDeployment, .getDeployment, .updateDeploymentStatus, .createEvent, .getConfigMap,
        ]
        let notebookOps: [KubeOp] = [.listPods, .getPod, .listScheduledWorkflows, .listWorkflows, .getConfigMap, .getSecret]
        let templates: [Template] = [
            ("kubeflow", "pipeline-runner", "argo-workflows/v3.5.14 argo-controller", pipelineOps,
             "RBAC: allowed by RoleBinding \\\"pipeline-runner-binding/kubeflow\\\" of ClusterRole \\\"pipeline-runner\\\" to ServiceAccount \\\"pipeline-runner/kubeflow\\\""),
            ("kubeflow", "argo", "workflow-controller/v3.5.14 (linux/amd64) kubernetes/$Format", pipelineOps,
             "RBAC: allowed by ClusterRoleBinding \\\"argo-binding\\\" of ClusterRole \\\"argo-cluster-role\\\" to ServiceAccount \\\"argo/kubeflow\\\""),
            ("kserve", "kserve-controller-manager", "manager/v0.0.0 (linux/amd64) kubernetes/$Format", kserveOps,
             "RBAC: allowed by ClusterRoleBinding \\\"kserve-manager-rolebinding\\\" of ClusterRole \\\"kserve-manager-role\\\" to ServiceAccount \\\"kserve-controller-manager/kserve\\\""),
            ("", "default-editor", "OpenAPI-Generator/30.1.0/python", notebookOps,
             "RBAC: allowed by RoleBinding \\\"default-editor/NS\\\" of ClusterRole \\\"kubeflow-edit\\\" to ServiceAccount \\\"default-editor/NS\\\""),
            ("kubeflow", "ml-pipeline", "apiserver/v0.0.0 (linux/amd64) kubernetes/$Format",
             [.listWorkflows, .listScheduledWorkflows, .getPod, .listPods, .getConfigMap, .getSecret],
             "RBAC: allowed by ClusterRoleBinding \\\"ml-pipeline\\\" of ClusterRole \\\"ml-pipeline\\\" to ServiceAccount \\\"ml-pipeline/kubeflow\\\""),
            ("kubeflow", "ml-pipeline-persistenceagent", "persistence_agent/v0.0.0 (linux/amd64) kubernetes/$Format",
             [.listWorkflows, .listScheduledWorkflows, .listWorkflows],
             "RBAC: allowed by ClusterRoleBinding \\\"ml-pipeline-persistenceagent-binding\\\" of ClusterRole \\\"ml-pipeline-persistenceagent-role\\\" to ServiceAccount \\\"ml-pipeline-persistenceagent/kubeflow\\\""),
        ]
        let nodeOps: [KubeOp] = [
            .updateLease, .updateLease, .updateLease, .updateLease, .getLease, .patchPodStatus, .patchPodStatus,
            .getPod, .watchConfigMap, .getSecret, .createToken, .createToken, .getConfigMap, .createEvent,
        ]
        let humanOps: [KubeOp] = [
            .listPods, .listPods, .getPod, .getPod, .getPodLog, .getPodLog, .getInferenceService, .getInferenceService,
            .patchInferenceService, .listSecrets, .getSecret, .getConfigMap, .listWorkflows, .getPod, .listPods,
            .getInferenceService, .getPodLog, .listWorkflows, .getConfigMap, .createPodExec,
        ]
        let controlOps: [KubeOp] = [
            .getLease, .getLease, .updateLease, .updateLease, .updateLease, .createTokenReview,
            .createSubjectAccessReview, .createEvent, .listPods, .getDeployment, .updateDeploymentStatus,
        ]
        let controlUsers: [(user: String, agent: String, uid: Bool)] = [
            ("system:kube-controller-manager", "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/leader-election", false),
            ("system:kube-scheduler", "kube-scheduler/v1.31.0 (linux/amd64) kubernetes/a737599/leader-election", false),
            ("system:serviceaccount:kube-system:replicaset-controller", "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/system:serviceaccount:kube-system:replicaset-controller", true),
            ("system:serviceaccount:kube-system:generic-garbage-collector", "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/system:serviceaccount:kube-system:generic-garbage-collector", true),
            ("eks:cloud-controller-manager", "aws-cloud-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/leader-election", false),
            ("system:apiserver", "kube-apiserver/v1.31.0 (linux/amd64) kubernetes/a737599", true),
        ] + [
            "endpointslice-controller", "job-controller", "deployment-controller", "statefulset-controller",
            "daemon-set-controller", "namespace-controller", "horizontal-pod-autoscaler", "cronjob-controller",
            "resourcequota-controller", "node-controller", "pvc-protection-controller", "ttl-after-finished-controller",
        ].map { controller in
            ("system:serviceaccount:kube-system:\(controller)",
             "kube-controller-manager/v1.31.0 (linux/amd64) kubernetes/a737599/system:serviceaccount:kube-system:\(controller)",
             true)
        }
        let humanGroups = ["oidc:ml-engineers", "oidc:data-scientists", "oidc:platform-admins"]

        var result: [KubePrincipal] = []
        result.reserveCapacity(count)
        var usedTemplates = Set<Int>()
        for i in 0..<count {
            var slot = i % 10
            let team = rng.below(Vocabulary.models.count)
            let homeIP = rng.below(ipCount)
            let person = personName(i)
            let profile = "kubeflow-user-\(person.first)-\(person.last)"
            // Control-plane identities are few; once they are used up the slot becomes a service account.
            if slot == 8 && i / 10 >= controlUsers.count { slot = 9 }
            switch slot {
            case 0..<4, 9:
                let templateIndex = (i / 10 + slot) % templates.count
                var t = templates[templateIndex]
                // Each shared controller account exists once; repeats become per-profile service accounts
                // (multi-user Kubeflow runs pipelines in the owner's profile namespace).
                if !usedTemplates.insert(templateIndex).inserted && !t.namespace.isEmpty {
                    t = (namespace: "", name: "default-editor", agent: t.agent, ops: t.name == "kserve-controller-manager" ? notebookOps : t.ops,
                         binding: "RBAC: allowed by RoleBinding \\\"default-editor/NS\\\" of ClusterRole \\\"kubeflow-edit\\\" to ServiceAccount \\\"default-editor/NS\\\"")
                }
                let namespace = t.namespace.isEmpty ? profile : t.namespace
                let username = "system:serviceaccount:\(namespace):\(t.name)"
                let podName: String
                switch t.name {
                case "pipeline-runner":
                    podName = "\(Vocabulary.models[team])-pipeline-\(randomChars(&rng, 5, kubeSuffix))-system-dag-driver-\(1_000_000_000 + rng.below(3_000_000_000))"
                case "default-editor":
                    podName = "\(person.first)-notebook-0"
                default:
                    podName = "\(t.name)-\(randomChars(&rng, 10, lowerHex))-\(randomChars(&rng, 5, kubeSuffix))"
                }
                let node = "ip-10-42-\(rng.below(16))-\(1 + rng.below(254)).ec2.internal"
                let user = "{\"username\":\"\(username)\",\"uid\":\"\(uuidString(&rng))\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:\(namespace)\",\"system:authenticated\"],\"extra\":{\"authentication.kubernetes.io/credential-id\":[\"JTI=\(uuidString(&rng))\"],\"authentication.kubernetes.io/node-name\":[\"\(node)\"],\"authentication.kubernetes.io/node-uid\":[\"\(uuidString(&rng))\"],\"authentication.kubernetes.io/pod-name\":[\"\(podName)\"],\"authentication.kubernetes.io/pod-uid\":[\"\(uuidString(&rng))\"]}}"
                let reason = t.binding.replacingOccurrences(of: "NS", with: namespace)
                let ip = "10.42.\(rng.below(16)).\(1 + rng.below(254))"
                let opsNamespace = t.name == "kserve-controller-manager" ? "kserve-inference" : namespace
                result.append(KubePrincipal(
                    kind: .serviceAccount, user: bytes(user), agent: bytes(t.agent), sourceIP: bytes(ip),
                    reason: bytes(reason), namespace: bytes(opsNamespace), name: bytes(t.name), ops: t.ops,
                    homeIP: homeIP, team: team))
            case 4, 5:
                let a = rng.below(64)
                let b = 1 + rng.below(254)
                let node = "ip-10-42-\(a)-\(b).ec2.internal"
                let user = "{\"username\":\"system:node:\(node)\",\"groups\":[\"system:nodes\",\"system:authenticated\"]}"
                result.append(KubePrincipal(
                    kind: .node, user: bytes(user), agent: bytes(Vocabulary.kubeletAgent), sourceIP: bytes("10.42.\(a).\(b)"),
                    reason: [], namespace: bytes("kube-node-lease"), name: bytes(node), ops: nodeOps,
                    homeIP: homeIP, team: team))
            case 6, 7:
                let email = "\(person.first).\(person.last)@acme.example"
                let group = humanGroups[rng.below(humanGroups.count)]
                let user = "{\"username\":\"\(email)\",\"groups\":[\"\(group)\",\"system:authenticated\"]}"
                let reason = rng.percent(50)
                    ? "RBAC: allowed by RoleBinding \\\"namespaceAdmin/\(profile)\\\" of ClusterRole \\\"kubeflow-admin\\\" to User \\\"\(email)\\\""
                    : "RBAC: allowed by ClusterRoleBinding \\\"\(group.dropFirst(5))-edit\\\" of ClusterRole \\\"edit\\\" to Group \\\"\(group)\\\""
                result.append(KubePrincipal(
                    kind: .human, user: bytes(user),
                    agent: bytes(Vocabulary.kubectlAgents[rng.below(Vocabulary.kubectlAgents.count)]), sourceIP: [],
                    reason: bytes(reason), namespace: bytes(profile), name: bytes(email), ops: humanOps,
                    homeIP: homeIP, team: team))
            default:
                let c = controlUsers[(i / 10) % controlUsers.count]
                var user = "{\"username\":\"\(c.user)\""
                if c.uid { user += ",\"uid\":\"\(uuidString(&rng))\"" }
                if c.user == "system:apiserver" {
                    user += ",\"groups\":[\"system:authenticated\",\"system:masters\"]}"
                } else if c.user.hasPrefix("system:serviceaccount:") {
                    user += ",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\",\"system:authenticated\"]}"
                } else {
                    user += ",\"groups\":[\"system:authenticated\"]}"
                }
                let reason = c.user == "system:apiserver"
                    ? ""
                    : "RBAC: allowed by ClusterRoleBinding \\\"\(c.user)\\\" of ClusterRole \\\"\(c.user)\\\" to User \\\"\(c.user)\\\""
                let leaseName = c.user.split(separator: ":").last.map(String.init) ?? "kube-controller-manager"
                result.append(KubePrincipal(
                    kind: .controlPlane, user: bytes(user), agent: bytes(c.agent),
                    sourceIP: bytes("172.16.\(rng.below(64)).\(1 + rng.below(254))"), reason: bytes(reason),
                    namespace: bytes("kube-system"), name: bytes(leaseName), ops: controlOps,
                    homeIP: homeIP, team: team))
            }
        }
        return result
    }

    // MARK: Setup helpers (not on the hot path)

    private static let upperBase32: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    private static let lowerAlnum: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
    private static let lowerHex: [UInt8] = Array("0123456789abcdef".utf8)
    /// The alphabet Kubernetes uses for generated name suffixes.
    private static let kubeSuffix: [UInt8] = Array("bcdfghjklmnpqrstvwxz2456789".utf8)

    private static func randomChars(_ rng: inout CorpusRandom, _ n: Int, _ alphabet: [UInt8]) -> String {
        var b: [UInt8] = []
        for _ in 0..<n { b.append(alphabet[rng.below(alphabet.count)]) }
        return String(decoding: b, as: UTF8.self)
    }

    private static func twoDigits(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    private static func hexString(_ rng: inout CorpusRandom, digits: Int) -> String {
        randomChars(&rng, digits, lowerHex)
    }

    private static func uuidBytes(_ rng: inout CorpusRandom) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(36)
        let x = rng.next()
        let y = rng.next()
        writeUUID(x, y, into: &b)
        return b
    }

    private static func uuidString(_ rng: inout CorpusRandom) -> String {
        String(decoding: uuidBytes(&rng), as: UTF8.self)
    }

    @inline(__always)
    private static func writeUUID(_ a: UInt64, _ b: UInt64, into out: inout [UInt8]) {
        out.hex(a >> 32, digits: 8)
        out.append(45)
        out.hex(a >> 16, digits: 4)
        out.append(45)
        out.hex(0x4000 | (a & 0x0FFF), digits: 4)
        out.append(45)
        out.hex(0x8000 | ((b >> 48) & 0x3FFF), digits: 4)
        out.append(45)
        out.hex(b, digits: 12)
    }

    // MARK: Hot-path helpers

    @inline(__always)
    private mutating func advanceClock() {
        if meanGapMicros > 0 {
            clockMicros += Int64(rng.below(Int(meanGapMicros * 2) + 1))
        }
    }

    /// About half of the picks land in the first eighth of the pool, so a few principals are busy.
    @inline(__always)
    private mutating func skewedIndex(_ n: Int) -> Int {
        let r = rng.below(n)
        return rng.next() & 1 == 0 ? r : r >> 3
    }

    @inline(__always)
    private mutating func uuid(_ out: inout [UInt8]) {
        let a = rng.next()
        let b = rng.next()
        Self.writeUUID(a, b, into: &out)
    }

    /// `n` characters of [A-Z0-9] (S3 request ids).
    private mutating func upperAlnum(_ n: Int, _ out: inout [UInt8]) {
        for _ in 0..<n {
            let d = UInt8(truncatingIfNeeded: rng.below(36))
            out.append(d < 10 ? d &+ 48 : d &+ 55)
        }
    }

    /// `n` characters of [a-z0-9].
    private mutating func lowerAlnumChars(_ n: Int, _ out: inout [UInt8]) {
        for _ in 0..<n {
            let d = UInt8(truncatingIfNeeded: rng.below(36))
            out.append(d < 10 ? d &+ 48 : d &+ 87)
        }
    }

    /// `n` characters of the Kubernetes name-suffix alphabet.
    private mutating func kubeSuffixChars(_ n: Int, _ out: inout [UInt8]) {
        Self.kubeSuffix.withUnsafeBufferPointer { alphabet in
            for _ in 0..<n { out.append(alphabet[rng.below(alphabet.count)]) }
        }
    }

    /// `n` characters of base64 (the `x-amz-id-2` style).
    private mutating func base64Chars(_ n: Int, _ out: inout [UInt8]) {
        var bits: UInt64 = 0
        var left = 0
        for _ in 0..<n {
            if left < 6 {
                bits = rng.next()
                left = 64
            }
            let d = UInt8(truncatingIfNeeded: bits & 63)
            bits >>= 6
            left -= 6
            let c: UInt8
            switch d {
            case 0..<26: c = d &+ 65
            case 26..<52: c = d &+ 71
            case 52..<62: c = d &- 4
            case 62: c = 43
            default: c = 47
            }
            out.append(c)
        }
    }

    @inline(__always)
    private mutating func pickModel(_ team: Int) -> StaticString {
        Vocabulary.models[rng.percent(70) ? team : rng.below(Vocabulary.models.count)]
    }

    @inline(__always)
    private mutating func pickBucket(_ team: Int) -> Int {
        rng.percent(70) ? (team &* 7 &+ rng.below(3)) % buckets.count : rng.below(buckets.count)
    }

    // MARK: - CloudTrail

    /// Appends one AWS CloudTrail record (compact JSON, no newline).
    mutating func appendCloudTrailRecord(to out: inout [UInt8]) {
        advanceClock()
        cloudTrailRecords &+= 1
        let now = clockMicros / 1_000_000
        let event = eventTable[rng.below(eventTable.count)]
        let service = event.service
        let p = awsPrincipals[skewedIndex(awsPrincipals.count)]

        // SageMaker assumes the execution and pipeline roles itself.
        let asService = event == .assumeRole && p.role == .pipeline && rng.percent(80)
        var invokedBy: StaticString = ""
        var viaService = false
        if !asService {
            if p.role == .pipeline && event.invocableBySageMaker && rng.percent(50) {
                invokedBy = "sagemaker.amazonaws.com"
                viaService = true
            } else if service == .kms && rng.percent(40) {
                invokedBy = "s3.amazonaws.com"
                viaService = true
            }
        }
        let region = service == .iam ? 0 : (rng.percent(95) ? p.homeRegion : rng.below(Vocabulary.regions.count))
        let failed = !asService && !viaService && rng.perTenThousand(300)
        // Target of AssumeRole by the SageMaker service: the role of the picked principal.
        let account = p.account

        out.lit("{\"eventVersion\":\"")
        out.lit(rng.percent(30) ? "1.08" : "1.09")
        out.lit("\",\"userIdentity\":")
        if asService {
            out.lit("{\"type\":\"AWSService\",\"invokedBy\":\"sagemaker.amazonaws.com\"}")
        } else {
            out.put(p.identityHead)
            if p.hasSession {
                let age = (now - p.sessionPhase) % 3600
                out.isoSeconds(now - (age < 0 ? age + 3600 : age))
                out.put(p.identityTail)
            }
            if viaService {
                out.lit(",\"invokedBy\":\"")
                out.lit(invokedBy)
                out.append(34)
            }
            out.append(125)
        }
        out.lit(",\"eventTime\":\"")
        out.isoSeconds(now)
        out.lit("\",\"eventSource\":\"")
        out.lit(service.source)
        out.lit("\",\"eventName\":\"")
        out.lit(event.name)
        out.lit("\",\"awsRegion\":\"")
        out.lit(Vocabulary.regions[region])
        out.lit("\",\"sourceIPAddress\":\"")
        if asService {
            out.lit("sagemaker.amazonaws.com")
        } else if viaService {
            out.lit(invokedBy)
        } else {
            out.put(ips[rng.percent(85) ? p.homeIP : rng.below(ips.count)])
        }
        out.lit("\",\"userAgent\":\"")
        if asService {
            out.lit("sagemaker.amazonaws.com")
        } else if viaService {
            out.lit(invokedBy)
        } else if p.agentStyle == .cli {
            let bracket = service == .s3
            if bracket { out.append(91) }
            out.put(p.agent)
            out.lit(event.cliCommand)
            if bracket { out.append(93) }
        } else {
            out.put(p.agent)
        }
        out.append(34)
        if failed {
            out.lit(",\"errorCode\":\"AccessDenied\",\"errorMessage\":\"")
            if service == .s3 {
                out.lit("Access Denied")
            } else {
                out.lit("User: ")
                out.put(p.arn)
                out.lit(" is not authorized to perform: ")
                out.lit(service.actionPrefix)
                out.append(58)
                out.lit(event.name)
                out.lit(" because no identity-based policy allows the ")
                out.lit(service.actionPrefix)
                out.append(58)
                out.lit(event.name)
                out.lit(" action")
            }
            out.append(34)
        }

        var resources = resourcesScratch
        resourcesScratch = []
        resources.removeAll(keepingCapacity: true)
        var host = nameScratch
        nameScratch = []
        host.removeAll(keepingCapacity: true)

        writeParameters(
            event, p, account: account, region: region, now: now, failed: failed, asService: asService,
            out: &out, resources: &resources, host: &host)

        out.lit(",\"requestID\":\"")
        if service == .s3 {
            upperAlnum(16, &out)
        } else {
            uuid(&out)
        }
        out.lit("\",\"eventID\":\"")
        uuid(&out)
        out.lit(event.readOnly ? "\",\"readOnly\":true" : "\",\"readOnly\":false")
        if !resources.isEmpty {
            out.lit(",\"resources\":[")
            out.put(resources)
            out.append(93)
        }
        out.lit(",\"eventType\":\"AwsApiCall\"")
        out.lit(service == .s3 ? ",\"managementEvent\":false" : ",\"managementEvent\":true")
        out.lit(",\"recipientAccountId\":\"")
        out.put(account)
        out.append(34)
        if asService {
            out.lit(",\"sharedEventID\":\"")
            uuid(&out)
            out.append(34)
        }
        out.lit(service == .s3 ? ",\"eventCategory\":\"Data\"" : ",\"eventCategory\":\"Management\"")
        if !asService && (!viaService || service == .s3) {
            if rng.percent(85) {
                out.lit(",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"")
            } else {
                out.lit(",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.2\",\"cipherSuite\":\"ECDHE-RSA-AES128-GCM-SHA256\",\"clientProvidedHostHeader\":\"")
            }
            out.put(host)
            out.lit("\"}")
        }
        out.append(125)

        resourcesScratch = resources
        nameScratch = host
    }

    @inline(__always)
    private func regionalHost(_ prefix: StaticString, _ region: Int, _ host: inout [UInt8]) {
        host.lit(prefix)
        host.lit(Vocabulary.regions[region])
        host.lit(".amazonaws.com")
    }

    /// `requestParameters`, `responseElements` and `additionalEventData`; fills the resources array body and
    /// the TLS host header as a side effect.
    private mutating func writeParameters(
        _ event: CloudTrailEvent, _ p: AWSPrincipal, account: [UInt8], region: Int, now: Int64, failed: Bool,
        asService: Bool, out: inout [UInt8], resources: inout [UInt8], host: inout [UInt8]
    ) {
        let regionName = Vocabulary.regions[region]
        switch event.service {
        case .sagemaker:
            regionalHost("api.sagemaker.", region, &host)
            writeSageMaker(event, p, account: account, regionName: regionName, now: now, failed: failed, out: &out)
        case .s3:
            writeS3(event, p, account: account, regionName: regionName, region: region, now: now, failed: failed,
                    out: &out, resources: &resources, host: &host)
        case .sts:
            if rng.percent(60) {
                regionalHost("sts.", region, &host)
            } else {
                host.lit("sts.amazonaws.com")
            }
            if event == .getCallerIdentity {
                out.lit(",\"requestParameters\":null,\"responseElements\":null")
                return
            }
            // AssumeRole: a service assumes the picked role, or the picked principal assumes another role.
            let target = asService ? p : awsPrincipals[rng.below(awsPrincipals.count)]
            let targetRole = target.role == .iamUser ? awsPrincipals[0] : target
            out.lit(",\"requestParameters\":{\"roleArn\":\"")
            out.put(targetRole.issuerArn)
            out.lit("\",\"roleSessionName\":\"")
            if asService {
                out.put(p.sessionName)
            } else {
                out.put(p.userName)
                out.lit("-")
                out.decimal(Int(now))
            }
            out.lit("\",\"durationSeconds\":")
            out.decimal(asService ? 43_200 : 3600)
            out.append(125)
            if failed {
                out.lit(",\"responseElements\":null")
            } else {
                out.lit(",\"responseElements\":{\"credentials\":{\"accessKeyId\":\"ASIA")
                upperBase32Chars(16, &out)
                out.lit("\",\"sessionToken\":\"HIDDEN_DUE_TO_SECURITY_REASONS\",\"expiration\":\"")
                out.awsLongDate(now + (asService ? 43_200 : 3600))
                out.lit("\"},\"assumedRoleUser\":{\"assumedRoleId\":\"")
                out.put(targetRole.roleId)
                out.append(58)
                if asService { out.put(p.sessionName) } else { out.put(p.userName); out.lit("-"); out.decimal(Int(now)) }
                out.lit("\",\"arn\":\"arn:aws:sts::")
                out.put(targetRole.account)
                out.lit(":assumed-role/")
                out.put(targetRole.userName)
                out.append(47)
                if asService { out.put(p.sessionName) } else { out.put(p.userName); out.lit("-"); out.decimal(Int(now)) }
                out.lit("\"}}")
            }
            resources.lit("{\"accountId\":\"")
            resources.put(targetRole.account)
            resources.lit("\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"")
            resources.put(targetRole.issuerArn)
            resources.lit("\"}")
        case .kms:
            regionalHost("kms.", region, &host)
            let key = kmsKeys[p.team % kmsKeys.count]
            let bucket = buckets[pickBucket(p.team)]
            out.lit(",\"requestParameters\":{")
            if event == .generateDataKey {
                out.lit("\"keyId\":\"arn:aws:kms:")
                out.lit(regionName)
                out.append(58)
                out.put(account)
                out.lit(":key/")
                out.put(key)
                out.lit("\",\"keySpec\":\"AES_256\",")
            }
            out.lit("\"encryptionContext\":{\"aws:s3:arn\":\"arn:aws:s3:::")
            out.put(bucket)
            if rng.percent(50) {
                out.append(47)
                out.lit(pickModel(p.team))
                out.lit("/")
                out.isoDate(now - Int64(rng.below(5)) * 86_400)
                out.lit("/part-")
                out.padded(rng.below(2000), width: 5)
                out.lit(".parquet")
            }
            out.lit(event == .decrypt ? "\"},\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}" : "\"}}")
            out.lit(",\"responseElements\":null")
            resources.lit("{\"accountId\":\"")
            resources.put(account)
            resources.lit("\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"arn:aws:kms:")
            resources.lit(regionName)
            resources.append(58)
            resources.put(account)
            resources.lit(":key/")
            resources.put(key)
            resources.lit("\"}")
        case .iam:
            host.lit("iam.amazonaws.com")
            writeIAM(event, p, account: account, now: now, failed: failed, out: &out)
        case .ec2:
            regionalHost("ec2.", region, &host)
            switch event {
            case .describeInstances:
                if rng.percent(50) {
                    out.lit(",\"requestParameters\":{\"instancesSet\":{},\"filterSet\":{}}")
                } else {
                    out.lit(",\"requestParameters\":{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-0")
                    out.hex(rng.next(), digits: 16)
                    out.lit("\"}]},\"filterSet\":{}}")
                }
            case .describeSecurityGroups:
                out.lit(",\"requestParameters\":{\"securityGroupSet\":{\"items\":[{\"groupId\":\"sg-0")
                out.hex(rng.next(), digits: 16)
                out.lit("\"}]},\"securityGroupIdSet\":{},\"filterSet\":{}}")
            default:
                out.lit(",\"requestParameters\":{\"networkInterfaceIdSet\":{},\"filterSet\":{\"items\":[{\"name\":\"vpc-id\",\"valueSet\":{\"items\":[{\"value\":\"vpc-0")
                out.hex(UInt64(p.team) &* 0x9E37_79B9_7F4A_7C15, digits: 16)
                out.lit("\"}]}},{\"name\":\"subnet-id\",\"valueSet\":{\"items\":[{\"value\":\"subnet-0")
                out.hex(UInt64(p.team &+ rng.below(3)) &* 0xC2B2_AE3D_27D4_EB4F, digits: 16)
                out.lit("\"}]}}]}}")
            }
            out.lit(",\"responseElements\":null")
        case .logs:
            regionalHost("logs.", region, &host)
            let model = pickModel(p.team)
            switch event {
            case .createLogStream:
                out.lit(",\"requestParameters\":{\"logGroupName\":\"/aws/sagemaker/TrainingJobs\",\"logStreamName\":\"")
                out.lit(model)
                out.append(45)
                out.isoDateTime(now - Int64(rng.below(600)))
                out.lit("/algo-1-")
                out.decimal(Int(now) - rng.below(600))
                out.lit("\"}")
            case .describeLogStreams:
                out.lit(",\"requestParameters\":{\"logGroupName\":\"/aws/sagemaker/Endpoints/")
                out.lit(model)
                out.lit(rng.percent(70) ? "-prod" : "-staging")
                out.lit("\",\"orderBy\":\"LastEventTime\",\"descending\":true,\"limit\":50}")
            default:
                out.lit(",\"requestParameters\":{\"logGroupName\":\"/aws/sagemaker/ProcessingJobs/")
                out.lit(model)
                out.lit("\"}")
            }
            out.lit(",\"responseElements\":null")
        case .ecr:
            regionalHost("api.ecr.", region, &host)
            let model = pickModel(p.team)
            switch event {
            case .getAuthorizationToken:
                out.lit(",\"requestParameters\":{\"registryIds\":[\"")
                out.put(account)
                out.lit("\"]},\"responseElements\":null")
                return
            case .batchGetImage:
                out.lit(",\"requestParameters\":{\"imageIds\":[{\"imageTag\":\"1.")
                out.decimal(rng.below(20))
                out.append(46)
                out.decimal(rng.below(10))
                out.lit("\"}],\"acceptedMediaTypes\":[\"application/vnd.docker.distribution.manifest.v2+json\",\"application/vnd.oci.image.manifest.v1+json\"],\"repositoryName\":\"acme/")
                out.lit(model)
                out.lit("\",\"registryId\":\"")
                out.put(account)
                out.lit("\"},\"responseElements\":null")
            default:
                out.lit(",\"requestParameters\":{\"registryId\":\"")
                out.put(account)
                out.lit("\",\"repositoryName\":\"acme/")
                out.lit(model)
                out.lit("\",\"layerDigest\":\"sha256:")
                out.hex(rng.next(), digits: 16)
                out.hex(rng.next(), digits: 16)
                out.hex(rng.next(), digits: 16)
                out.hex(rng.next(), digits: 16)
                out.lit("\"},\"responseElements\":null")
            }
            resources.lit("{\"accountId\":\"")
            resources.put(account)
            resources.lit("\",\"ARN\":\"arn:aws:ecr:")
            resources.lit(regionName)
            resources.append(58)
            resources.put(account)
            resources.lit(":repository/acme/")
            resources.lit(model)
            resources.lit("\"}")
        }
    }

    private mutating func upperBase32Chars(_ n: Int, _ out: inout [UInt8]) {
        var bits = rng.next()
        for k in 0..<n {
            if k == 12 { bits = rng.next() }
            let d = UInt8(truncatingIfNeeded: bits & 31)
            bits >>= 5
            out.append(d < 26 ? d &+ 65 : d &+ 24)
        }
    }

    /// `<model>-YYYY-MM-DD-HH-MM-SS-mmm` (SageMaker Python SDK) or `pipelines-<id>-<Step>-<id>` (Pipelines).
    private mutating func jobName(_ team: Int, now: Int64, _ out: inout [UInt8]) {
        if rng.percent(55) {
            out.lit(pickModel(team))
            out.append(45)
            let c = civilDate(days: floorDiv(now, 86_400))
            let s = Int(now - floorDiv(now, 86_400) * 86_400)
            out.padded(c.year, width: 4)
            out.append(45)
            out.two(c.month)
            out.append(45)
            out.two(c.day)
            out.append(45)
            out.two(s / 3600)
            out.append(45)
            out.two(s / 60 % 60)
            out.append(45)
            out.two(s % 60)
            out.append(45)
            out.padded(rng.below(1000), width: 3)
        } else {
            out.lit("pipelines-")
            lowerAlnumChars(12, &out)
            out.append(45)
            out.lit(Vocabulary.pipelineSteps[rng.below(Vocabulary.pipelineSteps.count)])
            out.append(45)
            lowerAlnumChars(10, &out)
        }
    }

    private mutating func writeSageMaker(
        _ event: CloudTrailEvent, _ p: AWSPrincipal, account: [UInt8], regionName: StaticString, now: Int64,
        failed: Bool, out: inout [UInt8]
    ) {
        var name = nameScratch
        nameScratch = []
        name.removeAll(keepingCapacity: true)
        defer { nameScratch = name }
        let model = pickModel(p.team)

        // ARN prefix helper: arn:aws:sagemaker:<region>:<account>:
        func arnPrefix(_ out: inout [UInt8]) {
            out.lit("arn:aws:sagemaker:")
            out.lit(regionName)
            out.append(58)
            out.put(account)
            out.append(58)
        }

        switch event {
        case .createTrainingJob, .createProcessingJob:
            jobName(p.team, now: now, &name)
            let training = event == .createTrainingJob
            let bucket = buckets[pickBucket(p.team)]
            let artifacts = buckets[(pickBucket(p.team) + 1) % buckets.count]
            if training {
                out.lit(",\"requestParameters\":{\"trainingJobName\":\"")
                out.put(name)
                out.lit("\",\"hyperParameters\":{\"objective\":\"binary:logistic\",\"num_round\":\"")
                out.decimal(50 * (1 + rng.below(8)))
                out.lit("\",\"max_depth\":\"")
                out.decimal(3 + rng.below(8))
                out.lit("\"},\"algorithmSpecification\":{\"trainingImage\":\"683313688378.dkr.ecr.")
                out.lit(regionName)
                out.lit(".amazonaws.com/sagemaker-xgboost:1.7-1\",\"trainingInputMode\":\"File\"},\"roleArn\":\"")
                out.put(p.issuerArn)
                out.lit("\",\"inputDataConfig\":[")
                let channels = rng.percent(35) ? 2 : 1
                for c in 0..<channels {
                    if c > 0 { out.append(44) }
                    out.lit("{\"channelName\":\"")
                    out.lit(Vocabulary.splits[c])
                    out.lit("\",\"dataSource\":{\"s3DataSource\":{\"s3DataType\":\"S3Prefix\",\"s3Uri\":\"s3://")
                    out.put(bucket)
                    out.append(47)
                    out.lit(model)
                    out.append(47)
                    out.isoDate(now - 86_400)
                    out.append(47)
                    out.lit(Vocabulary.splits[c])
                    out.lit("/\"}},\"contentType\":\"text/csv\"}")
                }
                out.lit("],\"outputDataConfig\":{\"s3OutputPath\":\"s3://")
                out.put(artifacts)
                out.lit("/models/")
                out.lit(model)
                out.lit("/\"},\"resourceConfig\":{\"instanceType\":\"")
                out.lit(Vocabulary.instanceTypes[rng.below(Vocabulary.instanceTypes.count)])
                out.lit("\",\"instanceCount\":")
                out.decimal(rng.percent(80) ? 1 : 2)
                out.lit(",\"volumeSizeInGB\":")
                out.decimal(rng.percent(70) ? 30 : 100)
                out.lit("},\"stoppingCondition\":{\"maxRuntimeInSeconds\":86400},\"tags\":[{\"key\":\"team\",\"value\":\"")
                out.lit(model)
                out.lit("\"}]}")
                if failed {
                    out.lit(",\"responseElements\":null")
                } else {
                    out.lit(",\"responseElements\":{\"trainingJobArn\":\"")
                    arnPrefix(&out)
                    out.lit("training-job/")
                    out.put(name)
                    out.lit("\"}")
                }
            } else {
                out.lit(",\"requestParameters\":{\"processingJobName\":\"")
                out.put(name)
                out.lit("\",\"processingInputs\":[{\"inputName\":\"input-1\",\"s3Input\":{\"s3Uri\":\"s3://")
                out.put(bucket)
                out.append(47)
                out.lit(model)
                out.lit("/raw/\",\"localPath\":\"/opt/ml/processing/input\",\"s3DataType\":\"S3Prefix\",\"s3InputMode\":\"File\"}}],\"processingOutputConfig\":{\"outputs\":[{\"outputName\":\"train\",\"s3Output\":{\"s3Uri\":\"s3://")
                out.put(bucket)
                out.append(47)
                out.lit(model)
                out.lit("/features/\",\"localPath\":\"/opt/ml/processing/train\",\"s3UploadMode\":\"EndOfJob\"}}]},\"processingResources\":{\"clusterConfig\":{\"instanceCount\":1,\"instanceType\":\"ml.m5.xlarge\",\"volumeSizeInGB\":30}},\"appSpecification\":{\"imageUri\":\"")
                out.put(account)
                out.lit(".dkr.ecr.")
                out.lit(regionName)
                out.lit(".amazonaws.com/acme/")
                out.lit(model)
                out.lit("-preprocess:latest\"},\"roleArn\":\"")
                out.put(p.issuerArn)
                out.lit("\"}")
                if failed {
                    out.lit(",\"responseElements\":null")
                } else {
                    out.lit(",\"responseElements\":{\"processingJobArn\":\"")
                    arnPrefix(&out)
                    out.lit("processing-job/")
                    out.put(name)
                    out.lit("\"}")
                }
            }
        case .describeTrainingJob:
            jobName(p.team, now: now - Int64(rng.below(7200)), &name)
            out.lit(",\"requestParameters\":{\"trainingJobName\":\"")
            out.put(name)
            out.lit("\"},\"responseElements\":null")
        case .listTrainingJobs:
            out.lit(",\"requestParameters\":{\"maxResults\":100,\"sortBy\":\"CreationTime\",\"sortOrder\":\"Descending\"")
            if rng.percent(50) {
                out.lit(",\"nameContains\":\"")
                out.lit(model)
                out.append(34)
            }
            out.lit(",\"statusEquals\":\"InProgress\"},\"responseElements\":null")
        case .createModel:
            out.lit(",\"requestParameters\":{\"modelName\":\"")
            out.lit(model)
            out.lit("-v")
            out.decimal(1 + rng.below(40))
            out.lit("\",\"primaryContainer\":{\"image\":\"683313688378.dkr.ecr.")
            out.lit(regionName)
            out.lit(".amazonaws.com/sagemaker-xgboost:1.7-1\",\"modelDataUrl\":\"s3://")
            out.put(buckets[pickBucket(p.team)])
            out.lit("/models/")
            out.lit(model)
            out.append(47)
            jobName(p.team, now: now - 3600, &out)
            out.lit("/output/model.tar.gz\",\"environment\":{\"SAGEMAKER_PROGRAM\":\"inference.py\",\"SAGEMAKER_CONTAINER_LOG_LEVEL\":\"20\"}},\"executionRoleArn\":\"")
            out.put(p.issuerArn)
            out.lit("\",\"enableNetworkIsolation\":false}")
            if failed {
                out.lit(",\"responseElements\":null")
            } else {
                out.lit(",\"responseElements\":{\"modelArn\":\"")
                arnPrefix(&out)
                out.lit("model/")
                out.lit(model)
                out.lit("\"}")
            }
        case .createEndpointConfig:
            out.lit(",\"requestParameters\":{\"endpointConfigName\":\"")
            out.lit(model)
            out.lit("-config-")
            out.decimal(Int(now) - rng.below(100))
            out.lit("\",\"productionVariants\":[{\"variantName\":\"AllTraffic\",\"modelName\":\"")
            out.lit(model)
            out.lit("-v")
            out.decimal(1 + rng.below(40))
            out.lit("\",\"initialInstanceCount\":")
            out.decimal(1 + rng.below(4))
            out.lit(",\"instanceType\":\"ml.m5.xlarge\",\"initialVariantWeight\":1.0}],\"dataCaptureConfig\":{\"enableCapture\":true,\"initialSamplingPercentage\":20,\"destinationS3Uri\":\"s3://acme-ml-inference-capture/")
            out.lit(model)
            out.lit("\"},\"kmsKeyId\":\"alias/sagemaker-endpoints\"}")
            if failed {
                out.lit(",\"responseElements\":null")
            } else {
                out.lit(",\"responseElements\":{\"endpointConfigArn\":\"")
                arnPrefix(&out)
                out.lit("endpoint-config/")
                out.lit(model)
                out.lit("-config\"}")
            }
        case .createEndpoint, .updateEndpoint, .describeEndpoint:
            out.lit(",\"requestParameters\":{\"endpointName\":\"")
            out.lit(model)
            let prod = rng.percent(60)
            let stage: StaticString = prod ? "-prod" : "-staging"
            out.lit(stage)
            if event == .describeEndpoint {
                out.lit("\"},\"responseElements\":null")
                return
            }
            out.lit("\",\"endpointConfigName\":\"")
            out.lit(model)
            out.lit("-config-")
            out.decimal(Int(now) - rng.below(5000))
            if event == .createEndpoint {
                out.lit("\",\"tags\":[{\"key\":\"team\",\"value\":\"")
                out.lit(model)
                out.lit("\"},{\"key\":\"environment\",\"value\":\"")
                out.lit(prod ? "production" : "staging")
                out.lit("\"}]}")
            } else {
                out.lit("\",\"retainAllVariantProperties\":false,\"retainDeploymentConfig\":false}")
            }
            if failed {
                out.lit(",\"responseElements\":null")
            } else {
                out.lit(",\"responseElements\":{\"endpointArn\":\"")
                arnPrefix(&out)
                out.lit("endpoint/")
                out.lit(model)
                out.lit(stage)
                out.lit("\"}")
            }
        case .listEndpoints:
            out.lit(",\"requestParameters\":{\"sortBy\":\"CreationTime\",\"sortOrder\":\"Descending\",\"maxResults\":50")
            if rng.percent(40) {
                out.lit(",\"nameContains\":\"")
                out.lit(model)
                out.append(34)
            }
            out.lit("},\"responseElements\":null")
        case .createModelPackage:
            out.lit(",\"requestParameters\":{\"modelPackageGroupName\":\"")
            out.lit(model)
            out.lit("\",\"modelPackageDescription\":\"Trained by ")
            jobName(p.team, now: now - 1800, &out)
            out.lit("\",\"inferenceSpecification\":{\"containers\":[{\"image\":\"683313688378.dkr.ecr.")
            out.lit(regionName)
            out.lit(".amazonaws.com/sagemaker-xgboost:1.7-1\",\"modelDataUrl\":\"s3://acme-ml-model-artifacts/models/")
            out.lit(model)
            out.lit("/output/model.tar.gz\"}],\"supportedContentTypes\":[\"text/csv\"],\"supportedResponseMIMETypes\":[\"text/csv\"]},\"modelApprovalStatus\":\"PendingManualApproval\"}")
            if failed {
                out.lit(",\"responseElements\":null")
            } else {
                out.lit(",\"responseElements\":{\"modelPackageArn\":\"")
                arnPrefix(&out)
                out.lit("model-package/")
                out.lit(model)
                out.append(47)
                out.decimal(1 + rng.below(40))
                out.lit("\"}")
            }
        case .updateModelPackage:
            let version = 1 + rng.below(40)
            out.lit(",\"requestParameters\":{\"modelPackageArn\":\"")
            arnPrefix(&out)
            out.lit("model-package/")
            out.lit(model)
            out.append(47)
            out.decimal(version)
            if rng.percent(75) {
                out.lit("\",\"modelApprovalStatus\":\"Approved\",\"approvalDescription\":\"Passed offline evaluation, AUC above threshold\"}")
            } else {
                out.lit("\",\"modelApprovalStatus\":\"Rejected\",\"approvalDescription\":\"Bias metrics out of range\"}")
            }
            if failed {
                out.lit(",\"responseElements\":null")
            } else {
                out.lit(",\"responseElements\":{\"modelPackageArn\":\"")
                arnPrefix(&out)
                out.lit("model-package/")
                out.lit(model)
                out.append(47)
                out.decimal(version)
                out.lit("\"}")
            }
        case .listModelPackages:
            out.lit(",\"requestParameters\":{\"modelPackageGroupName\":\"")
            out.lit(model)
            out.lit(rng.percent(50)
                ? "\",\"modelApprovalStatus\":\"Approved\",\"sortBy\":\"CreationTime\",\"sortOrder\":\"Descending\",\"maxResults\":10},\"responseElements\":null"
                : "\",\"sortBy\":\"CreationTime\",\"sortOrder\":\"Descending\",\"maxResults\":100},\"responseElements\":null")
        case .describeModelPackage:
            out.lit(",\"requestParameters\":{\"modelPackageName\":\"")
            arnPrefix(&out)
            out.lit("model-package/")
            out.lit(model)
            out.append(47)
            out.decimal(1 + rng.below(40))
            out.lit("\"},\"responseElements\":null")
        default:
            // describePipelineExecution
            out.lit(",\"requestParameters\":{\"pipelineExecutionArn\":\"")
            arnPrefix(&out)
            out.lit("pipeline/")
            out.lit(model)
            out.lit("-pipeline/execution/")
            lowerAlnumChars(12, &out)
            out.lit("\"},\"responseElements\":null")
        }
    }

    private mutating func writeS3(
        _ event: CloudTrailEvent, _ p: AWSPrincipal, account: [UInt8], regionName: StaticString, region: Int,
        now: Int64, failed: Bool, out: inout [UInt8], resources: inout [UInt8], host: inout [UInt8]
    ) {
        let bucketIndex = pickBucket(p.team)
        let bucket = buckets[bucketIndex]
        host.put(bucket)
        host.lit(".s3.")
        if region == 0 && rng.percent(30) {
            host.lit("amazonaws.com")
        } else {
            host.lit(Vocabulary.regions[region])
            host.lit(".amazonaws.com")
        }
        var key = nameScratch
        nameScratch = []
        key.removeAll(keepingCapacity: true)
        defer { nameScratch = key }
        let model = pickModel(p.team)

        if event == .listObjects {
            out.lit(",\"requestParameters\":{\"list-type\":\"2\",\"bucketName\":\"")
            out.put(bucket)
            out.lit("\",\"encoding-type\":\"url\",\"max-keys\":\"1000\",\"prefix\":\"")
            out.lit(model)
            out.lit("/\",\"delimiter\":\"/\",\"Host\":\"")
            out.put(host)
            out.lit("\"},\"responseElements\":null")
        } else {
            // Object key; a small share carries a non-ASCII character (escaped in JSON).
            let accented = rng.perTenThousand(150)
            switch rng.below(8) {
            case 0..<4:
                if accented { key.lit("caf\\u00e9-") }
                key.lit(model)
                key.append(47)
                key.isoDate(now - Int64(rng.below(10)) * 86_400)
                key.append(47)
                key.lit(Vocabulary.splits[rng.below(3)])
                key.lit("/part-")
                key.padded(rng.below(2000), width: 5)
                key.lit(".csv")
            case 4, 5:
                key.lit("models/")
                key.lit(model)
                key.lit("/v")
                key.decimal(1 + rng.below(40))
                key.lit(accented ? "/mod\\u00e8le.tar.gz" : "/model.tar.gz")
            case 6:
                key.lit("features/")
                key.lit(model)
                key.lit("/dt=")
                key.isoDate(now - Int64(rng.below(30)) * 86_400)
                key.lit(accented ? "/r\\u00e9sum\\u00e9-" : "/part-")
                key.padded(rng.below(200), width: 5)
                key.lit(".parquet")
            default:
                key.lit("capture/")
                key.lit(model)
                key.append(47)
                let c = civilDate(days: floorDiv(now, 86_400))
                key.padded(c.year, width: 4)
                key.append(47)
                key.two(c.month)
                key.append(47)
                key.two(c.day)
                key.append(47)
                key.two(Int(now % 86_400) / 3600)
                key.append(47)
                key.two(rng.below(60))
                key.append(45)
                key.two(rng.below(60))
                key.append(45)
                key.hex(rng.next(), digits: 8)
                key.lit(accented ? "-donn\\u00e9es.jsonl" : ".jsonl")
            }
            out.lit(",\"requestParameters\":{\"bucketName\":\"")
            out.put(bucket)
            out.lit("\",\"Host\":\"")
            out.put(host)
            out.lit("\",\"key\":\"")
            out.put(key)
            // PutObject: SSE-KMS requested explicitly, or the bucket default (SSE-S3); versioned buckets only
            // for the canonical ones.
            let kms = event == .putObject && rng.percent(40)
            out.lit(kms ? "\",\"x-amz-server-side-encryption\":\"aws:kms\"}" : "\"}")
            if event == .putObject && !failed {
                if kms {
                    out.lit(",\"responseElements\":{\"x-amz-server-side-encryption\":\"aws:kms\",\"x-amz-server-side-encryption-aws-kms-key-id\":\"arn:aws:kms:")
                    out.lit(regionName)
                    out.append(58)
                    out.put(account)
                    out.lit(":key/")
                    out.put(kmsKeys[p.team % kmsKeys.count])
                    out.append(34)
                } else {
                    out.lit(",\"responseElements\":{\"x-amz-server-side-encryption\":\"AES256\"")
                }
                if bucketIndex < 4 {
                    out.lit(",\"x-amz-version-id\":\"")
                    base64Chars(32, &out)
                    out.append(34)
                }
                out.append(125)
            } else {
                out.lit(",\"responseElements\":null")
            }
        }
        out.lit(",\"additionalEventData\":{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":")
        let size = 1024 + rng.below(50_000_000)
        out.decimal(event == .putObject ? size : 0)
        out.lit(",\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"")
        base64Chars(76, &out)
        out.lit("\",\"bytesTransferredOut\":")
        out.decimal(event == .getObject && !failed ? size : (event == .listObjects ? 1200 + rng.below(40_000) : 0))
        out.append(125)

        if event != .listObjects {
            resources.lit("{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::")
            resources.put(bucket)
            resources.append(47)
            resources.put(key)
            resources.lit("\"},")
        }
        resources.lit("{\"accountId\":\"")
        resources.put(account)
        resources.lit("\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::")
        resources.put(bucket)
        resources.lit("\"}")
    }

    private mutating func writeIAM(
        _ event: CloudTrailEvent, _ p: AWSPrincipal, account: [UInt8], now: Int64, failed: Bool, out: inout [UInt8]
    ) {
        let target = awsPrincipals[rng.below(awsPrincipals.count)]
        switch event {
        case .getRole, .listAttachedRolePolicies:
            out.lit(",\"requestParameters\":{\"roleName\":\"")
            out.put(target.role == .iamUser ? awsPrincipals[0].userName : target.userName)
            out.lit("\"},\"responseElements\":null")
        case .createAccessKey:
            let user: [UInt8] = target.role == .iamUser ? target.userName : p.userName
            out.lit(",\"requestParameters\":{\"userName\":\"")
            out.put(user)
            out.append(34)
            out.append(125)
            if failed {
                out.lit(",\"responseElements\":null")
            } else {
                out.lit(",\"responseElements\":{\"accessKey\":{\"userName\":\"")
                out.put(user)
                out.lit("\",\"accessKeyId\":\"AKIA")
                upperBase32Chars(16, &out)
                out.lit("\",\"status\":\"Active\",\"createDate\":\"")
                out.awsLongDate(now)
                out.lit("\"}}")
            }
        case .attachRolePolicy:
            out.lit(",\"requestParameters\":{\"roleName\":\"")
            out.put(target.role == .iamUser ? awsPrincipals[0].userName : target.userName)
            out.lit("\",\"policyArn\":\"")
            out.lit(Vocabulary.managedPolicies[rng.below(Vocabulary.managedPolicies.count)])
            out.lit("\"},\"responseElements\":null")
        case .putRolePolicy:
            // The policy document is a JSON string inside JSON: escaped quotes, newlines and slashes.
            let bucket = buckets[pickBucket(p.team)]
            out.lit(",\"requestParameters\":{\"roleName\":\"")
            out.put(target.role == .iamUser ? awsPrincipals[0].userName : target.userName)
            out.lit("\",\"policyName\":\"")
            out.lit(pickModel(p.team))
            out.lit("-s3-access\",\"policyDocument\":\"{\\n  \\\"Version\\\": \\\"2012-10-17\\\",\\n  \\\"Statement\\\": [\\n    {\\n      \\\"Effect\\\": \\\"Allow\\\",\\n      \\\"Action\\\": [\\\"s3:GetObject\\\", \\\"s3:PutObject\\\"],\\n      \\\"Resource\\\": \\\"arn:aws:s3:::")
            out.put(bucket)
            out.lit("\\/*\\\"\\n    }\\n  ]\\n}\"},\"responseElements\":null")
        default:
            // getPolicyVersion
            out.lit(",\"requestParameters\":{\"policyArn\":\"")
            out.lit(Vocabulary.managedPolicies[rng.below(Vocabulary.managedPolicies.count)])
            out.lit("\",\"versionId\":\"v")
            out.decimal(1 + rng.below(9))
            out.lit("\"},\"responseElements\":null")
        }
    }

    // MARK: - Kubernetes

    /// Appends one Kubernetes audit event (`audit.k8s.io/v1`, compact JSON, no newline).
    mutating func appendKubernetesAuditRecord(to out: inout [UInt8]) {
        advanceClock()
        kubernetesRecords &+= 1
        resourceVersion &+= 1 + rng.below(8)
        let p = kubePrincipals[skewedIndex(kubePrincipals.count)]
        let op = p.ops[rng.below(p.ops.count)]

        let stageRoll = rng.below(100)
        let stage: KubeStage
        if stageRoll < 20 {
            stage = .requestReceived
        } else if op.longRunning && stageRoll < 35 {
            stage = .responseStarted
        } else {
            stage = .responseComplete
        }
        let withBody = op.hasBody && rng.percent(45)
        let requestLevel = withBody || rng.percent(4)

        // Namespace and object name.
        var ns = nameScratch
        nameScratch = []
        ns.removeAll(keepingCapacity: true)
        var objectName = resourcesScratch
        resourcesScratch = []
        objectName.removeAll(keepingCapacity: true)
        defer {
            nameScratch = ns
            resourcesScratch = objectName
        }
        let model = Vocabulary.models[rng.percent(70) ? p.team : rng.below(Vocabulary.models.count)]
        if !op.clusterScoped {
            chooseNamespace(op, p, &ns)
        }
        if op.hasName {
            objectNameFor(op, p, model: model, namespace: ns, &objectName)
        }

        // Outcome.
        var code = op.isCreate ? 201 : 200
        if op == .createPodExec { code = 101 }
        if op.isGet && rng.perTenThousand(150) { code = 404 }
        if p.kind == .human && rng.perTenThousand(300) { code = 403 }

        out.lit("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"")
        out.lit(requestLevel ? "Request" : "Metadata")
        out.lit("\",\"auditID\":\"")
        uuid(&out)
        out.lit("\",\"stage\":\"")
        out.lit(stage.name)
        out.lit("\",\"requestURI\":\"")
        writeRequestURI(op, namespace: ns, name: objectName, &out)
        out.lit("\",\"verb\":\"")
        out.lit(op.verb)
        out.lit("\",\"user\":")
        out.put(p.user)
        out.lit(",\"sourceIPs\":[\"")
        if p.sourceIP.isEmpty {
            out.put(ips[rng.percent(90) ? p.homeIP : rng.below(ips.count)])
        } else {
            out.put(p.sourceIP)
        }
        out.lit("\"],\"userAgent\":\"")
        out.put(p.agent)
        out.lit("\",\"objectRef\":{\"resource\":\"")
        out.lit(op.resource)
        out.append(34)
        if !ns.isEmpty {
            out.lit(",\"namespace\":\"")
            out.put(ns)
            out.append(34)
        }
        if !objectName.isEmpty {
            out.lit(",\"name\":\"")
            out.put(objectName)
            out.append(34)
        }
        if op.group.utf8CodeUnitCount > 0 {
            out.lit(",\"apiGroup\":\"")
            out.lit(op.group)
            out.append(34)
        }
        out.lit(",\"apiVersion\":\"")
        out.lit(op.version)
        out.append(34)
        if op.subresource.utf8CodeUnitCount > 0 {
            out.lit(",\"subresource\":\"")
            out.lit(op.subresource)
            out.append(34)
        }
        out.append(125)
        if stage != .requestReceived {
            if code == 404 {
                out.lit(",\"responseStatus\":{\"metadata\":{},\"status\":\"Failure\",\"message\":\"")
                out.lit(op.resource)
                out.lit(" \\\"")
                out.put(objectName)
                out.lit("\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"")
                out.put(objectName)
                out.lit("\",\"kind\":\"")
                out.lit(op.resource)
                out.lit("\"},\"code\":404}")
            } else if code == 403 {
                out.lit(",\"responseStatus\":{\"metadata\":{},\"status\":\"Failure\",\"message\":\"")
                out.lit(op.resource)
                out.lit(" is forbidden: User \\\"")
                out.put(p.name)
                out.lit("\\\" cannot ")
                out.lit(op.verb)
                out.lit(" resource \\\"")
                out.lit(op.resource)
                out.lit("\\\" in API group \\\"")
                out.lit(op.group)
                out.lit("\\\" in the namespace \\\"")
                out.put(ns)
                out.lit("\\\"\",\"reason\":\"Forbidden\",\"details\":{\"kind\":\"")
                out.lit(op.resource)
                out.lit("\"},\"code\":403}")
            } else {
                out.lit(",\"responseStatus\":{\"metadata\":{},\"code\":")
                out.decimal(stage == .responseStarted && op == .createPodExec ? 101 : code)
                out.append(125)
            }
        }
        if withBody {
            out.lit(",\"requestObject\":")
            writeRequestObject(op, p, model: model, namespace: ns, name: objectName, &out)
        }

        // Timestamps: the log is ordered by stageTimestamp, so the request started `latency` earlier.
        let stageTime = clockMicros
        var latency: Int64 = 0
        if stage != .requestReceived {
            if op.longRunning {
                latency = stage == .responseStarted
                    ? Int64(200 + rng.below(5_000))
                    : Int64(60 + rng.below(540)) * 1_000_000 + Int64(rng.below(1_000_000))
            } else {
                latency = Int64(800 + rng.below(op.isGet ? 8_000 : 40_000))
            }
        }
        out.lit(",\"requestReceivedTimestamp\":\"")
        out.isoMicros(stageTime - latency)
        out.lit("\",\"stageTimestamp\":\"")
        out.isoMicros(stageTime)
        out.append(34)
        if stage != .requestReceived {
            if code == 403 {
                out.lit(",\"annotations\":{\"authorization.k8s.io/decision\":\"forbid\",\"authorization.k8s.io/reason\":\"\"}")
            } else {
                out.lit(",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"")
                out.put(p.reason)
                out.append(34)
                if op == .createPod {
                    out.lit(",\"pod-security.kubernetes.io/enforce-policy\":\"baseline:latest\"")
                }
                out.append(125)
            }
        }
        out.append(125)
    }

    /// Appends a CloudTrail record (about 70% of calls) or a Kubernetes audit event (30%), chosen by the
    /// seeded stream. Returns true for CloudTrail.
    @discardableResult
    mutating func appendMixedRecord(to out: inout [UInt8]) -> Bool {
        if rng.below(10) < 7 {
            appendCloudTrailRecord(to: &out)
            return true
        }
        appendKubernetesAuditRecord(to: &out)
        return false
    }

    private enum KubeStage {
        case requestReceived, responseStarted, responseComplete

        var name: StaticString {
            switch self {
            case .requestReceived: return "RequestReceived"
            case .responseStarted: return "ResponseStarted"
            case .responseComplete: return "ResponseComplete"
            }
        }
    }

    private mutating func chooseNamespace(_ op: KubeOp, _ p: KubePrincipal, _ ns: inout [UInt8]) {
        switch p.kind {
        case .node:
            if op == .getLease || op == .updateLease {
                ns.lit("kube-node-lease")
                return
            }
        case .controlPlane:
            if op == .getLease || op == .updateLease {
                ns.lit("kube-system")
                return
            }
        case .serviceAccount:
            ns.put(p.namespace)
            return
        case .human:
            let r = rng.below(100)
            if r < 50 {
                ns.put(p.namespace)
            } else if r < 75 {
                ns.lit("kserve-inference")
            } else if r < 90 {
                ns.lit("kubeflow")
            } else {
                ns.lit("default")
            }
            return
        }
        let r = rng.below(100)
        if r < 40 {
            ns.lit("kubeflow")
        } else if r < 65 {
            ns.lit("kserve-inference")
        } else if r < 80 {
            ns.lit("kube-system")
        } else if r < 88 {
            ns.lit("default")
        } else {
            // Another user's profile namespace.
            let i = rng.below(kubePrincipals.count)
            let j = i - i % 10 + 6
            if j < kubePrincipals.count {
                ns.put(kubePrincipals[j].namespace)
            } else {
                ns.lit("default")
            }
        }
    }

    private mutating func podName(model: StaticString, namespace: [UInt8], _ out: inout [UInt8]) {
        if namespace.starts(with: Array("kserve".utf8)) {
            out.lit(model)
            out.lit("-predictor-0000")
            out.decimal(1 + rng.below(9))
            out.lit("-deployment-")
            out.hex(rng.next(), digits: 9)
            out.append(45)
            kubeSuffixChars(5, &out)
        } else if namespace.starts(with: Array("kube-system".utf8)) {
            out.lit(rng.percent(50) ? "coredns-" : "ebs-csi-controller-")
            out.hex(rng.next(), digits: 10)
            out.append(45)
            kubeSuffixChars(5, &out)
        } else {
            out.lit(model)
            out.lit("-pipeline-")
            kubeSuffixChars(5, &out)
            out.lit(rng.percent(60) ? "-system-container-impl-" : "-system-dag-driver-")
            out.decimal(1_000_000_000 + rng.below(3_000_000_000))
        }
    }

    private mutating func objectNameFor(
        _ op: KubeOp, _ p: KubePrincipal, model: StaticString, namespace: [UInt8], _ out: inout [UInt8]
    ) {
        switch op {
        case .getConfigMap, .watchConfigMap:
            let r = rng.below(100)
            if r < 60 {
                out.lit("kube-root-ca.crt")
            } else if r < 75 {
                out.lit("kfp-launcher")
            } else if r < 90 {
                out.lit(model)
                out.lit("-config")
            } else {
                out.lit("inferenceservice-config")
            }
        case .getSecret:
            let r = rng.below(100)
            if r < 40 {
                out.lit("mlpipeline-minio-artifact")
            } else if r < 80 {
                out.lit(model)
                out.lit("-s3-credentials")
            } else {
                out.lit("default-token-")
                kubeSuffixChars(5, &out)
            }
        case .getPod, .createPod, .deletePod, .patchPodStatus, .getPodLog, .createPodExec:
            podName(model: model, namespace: namespace, &out)
        case .createEvent:
            podName(model: model, namespace: namespace, &out)
            out.append(46)
            out.hex(rng.next(), digits: 16)
        case .getLease, .updateLease:
            out.put(p.name)
        case .getInferenceService, .patchInferenceService:
            out.lit(model)
            if rng.percent(20) { out.lit("-canary") }
        case .patchWorkflow:
            out.lit(model)
            out.lit("-pipeline-")
            kubeSuffixChars(5, &out)
        case .createToken:
            let r = rng.below(4)
            out.lit(r == 0 ? "pipeline-runner" : (r == 1 ? "default" : (r == 2 ? "default-editor" : "aws-node")))
        case .getDeployment, .updateDeploymentStatus:
            out.lit(model)
            out.lit("-predictor-00001-deployment")
        default:
            break
        }
    }

    private mutating func writeRequestURI(_ op: KubeOp, namespace: [UInt8], name: [UInt8], _ out: inout [UInt8]) {
        if op.group.utf8CodeUnitCount == 0 {
            out.lit("/api/v1")
        } else {
            out.lit("/apis/")
            out.lit(op.group)
            out.append(47)
            out.lit(op.version)
        }
        if !namespace.isEmpty {
            out.lit("/namespaces/")
            out.put(namespace)
        }
        out.append(47)
        out.lit(op.resource)
        if !name.isEmpty {
            out.append(47)
            out.put(name)
        }
        if op.subresource.utf8CodeUnitCount > 0 {
            out.append(47)
            out.lit(op.subresource)
        }
        switch op {
        case .watchConfigMap, .watchPods, .watchInferenceServices:
            let timeout = 300 + rng.below(300)
            if op == .watchConfigMap {
                out.lit("?allowWatchBookmarks=true&fieldSelector=metadata.name%3D")
                out.put(name)
                out.lit("&resourceVersion=")
            } else {
                out.lit("?allowWatchBookmarks=true&resourceVersion=")
            }
            out.decimal(resourceVersion - rng.below(5000))
            out.lit("&timeout=")
            out.decimal(timeout / 60)
            out.append(109)
            out.decimal(timeout % 60)
            out.lit("s&timeoutSeconds=")
            out.decimal(timeout)
            out.lit("&watch=true")
        case .listPods, .listSecrets, .listWorkflows, .listScheduledWorkflows:
            out.lit(rng.percent(50) ? "?limit=500&resourceVersion=0" : "?limit=500")
        case .getPodLog:
            out.lit("?container=main&follow=true&tailLines=100")
        case .createPodExec:
            out.lit("?command=sh&container=main&stdin=true&stdout=true&tty=true")
        case .createPod, .createEvent:
            if rng.percent(30) { out.lit("?fieldManager=kubectl-client-side-apply&fieldValidation=Strict") }
        case .patchPodStatus:
            break
        default:
            if (op == .updateLease || op == .updateDeploymentStatus) && rng.percent(30) {
                out.lit("?timeout=10s")
            }
        }
    }

    private mutating func writeRequestObject(
        _ op: KubeOp, _ p: KubePrincipal, model: StaticString, namespace: [UInt8], name: [UInt8], _ out: inout [UInt8]
    ) {
        switch op {
        case .createPod:
            out.lit("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"")
            out.put(name)
            out.lit("\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\",\"creationTimestamp\":null,\"labels\":{\"workflows.argoproj.io/workflow\":\"")
            out.lit(model)
            out.lit("-pipeline-")
            kubeSuffixChars(5, &out)
            out.lit("\",\"pipelines.kubeflow.org/v2_component\":\"true\"}},\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"111122223333.dkr.ecr.us-east-1.amazonaws.com/acme/")
            out.lit(model)
            out.lit(":1.")
            out.decimal(rng.below(20))
            out.append(46)
            out.decimal(rng.below(10))
            out.lit("\",\"command\":[\"/var/run/argo/argoexec\",\"emissary\",\"--\",\"/kfp-launcher/launch\"],\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"8Gi\"},\"requests\":{\"cpu\":\"1\",\"memory\":\"4Gi\"}},\"securityContext\":{\"allowPrivilegeEscalation\":false,\"runAsNonRoot\":true,\"runAsUser\":1000}}],\"restartPolicy\":\"Never\",\"serviceAccountName\":\"pipeline-runner\"},\"status\":{}}")
        case .createEvent:
            out.lit("{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"")
            out.put(name)
            out.lit("\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\",\"creationTimestamp\":null},\"involvedObject\":{\"kind\":\"Pod\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\",\"apiVersion\":\"v1\"},\"reason\":\"")
            let r = rng.below(3)
            out.lit(r == 0 ? "Pulled" : (r == 1 ? "Started" : "Scheduled"))
            out.lit("\",\"message\":\"")
            out.lit(r == 0 ? "Container image already present on machine" : (r == 1 ? "Started container main" : "Successfully assigned pod to node"))
            out.lit("\",\"source\":{\"component\":\"kubelet\"},\"firstTimestamp\":\"")
            out.isoSeconds(clockMicros / 1_000_000)
            out.lit("\",\"lastTimestamp\":\"")
            out.isoSeconds(clockMicros / 1_000_000)
            out.lit("\",\"count\":1,\"type\":\"Normal\",\"eventTime\":null,\"reportingComponent\":\"kubelet\",\"reportingInstance\":\"\"}")
        case .updateLease:
            out.lit("{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{\"name\":\"")
            out.put(name)
            out.lit("\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\",\"resourceVersion\":\"")
            out.decimal(resourceVersion - 1 - rng.below(100))
            out.lit("\"},\"spec\":{\"holderIdentity\":\"")
            out.put(name)
            out.lit("\",\"leaseDurationSeconds\":40,\"renewTime\":\"")
            out.isoMicros(clockMicros - Int64(rng.below(2000)))
            out.lit("\"}}")
        case .patchPodStatus:
            out.lit("{\"metadata\":{\"uid\":\"")
            uuid(&out)
            out.lit("\"},\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"PodReadyToStartContainers\"},{\"type\":\"Initialized\"},{\"type\":\"Ready\"},{\"type\":\"ContainersReady\"},{\"type\":\"PodScheduled\"}],\"conditions\":[{\"lastTransitionTime\":\"")
            out.isoSeconds(clockMicros / 1_000_000)
            out.lit("\",\"status\":\"True\",\"type\":\"Ready\"}]}}")
        case .patchInferenceService:
            out.lit("{\"spec\":{\"predictor\":{\"model\":{\"storageUri\":\"s3://acme-ml-model-artifacts/models/")
            out.lit(model)
            out.lit("/v")
            out.decimal(1 + rng.below(40))
            out.lit("/\"}}}}")
        case .patchWorkflow:
            out.lit("{\"metadata\":{\"labels\":{\"workflows.argoproj.io/completed\":\"true\",\"workflows.argoproj.io/phase\":\"")
            out.lit(rng.percent(90) ? "Succeeded" : "Failed")
            out.lit("\"}}}")
        case .createToken:
            out.lit("{\"kind\":\"TokenRequest\",\"apiVersion\":\"authentication.k8s.io/v1\",\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"audiences\":[\"https://kubernetes.default.svc\"],\"expirationSeconds\":3607,\"boundObjectRef\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":\"")
            podName(model: model, namespace: namespace, &out)
            out.lit("\",\"uid\":\"")
            uuid(&out)
            out.lit("\"}},\"status\":{\"token\":\"\",\"expirationTimestamp\":null}}")
        case .updateDeploymentStatus:
            out.lit("{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"")
            out.put(name)
            out.lit("\",\"namespace\":\"")
            out.put(namespace)
            out.lit("\"},\"status\":{\"observedGeneration\":")
            out.decimal(1 + rng.below(30))
            out.lit(",\"replicas\":2,\"updatedReplicas\":2,\"readyReplicas\":2,\"availableReplicas\":2}}")
        case .createTokenReview:
            out.lit("{\"kind\":\"TokenReview\",\"apiVersion\":\"authentication.k8s.io/v1\",\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"audiences\":[\"https://kubernetes.default.svc\"]},\"status\":{\"user\":{}}}")
        default:
            out.lit("{\"kind\":\"SubjectAccessReview\",\"apiVersion\":\"authorization.k8s.io/v1\",\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"resourceAttributes\":{\"namespace\":\"kubeflow\",\"verb\":\"get\",\"resource\":\"pods\"},\"user\":\"system:serviceaccount:kubeflow:ml-pipeline\"},\"status\":{\"allowed\":false}}")
        }
    }
}
