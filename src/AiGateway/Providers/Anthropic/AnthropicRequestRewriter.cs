namespace AiGateway.Providers.Anthropic;

/// <summary>Anthropic request changes: the output-token limit lives in the top-level <c>max_tokens</c>.</summary>
public static class AnthropicRequestRewriter
{
    /// <summary>Returns the Messages body with <c>max_tokens</c> set, or null for an unmetered request.</summary>
    public static byte[]? SetMaxOutputTokens(ParsedRequest request, int maxOutputTokens) =>
        ProviderRequestRewriter.Apply(request, (r, o) => AddMaxOutputTokens(r, maxOutputTokens, o));

    /// <summary>Adds the <c>max_tokens</c> override; false when the operation has no limit.</summary>
    internal static bool AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides)
    {
        if (request.Operation != Operation.AnthropicMessages) return false;
        overrides.Set("max_tokens", w => w.WriteNumberValue(max));
        return true;
    }
}
