/// Secret values are never written in full: at most the first 4 characters survive.
public enum Redaction {
    public static let mask = "****"

    public static func redact(_ secret: Substring) -> String {
        let keep = secret.count >= 12 ? 4 : (secret.count >= 8 ? 2 : 0)
        return String(secret.prefix(keep)) + mask
    }

    public static func redact(_ secret: String) -> String { redact(secret[...]) }
}
