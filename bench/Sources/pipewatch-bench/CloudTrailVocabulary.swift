import Foundation
import PipewatchEvents

enum AWSService: UInt8 {
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

enum CloudTrailEvent: UInt8, CaseIterable {
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

enum AWSPrincipalRole {
    case pipeline, human, iamUser, automation
}

enum AgentStyle {
    case plain, cli
}

struct AWSPrincipal {
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
