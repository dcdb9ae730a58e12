// Entry points: libFuzzer's callback in a fuzzing build (-D FUZZING), else a replayer that runs saved inputs.
import Foundation

#if FUZZING

private func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    runTarget(input)
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under this name (its `main` is an alias), so libFuzzer's driver is
/// started from here rather than from libFuzzer's own `main`.
@_cdecl("vecshard_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { fuzzOneInput($0, $1) }
}
#else
/// `vecshard-fuzz FILE|DIR ...`: runs each saved input through VS_FUZZ_TARGET's target (a crash reproduces here
/// without the fuzzing build).
@main
struct Replay {
    static func main() throws {
        var files: [String] = []
        // Absolute paths: the command harness changes into its scratch directory when it starts.
        let workingDirectory = FileManager.default.currentDirectoryPath
        for argument in CommandLine.arguments.dropFirst() {
            let path = argument.hasPrefix("/") ? argument : workingDirectory + "/" + argument
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("no such file: \(path)\n".utf8)); exit(2)
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                files += names.map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        for file in files {
            print("replaying \(file)")
            runTarget(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
        }
        print("\(files.count) inputs, no crash")
    }
}
#endif

/// VS_FUZZ_TARGET: `commands` (default: a request stream against an in-process node), `requests` (the request
/// parser, split anywhere), `replies` (the reply parser).
nonisolated(unsafe) private var harness: CommandHarness?

private func runTarget(_ input: [UInt8]) {
    switch ProcessInfo.processInfo.environment["VS_FUZZ_TARGET"] ?? "commands" {
    case "requests": ParserTargets.requestSplits(input)
    case "replies": ParserTargets.replies(input)
    default:
        if harness == nil { harness = try! CommandHarness() }
        harness!.run(input: input)
    }
}
