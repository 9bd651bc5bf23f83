import PipewatchEvents
import Testing

/// GCP Cloud Audit LogEntries for Vertex AI, modelled on samples/gcp.
enum GCPRecords {
    static let pipelineUploadModel = #"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{},"authenticationInfo":{"principalEmail":"vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com","serviceAccountDelegationInfo":[{"firstPartyPrincipal":{"principalEmail":"service-418273645501@gcp-sa-aiplatform-cc.iam.gserviceaccount.com"}}],"principalSubject":"serviceAccount:vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com"},"requestMetadata":{"callerIp":"gce-internal-ip","callerSuppliedUserAgent":"model-builder/1.121.0 google-cloud-aiplatform/1.121.0 gl-python/3.11.9 grpc/1.71.0,gzip(gfe)","requestAttributes":{"time":"2026-11-03T10:42:03.377120948Z","auth":{}},"destinationAttributes":{}},"serviceName":"aiplatform.googleapis.com","methodName":"google.cloud.aiplatform.v1.ModelService.UploadModel","authorizationInfo":[{"resource":"projects/acme-ml-prod/locations/us-central1","permission":"aiplatform.models.upload","granted":true,"permissionType":"ADMIN_WRITE"}],"resourceName":"projects/acme-ml-prod/locations/us-central1/models/5310287364019238912","request":{"@type":"type.googleapis.com/google.cloud.aiplatform.v1.UploadModelRequest","parent":"projects/acme-ml-prod/locations/us-central1","model":{"displayName":"fraud-detection-xgb","artifactUri":"gs://acme-ml-prod-artifacts/fraud-detection/pipeline_root/model"}},"resourceLocation":{"currentLocations":["us-central1"]}},"insertId":"gvyfax5zjilj","resource":{"type":"audited_resource","labels":{"service":"aiplatform.googleapis.com","method":"google.cloud.aiplatform.v1.ModelService.UploadModel","project_id":"acme-ml-prod"}},"timestamp":"2026-11-03T10:42:03.377120948Z","severity":"NOTICE","logName":"projects/acme-ml-prod/logs/cloudaudit.googleapis.com%2Factivity","operation":{"id":"projects/418273645501/locations/us-central1/models/5310287364019238912/operations/8536179685279328314","producer":"aiplatform.googleapis.com","first":true},"receiveTimestamp":"2026-11-03T10:42:04.677254629Z"}"#

    static let deniedCustomJob = #"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":{"code":7,"message":"Permission 'iam.serviceAccounts.actAs' denied on service account vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com (or it may not exist)."},"authenticationInfo":{"principalEmail":"mallory@acme.example","principalSubject":"user:mallory@acme.example"},"requestMetadata":{"callerIp":"203.0.113.77","callerSuppliedUserAgent":"google-cloud-sdk gcloud/546.0.0 command/gcloud.ai.custom-jobs.create,gzip(gfe)","requestAttributes":{"time":"2026-11-05T03:08:14.660120573Z","auth":{}},"destinationAttributes":{}},"serviceName":"aiplatform.googleapis.com","methodName":"google.cloud.aiplatform.v1.JobService.CreateCustomJob","authorizationInfo":[{"resource":"projects/-/serviceAccounts/vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com","permission":"iam.serviceAccounts.actAs","granted":false,"permissionType":"ADMIN_WRITE"}],"resourceName":"projects/acme-ml-prod/locations/us-central1","request":{"@type":"type.googleapis.com/google.cloud.aiplatform.v1.CreateCustomJobRequest","parent":"projects/acme-ml-prod/locations/us-central1"},"resourceLocation":{"currentLocations":["us-central1"]}},"insertId":"pml3h6gqie63","resource":{"type":"audited_resource","labels":{"service":"aiplatform.googleapis.com","method":"google.cloud.aiplatform.v1.JobService.CreateCustomJob","project_id":"acme-ml-prod"}},"timestamp":"2026-11-05T03:08:14.660120573Z","severity":"ERROR","logName":"projects/acme-ml-prod/logs/cloudaudit.googleapis.com%2Factivity","receiveTimestamp":"2026-11-05T03:08:16.002742459Z"}"#

