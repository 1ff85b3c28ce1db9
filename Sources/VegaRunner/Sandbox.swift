import Foundation

/// bubblewrap's command line for a runner: no network, no other processes visible, no
/// capabilities, the host's files read-only, the data folder and home directories hidden
/// (the database, artifacts and credentials live there), and only the workspace writable.
struct Sandbox: Sendable {
    let bubblewrap: String

    /// bubblewrap on PATH, if installed.
    static func find(path: String? = ProcessInfo.processInfo.environment["PATH"]) -> Sandbox? {
        for directory in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/bwrap"
            if FileManager.default.isExecutableFile(atPath: candidate) { return Sandbox(bubblewrap: candidate) }
        }
        return nil
    }

    func command(
        _ runner: [String], executable: String, workspace: String, dataDirectory: String, advisories: String
    ) -> [String] {
        var arguments = [
            bubblewrap, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
        ]
        // A folder holding the runner's own executable stays visible, else it could not start.
        for hidden in ["/root", "/home", dataDirectory]
        where FileManager.default.fileExists(atPath: hidden) && !Self.contains(hidden, executable) {
            arguments += ["--tmpfs", hidden]
        }
        if FileManager.default.fileExists(atPath: advisories) { arguments += ["--ro-bind", advisories, advisories] }
        arguments += ["--bind", workspace, workspace, "--chdir", workspace, "--"]
        return arguments + runner
    }

    static func contains(_ folder: String, _ path: String) -> Bool {
        let folder = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(folder)
    }
}
