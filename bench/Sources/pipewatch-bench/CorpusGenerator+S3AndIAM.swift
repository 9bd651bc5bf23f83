import Foundation
import PipewatchEvents

/// CloudTrail records of S3 and IAM calls.
extension CorpusGenerator {
    mutating func writeS3(
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

    mutating func writeIAM(
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
}
