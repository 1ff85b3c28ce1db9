import ArgumentParser
import VegaArtifacts

/// Where scans' reports are kept, for every command that writes, reads or expires them
/// (`serve`, `maintenance`): `--artifacts`, `--s3-endpoint`, `--s3-region`, and the
/// credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
struct ArtifactOptions: ParsableArguments {
    @Option(name: .customLong("artifacts"), help: "Where scans' reports are kept: a folder, or s3://bucket/prefix (default: the data folder's artifacts).")
    var location: String?

    @Option(name: .customLong("s3-endpoint"), help: "An S3-compatible server's URL, e.g. http://127.0.0.1:9000 (default: AWS). Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.")
    var s3Endpoint: String?

    @Option(name: .customLong("s3-region"), help: "The bucket's region (default: us-east-1).")
    var s3Region: String?

    func makeStore(dataDirectory: String) throws -> any ArtifactStore {
        try ArtifactStoreOptions(location: location, s3Endpoint: s3Endpoint, s3Region: s3Region).makeStore(dataDirectory: dataDirectory)
    }
}
