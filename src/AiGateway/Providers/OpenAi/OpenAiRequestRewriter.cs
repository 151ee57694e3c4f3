using System.Text.Json;

namespace AiGateway.Providers.OpenAi;

/// <summary>OpenAI request changes: asking for streamed usage, and setting the output-token limit in the field the client used.</summary>
public static class OpenAiRequestRewriter
{
    /// <summary>
    /// For a streaming chat/completions request without <c>stream_options.include_usage: true</c>, returns a body that
    /// asks for it (keeping other stream options) with <see cref="RequestRewrite.HideUsageChunk"/> set; otherwise unchanged.
    /// </summary>
    public static RequestRewrite EnsureStreamUsage(ParsedRequest request)
    {
        if (!request.HasJsonBody) return RequestRewrite.Unchanged;
        var overrides = new PropertyOverrides();
        return AddStreamUsage(request, overrides)
            ? new RequestRewrite(JsonBodyWriter.Rewrite(request.Root, overrides), HideUsageChunk: true)
            : RequestRewrite.Unchanged;
    }

    /// <summary>Returns the body with the output-token limit set, or null when the operation has none (embeddings, images, videos).</summary>
    public static byte[]? SetMaxOutputTokens(ParsedRequest request, int maxOutputTokens) =>
        ProviderRequestRewriter.Apply(request, (r, o) => AddMaxOutputTokens(r, maxOutputTokens, o));

    /// <summary>Adds the include_usage override when needed; returns true when the gateway asked for usage itself.</summary>
    internal static bool AddStreamUsage(ParsedRequest request, PropertyOverrides overrides)
    {
        if (!request.Stream || request.Operation is not (Operation.OpenAiChatCompletions or Operation.OpenAiCompletions))
            return false;
        var root = request.Root;
        var existing = root.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object
            ? options
            : default;
        if (existing.ValueKind == JsonValueKind.Object
            && existing.TryGetProperty("include_usage", out var include) && include.ValueKind == JsonValueKind.True)
            return false; // the client asked for usage itself and will expect the chunk

        var inner = new PropertyOverrides();
        inner.Set("include_usage", w => w.WriteBooleanValue(true));
        overrides.Set("stream_options", w => JsonBodyWriter.WriteObject(w, existing, inner));
        return true;
    }

    /// <summary>Adds the limit override in the field the operation (and the client) uses; false when there is none.</summary>
    internal static bool AddMaxOutputTokens(ParsedRequest request, int max, PropertyOverrides overrides)
    {
        switch (request.Operation)
        {
            case Operation.OpenAiChatCompletions:
            {
                // Keep the client's field: older compatible servers only know max_tokens, reasoning models only max_completion_tokens.
                var root = request.Root;
                var usesMaxTokens = RequestFields.TryGet(root, "max_tokens", out _);
                var usesCompletion = RequestFields.TryGet(root, "max_completion_tokens", out _);
                if (usesMaxTokens) overrides.Set("max_tokens", w => w.WriteNumberValue(max));
                if (usesCompletion || !usesMaxTokens) overrides.Set("max_completion_tokens", w => w.WriteNumberValue(max));
                return true;
            }
            case Operation.OpenAiCompletions:
                overrides.Set("max_tokens", w => w.WriteNumberValue(max));
                return true;
            case Operation.OpenAiResponses:
                overrides.Set("max_output_tokens", w => w.WriteNumberValue(max));
                return true;
            default:
                return false;
        }
    }
}
