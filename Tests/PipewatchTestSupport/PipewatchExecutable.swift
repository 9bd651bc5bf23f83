import Foundation

/// The built `pipewatch` executable (built with the tests by `swift build --build-tests`) and the repository it
/// was built from.
public enum PipewatchExecutable {
    /// The test bundle sits in the same build folder as the executables.
    public static var url: URL {
        var folder = Bundle.main.bundleURL
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("pipewatch").path) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("pipewatch")
    }

    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Runs the built `pipewatch` executable (built with the tests by `swift build --build-tests`).
public struct PipewatchProcess {
    public static var executable: URL { PipewatchExecutable.url }

    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public static func run(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = PipewatchExecutable.repositoryRoot
        // Files rather than pipes: nothing can block on a full pipe.
        let dir = try TemporaryDirectory()
        _ = FileManager.default.createFile(atPath: dir.path("out"), contents: nil)
        _ = FileManager.default.createFile(atPath: dir.path("err"), contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: dir.url.appendingPathComponent("out"))
        process.standardError = try FileHandle(forWritingTo: dir.url.appendingPathComponent("err"))
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: try String(contentsOfFile: dir.path("out"), encoding: .utf8),
            stderr: try String(contentsOfFile: dir.path("err"), encoding: .utf8))
    }
}
