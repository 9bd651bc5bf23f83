import PipewatchEvents
import Testing

/// CloudTrail records modelled on samples/cloudtrail (same field names, nesting and value styles).
enum CloudTrailRecords {
    /// bob's failed console sign-in: errorMessage and responseElements.ConsoleLogin "Failure", but no errorCode,
    /// no requestID and no userIdentity.arn.
    static let consoleLoginFailure = #"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAZGGWILVDDNL3DWQOU","accountId":"111122223333","accessKeyId":"","userName":"bob"},"eventTime":"2026-11-05T02:31:07Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36","errorMessage":"Failed authentication","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MobileVersion":"No","MFAUsed":"No"},"eventID":"88dce7c9-e236-473c-bf54-0beda0afceae","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#

    /// The pipeline role repointing the prod endpoint: an AssumedRole session acting through SageMaker.
    static let pipelineUpdateEndpoint = #"{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","principalId":"AROAFJKKMIDQHL4MULUU5:SageMaker-pipeline-run-t5c1z8h4b2y6","arn":"arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/SageMaker-pipeline-run-t5c1z8h4b2y6","accountId":"111122223333","accessKeyId":"ASIAUZ7PJKXGHD6NRJZP","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAFJKKMIDQHL4MULUU5","arn":"arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole","accountId":"111122223333","userName":"SageMakerPipelineExecutionRole"},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-04T14:30:41Z","mfaAuthenticated":"false"}},"invokedBy":"sagemaker.amazonaws.com"},"eventTime":"2026-11-04T14:31:41Z","eventSource":"sagemaker.amazonaws.com","eventName":"UpdateEndpoint","awsRegion":"us-east-1","sourceIPAddress":"sagemaker.amazonaws.com","userAgent":"sagemaker.amazonaws.com","requestParameters":{"endpointName":"fraud-detection-prod","endpointConfigName":"fraud-detection-prod-t5c1z8h4b2y6","retainAllVariantProperties":false},"responseElements":{"endpointArn":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/fraud-detection-prod"},"requestID":"a9450ec0-93b8-4f88-ac1c-cbc8e7a13927","eventID":"65da885e-16c7-4eca-9619-cd9139951fac","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#

    /// bob's denied S3 data event on the prod model artifact.
    static let deniedGetObject = #"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDAZGGWILVDDNL3DWQOU","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","accessKeyId":"ASIA3ZZWPTQR6XWHT7VL","userName":"bob","sessionContext":{"attributes":{"creationDate":"2026-11-05T02:33:40Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-05T02:35:02Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"[Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36]","errorCode":"AccessDenied","errorMessage":"Access Denied","requestParameters":{"bucketName":"acme-ml-model-artifacts","Host":"acme-ml-model-artifacts.s3.amazonaws.com","key":"fraud-detection/training/output/model.tar.gz"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","bytesTransferredIn":0,"bytesTransferredOut":0},"requestID":"4GMTKGM8OW0D49HO","eventID":"fae29f63-18e2-4535-aaf1-6aa71681068c","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::acme-ml-model-artifacts/fraud-detection/training/output/model.tar.gz"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::acme-ml-model-artifacts"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data"}"#

    /// A CloudTrail record with the given pieces; the rest is a plain successful IAM-user call.
    static func record(
        eventSource: String = "sagemaker.amazonaws.com", eventName: String, region: String = "us-east-1",
        identity: String = #"{"type":"IAMUser","principalId":"AIDAZGGWILVDDNL3DWQOU","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","userName":"bob"}"#,
        parameters: String = "null", extra: String = ""
    ) -> String {
        #"{"eventVersion":"1.11","userIdentity":\#(identity),"eventTime":"2026-11-05T02:39:30Z","eventSource":"\#(eventSource)","eventName":"\#(eventName)","awsRegion":"\#(region)","sourceIPAddress":"203.0.113.77","userAgent":"aws-cli/2.31.18","requestParameters":\#(parameters),"responseElements":null,"requestID":"7c1d2e3f-0000-4000-8000-000000000001","eventID":"9368e3aa-026b-491b-9188-77c354578470","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"\#(extra)}"#
    }
}

