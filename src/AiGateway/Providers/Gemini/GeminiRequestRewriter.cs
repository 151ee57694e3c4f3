using System.Text.Json;

namespace AiGateway.Providers.Gemini;

/// <summary>Gemini request changes: the output-token limit lives in <c>generationConfig.maxOutputTokens</c>.</summary>
public static class GeminiRequestRewriter
{
    /// <summary>The spellings of the generation config object Google's JSON mapping accepts.</summary>
    internal static readonly string[] ConfigNames = ["generationConfig", "generation_config"];

    /// <summary>The spellings of the output-token limit inside it.</summary>
    internal static readonly string[] LimitNames = ["maxOutputTokens", "max_output_tokens"];

    /// <summary>Returns the body with <c>generationConfig.maxOutputTokens</c> set (creating generationConfig if needed), or null for an unmetered request.</summary>
    public static byte[]? SetMaxOutputTokens(ParsedRequest request, int maxOutputTokens) =>
        ProviderRequestRewriter.Apply(request, (r, o) => AddMaxOutputTokens(r, maxOutputTokens, o));

    /// <summary>
    /// Sets the limit in every spelling the body already uses (so no larger limit survives next to it), or adds
    /// <c>generationConfig.maxOutputTokens</c> when there is none, keeping every other generation setting.
    /// </summary>
    internal static bool AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides)
    {
        if (request.Operation is not (Operation.GeminiGenerateContent or Operation.GeminiStreamGenerateContent)) return false;
        var root = request.Root;
        var any = false;
        foreach (var configName in ConfigNames)
        {
            if (!RequestFields.TryGet(root, configName, out var config) || config.ValueKind != JsonValueKind.Object) continue;
            any = true;
            var inner = new PropertyOverrides();
            foreach (var limitName in LimitNames)
                if (RequestFields.TryGet(config, limitName, out _)) inner.Set(limitName, w => w.WriteNumberValue(max));
            if (inner.IsEmpty && (configName == ConfigNames[0] || !RequestFields.TryGet(root, ConfigNames[0], out _)))
                inner.Set(LimitNames[0], w => w.WriteNumberValue(max));
            var existing = config;
            overrides.Set(configName, w => JsonBodyWriter.WriteObject(w, existing, inner));
        }
        if (!any)
        {
            var inner = new PropertyOverrides();
            inner.Set(LimitNames[0], w => w.WriteNumberValue(max));
            overrides.Set(ConfigNames[0], w => JsonBodyWriter.WriteObject(w, default, inner));
        }
        return true;
    }
}
