using System.Text.Json;

namespace AiGateway.Providers.Gemini;

/// <summary>Gemini request changes: the output-token limit lives in <c>generationConfig.maxOutputTokens</c>.</summary>
public static class GeminiRequestRewriter
{
    /// <summary>Returns the body with <c>generationConfig.maxOutputTokens</c> set (creating generationConfig if needed), or null for an unmetered request.</summary>
    public static byte[]? SetMaxOutputTokens(ParsedRequest request, int maxOutputTokens) =>
        ProviderRequestRewriter.Apply(request, (r, o) => AddMaxOutputTokens(r, maxOutputTokens, o));

    /// <summary>Adds the nested limit override, keeping every other generation setting.</summary>
    internal static bool AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides)
    {
        if (request.Operation is not (Operation.GeminiGenerateContent or Operation.GeminiStreamGenerateContent)) return false;
        var root = request.Root;
        // Keep the client's spelling (camelCase or snake_case) so the body never holds both.
        var configName = RequestFields.TryGet(root, "generationConfig", out _) || !RequestFields.TryGet(root, "generation_config", out _)
            ? "generationConfig"
            : "generation_config";
        var config = root.TryGetProperty(configName, out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var limitName = config.ValueKind == JsonValueKind.Object && RequestFields.TryGet(config, "max_output_tokens", out _)
            ? "max_output_tokens"
            : "maxOutputTokens";
        var inner = new PropertyOverrides();
        inner.Set(limitName, w => w.WriteNumberValue(max));
        overrides.Set(configName, w => JsonBodyWriter.WriteObject(w, config, inner));
        return true;
    }
}
