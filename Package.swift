// swift-tools-version:6.0
import PackageDescription

let engineSettings: [SwiftSetting] = []
let packageDirectory = String(#filePath.dropLast("Package.swift".count))

let package = Package(
    name: "SVQ",
    products: [
        // MARK: - Libraries
        .library(name: "SVQEngine", targets: ["SVQEngine"]),
        .library(name: "SVQNN", targets: ["SVQNN"]),
        .library(name: "SVQOptim", targets: ["SVQOptim"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "SVQModels", targets: ["SVQModels"]),
        .library(name: "IRISModels", targets: ["IRISModels"]),
        .library(name: "SVQData", targets: ["SVQData"]),
        .library(name: "SVQTrain", targets: ["SVQTrain"]),
        .library(name: "SVQEval", targets: ["SVQEval"]),
        .library(name: "SVQ", targets: ["SVQ"]),
        // libSVQRuntime.so, the C ABI (include/svq.h); scripts install it as libsvq.so.0. (A product named
        // "svq" would clash with the svq executable: SwiftPM ignores the second product of a name.)
        .library(name: "SVQRuntime", type: .dynamic, targets: ["SVQRuntime", "SVQRuntimeExports"]),
        // MARK: - Tools
        .executable(name: "svq-bench", targets: ["svq-bench"]),
        .executable(name: "svq", targets: ["svq"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // libpng's simplified API (png_image_*): it reports errors by status, so no longjmp crosses Swift.
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        // cairo, for figures with text (svq plot, svq eval); the runtime library never links it.
        .systemLibrary(
            name: "CCairo",
            pkgConfig: "cairo",
            providers: [.apt(["libcairo2-dev"])]
        ),
        // oneDNN's direct convolutions (blocked layouts, JIT kernels for the machine's vector width).
        .systemLibrary(
            name: "CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        // include/svq.h as a module, so SVQRuntime implements the header's own declarations (@c @implementation).
        .systemLibrary(name: "CSVQ", path: "include"),

        // MARK: - Implementation
        .target(name: "SafeTensors"),
        .target(name: "SVQEngine", dependencies: ["COpenBLAS", "CDNNL"], swiftSettings: engineSettings),
        .target(name: "SVQNN", dependencies: ["SVQEngine", "SafeTensors"], swiftSettings: engineSettings),
        .target(name: "SVQOptim", dependencies: ["SVQEngine", "SVQNN"], swiftSettings: engineSettings),
        .target(name: "SVQModels", dependencies: ["SVQEngine", "SVQNN", "SafeTensors"], swiftSettings: engineSettings),
        // IRIS (github eloialonso/iris): tokenizer, world model, actor-critic, and the importer of its checkpoints.
        .target(name: "IRISModels", dependencies: ["SVQEngine", "SVQNN", "SafeTensors"], swiftSettings: engineSettings),
        .target(name: "SVQData", dependencies: ["SVQEngine", "CPNG"], swiftSettings: engineSettings),
        .target(name: "SVQTrain", dependencies: ["SVQEngine", "SVQNN", "SVQOptim", "SVQModels", "SVQData", "SafeTensors"],
                swiftSettings: engineSettings),
        .target(name: "SVQEval", dependencies: ["SVQEngine", "SVQModels", "SVQData"], swiftSettings: engineSettings),
        .target(name: "SVQPlot", dependencies: ["CCairo", "SVQData", "SVQEval", "SVQModels"], swiftSettings: engineSettings),
        .target(name: "SVQ", dependencies: ["SVQEngine", "SVQModels", "SafeTensors"], swiftSettings: engineSettings),
        .target(name: "SVQRuntime", dependencies: ["SVQ", "CSVQ"], swiftSettings: engineSettings),
        // libSVQRuntime.so exports only the svq_* functions (packaging/libsvq.map). A target of its own, in the
        // dynamic product only: linker settings reach every binary linking their target, and the test bundle
        // links SVQRuntime too. (The SONAME libsvq.so.0 is set where scripts install the library: in the build
        // folder the file keeps the name SwiftPM links other packages' programs against.)
        .target(name: "SVQRuntimeExports", linkerSettings: [
            .unsafeFlags(["-Xlinker", "--version-script=\(packageDirectory)packaging/libsvq.map"], .when(platforms: [.linux])),
        ]),
        .target(name: "SVQONNX", dependencies: ["SVQEngine", "SVQNN", "SVQModels", "SafeTensors",
                                                .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                swiftSettings: engineSettings),

        // MARK: - Executables
        // The commands, in a library so SVQCommandTests can parse them; the svq executable only runs them.
        .target(
            name: "SVQCommandLine",
            dependencies: ["SVQ", "SVQModels", "SVQData", "SVQTrain", "SVQEval", "SVQPlot", "SVQONNX", "SafeTensors", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: engineSettings
        ),
        .executableTarget(name: "svq", dependencies: ["SVQCommandLine"], swiftSettings: engineSettings),
        .executableTarget(name: "svq-bench", dependencies: ["SVQEngine", "SVQModels", "SVQTrain", "SVQ", "SVQData", "SafeTensors"], swiftSettings: engineSettings),

        // MARK: - Tests
        // What more than one suite uses: scratch folders, finite-difference checks, the golden fixture's sizes.
        // (Tests/CAPI/test_capi.c is C, built by scripts/test-native.sh.)
        .target(name: "SVQTestSupport", dependencies: ["SVQEngine", "SVQModels"], path: "Tests/SVQTestSupport"),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "SVQTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SVQEngineTests", dependencies: ["SVQEngine", "SVQTestSupport"]),
        .testTarget(name: "SVQNNTests", dependencies: ["SVQNN", "SVQOptim"]),
        .testTarget(name: "SVQOptimTests", dependencies: ["SVQOptim"]),
        .testTarget(name: "SVQModelsTests", dependencies: ["SVQModels", "SVQNN", "SafeTensors", "SVQTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "IRISModelsTests", dependencies: ["IRISModels", "SVQNN", "SVQEngine", "SafeTensors", "SVQTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SVQDataTests", dependencies: ["SVQData", "SVQEngine", "SVQTestSupport"]),
        .testTarget(name: "SVQEvalTests", dependencies: ["SVQEval", "SVQModels", "SVQData", "SVQEngine", "SVQTestSupport"]),
        .testTarget(name: "SVQPlotTests", dependencies: ["SVQPlot", "SVQEval", "SVQModels", "SVQData", "SVQEngine", "SVQTestSupport"]),
        .testTarget(name: "SVQTrainTests", dependencies: ["SVQTrain", "SVQModels", "SVQData", "SVQEngine", "SVQNN", "SVQOptim"]),
        .testTarget(name: "SVQRuntimeTests", dependencies: ["SVQ", "SVQRuntime", "CSVQ", "SVQModels", "SVQEngine", "SafeTensors",
                                                            "SVQTestSupport"]),
        .testTarget(name: "SVQONNXTests", dependencies: ["SVQONNX", "SVQModels", "SVQEngine", "SafeTensors", "SVQTestSupport"]),
        // The svq command line: flag parsing, and runs of the svq executable (killed during training).
        .testTarget(name: "SVQCommandTests", dependencies: ["SVQCommandLine", "SVQData", "SVQEngine", "SVQEval", "SVQModels", "SVQTrain",
                                                            .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    ],
    swiftLanguageModes: [.v5]
)
