import PipewatchJSON

/// `ml.artifact.uri`: one spelling per storage location, so the same model directory named by SageMaker, an S3
/// data event, MLflow, Vertex AI or KServe is the same text (README, "Model artifacts").
///
/// - S3: `s3://<bucket>/<key>` from `s3://`, `s3a://`, `s3n://`, `arn:<partition>:s3:::<bucket>/<key>`, and HTTP(S)
///   URLs of S3, virtual-hosted (`<bucket>.s3[.<region>|-<region>].amazonaws.com[.cn]/<key>`) or path-style
///   (`s3[.<region>].amazonaws.com/<bucket>/<key>`); a URL's path is percent-decoded, its query dropped.
/// - Cloud Storage: `gs://<bucket>/<path>` from `gs://` and `https://storage.googleapis.com/<bucket>/<path>`,
///   `storage.cloud.google.com`, `<bucket>.storage.googleapis.com`.
/// - No trailing slash: a directory and the prefix it names are one location.
/// - Anything else (`runs:/…`, `models:/…`, `mlflow-artifacts:/…`, `file://`, other hosts) is kept as written, less
///   trailing slashes.
enum ArtifactURI {
    /// The written form, trimmed, is already canonical: the record's bytes can be used as they are.
    static func isCanonical(_ uri: UnsafeBufferPointer<UInt8>) -> Bool {
        let scheme: Int
        if JSONString.hasPrefix(uri, "s3://") {
            scheme = 5
        } else if JSONString.hasPrefix(uri, "gs://") {
            scheme = 5
        } else {
            return false
        }
        return uri.count > scheme && uri[scheme] != UInt8(ascii: "/")
    }

    /// `uri` without surrounding whitespace and trailing slashes (but those right after a scheme's colon: `s3://`
    /// stays itself), as a range of it.
    static func trimmedRange(_ uri: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var start = 0
        var end = uri.count
        while start < end && isSpace(uri[start]) { start += 1 }
        while end > start && isSpace(uri[end - 1]) { end -= 1 }
        var slashes = end
        while slashes > start && uri[slashes - 1] == UInt8(ascii: "/") { slashes -= 1 }
        if slashes > start && uri[slashes - 1] != UInt8(ascii: ":") { end = slashes }
        return start..<end
    }

    /// Appends the canonical form of `text` to the arena; missing when nothing is left of it.
    static func append(_ text: UnsafeBufferPointer<UInt8>, to arena: TextArena) -> TextRef {
        let uri = UnsafeBufferPointer(rebasing: text[trimmedRange(text)])
        guard !uri.isEmpty else { return .missing }
        let mark = arena.mark
        if let rest = afterPrefix(uri, "s3://") ?? afterPrefix(uri, "s3a://") ?? afterPrefix(uri, "s3n://") {
            guard !rest.isEmpty else { return .missing }
            arena.append("s3://")
            arena.appendBytes(rest)
        } else if let rest = afterPrefix(uri, "gs://") {
            guard !rest.isEmpty else { return .missing }
            arena.append("gs://")
            arena.appendBytes(rest)
        } else if let rest = s3ARNPath(uri) {
            arena.append("s3://")
            arena.appendBytes(rest)
        } else if !appendURL(uri, to: arena) {
            arena.appendBytes(uri)
        }
        return arena.finish(from: mark)
    }

    /// Appends `<scheme><bucket>/<key>` (the key's trailing slashes dropped); missing without a bucket.
    static func appendObject(
        _ scheme: StaticString, bucket: UnsafeBufferPointer<UInt8>, key: UnsafeBufferPointer<UInt8>?, to arena: TextArena
    ) -> TextRef {
        guard !bucket.isEmpty else { return .missing }
        let mark = arena.mark
        arena.append(scheme)
        arena.appendBytes(bucket)
        if let key {
            var end = key.count
            while end > 0 && key[end - 1] == UInt8(ascii: "/") { end -= 1 }
            if end > 0 {
                arena.appendByte(UInt8(ascii: "/"))
                arena.appendBytes(UnsafeBufferPointer(rebasing: key[0..<end]))
            }
        }
        return arena.finish(from: mark)
    }

    // MARK: Forms

    private static func afterPrefix(_ uri: UnsafeBufferPointer<UInt8>, _ scheme: StaticString) -> UnsafeBufferPointer<UInt8>? {
        guard TextSearch.hasPrefixIgnoringCase(uri, scheme) else { return nil }
        return UnsafeBufferPointer(rebasing: uri[scheme.utf8CodeUnitCount...])
    }

    /// `<bucket>/<key>` of `arn:<partition>:s3:::<bucket>/<key>` (an object or bucket ARN; not an access point's).
    private static func s3ARNPath(_ uri: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard let partition = AWSIdentity.partitionRange(uri) else { return nil }
        let rest = UnsafeBufferPointer(rebasing: uri[(partition.upperBound)...])
        guard JSONString.hasPrefix(rest, ":s3:::"), rest.count > 6 else { return nil }
        return UnsafeBufferPointer(rebasing: rest[6...])
    }

