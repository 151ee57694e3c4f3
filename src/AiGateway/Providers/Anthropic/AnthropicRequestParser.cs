using System.Text.Json;

namespace AiGateway.Providers.Anthropic;

/// <summary>Recognizes Anthropic Messages requests and validates the fields metering relies on.</summary>
internal static class AnthropicRequestParser
{
    /// <summary>Parses a request whose path has had the route prefix and surrounding slashes removed.</summary>
    public static ParsedRequest Parse(string path, bool isPost, ReadOnlyMemory<byte> body)
    {
        // Only message creation is metered; v1/messages/count_tokens, batches and model lists pass through.
        if (!isPost || path != "v1/messages")
            return new ParsedRequest(ProviderFormat.Anthropic, Operation.Unmetered, path, body, null);

        var document = ProviderRequestParser.ParseJsonObject(body);
        return ProviderRequestParser.Build(document, d => ParseMessages(path, body, d));
    }

    private static ParsedRequest ParseMessages(string path, ReadOnlyMemory<byte> body, JsonDocument document)
    {
        var root = document.RootElement;
        var model = RequestFields.RequiredString(root, "model");
        var messages = RequestFields.RequiredArray(root, "messages");
        RequestFields.ArrayOfObjects(messages, "messages");
        foreach (var message in messages.EnumerateArray())
            RequestFields.StringOrArray(message, "content");
        RequestFields.StringOrArray(root, "system");
        RequestFields.OptionalArray(root, "tools");
        return new ParsedRequest(ProviderFormat.Anthropic, Operation.AnthropicMessages, path, body, document)
        {
            Model = model,
            Stream = RequestFields.OptionalBool(root, "stream") ?? false,
            MaxOutputTokens = RequestFields.OptionalInt(root, "max_tokens", 1, RequestFields.MaxTokensLimit),
        };
    }
}
