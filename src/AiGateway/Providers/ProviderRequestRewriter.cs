namespace AiGateway.Providers;

/// <summary>Applies the gateway's request changes (streamed usage, output-token clamp) in one pass, whatever the provider.</summary>
public static class ProviderRequestRewriter
{
    /// <summary>
    /// Rewrites the body: for OpenAI chat/completions streams asks for usage when absent, and, when
    /// <paramref name="maxOutputTokens"/> is set, sets the provider's output-token limit to it (the caller decides the clamp).
    /// </summary>
    public static RequestRewrite Rewrite(ParsedRequest request, int? maxOutputTokens)
    {
        if (!request.HasJsonBody) return RequestRewrite.Unchanged;
        var overrides = new PropertyOverrides();
        var dialect = request.Dialect;
        var hideUsageChunk = dialect.AddStreamUsage(request, overrides);
        if (maxOutputTokens is { } max) dialect.AddMaxOutputTokens(request, max, overrides);
        return overrides.IsEmpty
            ? RequestRewrite.Unchanged
            : new RequestRewrite(JsonBodyWriter.Rewrite(request.Root, overrides), hideUsageChunk);
    }

    /// <summary>Returns the body with the output-token limit set, or null when the operation has no such limit.</summary>
    public static byte[]? SetMaxOutputTokens(ParsedRequest request, int maxOutputTokens) =>
        Apply(request, (r, o) => r.Dialect.AddMaxOutputTokens(r, maxOutputTokens, o));

    /// <summary>Applies one provider's limit rewrite through a shared override set, returning the new body or null.</summary>
    internal static byte[]? Apply(ParsedRequest request, Func<ParsedRequest, PropertyOverrides, bool> add)
    {
        if (!request.HasJsonBody) return null;
        var overrides = new PropertyOverrides();
        return add(request, overrides) ? JsonBodyWriter.Rewrite(request.Root, overrides) : null;
    }
}