    /// An S3 or Cloud Storage HTTP(S) URL in canonical form; false (nothing appended) for any other URL.
    private static func appendURL(_ uri: UnsafeBufferPointer<UInt8>, to arena: TextArena) -> Bool {
        guard let rest = afterPrefix(uri, "https://") ?? afterPrefix(uri, "http://") else { return false }
        let hostEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
            ?? rest.count
        var host = UnsafeBufferPointer(rebasing: rest[0..<hostEnd])
        if let at = host.lastIndex(of: UInt8(ascii: "@")) { host = UnsafeBufferPointer(rebasing: host[(at + 1)...]) }
        if let colon = host.lastIndex(of: UInt8(ascii: ":")) { host = UnsafeBufferPointer(rebasing: host[0..<colon]) }
        let pathEnd = rest[hostEnd...].firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? rest.count
        var path = UnsafeBufferPointer(rebasing: rest[hostEnd..<pathEnd])
        while let last = path.last, last == UInt8(ascii: "/") { path = UnsafeBufferPointer(rebasing: path[0..<(path.count - 1)]) }

        if TextSearch.hasSuffixIgnoringCase(host, ".amazonaws.com") || TextSearch.hasSuffixIgnoringCase(host, ".amazonaws.com.cn") {
            // Virtual-hosted: the bucket is what comes before the last ".s3." / ".s3-" (bucket names may hold dots).
            guard let dot = lastS3Label(host) else {
                let pathStyle = TextSearch.hasPrefixIgnoringCase(host, "s3.") || TextSearch.hasPrefixIgnoringCase(host, "s3-")
                return pathStyle && appendPathStyle("s3://", path, to: arena)
            }
            let service = UnsafeBufferPointer(rebasing: host[(dot + 1)...])
            if TextSearch.hasPrefixIgnoringCase(service, "s3-accesspoint") || TextSearch.hasPrefixIgnoringCase(service, "s3-object-lambda") {
                return false
            }
            return appendVirtualHosted("s3://", bucket: UnsafeBufferPointer(rebasing: host[0..<dot]), path, to: arena)
        }
        if equalsIgnoringCase(host, "storage.googleapis.com") || equalsIgnoringCase(host, "storage.cloud.google.com") {
            return appendPathStyle("gs://", path, to: arena)
        }
        if TextSearch.hasSuffixIgnoringCase(host, ".storage.googleapis.com") {
            let bucket = UnsafeBufferPointer(rebasing: host[0..<(host.count - 23)])
            return appendVirtualHosted("gs://", bucket: bucket, path, to: arena)
        }
        return false
    }

    /// `/<bucket>/<key>` → `<scheme><bucket>/<key>`, decoded.
    private static func appendPathStyle(_ scheme: StaticString, _ path: UnsafeBufferPointer<UInt8>, to arena: TextArena) -> Bool {
        var start = 0
        while start < path.count && path[start] == UInt8(ascii: "/") { start += 1 }
        guard start < path.count else { return false }
        arena.append(scheme)
        appendPercentDecoded(UnsafeBufferPointer(rebasing: path[start...]), to: arena)
        return true
    }

    /// Host-named bucket (lowercased: host names are case-insensitive, bucket names lowercase) and decoded path.
    private static func appendVirtualHosted(
        _ scheme: StaticString, bucket: UnsafeBufferPointer<UInt8>, _ path: UnsafeBufferPointer<UInt8>, to arena: TextArena
    ) -> Bool {
        guard !bucket.isEmpty else { return false }
        arena.append(scheme)
        for byte in bucket { arena.appendByte(TextSearch.lowercased(byte)) }
        appendPercentDecoded(path, to: arena)
        return true
    }

    private static func lastS3Label(_ host: UnsafeBufferPointer<UInt8>) -> Int? {
        var k = host.count - 4
        while k >= 1 {
            if host[k] == UInt8(ascii: ".") && TextSearch.lowercased(host[k + 1]) == UInt8(ascii: "s")
                && host[k + 2] == UInt8(ascii: "3") && (host[k + 3] == UInt8(ascii: ".") || host[k + 3] == UInt8(ascii: "-"))
            {
                return k
            }
            k -= 1
        }
        return nil
    }

    /// URL paths escape reserved bytes as `%XX`; a `%` not followed by two hex digits stays as it is.
    private static func appendPercentDecoded(_ path: UnsafeBufferPointer<UInt8>, to arena: TextArena) {
        guard path.firstIndex(of: UInt8(ascii: "%")) != nil else {
            arena.appendBytes(path)
            return
        }
        var k = 0
        while k < path.count {
            if path[k] == UInt8(ascii: "%"), k + 2 < path.count, let high = hex(path[k + 1]), let low = hex(path[k + 2]) {
                arena.appendByte(high << 4 | low)
                k += 3
            } else {
                arena.appendByte(path[k])
                k += 1
            }
        }
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount && TextSearch.hasPrefixIgnoringCase(bytes, text)
    }

    @inline(__always)
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }
}

extension Normalizer {
    /// `ml.artifact.uri` of a string value: the record's own bytes when already canonical, else composed.
    func artifactURI(_ doc: JSONDocument, _ index: UInt32, _ arena: TextArena) -> TextRef {
        guard index != 0, doc[index].kind == .string else { return .missing }
        return doc.withString(index) { uri in
            let trimmed = ArtifactURI.trimmedRange(uri)
            if !doc[index].isEscaped && ArtifactURI.isCanonical(UnsafeBufferPointer(rebasing: uri[trimmed])) {
                return slice(doc, index, trimmed.lowerBound, trimmed.upperBound, arena)
            }
            return ArtifactURI.append(uri, to: arena)
        }
    }

    /// `ml.artifact.uri` of an object named by bucket and key (S3 data events, GCS audit entries).
    func artifactURI(
        _ scheme: StaticString, _ doc: JSONDocument, bucket: UInt32, key: UInt32, _ arena: TextArena
    ) -> TextRef {
        guard bucket != 0, doc[bucket].kind == .string else { return .missing }
        return doc.withString(bucket) { bucketBytes in
            guard key != 0, doc[key].kind == .string else {
                return ArtifactURI.appendObject(scheme, bucket: bucketBytes, key: nil, to: arena)
            }
            return doc.withString(key) { ArtifactURI.appendObject(scheme, bucket: bucketBytes, key: $0, to: arena) }
        }
    }
}
