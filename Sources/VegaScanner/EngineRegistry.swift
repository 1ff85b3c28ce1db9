import VegaAIReview
import VegaDeps
import VegaModel
import VegaSecrets

/// The one place that knows which engines exist. Adding an engine: its folder/target,
/// plus a case here.
public enum EngineRegistry {
    public static let available = [RuleSet.engineID, DependencyEngine.engineID, AIReviewEngine.engineID]
    /// `ai` is never a default: it needs a model provider and spends its budget.
    public static let defaults = [RuleSet.engineID, DependencyEngine.engineID]

    public static func make(
        _ ids: [String], config: ScanConfig, maxFileSize: Int, dataDirectory: String
    ) throws -> [any ScanEngine] {
        try ids.map { id in
            switch id {
            case RuleSet.engineID:
                return SecretsEngine(ruleSet: try RuleSet.load(config: config.secrets ?? SecretsConfig()), maxFileSize: maxFileSize)
            case DependencyEngine.engineID:
                return DependencyEngine(advisoryDirectory: DataDirectory.advisories(in: dataDirectory), maxFileSize: maxFileSize)
            case AIReviewEngine.engineID:
                return AIReviewEngine(configuration: try AIReviewConfiguration.fromEnvironment(), maxFileSize: maxFileSize)
            default:
                throw ScanError("unknown engine '\(id)' (available: \(available.joined(separator: ", ")))")
            }
        }
    }
}
