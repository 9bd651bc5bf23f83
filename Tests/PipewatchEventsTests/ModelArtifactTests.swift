import PipewatchEvents
import Testing

@Suite("Model artifacts: canonical URIs")
struct ArtifactURIFormTests {
    /// ml.artifact.uri of a SageMaker CreateModel whose container names `url`.
    func canonical(_ url: String) throws -> String? {
        try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateModel",
            parameters: #"{"modelName":"fraud-detection-v9","primaryContainer":{"image":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1","modelDataUrl":"\#(url)"},"executionRoleArn":"arn:aws:iam::111122223333:role/SageMakerExecutionRole"}"#))[.mlArtifactURI]
    }

    @Test("every spelling of one S3 object is the same s3:// URI", arguments: [
        "s3://acme-ml-model-artifacts/fraud/9/model.tar.gz",
        "S3://acme-ml-model-artifacts/fraud/9/model.tar.gz",
        "s3a://acme-ml-model-artifacts/fraud/9/model.tar.gz",
        "s3n://acme-ml-model-artifacts/fraud/9/model.tar.gz",
        "https://acme-ml-model-artifacts.s3.amazonaws.com/fraud/9/model.tar.gz",
        "https://acme-ml-model-artifacts.s3.us-east-1.amazonaws.com/fraud/9/model.tar.gz",
        "https://acme-ml-model-artifacts.s3-us-west-2.amazonaws.com/fraud/9/model.tar.gz",
        "https://acme-ml-model-artifacts.s3.dualstack.eu-west-1.amazonaws.com/fraud/9/model.tar.gz",
        "https://ACME-ML-MODEL-ARTIFACTS.S3.AMAZONAWS.COM/fraud/9/model.tar.gz",
        "http://acme-ml-model-artifacts.s3.amazonaws.com:443/fraud/9/model.tar.gz",
        "https://s3.amazonaws.com/acme-ml-model-artifacts/fraud/9/model.tar.gz",
        "https://s3.us-east-1.amazonaws.com/acme-ml-model-artifacts/fraud/9/model.tar.gz",
        "https://s3-us-west-2.amazonaws.com/acme-ml-model-artifacts/fraud/9/model.tar.gz",
        "https://acme-ml-model-artifacts.s3.amazonaws.com/fraud/9/model.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600",
        "https://acme-ml-model-artifacts.s3.amazonaws.com/fraud/9/model%2Etar%2egz",
        "arn:aws:s3:::acme-ml-model-artifacts/fraud/9/model.tar.gz",
        "  s3://acme-ml-model-artifacts/fraud/9/model.tar.gz  ",
    ])
    func s3Forms(url: String) throws {
        #expect(try canonical(url) == "s3://acme-ml-model-artifacts/fraud/9/model.tar.gz")
    }

    @Test("every spelling of one Cloud Storage prefix is the same gs:// URI", arguments: [
        "gs://acme-ml-prod-artifacts/fraud/pipeline_root/model",
        "gs://acme-ml-prod-artifacts/fraud/pipeline_root/model/",
        "GS://acme-ml-prod-artifacts/fraud/pipeline_root/model",
        "https://storage.googleapis.com/acme-ml-prod-artifacts/fraud/pipeline_root/model/",
        "https://storage.cloud.google.com/acme-ml-prod-artifacts/fraud/pipeline_root/model",
        "https://acme-ml-prod-artifacts.storage.googleapis.com/fraud/pipeline_root/model",
        "https://storage.googleapis.com/acme-ml-prod-artifacts/fraud%2Fpipeline_root/model",
    ])
    func gcsForms(url: String) throws {
        #expect(try canonical(url) == "gs://acme-ml-prod-artifacts/fraud/pipeline_root/model")
    }

