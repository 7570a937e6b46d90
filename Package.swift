// swift-tools-version:6.0
import PackageDescription

let engineSettings: [SwiftSetting] = []

let package = Package(
    name: "SVQ",
    products: [
        // MARK: - Libraries
        .library(name: "SVQEngine", targets: ["SVQEngine"]),
        .library(name: "SVQNN", targets: ["SVQNN"]),
        .library(name: "SVQOptim", targets: ["SVQOptim"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "SVQModel", targets: ["SVQModel"]),
        // MARK: - Tools
        .executable(name: "svq-bench", targets: ["svq-bench"]),
        .executable(name: "svq", targets: ["svq"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // MARK: - Implementation
        .target(name: "SafeTensors"),
        .target(name: "SVQEngine", dependencies: ["COpenBLAS"], swiftSettings: engineSettings),
        .target(name: "SVQNN", dependencies: ["SVQEngine", "SafeTensors"], swiftSettings: engineSettings),
        .target(name: "SVQOptim", dependencies: ["SVQEngine", "SVQNN"], swiftSettings: engineSettings),
        .target(name: "SVQModel", dependencies: ["SVQEngine", "SVQNN", "SafeTensors"], swiftSettings: engineSettings),

        // MARK: - Executables
        .executableTarget(
            name: "svq",
            dependencies: ["SVQModel", "SafeTensors", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: engineSettings
        ),
        .executableTarget(name: "svq-bench", dependencies: ["SVQEngine", "SVQModel"], swiftSettings: engineSettings),

        // MARK: - Tests
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SVQEngineTests", dependencies: ["SVQEngine"]),
        .testTarget(name: "SVQNNTests", dependencies: ["SVQNN", "SVQOptim"]),
        .testTarget(name: "SVQOptimTests", dependencies: ["SVQOptim"]),
        .testTarget(name: "SVQModelTests", dependencies: ["SVQModel", "SVQNN", "SafeTensors"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
