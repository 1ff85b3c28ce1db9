import VegaStore

/// Which failed attempts are worth another: a scan the network or the database let down
/// (a clone that timed out or could not reach its host, a server error, the database
/// unreachable or busy) may succeed later; one that failed on its own input — a ref the
/// repository lacks, a refused URL, credentials refused, an unreadable file — will fail
/// the same way again, so it fails at once.
enum ScanFailure {
    static func isRetryable(_ error: any Error) -> Bool {
        if Store.isUnavailable(error) { return true }
        let message = "\(error)"
        return transientGitMessages.contains { message.localizedCaseInsensitiveContains($0) }
    }

    /// What git (and the curl under it) print when the network, not the request, failed;
    /// `cloning … timed out after` is SourceResolver's own clone timeout.
    static let transientGitMessages = [
        " timed out after", "Could not resolve host", "Temporary failure in name resolution", "Connection refused",
        "Connection timed out", "Connection reset", "Operation timed out", "Network is unreachable",
        "The remote end hung up unexpectedly", "early EOF", "RPC failed", "The requested URL returned error: 5",
    ]
}
