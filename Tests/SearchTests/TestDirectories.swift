// Scratch directories for the search tests that write tiered page files: made under /tmp, removed whole afterwards.
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory `/tmp/vecshard-<purpose>-XXXXXX`.
func temporaryDirectory(_ purpose: String) -> String {
    var template = Array("/tmp/vecshard-\(purpose)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
}

/// `rm -r` of a test's directory.
func removeTree(_ path: String) {
    if let dir = opendir(path) {
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { removeTree(path + "/" + name) }
        }
        closedir(dir)
        rmdir(path)
    } else {
        unlink(path)
    }
}