    @Test("bucket names with dots, keys with spaces, partitions and trailing slashes")
    func edges() throws {
        #expect(try canonical("https://ml.models.acme.s3.eu-central-1.amazonaws.com/a/b") == "s3://ml.models.acme/a/b")
        #expect(try canonical("https://acme-cn.s3.cn-north-1.amazonaws.com.cn/a/b") == "s3://acme-cn/a/b")
        #expect(try canonical("arn:aws-cn:s3:::acme-cn/a/b") == "s3://acme-cn/a/b")
        #expect(try canonical("https://acme.s3.amazonaws.com/models/fraud%20v9/model.tar.gz") == "s3://acme/models/fraud v9/model.tar.gz")
        // An s3:// URI holds the key as it is: nothing to decode.
        #expect(try canonical("s3://acme/models/fraud%20v9/model.tar.gz") == "s3://acme/models/fraud%20v9/model.tar.gz")
        #expect(try canonical("s3://acme-ml-model-artifacts/fraud/9///") == "s3://acme-ml-model-artifacts/fraud/9")
        #expect(try canonical("s3://acme-ml-model-artifacts/") == "s3://acme-ml-model-artifacts")
        #expect(try canonical("https://acme-ml-model-artifacts.s3.amazonaws.com/") == "s3://acme-ml-model-artifacts")
        #expect(try canonical("s3://") == nil)
        // Escapes in the record are decoded before anything else.
        #expect(try canonical(#"s3:\/\/acme\/models\/r\u00e9sum\u00e9\/"#) == "s3://acme/models/résumé")
    }

    @Test("other locations are kept as written, less trailing slashes")
    func otherLocations() throws {
        #expect(try canonical("runs:/4b6d8f0a2c4e4f6a8b0c2d4e6f8a0b2c/model") == "runs:/4b6d8f0a2c4e4f6a8b0c2d4e6f8a0b2c/model")
        #expect(try canonical("models:/fraud-detection-xgb/9") == "models:/fraud-detection-xgb/9")
        #expect(try canonical("https://models.acme.example/fraud/9/") == "https://models.acme.example/fraud/9")
        // Access points are not buckets: kept as written.
        #expect(try canonical("https://fraud-ap-111122223333.s3-accesspoint.us-east-1.amazonaws.com/model.tar.gz")
            == "https://fraud-ap-111122223333.s3-accesspoint.us-east-1.amazonaws.com/model.tar.gz")
        #expect(try canonical("arn:aws:s3:us-east-1:111122223333:accesspoint/fraud-ap/object/model.tar.gz")
            == "arn:aws:s3:us-east-1:111122223333:accesspoint/fraud-ap/object/model.tar.gz")
    }
}

@Suite("Model artifacts: CloudTrail")
struct CloudTrailArtifactTests {
    func record(_ eventName: String, _ parameters: String, eventSource: String = "sagemaker.amazonaws.com", extra: String = "") throws -> NormalizedRecord {
        try NormalizedRecord(CloudTrailRecords.record(eventSource: eventSource, eventName: eventName, parameters: parameters, extra: extra))
    }

