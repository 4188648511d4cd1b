// swift-tools-version:6.1
// libFuzzer harnesses for Strata's client-facing parsers (module S3Protocol of the root package) and for the
// object metadata codec (whose sources fuzz-metadata links from Sources/StrataStore).
// Build and run them with scripts/fuzz; a plain `swift build` here builds them without instrumentation.
import PackageDescription

/// Each fuzz target is its own executable `fuzz-<name>`, with its seeds in fixtures/fuzz/<name>/.
let fuzzTargets = [
    "http-date", "range", "query", "target", "sigv4-header", "aws-chunked", "xml", "names", "conditions",
    "presigned", "copy-source", "request", "form", "jwt",
]

let package = Package(
    name: "strata-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "strata", path: "..")
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(
            name: "FuzzSupport",
            dependencies: ["CLibFuzzer", .product(name: "S3Protocol", package: "strata")]
        ),
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: "fuzz-\(name)",
                dependencies: ["FuzzSupport", .product(name: "S3Protocol", package: "strata")]
            )
        }
        + [
            // Its directory links ObjectMetadata.swift, MetadataCodec.swift and ChecksumAlgorithm.swift from
            // Sources/StrataStore, which use nothing else of the store: depending on StrataStore would build NIO and
            // the rest of its dependencies with the sanitizers for every fuzz run.
            .executableTarget(name: "fuzz-metadata", dependencies: ["FuzzSupport"])
        ]
)
