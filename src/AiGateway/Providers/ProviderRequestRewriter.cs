using AiGateway.Providers.Anthropic;
using AiGateway.Providers.Gemini;
using AiGateway.Providers.OpenAi;

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
        var hideUsageChunk = request.Format == ProviderFormat.OpenAi && OpenAiRequestRewriter.AddStreamUsage(request, overrides);
        if (maxOutputTokens is { } max) AddMaxOutputTokens(request, max, overrides);
        return overrides.IsEmpty
            ? RequestRewrite.Unchanged
            : new RequestRewrite(JsonBodyWriter.Rewrite(request.Root, overrides), hideUsageChunk);
    }

    /// <summary>Returns the body with the output-token limit set, or null when the operation has no such limit.</summary>
    public static byte[]? SetMaxOutputTokens(ParsedRequest request, int maxOutputTokens) => request.Format switch
    {
        ProviderFormat.Anthropic => AnthropicRequestRewriter.SetMaxOutputTokens(request, maxOutputTokens),
        ProviderFormat.Gemini => GeminiRequestRewriter.SetMaxOutputTokens(request, maxOutputTokens),
        _ => OpenAiRequestRewriter.SetMaxOutputTokens(request, maxOutputTokens),
    };

    /// <summary>Applies one provider's limit rewrite through a shared override set, returning the new body or null.</summary>
    internal static byte[]? Apply(ParsedRequest request, Func<ParsedRequest, PropertyOverrides, bool> add)
    {
        if (!request.HasJsonBody) return null;
        var overrides = new PropertyOverrides();
        return add(request, overrides) ? JsonBodyWriter.Rewrite(request.Root, overrides) : null;
    }

    private static void AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides)
    {
        switch (request.Format)
        {
            case ProviderFormat.Anthropic:
                AnthropicRequestRewriter.AddMaxOutputTokens(request, max, overrides);
                break;
            case ProviderFormat.Gemini:
                GeminiRequestRewriter.AddMaxOutputTokens(request, max, overrides);
                break;
            default:
                OpenAiRequestRewriter.AddMaxOutputTokens(request, max, overrides);
                break;
        }
    }
}