    @Test("CreateModel: the primary container, multi-container models, ModelDataSource")
    func createModel() throws {
        let multi = try record("CreateModel", #"{"modelName":"fraud-ensemble","containers":[{"image":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sklearn-inference:1.2-1"},{"image":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1","modelDataUrl":"s3://acme-ml-model-artifacts/fraud/ensemble/xgb.tar.gz"}]}"#)
        #expect(multi[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud/ensemble/xgb.tar.gz")
        #expect(multi[.mlEntity] == "model")

        let uncompressed = try record("CreateModel", #"{"modelName":"llama-ft","primaryContainer":{"image":"763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124","modelDataSource":{"s3DataSource":{"s3Uri":"s3://acme-ml-model-artifacts/llama-ft/9/","s3DataType":"S3Prefix","compressionType":"None"}}}}"#)
        #expect(uncompressed[.mlArtifactURI] == "s3://acme-ml-model-artifacts/llama-ft/9")

        // From a registered package: the registry's name and version, no artifact of its own.
        let fromPackage = try record("CreateModel", #"{"modelName":"fraud-prod-9","primaryContainer":{"modelPackageName":"arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/9"}}"#)
        #expect(fromPackage[.mlModelName] == "fraud-detection-xgb")
        #expect(fromPackage[.mlModelVersion] == "9")
        #expect(fromPackage[.mlArtifactURI] == nil)
    }

    @Test("model packages: containers' artifact, group and version from the request, the ARN or the response")
    func modelPackages() throws {
        let create = try record(
            "CreateModelPackage",
            #"{"modelPackageGroupName":"fraud-detection-xgb","inferenceSpecification":{"containers":[{"image":"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1","modelDataUrl":"s3://acme-ml-model-artifacts/fraud-detection/model.tar.gz"}],"supportedContentTypes":["text/csv"]},"modelApprovalStatus":"PendingManualApproval"}"#)
        #expect(create[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud-detection/model.tar.gz")
        #expect(create[.mlModelName] == "fraud-detection-xgb")
        #expect(create[.mlModelVersion] == nil)

        let withResponse = try NormalizedRecord(CloudTrailRecords.record(
            eventName: "CreateModelPackage",
            parameters: #"{"modelPackageGroupName":"fraud-detection-xgb","inferenceSpecification":{"containers":[{"image":"x","modelDataUrl":"https://acme-ml-model-artifacts.s3.us-east-1.amazonaws.com/fraud-detection/model.tar.gz"}]}}"#)
            .replacingOccurrences(of: #""responseElements":null"#, with: #""responseElements":{"modelPackageArn":"arn:aws:sagemaker:us-east-1:111122223333:model-package/fraud-detection-xgb/10"}"#))
        #expect(withResponse[.mlModelVersion] == "10")
        #expect(withResponse[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud-detection/model.tar.gz")

        let approve = try NormalizedRecord(CloudTrailNormalizerTests.updateModelPackage)
        #expect(approve[.mlModelName] == "fraud-detection-xgb")
        #expect(approve[.mlModelVersion] == "8")
        #expect(approve[.mlArtifactURI] == nil)

        let group = try record("CreateModelPackageGroup", #"{"modelPackageGroupName":"fraud-detection-xgb"}"#)
        #expect(group[.mlModelName] == "fraud-detection-xgb")
        #expect(group[.mlModelVersion] == nil)
    }

    @Test("CreateTrainingJob: the output path")
    func trainingJob() throws {
        let r = try record("CreateTrainingJob", #"{"trainingJobName":"fraud-train-r8w2n5j0v6t3","outputDataConfig":{"s3OutputPath":"s3://acme-ml-model-artifacts/fraud-detection/training/output/"},"roleArn":"arn:aws:iam::111122223333:role/SageMakerPipelineExecutionRole"}"#)
        #expect(r[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud-detection/training/output")
        #expect(r[.mlModelName] == nil)
    }

    @Test("S3 data events name their object by bucket and key", arguments: [
        "PutObject", "CopyObject", "DeleteObject", "GetObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
        "AbortMultipartUpload", "PutObjectRetention", "PutObjectLegalHold", "PutObjectTagging", "PutObjectAcl", "RestoreObject",
    ])
    func s3DataEvents(eventName: String) throws {
        let r = try record(
            eventName, #"{"bucketName":"acme-ml-model-artifacts","Host":"acme-ml-model-artifacts.s3.us-east-1.amazonaws.com","key":"fraud-detection/registry/v9/model.pkl","uploadId":"VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"}"#,
            eventSource: "s3.amazonaws.com")
        #expect(r[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud-detection/registry/v9/model.pkl")
        #expect(r[.resourceName] == "acme-ml-model-artifacts")
    }

    @Test("S3: DeleteObjects' first key, resources[] when there are no parameters, nothing for bucket calls")
    func s3Fallbacks() throws {
        let deleteObjects = try record(
            "DeleteObjects", #"{"bucketName":"acme-ml-model-artifacts","Host":"acme-ml-model-artifacts.s3.amazonaws.com","delete":{"Object":[{"Key":"fraud/9/model.pkl"},{"Key":"fraud/9/metadata.json"}],"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"}}"#,
            eventSource: "s3.amazonaws.com")
        #expect(deleteObjects[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud/9/model.pkl")

        let resourcesOnly = try record(
            "DeleteObjects", #"{"bucketName":"acme-ml-model-artifacts","delete":""}"#, eventSource: "s3.amazonaws.com",
            extra: #","resources":[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::acme-ml-model-artifacts"},{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::acme-ml-model-artifacts/fraud/9/model.pkl"}]"#)
        #expect(resourcesOnly[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud/9/model.pkl")

        let noParameters = try record(
            "PutObject", "null", eventSource: "s3.amazonaws.com",
            extra: #","resources":[{"type":"AWS::S3::Object","arn":"arn:aws:s3:::acme-ml-model-artifacts/fraud/9/model.pkl"}]"#)
        #expect(noParameters[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud/9/model.pkl")

        let bucketCall = try record("PutBucketPolicy", #"{"bucketName":"acme-ml-model-artifacts","policy":""}"#, eventSource: "s3.amazonaws.com")
        #expect(bucketCall[.mlArtifactURI] == nil)

        // The key is taken as written (CloudTrail logs it decoded), with JSON escapes decoded.
        let escaped = try record("PutObject", #"{"bucketName":"acme-ml-model-artifacts","key":"fraud\/9\/model v2%.pkl"}"#, eventSource: "s3.amazonaws.com")
        #expect(escaped[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud/9/model v2%.pkl")

        // The denied read of the samples: its object, whatever the outcome.
        #expect(try NormalizedRecord(CloudTrailRecords.deniedGetObject)[.mlArtifactURI]
            == "s3://acme-ml-model-artifacts/fraud-detection/training/output/model.tar.gz")
    }

    @Test("other services name no artifact")
    func otherServices() throws {
        let r = try record("PutObject", #"{"bucketName":"acme-ml-model-artifacts","key":"fraud/9/model.pkl"}"#, eventSource: "s3-outposts.amazonaws.com")
        #expect(r[.mlArtifactURI] == nil)
        #expect(try NormalizedRecord(CloudTrailRecords.pipelineUpdateEndpoint)[.mlArtifactURI] == nil)
    }
}

@Suite("Model artifacts: GCP audit")
struct GCPArtifactTests {
    @Test("Vertex UploadModel: artifactUri and the model id")
    func uploadModel() throws {
        let r = try NormalizedRecord(GCPRecords.pipelineUploadModel)
        #expect(r[.mlArtifactURI] == "gs://acme-ml-prod-artifacts/fraud-detection/pipeline_root/model")
        #expect(r[.mlModelName] == "5310287364019238912")
        #expect(r[.mlModelVersion] == nil)

        // A new version of an existing model, its artifact named by URL.
        let version = try NormalizedRecord(GCPRecords.pipelineUploadModel
            .replacingOccurrences(of: #""resourceName":"projects/acme-ml-prod/locations/us-central1/models/5310287364019238912""#,
                                  with: #""resourceName":"projects/acme-ml-prod/locations/us-central1""#)
            .replacingOccurrences(of: #""parent":"projects/acme-ml-prod/locations/us-central1","#,
                                  with: #""parent":"projects/acme-ml-prod/locations/us-central1","parentModel":"projects/acme-ml-prod/locations/us-central1/models/5310287364019238912","#)
            .replacingOccurrences(of: "gs://acme-ml-prod-artifacts/", with: "https://storage.googleapis.com/acme-ml-prod-artifacts/"))
        #expect(version[.mlModelName] == "5310287364019238912")
        #expect(version[.mlArtifactURI] == "gs://acme-ml-prod-artifacts/fraud-detection/pipeline_root/model")
    }

    @Test("a model version in the resource name; a deployment's model")
    func versions() throws {
        let alias = try NormalizedRecord(GCPRecords.entry(
            method: "google.cloud.aiplatform.v1.ModelService.MergeVersionAliases",
            resourceName: "projects/acme-ml-prod/locations/us-central1/models/5310287364019238912@7"))
        #expect(alias[.mlModelName] == "5310287364019238912")
        #expect(alias[.mlModelVersion] == "7")
        #expect(alias[.mlArtifactURI] == nil)

        let deploy = try NormalizedRecord(GCPRecords.entry(method: "google.cloud.aiplatform.v1.EndpointService.DeployModel")
            .replacingOccurrences(of: #""resourceName":"#, with: #""request":{"@type":"type.googleapis.com/google.cloud.aiplatform.v1.DeployModelRequest","endpoint":"projects/acme-ml-prod/locations/us-central1/endpoints/7203418856243511296","deployedModel":{"model":"projects/418273645501/locations/us-central1/models/5310287364019238912@3","displayName":"fraud-v3"}},"resourceName":"#))
        #expect(deploy[.mlModelName] == "5310287364019238912")
        #expect(deploy[.mlModelVersion] == "3")
        #expect(deploy[.mlEntity] == "endpoint")
    }

    @Test("Cloud Storage audit entries name the object")
    func cloudStorage() throws {
        let r = try NormalizedRecord(GCPRecords.entry(
            method: "storage.objects.create", service: "storage.googleapis.com",
            resourceName: "projects/_/buckets/acme-ml-prod-artifacts/objects/fraud-detection/pipeline_root/model/model.bst"))
        #expect(r[.mlArtifactURI] == "gs://acme-ml-prod-artifacts/fraud-detection/pipeline_root/model/model.bst")
        #expect(r[.mlEntity] == nil)

        let bucket = try NormalizedRecord(GCPRecords.entry(
            method: "storage.buckets.update", service: "storage.googleapis.com", resourceName: "projects/_/buckets/acme-ml-prod-artifacts"))
        #expect(bucket[.mlArtifactURI] == nil)
    }
}

@Suite("Model artifacts: Kubernetes audit")
struct KubernetesArtifactTests {
    /// A Request-level write of a KServe object with `body` as its request object.
    func served(verb: String = "create", resource: String = "inferenceservices", name: String? = "fraud-detection", body: String, level: String = "Request") throws -> NormalizedRecord {
        let nameField = name.map { #","name":"\#($0)""# } ?? ""
        return try NormalizedRecord(#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"\#(level)","auditID":"2b64c5a7-6a0f-4559-a60d-f30a35aac94c","stage":"ResponseComplete","requestURI":"/apis/serving.kserve.io/v1beta1/namespaces/kserve-inference/\#(resource)","verb":"\#(verb)","user":{"username":"system:serviceaccount:kubeflow:pipeline-runner"},"sourceIPs":["10.42.3.151"],"objectRef":{"resource":"\#(resource)","namespace":"kserve-inference"\#(nameField),"apiGroup":"serving.kserve.io","apiVersion":"v1beta1"},"responseStatus":{"metadata":{},"code":201},\#(body)"requestReceivedTimestamp":"2026-11-03T11:02:15.227640Z","stageTimestamp":"2026-11-03T11:02:15.289513Z"}"#)
    }

    @Test("the model format's storageUri (new and old predictor styles)")
    func storageUri() throws {
        let sample = try NormalizedRecord(KubernetesRecords.inferenceServiceCreate)
        #expect(sample[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud-detection/registry/v8")
        #expect(sample[.mlModelName] == "fraud-detection")

        for format in ["sklearn", "xgboost", "tensorflow", "pytorch", "onnx", "triton", "lightgbm", "huggingface"] {
            let r = try served(body: #""requestObject":{"apiVersion":"serving.kserve.io/v1beta1","kind":"InferenceService","metadata":{"name":"fraud-detection"},"spec":{"predictor":{"minReplicas":1,"\#(format)":{"storageUri":"https://storage.googleapis.com/acme-ml-prod-artifacts/fraud/9/","resources":{}}}}},"#)
            #expect(r[.mlArtifactURI] == "gs://acme-ml-prod-artifacts/fraud/9", "\(format)")
        }
    }

    @Test("storage.path with the storage parameters' bucket; without a bucket the location is not in the record")
    func storageSpec() throws {
        let withBucket = try served(body: #""requestObject":{"metadata":{"name":"fraud-detection"},"spec":{"predictor":{"model":{"modelFormat":{"name":"sklearn"},"storage":{"key":"localMinIO","path":"fraud/9/model.joblib","parameters":{"bucket":"acme-ml-models","type":"s3"}}}}}},"#)
        #expect(withBucket[.mlArtifactURI] == "s3://acme-ml-models/fraud/9/model.joblib")

        let gcs = try served(body: #""requestObject":{"metadata":{"name":"fraud-detection"},"spec":{"predictor":{"model":{"storage":{"key":"gcs","path":"fraud/9/","parameters":{"bucket":"acme-ml-prod-artifacts","type":"gs"}}}}}},"#)
        #expect(gcs[.mlArtifactURI] == "gs://acme-ml-prod-artifacts/fraud/9")

        let keyOnly = try served(body: #""requestObject":{"metadata":{"name":"fraud-detection"},"spec":{"predictor":{"model":{"storage":{"key":"localMinIO","path":"fraud/9/model.joblib"}}}}},"#)
        #expect(keyOnly[.mlArtifactURI] == nil)
        #expect(keyOnly[.mlModelName] == "fraud-detection")
    }

    @Test("patches: a merge patch's object, a JSON patch's storageUri operation, else the response body")
    func patches() throws {
        let merge = try served(verb: "patch", body: #""requestObject":{"spec":{"predictor":{"model":{"storageUri":"s3://acme-ml-model-artifacts/fraud/7"}}}},"#)
        #expect(merge[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud/7")

        let jsonPatch = try served(verb: "patch", body: #""requestObject":[{"op":"replace","path":"/spec/predictor/model/storageUri","value":"s3://acme-ml-model-artifacts/fraud/7/"}],"#)
        #expect(jsonPatch[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud/7")
        #expect(jsonPatch[.mlModelName] == "fraud-detection")

        let response = try served(verb: "patch", body: #""requestObject":[{"op":"replace","path":"/spec/predictor/minReplicas","value":2}],"responseObject":{"metadata":{"name":"fraud-detection"},"spec":{"predictor":{"model":{"storageUri":"s3://acme-ml-model-artifacts/fraud/9"}}}},"#, level: "RequestResponse")
        #expect(response[.mlArtifactURI] == "s3://acme-ml-model-artifacts/fraud/9")
    }

    @Test("a create without a name in objectRef takes the body's; Metadata level has no artifact")
    func namesAndLevels() throws {
        let unnamed = try served(name: nil, body: #""requestObject":{"metadata":{"name":"churn-v2"},"spec":{"predictor":{"model":{"storageUri":"s3://acme/churn/2"}}}},"#)
        #expect(unnamed[.mlModelName] == "churn-v2")

        let metadata = try served(verb: "delete", body: "", level: "Metadata")
        #expect(metadata[.mlArtifactURI] == nil)
        #expect(metadata[.mlModelName] == "fraud-detection")

        let trained = try served(resource: "trainedmodels", name: "fraud-v9", body: #""requestObject":{"apiVersion":"serving.kserve.io/v1alpha1","kind":"TrainedModel","metadata":{"name":"fraud-v9"},"spec":{"inferenceService":"fraud-mms","model":{"framework":"sklearn","storageUri":"gs://acme-ml-prod-artifacts/fraud/9/","memory":"256Mi"}}},"#)
        #expect(trained[.mlArtifactURI] == "gs://acme-ml-prod-artifacts/fraud/9")
        #expect(trained[.mlModelName] == "fraud-v9")

        // Other Kubeflow objects are not served models.
        let notebook = try NormalizedRecord(KubernetesRecords.event(
            verb: "create", requestURI: "/apis/kubeflow.org/v1/namespaces/kubeflow/notebooks",
            objectRef: #"{"resource":"notebooks","namespace":"kubeflow","name":"alice-nb","apiGroup":"kubeflow.org","apiVersion":"v1"}"#))
        #expect(notebook[.mlModelName] == nil)
        #expect(notebook[.mlArtifactURI] == nil)
    }
}

@Suite("Model artifacts: MLflow webhook")
struct MLflowArtifactTests {
    func created(source: String, runID: String = "null") throws -> NormalizedRecord {
        try NormalizedRecord(MLflowRecords.delivery(
            entity: "model_version", action: "created",
            data: #"{"name": "fraud-detection-xgb", "version": "9", "source": "\#(source)", "run_id": \#(runID), "tags": {}, "description": null}"#))
    }

    @Test("a version's source is its artifact; name and version are the registry's")
    func source() throws {
        let r = try created(source: "s3://acme-ml-model-artifacts/models/fraud/9/", runID: #""4b6d8f0a2c4e4f6a8b0c2d4e6f8a0b2c""#)
        #expect(r[.mlArtifactURI] == "s3://acme-ml-model-artifacts/models/fraud/9")
        #expect(r[.mlSource] == "s3://acme-ml-model-artifacts/models/fraud/9/")
        #expect(r[.mlModelName] == "fraud-detection-xgb")
        #expect(r[.mlModelVersion] == "9")
        #expect(r[.mlRunID] == "4b6d8f0a2c4e4f6a8b0c2d4e6f8a0b2c")

        let url = try created(source: "https://acme-ml-model-artifacts.s3.amazonaws.com/models/fraud/9")
        #expect(url[.mlArtifactURI] == "s3://acme-ml-model-artifacts/models/fraud/9")
    }

    @Test("runs:/ and models:/ sources are kept; a runs:/ source names the run")
    func mlflowSchemes() throws {
        let run = try created(source: "runs:/4b6d8f0a2c4e4f6a8b0c2d4e6f8a0b2c/model")
        #expect(run[.mlArtifactURI] == "runs:/4b6d8f0a2c4e4f6a8b0c2d4e6f8a0b2c/model")
        #expect(run[.mlRunID] == "4b6d8f0a2c4e4f6a8b0c2d4e6f8a0b2c")

        let model = try created(source: "models:/fraud-detection-xgb/8")
        #expect(model[.mlArtifactURI] == "models:/fraud-detection-xgb/8")
        #expect(model[.mlRunID] == nil)
    }

    @Test("model entities carry the model's name and version; prompts do not")
    func entities() throws {
        let alias = try NormalizedRecord(MLflowRecords.delivery(
            entity: "model_version_alias", action: "created", data: #"{"name": "fraud-detection-xgb", "alias": "production", "version": "7"}"#))
        #expect(alias[.mlModelName] == "fraud-detection-xgb")
        #expect(alias[.mlModelVersion] == "7")
        #expect(alias[.mlArtifactURI] == nil)

        let registered = try NormalizedRecord(MLflowRecords.delivery(
            entity: "registered_model", action: "created", data: #"{"name": "fraud-detection-xgb", "tags": {}, "description": null}"#))
        #expect(registered[.mlModelName] == "fraud-detection-xgb")
        #expect(registered[.mlModelVersion] == nil)

        let prompt = try NormalizedRecord(MLflowRecords.delivery(
            entity: "prompt_version", action: "created", data: #"{"name": "support-triage", "version": "3", "template": "Classify: {{text}}", "tags": {}, "description": null}"#))
        #expect(prompt[.mlModelName] == nil)
        #expect(prompt[.mlName] == "support-triage")
    }
}
