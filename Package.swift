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

        // The modules follow the flow: JSON → Events → Rules → Detectors → Output, with Inputs feeding the Pipeline
        // that the Daemon and the CLI drive. Each paragraph says what a module owns and what it must not depend on.

        // PipewatchJSON owns record framing, the tape parser with zero-copy field access by dotted path, and the
        // JSON writer. It depends on nothing: every other module builds on it, and it must stay free of events,
        // rules and I/O so the parser can be measured alone.
        .target(name: "PipewatchJSON", swiftSettings: hotPath),
        // PipewatchEvents owns the normalized event, source recognition and one normalizer per source. It knows
        // JSON only; never rules, detectors, inputs or outputs.
        .target(name: "PipewatchEvents", dependencies: ["PipewatchJSON"], swiftSettings: hotPath),
        // PipewatchRules owns the rule language: the Sigma loader and its extensions, the condition compiler and the
        // field matchers, and rule examples. It reads events; it must not know detectors, inputs or outputs.
        .target(name: "PipewatchRules", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "CHyperscan",
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: hotPath),
        // PipewatchKafka owns what librdkafka's consumer and producer share: errors and topic-partitions. It must
        // stay below both directions (inputs and outputs) and know nothing of events or alerts.
        .target(name: "PipewatchKafka", dependencies: ["CRdKafka"]),
        // PipewatchOutput owns the alert, the five formatters and every sink (stdout, files, HTTP, syslog, Kafka),
        // with delivery guarantees and the output specification. It turns alerts into bytes that leave the
        // process; it must not depend on inputs, the pipeline, detectors or the daemon.
        .target(name: "PipewatchOutput", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "PipewatchKafka", "CRdKafka", "CHTTPClient",
            "CTLSClient", "CZlib",
        ]),
        // PipewatchDetectors owns everything stateful in event time: the reorder buffer and watermarks, one file per
        // correlation or detector operator, the tuning gate, group tables and state snapshots. It consumes matches
        // and emits alerts; it must not read inputs or write to sinks.
        .target(name: "PipewatchDetectors", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "PipewatchOutput", "CCacheHints",
        ], swiftSettings: hotPath),
        // PipewatchInputs owns where records come from: files and directories, gzip and zstd decompression, record
        // reading in chunks, the Kafka consumer and its offset watermarks, and the MLflow webhook receiver (its
        // HTTP request and response). It yields bytes with positions; it must not parse events into alerts, and
        // must not depend on rules, detectors, outputs or the daemon.
        .target(name: "PipewatchInputs", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchKafka", "CRdKafka", "CZstd", "CZlib",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // PipewatchPipeline owns the path from records to acknowledged alerts: decoding, detection (rules and the
        // detector stage), dead letters, file replay and detector checkpoints. It is driven by the CLI and the
        // daemon and must not depend on either (no configuration files, no HTTP, no metrics registry).
        .target(name: "PipewatchPipeline", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "PipewatchOutput", "PipewatchDetectors",
            "PipewatchInputs", "PipewatchKafka",
        ]),
        // PipewatchReport owns the investigation report: it reads alerts back as OCSF Detection Findings (what
        // replay writes and what an alerts file holds), counts them and writes one self-contained HTML page. It sits
        // beside the outputs rather than in them: it is no sink, holds its own bounded aggregates, and serves
        // `pipewatch report` on a saved file as well as replay. It knows JSON and timestamps only.
        .target(name: "PipewatchReport", dependencies: [
            "PipewatchJSON", "PipewatchEvents", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // PipewatchDaemon owns the long-running process: its configuration file, lifecycle and signals, the HTTP
        // server (webhooks, /metrics, /healthz) and the Prometheus metrics. Nothing depends on it but the CLI.
        .target(name: "PipewatchDaemon", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "PipewatchOutput", "PipewatchDetectors",
            "PipewatchInputs", "PipewatchPipeline", "PipewatchKafka",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "pipewatch", dependencies: [
            "PipewatchDaemon", "PipewatchPipeline", "PipewatchInputs", "PipewatchRules", "PipewatchOutput",
            "PipewatchEvents", "PipewatchReport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(
            name: "pipewatch-bench",
            dependencies: ["PipewatchInputs", "PipewatchPipeline", "PipewatchOutput", "PipewatchJSON", "PipewatchEvents", "PipewatchRules",
                           "PipewatchDetectors", "CRdKafka",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "bench/Sources/pipewatch-bench"),

        // The libFuzzer harnesses (Tests/Fuzz/README.md): Tests/Fuzz/run builds them with -sanitize=fuzzer,address
        // in a build folder of their own; in an ordinary build each replays the inputs it is given.
        .target(name: "PipewatchFuzzing", dependencies: [
            "PipewatchJSON", "PipewatchEvents", "PipewatchRules", "PipewatchOutput", "PipewatchInputs", "PipewatchPipeline",
            "CZlib", "CZstd", .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Tests/Fuzz/Sources/PipewatchFuzzing"),
        .executableTarget(name: "fuzz-records", dependencies: ["PipewatchFuzzing"], path: "Tests/Fuzz/Sources/fuzz-records"),
        .executableTarget(name: "fuzz-rules", dependencies: ["PipewatchFuzzing"], path: "Tests/Fuzz/Sources/fuzz-rules"),
        .executableTarget(name: "fuzz-webhook", dependencies: ["PipewatchFuzzing"], path: "Tests/Fuzz/Sources/fuzz-webhook"),
        .executableTarget(
            name: "fuzz-formatters", dependencies: ["PipewatchFuzzing"], path: "Tests/Fuzz/Sources/fuzz-formatters"),

        .testTarget(name: "PipewatchJSONTests", dependencies: ["PipewatchJSON"]),
        .testTarget(name: "PipewatchDetectorsTests", dependencies: [
            "PipewatchDetectors", "PipewatchInputs", "PipewatchPipeline", "PipewatchRules", "PipewatchOutput", "PipewatchEvents",
            "PipewatchJSON", "PipewatchTestSupport",
        ]),
        .testTarget(name: "PipewatchEventsTests", dependencies: ["PipewatchEvents", "PipewatchJSON"], exclude: ["Fixtures"]),
        .testTarget(
            name: "PipewatchRulesTests", dependencies: ["PipewatchRules", "PipewatchEvents", "PipewatchJSON"],
            exclude: ["Fixtures"]),
        // What several test targets share: scratch directories, child processes, loopback ports.
        .target(
            name: "PipewatchTestSupport", dependencies: ["PipewatchInputs", "PipewatchPipeline", "PipewatchDaemon", "PipewatchOutput"],
            path: "Tests/PipewatchTestSupport",
            exclude: ["Collector"]),
        .testTarget(
            name: "PipewatchOutputTests",
            dependencies: ["PipewatchOutput", "PipewatchPipeline", "PipewatchKafka", "PipewatchEvents", "PipewatchJSON", "PipewatchTestSupport"]),
        .testTarget(name: "PipewatchKafkaTests", dependencies: [
            "PipewatchInputs", "PipewatchPipeline", "PipewatchDaemon", "PipewatchKafka", "PipewatchEvents", "PipewatchOutput", "CRdKafka",
            "PipewatchTestSupport",
        ]),
        .testTarget(name: "PipewatchPipelineTests", dependencies: [
            "PipewatchInputs", "PipewatchPipeline", "PipewatchRules", "PipewatchOutput", "PipewatchEvents", "PipewatchJSON",
            "CZstd", "CZlib", "PipewatchTestSupport",
        ]),
        .testTarget(name: "PipewatchReportTests", dependencies: [
            "PipewatchReport", "PipewatchOutput", "PipewatchJSON", "PipewatchTestSupport",
        ]),
        .testTarget(name: "PipewatchDaemonTests", dependencies: [
            "PipewatchDaemon", "PipewatchInputs", "PipewatchPipeline", "PipewatchRules", "PipewatchOutput", "PipewatchEvents",
            "PipewatchJSON", "PipewatchTestSupport",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
