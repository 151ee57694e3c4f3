namespace AiGateway.Tokenizers;

/// <summary>Maps OpenAI model names (including dated variants) and encoding names to a <see cref="TiktokenEncoding"/>.</summary>
public static class ModelEncodings
{
    // Prefix → encoding, longest prefix wins so "gpt-4o" beats "gpt-4". Mirrors tiktoken's
    // model_to_encoding / MODEL_PREFIX_TO_ENCODING tables for the models the gateway serves.
    private static readonly (string Prefix, bool O200k)[] Prefixes =
    [
        ("gpt-4o", true), ("chatgpt-4o", true), ("gpt-4.1", true), ("gpt-4.5", true), ("gpt-5", true),
        ("gpt-oss", true), ("o1", true), ("o3", true), ("o4", true), ("codex-", true), ("computer-use-", true),
        ("gpt-4", false), ("gpt-3.5-turbo", false), ("gpt-35-turbo", false), ("text-embedding-3-", false),
        ("text-embedding-ada-002", false), ("davinci-002", false), ("babbage-002", false),
    ];

    /// <summary>Returns the encoding for a model name or encoding name, or null when unknown (callers then approximate with o200k_base).</summary>
    public static TiktokenEncoding? ForModel(string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) return null;
        var name = model.Trim();
        // Provider-qualified names such as "openai/gpt-4o" are common in gateways.
        int slash = name.LastIndexOf('/');
        if (slash >= 0) name = name[(slash + 1)..];
        // Fine-tuned models are named "ft:<base model>:<org>::<id>".
        if (name.StartsWith("ft:", StringComparison.OrdinalIgnoreCase)) name = name[3..];
        var byEncoding = ForEncodingName(name);
        if (byEncoding != null) return byEncoding;

        string? best = null;
        bool o200k = false;
        foreach (var (prefix, isO200k) in Prefixes)
        {
            if (!name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) continue;
            if (!IsBoundary(name, prefix)) continue;
            if (best == null || prefix.Length > best.Length) { best = prefix; o200k = isO200k; }
        }
        if (best == null) return null;
        return o200k ? TiktokenEncoding.O200kBase : TiktokenEncoding.Cl100kBase;
    }

    /// <summary>Returns the encoding for "o200k_base" or "cl100k_base", or null.</summary>
    public static TiktokenEncoding? ForEncodingName(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "o200k_base" => TiktokenEncoding.O200kBase,
        "cl100k_base" => TiktokenEncoding.Cl100kBase,
        _ => null,
    };

    // "o1" must match "o1" and "o1-mini" but not "o10"; "gpt-4" must not claim an unknown "gpt-4.2".
    // Point releases are only accepted where the family is known to keep its encoding (gpt-5.x).
    private static bool IsBoundary(string name, string prefix)
    {
        if (name.Length == prefix.Length || prefix.EndsWith('-')) return true;
        char next = name[prefix.Length];
        return next is '-' or ':' || (next == '.' && prefix == "gpt-5");
    }
}
