import Foundation
import PipewatchEvents

/// CloudTrail records: the envelope, identities and per-service request parameters.
extension CorpusGenerator {
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
    func regionalHost(_ prefix: StaticString, _ region: Int, _ host: inout [UInt8]) {
        host.lit(prefix)
        host.lit(Vocabulary.regions[region])
        host.lit(".amazonaws.com")
    }

    /// `requestParameters`, `responseElements` and `additionalEventData`; fills the resources array body and
    /// the TLS host header as a side effect.
    mutating func writeParameters(
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

    mutating func upperBase32Chars(_ n: Int, _ out: inout [UInt8]) {
        var bits = rng.next()
        for k in 0..<n {
            if k == 12 { bits = rng.next() }
            let d = UInt8(truncatingIfNeeded: bits & 31)
            bits >>= 5
            out.append(d < 26 ? d &+ 65 : d &+ 24)
        }
    }

    /// `<model>-YYYY-MM-DD-HH-MM-SS-mmm` (SageMaker Python SDK) or `pipelines-<id>-<Step>-<id>` (Pipelines).
    mutating func jobName(_ team: Int, now: Int64, _ out: inout [UInt8]) {
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
}