    /// A LogEntry with the given pieces.
    static func entry(
        method: String, service: String = "aiplatform.googleapis.com",
        resourceName: String = "projects/acme-ml-prod/locations/us-central1/endpoints/7203418856243511296",
        principal: String = "alice@acme.example", status: String? = "{}",
        resource: String = #"{"type":"audited_resource","labels":{"service":"aiplatform.googleapis.com","project_id":"acme-ml-prod"}}"#,
        operation: String? = nil, insertId: String = "qx6xaikzkr9k", timestamp: String = "2026-11-04T15:20:44.118274903Z"
    ) -> String {
        let statusField = status.map { #""status":\#($0),"# } ?? ""
        let operationField = operation.map { #","operation":\#($0)"# } ?? ""
        return #"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog",\#(statusField)"authenticationInfo":{"principalEmail":"\#(principal)"},"requestMetadata":{"callerIp":"198.51.100.42","callerSuppliedUserAgent":"google-cloud-sdk gcloud/546.0.0,gzip(gfe)"},"serviceName":"\#(service)","methodName":"\#(method)","resourceName":"\#(resourceName)"},"insertId":"\#(insertId)","resource":\#(resource),"timestamp":"\#(timestamp)","severity":"NOTICE","logName":"projects/acme-ml-prod/logs/cloudaudit.googleapis.com%2Factivity"\#(operationField)}"#
    }
}

@Suite("GCP audit normalizer")
struct GCPAuditNormalizerTests {
    @Test("a pipeline service account uploading a model, delegated through the Vertex service agent")
    func uploadModel() throws {
        let r = try NormalizedRecord(GCPRecords.pipelineUploadModel)
        #expect(r.source == .gcpAudit)
        #expect(r.source.name == "gcp.audit")
        // Nanosecond precision, truncated to milliseconds.
        #expect(r.time == epochMilliseconds(2026, 11, 3, 10, 42, 3, ms: 377))
        #expect(r[.uid] == "gvyfax5zjilj")
        #expect(r[.apiRequestID] == "projects/418273645501/locations/us-central1/models/5310287364019238912/operations/8536179685279328314")
        #expect(r[.apiService] == "aiplatform.googleapis.com")
        #expect(r[.apiOperation] == "google.cloud.aiplatform.v1.ModelService.UploadModel")
        #expect(r[.actorUser] == "vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com")
        #expect(r[.actorUserType] == "ServiceAccount")
        #expect(r[.actorImpersonatedBy] == "service-418273645501@gcp-sa-aiplatform-cc.iam.gserviceaccount.com")
        #expect(r[.srcIP] == "gce-internal-ip")
        #expect(r[.userAgent] == "model-builder/1.121.0 google-cloud-aiplatform/1.121.0 gl-python/3.11.9 grpc/1.71.0,gzip(gfe)")
        #expect(r.outcome == .success)
        #expect(r[.statusCode] == nil)
        #expect(r[.errorMessage] == nil)
        #expect(r[.resourceName] == "projects/acme-ml-prod/locations/us-central1/models/5310287364019238912")
        #expect(r[.resourceType] == "audited_resource")
        #expect(r[.cloudProvider] == "gcp")
        #expect(r[.cloudAccount] == "acme-ml-prod")
        // The labels have no location: it comes from the resource name.
        #expect(r[.cloudRegion] == "us-central1")
        #expect(r[.mlEntity] == "model")
        #expect(r[.mlName] == "projects/acme-ml-prod/locations/us-central1/models/5310287364019238912")
    }

    @Test("a denied CustomJob: code 7 is a failure with its message")
    func denied() throws {
        let r = try NormalizedRecord(GCPRecords.deniedCustomJob)
        #expect(r.outcome == .failure)
        #expect(r[.statusCode] == "7")
        #expect(r[.errorMessage] == "Permission 'iam.serviceAccounts.actAs' denied on service account vertex-pipelines@acme-ml-prod.iam.gserviceaccount.com (or it may not exist).")
        #expect(r[.actorUser] == "mallory@acme.example")
        #expect(r[.actorUserType] == "User")
        #expect(r[.actorImpersonatedBy] == nil)
        #expect(r[.srcIP] == "203.0.113.77")
        #expect(r[.mlEntity] == "custom_job")
        // No operation: the request id is the insertId.
        #expect(r[.uid] == "pml3h6gqie63")
        #expect(r[.apiRequestID] == "pml3h6gqie63")
        #expect(r.time == epochMilliseconds(2026, 11, 5, 3, 8, 14, ms: 660))
    }

    @Test("outcome: status absent, {} and code 0 are success")
    func successStatuses() throws {
        let method = "google.cloud.aiplatform.v1.PredictionService.Predict"
        let absent = try NormalizedRecord(GCPRecords.entry(method: method, status: nil))
        #expect(absent.outcome == .success)
        #expect(absent[.statusCode] == nil)

        let empty = try NormalizedRecord(GCPRecords.entry(method: method, status: "{}"))
        #expect(empty.outcome == .success)

        let zero = try NormalizedRecord(GCPRecords.entry(method: method, status: #"{"code":0}"#))
        #expect(zero.outcome == .success)
        #expect(zero[.statusCode] == "0")

        let notFound = try NormalizedRecord(GCPRecords.entry(method: method, status: #"{"code":5,"message":"Endpoint not found."}"#))
        #expect(notFound.outcome == .failure)
        #expect(notFound[.statusCode] == "5")
        #expect(notFound[.errorMessage] == "Endpoint not found.")
    }

    @Test("request id: operation.id, falling back to insertId when the operation has no id")
    func requestID() throws {
        let method = "google.cloud.aiplatform.v1.EndpointService.DeployModel"
        let withOperation = try NormalizedRecord(GCPRecords.entry(
            method: method,
            operation: #"{"id":"projects/418273645501/locations/us-central1/endpoints/7203418856243511296/operations/1","producer":"aiplatform.googleapis.com","last":true}"#))
        #expect(withOperation[.apiRequestID] == "projects/418273645501/locations/us-central1/endpoints/7203418856243511296/operations/1")
        #expect(withOperation[.uid] == "qx6xaikzkr9k")

        let idless = try NormalizedRecord(GCPRecords.entry(method: method, operation: #"{"producer":"aiplatform.googleapis.com","first":true}"#))
        #expect(idless[.apiRequestID] == "qx6xaikzkr9k")
    }

    @Test("ml.entity per Vertex AI service", arguments: [
        ("google.cloud.aiplatform.v1.ModelService.DeleteModel", "model"),
        ("google.cloud.aiplatform.v1.EndpointService.DeployModel", "endpoint"),
        ("google.cloud.aiplatform.v1.EndpointService.UndeployModel", "endpoint"),
        ("google.cloud.aiplatform.v1.PredictionService.Predict", "endpoint"),
        ("google.cloud.aiplatform.v1.PipelineService.CreatePipelineJob", "pipeline_job"),
        ("google.cloud.aiplatform.v1.JobService.CreateCustomJob", "custom_job"),
        ("google.cloud.aiplatform.v1.DatasetService.CreateDataset", "dataset"),
        ("google.cloud.aiplatform.v1beta1.ModelService.UploadModel", "model"),
    ])
    func vertexEntities(method: String, entity: String) throws {
        let r = try NormalizedRecord(GCPRecords.entry(method: method))
        #expect(r[.apiOperation] == method)
        #expect(r[.mlEntity] == entity)
        #expect(r[.mlName] == "projects/acme-ml-prod/locations/us-central1/endpoints/7203418856243511296")
    }

    @Test("no ML fields for a service that is not Vertex AI")
    func notVertex() throws {
        let r = try NormalizedRecord(GCPRecords.entry(
            method: "storage.buckets.setIamPolicy", service: "storage.googleapis.com",
            resourceName: "projects/_/buckets/acme-ml-prod-artifacts",
            resource: #"{"type":"gcs_bucket","labels":{"bucket_name":"acme-ml-prod-artifacts","location":"us-central1","project_id":"acme-ml-prod"}}"#))
        #expect(r[.apiService] == "storage.googleapis.com")
        #expect(r[.mlEntity] == nil)
        #expect(r[.mlName] == nil)
        #expect(r[.resourceType] == "gcs_bucket")
        #expect(r[.resourceName] == "projects/_/buckets/acme-ml-prod-artifacts")
        #expect(r[.cloudAccount] == "acme-ml-prod")
        #expect(r[.cloudRegion] == "us-central1")
    }

    @Test("a Vertex method on a generic service (SetIamPolicy) names the object but no entity")
    func setIamPolicy() throws {
        let r = try NormalizedRecord(GCPRecords.entry(method: "google.iam.v1.IAMPolicy.SetIamPolicy"))
        #expect(r[.mlEntity] == nil)
        #expect(r[.mlName] == "projects/acme-ml-prod/locations/us-central1/endpoints/7203418856243511296")
    }

    @Test("cloud account and region: labels first, then projects/<p>/locations/<l> in resourceName")
    func accountAndRegion() throws {
        let method = "google.cloud.aiplatform.v1.EndpointService.CreateEndpoint"
        let labelled = try NormalizedRecord(GCPRecords.entry(
            method: method,
            resourceName: "projects/other-project/locations/europe-west4/endpoints/1",
            resource: #"{"type":"aiplatform.googleapis.com/Endpoint","labels":{"project_id":"acme-ml-prod","location":"us-central1","endpoint_id":"1"}}"#))
        #expect(labelled[.cloudAccount] == "acme-ml-prod")
        #expect(labelled[.cloudRegion] == "us-central1")
        #expect(labelled[.resourceType] == "aiplatform.googleapis.com/Endpoint")

        let regionLabel = try NormalizedRecord(GCPRecords.entry(
            method: method, resource: #"{"type":"audited_resource","labels":{"project_id":"acme-ml-prod","region":"europe-west4"}}"#))
        #expect(regionLabel[.cloudRegion] == "europe-west4")

        let noLabels = try NormalizedRecord(GCPRecords.entry(
            method: method, resourceName: "projects/acme-ml-prod/locations/us-central1/endpoints/1948273650018437120",
            resource: #"{"type":"audited_resource"}"#))
        #expect(noLabels[.cloudAccount] == "acme-ml-prod")
        #expect(noLabels[.cloudRegion] == "us-central1")

        let projectOnly = try NormalizedRecord(GCPRecords.entry(
            method: method, resourceName: "projects/acme-ml-prod", resource: #"{"type":"audited_resource"}"#))
        #expect(projectOnly[.cloudAccount] == "acme-ml-prod")
        #expect(projectOnly[.cloudRegion] == nil)

        let unrelated = try NormalizedRecord(GCPRecords.entry(
            method: method, resourceName: "organizations/1234/policies/x", resource: #"{"type":"audited_resource"}"#))
        #expect(unrelated[.cloudAccount] == nil)
        #expect(unrelated[.cloudRegion] == nil)
    }

    @Test("actor.user_type: ServiceAccount only for *.gserviceaccount.com")
    func userTypes() throws {
        let method = "google.cloud.aiplatform.v1.PredictionService.Predict"
        let sa = try NormalizedRecord(GCPRecords.entry(method: method, principal: "fraud-api@acme-ml-prod.iam.gserviceaccount.com"))
        #expect(sa[.actorUserType] == "ServiceAccount")
        let external = try NormalizedRecord(GCPRecords.entry(method: method, principal: "mallory.personal@example.com"))
        #expect(external[.actorUserType] == "User")
        #expect(external[.actorUser] == "mallory.personal@example.com")
    }

    @Test("timestamps with nanoseconds, microseconds and none")
    func timestamps() throws {
        let method = "google.cloud.aiplatform.v1.PredictionService.Predict"
        let nanos = try NormalizedRecord(GCPRecords.entry(method: method, timestamp: "2026-11-05T03:27:40.999999999Z"))
        #expect(nanos.time == epochMilliseconds(2026, 11, 5, 3, 27, 40, ms: 999))
        let micros = try NormalizedRecord(GCPRecords.entry(method: method, timestamp: "2026-11-05T03:27:40.123456Z"))
        #expect(micros.time == epochMilliseconds(2026, 11, 5, 3, 27, 40, ms: 123))
        let whole = try NormalizedRecord(GCPRecords.entry(method: method, timestamp: "2026-11-05T03:27:40Z"))
        #expect(whole.time == epochMilliseconds(2026, 11, 5, 3, 27, 40))
    }
}