@Suite("CloudTrail normalizer")
struct CloudTrailNormalizerTests {
    @Test("common fields of a failed console sign-in")
    func consoleLoginFailure() throws {
        let r = try NormalizedRecord(CloudTrailRecords.consoleLoginFailure)
        #expect(r.source == .cloudTrail)
        #expect(r.source.name == "aws.cloudtrail")
        #expect(r.time == epochMilliseconds(2026, 11, 5, 2, 31, 7))
        #expect(r.view.timeText == "2026-11-05T02:31:07.000Z")
        #expect(r[.uid] == "88dce7c9-e236-473c-bf54-0beda0afceae")
        #expect(r[.apiService] == "signin.amazonaws.com")
        #expect(r[.apiOperation] == "ConsoleLogin")
        // No requestID: the request id falls back to eventID.
        #expect(r[.apiRequestID] == "88dce7c9-e236-473c-bf54-0beda0afceae")
        // No arn: actor.user falls back to userName.
        #expect(r[.actorUser] == "bob")
        #expect(r[.actorUserType] == "IAMUser")
        #expect(r[.actorImpersonatedBy] == nil)
        #expect(r[.actorSessionIssuer] == nil)
        #expect(r[.srcIP] == "203.0.113.77")
        #expect(r[.userAgent]?.hasPrefix("Mozilla/5.0 (Windows NT 10.0") == true)
        #expect(r.outcome == .failure)
        #expect(r[.errorCode] == nil)
        #expect(r[.errorMessage] == "Failed authentication")
        #expect(r[.cloudProvider] == "aws")
        #expect(r[.cloudRegion] == "us-east-1")
        #expect(r[.cloudAccount] == "111122223333")
        #expect(r[.resourceName] == nil)
        #expect(r[.mlEntity] == nil)
        #expect(r.event.isPreliminary == false)
    }

    @Test("a role session acting through SageMaker")
    func assumedRoleThroughService() throws {
        let r = try NormalizedRecord(CloudTrailRecords.pipelineUpdateEndpoint)
        #expect(r.time == epochMilliseconds(2026, 11, 4, 14, 31, 41))
        #expect(r[.apiRequestID] == "a9450ec0-93b8-4f88-ac1c-cbc8e7a13927")
        #expect(r[.uid] == "65da885e-16c7-4eca-9619-cd9139951fac")
        #expect(r[.actorUser] == "arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/SageMaker-pipeline-run-t5c1z8h4b2y6")
        #expect(r[.actorUserType] == "AssumedRole")
        #expect(r[.actorImpersonatedBy] == "sagemaker.amazonaws.com")
        #expect(r[.actorSessionIssuer] == "arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole")
        #expect(r[.srcIP] == "sagemaker.amazonaws.com")
        #expect(r[.userAgent] == "sagemaker.amazonaws.com")
        #expect(r.outcome == .success)
        #expect(r[.errorCode] == nil)
        #expect(r[.errorMessage] == nil)
        #expect(r[.mlEntity] == "endpoint")
        #expect(r[.mlName] == "fraud-detection-prod")
        // No bucket/role/user parameter: the resource name is the SageMaker object's name.
        #expect(r[.resourceName] == "fraud-detection-prod")
        #expect(r[.mlStage] == nil)
        #expect(r[.mlSource] == nil)
        #expect(r[.resourceType] == nil)
    }

    @Test("a denied S3 data event: error fields, resources[0] and the bucket")
    func deniedDataEvent() throws {
        let r = try NormalizedRecord(CloudTrailRecords.deniedGetObject)
        #expect(r.outcome == .failure)
        #expect(r[.errorCode] == "AccessDenied")
        #expect(r[.errorMessage] == "Access Denied")
        #expect(r[.apiService] == "s3.amazonaws.com")
        #expect(r[.apiOperation] == "GetObject")
        #expect(r[.apiRequestID] == "4GMTKGM8OW0D49HO")
        #expect(r[.actorUser] == "arn:aws:iam::111122223333:user/bob")
        #expect(r[.userAgent] == "[Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36]")
        #expect(r[.resourceType] == "AWS::S3::Object")
        #expect(r[.resourceUID] == "arn:aws:s3:::acme-ml-model-artifacts/fraud-detection/training/output/model.tar.gz")
        #expect(r[.resourceName] == "acme-ml-model-artifacts")
        // Not SageMaker: no ML fields.
        #expect(r[.mlEntity] == nil)
        #expect(r[.mlName] == nil)
    }

