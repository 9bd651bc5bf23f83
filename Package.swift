// swift-tools-version:6.0
import PackageDescription

/// The parse/normalize/match modules check nothing at run time that the code already guarantees: exclusive
/// access is enforced statically, and the dynamic checks cost ~5 % of parse time (bench/README.md).
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "pipewatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pipewatch", targets: ["pipewatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System libraries (Debian: librdkafka-dev, libzstd-dev, zlib1g-dev, libhyperscan-dev, libcurl4-openssl-dev,
        // libssl-dev).
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CHyperscan", pkgConfig: "libhs", providers: [.apt(["libhyperscan-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // A blocking libcurl client for the HTTP sinks (curl_easy_setopt is variadic: Swift cannot call it).
        .target(name: "CHTTPClient", dependencies: ["CCurl"]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // A blocking OpenSSL client for syslog over TLS (RFC 5425) on a socket the sink connected.
        .target(name: "CTLSClient", dependencies: ["COpenSSL"]),
        // CPU cache hints (prefetch) for the detector stage's hot loop; Swift has no public spelling of them.
        .target(name: "CCacheHints"),

        // The parser core: record framing and a tape document with zero-copy field access.
        .target(name: "PipewatchJSON", swiftSettings: hotPath),
        // The normalized event and one normalizer per source.
        .target(name: "PipewatchEvents", dependencies: ["PipewatchJSON"], swiftSettings: hotPath),
        // Sigma rules: loader, condition compiler, field matchers.
        .target(name: "PipewatchRules", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "CHyperscan",
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: hotPath),
        // Alerts, formatters and sinks.
        .target(name: "PipewatchOutput", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "CHTTPClient", "CTLSClient", "CZlib",
        ]),
        // Correlations and statistical detectors in event time: windows, watermarks, tuning, state snapshots.
        .target(name: "PipewatchDetectors", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "PipewatchOutput", "CCacheHints",
        ], swiftSettings: hotPath),
        // Inputs, decompression, batching and the pipeline.
        .target(name: "PipewatchEngine", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "PipewatchOutput", "PipewatchDetectors", "CZstd", "CZlib", "CRdKafka",
            // The webhook receiver and the metrics/health endpoint: HTTP server, HMAC, Prometheus exposition.
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "pipewatch", dependencies: [
            "PipewatchEngine", "PipewatchRules", "PipewatchOutput", "PipewatchEvents",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(
            name: "pipewatch-bench",
            dependencies: ["PipewatchEngine", "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "PipewatchDetectors",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "bench/Sources/pipewatch-bench"),

        .testTarget(name: "PipewatchJSONTests", dependencies: ["PipewatchJSON"]),
        .testTarget(name: "PipewatchDetectorsTests", dependencies: [
            "PipewatchDetectors", "PipewatchEngine", "PipewatchRules", "PipewatchOutput", "PipewatchEvents", "PipewatchJSON",
            "PipewatchTestSupport",
        ]),
        .testTarget(name: "PipewatchEventsTests", dependencies: ["PipewatchEvents", "PipewatchJSON"], exclude: ["Fixtures"]),
        .testTarget(
            name: "PipewatchRulesTests", dependencies: ["PipewatchRules", "PipewatchEvents", "PipewatchJSON"],
            exclude: ["Fixtures"]),
        // What several test targets share: scratch directories, child processes, loopback ports.
        .target(
            name: "PipewatchTestSupport", dependencies: ["PipewatchEngine", "PipewatchOutput"], path: "Tests/PipewatchTestSupport",
            exclude: ["Collector"]),
        .testTarget(
            name: "PipewatchOutputTests",
            dependencies: ["PipewatchOutput", "PipewatchEngine", "PipewatchEvents", "PipewatchJSON", "PipewatchTestSupport"]),
        .testTarget(name: "PipewatchKafkaTests", dependencies: [
            "PipewatchEngine", "PipewatchEvents", "PipewatchOutput", "CRdKafka", "PipewatchTestSupport",
        ]),
        .testTarget(name: "PipewatchEngineTests", dependencies: [
            "PipewatchEngine", "PipewatchRules", "PipewatchOutput", "PipewatchEvents", "PipewatchJSON", "CZstd", "CZlib",
            "PipewatchTestSupport",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
