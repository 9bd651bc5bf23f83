import Foundation
import PipewatchEvents

/// CloudTrail records of SageMaker calls: training jobs, models, endpoints, the registry.
extension CorpusGenerator {
    mutating func writeSageMaker(
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
}