    @Test("outcome: success without error fields; failure with errorCode alone or errorMessage alone")
    func outcomes() throws {
        let success = try NormalizedRecord(CloudTrailRecords.record(eventName: "ListEndpoints"))
        #expect(success.outcome == .success)

        let codeOnly = try NormalizedRecord(CloudTrailRecords.record(
            eventSource: "cloudtrail.amazonaws.com", eventName: "DeleteTrail",
            parameters: #"{"name":"acme-ml-data-events"}"#, extra: #","errorCode":"AccessDenied""#))
        #expect(codeOnly.outcome == .failure)
        #expect(codeOnly[.errorCode] == "AccessDenied")
        #expect(codeOnly[.errorMessage] == nil)

        let messageOnly = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "DescribeModelPackage", extra: #","errorMessage":"User is not authorized""#))
        #expect(messageOnly.outcome == .failure)
        #expect(messageOnly[.errorCode] == nil)
        #expect(messageOnly[.errorMessage] == "User is not authorized")

        // A ConsoleLogin failure with neither errorCode nor errorMessage: only responseElements says so.
        let consoleOnly = try NormalizedRecord(
            #"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAZGGWILVDDNL3DWQOU","accountId":"111122223333","userName":"bob"},"eventTime":"2026-11-05T02:31:07Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"eventID":"0b5a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#)
        #expect(consoleOnly.outcome == .failure)
        #expect(consoleOnly[.errorCode] == nil)
        #expect(consoleOnly[.errorMessage] == nil)

        let consoleSuccess = try NormalizedRecord(
            #"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","userName":"bob"},"eventTime":"2026-11-05T02:33:40Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"6a25a0c6-fbf2-416d-8fbd-c75a9881683a","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}"#)
        #expect(consoleSuccess.outcome == .success)
    }

    @Test("actor.user falls back from arn to userName, principalId, then invokedBy")
    func actorFallbacks() throws {
        let principal = try NormalizedRecord(CloudTrailRecords.record(
            eventSource: "s3.amazonaws.com", eventName: "ListBuckets",
            identity: #"{"type":"AWSAccount","principalId":"AIDACKCEVSQ6C2EXAMPLE","accountId":"444455556666"}"#))
        #expect(principal[.actorUser] == "AIDACKCEVSQ6C2EXAMPLE")
        #expect(principal[.actorUserType] == "AWSAccount")
        #expect(principal[.actorImpersonatedBy] == nil)

        let service = try NormalizedRecord(CloudTrailRecords.record(
            eventSource: "sts.amazonaws.com", eventName: "AssumeRole",
            identity: #"{"type":"AWSService","invokedBy":"sagemaker.amazonaws.com"}"#))
        #expect(service[.actorUser] == "sagemaker.amazonaws.com")
        #expect(service[.actorUserType] == "AWSService")
        #expect(service[.actorImpersonatedBy] == "sagemaker.amazonaws.com")

        // arn wins over everything else.
        let full = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "ListModels",
            identity: #"{"type":"IAMUser","principalId":"AIDAZGGWILVDDNL3DWQOU","arn":"arn:aws:iam::111122223333:user/bob","userName":"bob","invokedBy":"AWS Internal"}"#))
        #expect(full[.actorUser] == "arn:aws:iam::111122223333:user/bob")

        // No userIdentity at all (Insight events): no actor, but still an event.
        let none = try NormalizedRecord(
            #"{"eventVersion":"1.08","eventTime":"2026-11-05T02:40:00Z","eventSource":"sagemaker.amazonaws.com","eventName":"CreateEndpoint","eventType":"AwsCloudTrailInsight","eventID":"11111111-2222-4333-8444-555555555555","recipientAccountId":"111122223333"}"#)
        #expect(none[.actorUser] == nil)
        #expect(none[.actorUserType] == nil)
        #expect(none[.apiRequestID] == "11111111-2222-4333-8444-555555555555")
    }

    @Test("resources[0] with either key spelling: ARN and arn")
    func resourceKeySpellings() throws {
        let upper = try NormalizedRecord(CloudTrailRecords.record(
            eventSource: "sts.amazonaws.com", eventName: "AssumeRole",
            extra: #","resources":[{"accountId":"111122223333","type":"AWS::IAM::Role","ARN":"arn:aws:iam::111122223333:role/MLOpsReadOnly"}]"#))
        #expect(upper[.resourceType] == "AWS::IAM::Role")
        #expect(upper[.resourceUID] == "arn:aws:iam::111122223333:role/MLOpsReadOnly")

        let lower = try NormalizedRecord(CloudTrailRecords.record(
            eventSource: "kms.amazonaws.com", eventName: "Decrypt",
            extra: #","resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","arn":"arn:aws:kms:us-east-1:111122223333:key/7d1e4c2a-9b3f-4e8d-a6c5-0f2b8e9d1a34"}]"#))
        #expect(lower[.resourceType] == "AWS::KMS::Key")
        #expect(lower[.resourceUID] == "arn:aws:kms:us-east-1:111122223333:key/7d1e4c2a-9b3f-4e8d-a6c5-0f2b8e9d1a34")

        let empty = try NormalizedRecord(CloudTrailRecords.record(eventName: "ListModels", extra: #","resources":[]"#))
        #expect(empty[.resourceType] == nil)
        #expect(empty[.resourceUID] == nil)
    }

    @Test("resource.name from IAM parameters")
    func iamResourceName() throws {
        let attach = try NormalizedRecord(CloudTrailRecords.record(
            eventSource: "iam.amazonaws.com", eventName: "AttachRolePolicy",
            parameters: #"{"roleName":"AmazonSageMaker-ExecutionRole-20260914T093211","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}"#))
        #expect(attach[.resourceName] == "AmazonSageMaker-ExecutionRole-20260914T093211")
        #expect(attach[.mlEntity] == nil)

        let key = try NormalizedRecord(CloudTrailRecords.record(
            eventSource: "iam.amazonaws.com", eventName: "CreateAccessKey", parameters: #"{"userName":"bob"}"#))
        #expect(key[.resourceName] == "bob")
    }

    // MARK: SageMaker

    @Test("CreateTrainingJob")
    func createTrainingJob() throws {
        let r = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateTrainingJob",
            parameters: #"{"trainingJobName":"alice-fraud-xgb-depth8-2026-11-03-10-06-14-291","hyperParameters":{"objective":"binary:logistic","max_depth":"8"},"algorithmSpecification":{"trainingImage":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1","trainingInputMode":"File"},"roleArn":"arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole","outputDataConfig":{"s3OutputPath":"s3://acme-ml-model-artifacts/fraud-detection/experiments/"}}"#))
        #expect(r[.mlEntity] == "training_job")
        #expect(r[.mlName] == "alice-fraud-xgb-depth8-2026-11-03-10-06-14-291")
        #expect(r[.resourceName] == "alice-fraud-xgb-depth8-2026-11-03-10-06-14-291")
        #expect(r[.mlSource] == nil)
        #expect(r[.mlStage] == nil)
    }

    @Test("CreateModel: ml.source prefers the registry package over the artifact URL and the image")
    func createModel() throws {
        let registry = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateModel",
            parameters: #"{"modelName":"pipelines-t5c1z8h4b2y6-CreateModel-Rv8mZ3","primaryContainer":{"image":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1","modelDataUrl":"s3://acme-ml-model-artifacts/fraud-detection/model.tar.gz","modelPackageName":"arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/8"},"executionRoleArn":"arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole","enableNetworkIsolation":true}"#))
        #expect(registry[.mlEntity] == "model")
        #expect(registry[.mlName] == "pipelines-t5c1z8h4b2y6-CreateModel-Rv8mZ3")
        #expect(registry[.mlSource] == "arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/8")

        let artifact = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateModel",
            parameters: #"{"modelName":"fraud-detection-hotfix-1105","primaryContainer":{"image":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1","mode":"SingleModel","modelDataUrl":"s3://tmp-scratch-8823/model.tar.gz","environment":{"SAGEMAKER_PROGRAM":"inference.py"}},"executionRoleArn":"arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-20260914T093211"}"#))
        #expect(artifact[.mlName] == "fraud-detection-hotfix-1105")
        #expect(artifact[.mlSource] == "s3://tmp-scratch-8823/model.tar.gz")

        let imageOnly = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateModel",
            parameters: #"{"modelName":"byoc-model","primaryContainer":{"image":"111122223333.dkr.ecr.us-east-1.amazonaws.com/byoc:latest"}}"#))
        #expect(imageOnly[.mlSource] == "111122223333.dkr.ecr.us-east-1.amazonaws.com/byoc:latest")
    }

    @Test("CreateEndpoint and UpdateEndpoint name the endpoint, not its config")
    func endpoints() throws {
        let create = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateEndpoint",
            parameters: #"{"endpointName":"fraud-shadow-eval","endpointConfigName":"fraud-shadow-eval-cfg-20261103","tags":[{"key":"owner","value":"alice"}]}"#))
        #expect(create[.mlEntity] == "endpoint")
        #expect(create[.mlName] == "fraud-shadow-eval")

        let update = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "UpdateEndpoint",
            parameters: #"{"endpointName":"fraud-detection-prod","endpointConfigName":"fraud-detection-prod-hotfix-1105","retainAllVariantProperties":false}"#))
        #expect(update[.mlEntity] == "endpoint")
        #expect(update[.mlName] == "fraud-detection-prod")

        let config = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateEndpointConfig",
            parameters: #"{"endpointConfigName":"fraud-detection-prod-hotfix-1105","productionVariants":[{"variantName":"AllTraffic","modelName":"fraud-detection-hotfix-1105"}]}"#))
        #expect(config[.mlEntity] == "endpoint_config")
        #expect(config[.mlName] == "fraud-detection-prod-hotfix-1105")
    }

    static let createModelPackage = CloudTrailRecords.record(
        eventName: "CreateModelPackage",
        parameters: #"{"modelPackageGroupName":"fraud-detection-xgb","modelPackageDescription":"XGBoost fraud model trained by pipeline execution r8w2n5j0v6t3","inferenceSpecification":{"containers":[{"image":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1","modelDataUrl":"s3://acme-ml-model-artifacts/fraud-detection/model.tar.gz"}],"supportedContentTypes":["text/csv"]},"modelApprovalStatus":"PendingManualApproval"}"#)

    static let updateModelPackage = CloudTrailRecords.record(
        eventName: "UpdateModelPackage",
        parameters: #"{"modelPackageArn":"arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/8","modelApprovalStatus":"Approved","approvalDescription":"Reviewed eval report. Approved for prod. -alice"}"#)

    @Test("CreateModelPackage and UpdateModelPackage: entity and approval status")
    func modelPackages() throws {
        let create = try NormalizedRecord(Self.createModelPackage)
        #expect(create[.mlEntity] == "model_package")
        #expect(create[.mlStage] == "PendingManualApproval")

        let update = try NormalizedRecord(Self.updateModelPackage)
        #expect(update[.mlEntity] == "model_package")
        #expect(update[.mlStage] == "Approved")

        // DescribeModelPackage names the package with modelPackageName (an ARN here).
        let describe = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "DescribeModelPackage",
            parameters: #"{"modelPackageName":"arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/8"}"#))
        #expect(describe[.mlEntity] == "model_package")
        #expect(describe[.mlName] == "arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/8")

        let group = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "DescribeModelPackageGroup", parameters: #"{"modelPackageGroupName":"fraud-detection-xgb"}"#))
        #expect(group[.mlEntity] == "model_package_group")
        #expect(group[.mlName] == "fraud-detection-xgb")
    }

    /// The real CreateModelPackage/UpdateModelPackage requests (samples/cloudtrail) carry no `modelPackageName`:
    /// a versioned package is created under `modelPackageGroupName`, and an update names it by `modelPackageArn`.
    @Test("CreateModelPackage and UpdateModelPackage name the package they act on")
    func modelPackageNames() throws {
        let create = try NormalizedRecord(Self.createModelPackage)
        let update = try NormalizedRecord(Self.updateModelPackage)
        #expect(create[.mlName] == "fraud-detection-xgb")
        #expect(update[.mlName] == "arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/8")
    }

    @Test("CreateNotebookInstance and the presigned URL call")
    func notebooks() throws {
        let create = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateNotebookInstance", region: "eu-west-1",
            parameters: #"{"notebookInstanceName":"bob-scratch","instanceType":"ml.t3.medium","roleArn":"arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-20260914T093211","directInternetAccess":"Enabled","rootAccess":"Enabled"}"#))
        #expect(create[.mlEntity] == "notebook")
        #expect(create[.mlName] == "bob-scratch")
        #expect(create[.cloudRegion] == "eu-west-1")
        // roleArn is not a name parameter: the resource is the notebook.
        #expect(create[.resourceName] == "bob-scratch")

        let url = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreatePresignedNotebookInstanceUrl", region: "eu-west-1",
            parameters: #"{"notebookInstanceName":"bob-scratch","sessionExpirationDurationInSeconds":43200}"#))
        #expect(url[.mlEntity] == "notebook")
        #expect(url[.mlName] == "bob-scratch")
    }

    @Test("ML fields only for SageMaker: a Bedrock InvokeModel has none")
    func notSageMaker() throws {
        let r = try NormalizedRecord(CloudTrailRecords.record(
            eventSource: "bedrock.amazonaws.com", eventName: "InvokeModel",
            parameters: #"{"modelId":"anthropic.claude-3-haiku-20240307-v1:0","modelName":"not-a-sagemaker-model"}"#))
        #expect(r[.mlEntity] == nil)
        #expect(r[.mlName] == nil)
        #expect(r[.apiService] == "bedrock.amazonaws.com")
    }

    @Test("SageMaker calls without requestParameters still normalize")
    func sageMakerWithoutParameters() throws {
        let r = try NormalizedRecord(CloudTrailRecords.record(eventName: "ListTrainingJobs"))
        #expect(r[.apiOperation] == "ListTrainingJobs")
        #expect(r[.cloudAccount] == "111122223333")
        #expect(r[.mlName] == nil)
    }

    // MARK: Escapes

    @Test("a key written with escapes is still found")
    func escapedKey() throws {
        let r = try NormalizedRecord(
            #"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob"},"eventTime":"2026-11-05T02:39:30Z","eventSource":"sagemaker.amazonaws.com","event\u004eame":"CreateTrainingJob","\u0061wsRegion":"us-east-1","requestParameters":{"training\u004aobName":"job-escaped"},"eventID":"e5c4b3a2-0000-4000-8000-00000000000e","recipientAccountId":"111122223333"}"#)
        #expect(r.source == .cloudTrail)
        #expect(r[.apiOperation] == "CreateTrainingJob")
        #expect(r[.cloudRegion] == "us-east-1")
        #expect(r[.mlEntity] == "training_job")
        #expect(r[.mlName] == "job-escaped")
    }

    @Test("escaped string values are decoded")
    func escapedValues() throws {
        let r = try NormalizedRecord(
            #"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user\/ren\u00e9","userName":"ren\u00e9"},"eventTime":"2026-11-05T02:39:30Z","eventSource":"sagemaker.amazonaws.com","eventName":"Create\u0054rainingJob","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.77","userAgent":"aws-cli\/2.31.18 \"quoted\"","errorMessage":"caf\u00e9 \ud83d\ude00","requestParameters":{"trainingJobName":"job\/1"},"eventID":"e5c4b3a2-0000-4000-8000-00000000000f","recipientAccountId":"111122223333"}"#)
        #expect(r[.actorUser] == "arn:aws:iam::111122223333:user/rené")
        #expect(r[.userAgent] == "aws-cli/2.31.18 \"quoted\"")
        #expect(r[.errorMessage] == "café 😀")
        #expect(r[.apiOperation] == "CreateTrainingJob")
        // The SageMaker entity is found in the decoded eventName too.
        #expect(r[.mlEntity] == "training_job")
        #expect(r[.mlName] == "job/1")
    }

    @Test("a record delivered with Python-style separators")
    func spacedSeparators() throws {
        let r = try NormalizedRecord(
            #"{"eventVersion": "1.11", "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/SageMakerPipelineExecutionRole/SageMaker", "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole"}}, "invokedBy": "sagemaker.amazonaws.com"}, "eventTime": "2026-11-03T10:06:40Z", "eventSource": "sagemaker.amazonaws.com", "eventName": "CreateModelPackage", "awsRegion": "us-east-1", "requestParameters": {"modelPackageGroupName": "fraud-detection-xgb", "modelApprovalStatus": "PendingManualApproval"}, "eventID": "97d7a5f9-eaab-44fb-bc1a-2596384ed0f6", "recipientAccountId": "111122223333"}"#)
        #expect(r.time == epochMilliseconds(2026, 11, 3, 10, 6, 40))
        #expect(r[.actorSessionIssuer] == "arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole")
        #expect(r[.mlStage] == "PendingManualApproval")
    }
}
