import Foundation
import PipewatchDetectors
import PipewatchEvents

/// Raw records of the four sources for the rule pack's generated streams, in the shapes the sources write.
enum PackRecords {
    static let repository = "rules/pipewatch/"

    /// A CloudTrail call by a role session, from `ip` (a role whose sessions name no person is a workload).
    static func role(
        at time: Int64, role: String, session: String, event: String, service: String, ip: String = "10.0.3.4", id: String,
        account: String = "111122223333", error: String? = nil, extra: String = ""
    ) -> String {
        let failure = error.map { #""errorCode":"\#($0)","errorMessage":"denied","# } ?? ""
        return #"{"eventVersion":"1.09","eventTime":"\#(Timestamp.format(milliseconds: time))","eventSource":"\#(service)","eventName":"\#(event)","awsRegion":"us-east-1","sourceIPAddress":"\#(ip)","userAgent":"Boto3/1.34.0","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:\#(session)","arn":"arn:aws:sts::\#(account):assumed-role/\#(role)/\#(session)","accountId":"\#(account)","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::\#(account):role/\#(role)","accountId":"\#(account)","userName":"\#(role)"},"attributes":{"creationDate":"\#(Timestamp.format(milliseconds: time - minute))","mfaAuthenticated":"false"}}},\#(failure)"eventID":"\#(id)","eventType":"AwsApiCall","recipientAccountId":"\#(account)"\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    /// A CloudTrail call by a person through IAM Identity Center (the session is named by the user's email).
    static func sso(at time: Int64, person: String, permissionSet: String, event: String, service: String, id: String, extra: String = "") -> String {
        role(at: time, role: "AWSReservedSSO_\(permissionSet)_5b7c9e1d2f3a4b6c", session: person, event: event, service: service, ip: "198.51.100.23", id: id, extra: extra)
    }

    /// S3 object parameters.
    static func object(_ bucket: String, _ key: String) -> String {
        #""requestParameters":{"bucketName":"\#(bucket)","key":"\#(key)"},"eventCategory":"Data""#
    }

    /// A GCP Cloud Audit Logs entry. `extra` are members added to protoPayload.
    static func gcp(
        at time: Int64, principal: String, service: String, method: String, resource: String, id: String, status: Int? = nil,
        callerIp: String = "10.128.0.9", labels: String = #""project_id":"acme-ml-prod""#, log: String = "activity", extra: String = ""
    ) -> String {
        let statusMember = status.map { #"{"code":\#($0),"message":"failed"}"# } ?? "{}"
        return #"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","status":\#(statusMember),"authenticationInfo":{"principalEmail":"\#(principal)"},"requestMetadata":{"callerIp":"\#(callerIp)"},"serviceName":"\#(service)","methodName":"\#(method)","resourceName":"\#(resource)"\#(extra.isEmpty ? "" : "," + extra)},"insertId":"\#(id)","resource":{"type":"audited_resource","labels":{\#(labels)}},"timestamp":"\#(Timestamp.format(milliseconds: time))","logName":"projects/acme-ml-prod/logs/cloudaudit.googleapis.com%2F\#(log)"}"#
    }

    /// A Kubernetes audit event at ResponseComplete. `apiGroup` empty for the core group.
    static func k8s(
        at time: Int64, user: String, verb: String, resource: String, subresource: String? = nil, apiGroup: String = "", namespace: String,
        name: String, code: Int = 200, sourceIPs: [String] = ["10.0.8.21"], id: String
    ) -> String {
        let group = apiGroup.isEmpty ? "" : #""apiGroup":"\#(apiGroup)","#
        let sub = subresource.map { #""subresource":"\#($0)","# } ?? ""
        let ips = sourceIPs.map { "\"\($0)\"" }.joined(separator: ",")
        let stamp = Timestamp.format(milliseconds: time)
        let path = apiGroup.isEmpty ? "/api/v1" : "/apis/\(apiGroup)/v1"
        return #"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"\#(id)","stage":"ResponseComplete","requestURI":"\#(path)/namespaces/\#(namespace)/\#(resource)/\#(name)","verb":"\#(verb)","user":{"username":"\#(user)","groups":["system:authenticated"]},"sourceIPs":[\#(ips)],"objectRef":{"resource":"\#(resource)",\#(sub)\#(group)"namespace":"\#(namespace)","name":"\#(name)","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":\#(code)},"requestReceivedTimestamp":"\#(stamp)","stageTimestamp":"\#(stamp)"}"#
    }
}

extension StageHarness {
    /// The uids of a rule's alerts, in time order.
    func uids(of reference: String) -> [String] {
        alerts(of: reference).sorted { $0.time < $1.time }.map { $0[.uid] ?? "?" }
    }
}
