using System.Text.Json;
using System.Text.Unicode;
using AiGateway.Metering;
using AiGateway.Providers.Anthropic;
using AiGateway.Providers.Gemini;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Providers;

/// <summary>Reads what a call consumed from a complete (non-streamed) provider response body.</summary>
public static class UsageReader
{
    /// <summary>Returns the usage in <paramref name="body"/>, or null when the body reports none, an unreadable one, or is not JSON.</summary>
    public static CallUsage? FromJson(Operation operation, ReadOnlySpan<byte> body)
    {
        if (operation == Operation.Unmetered || body.IsEmpty || !Utf8.IsValid(body)) return null;
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            try
            {
                return operation switch
                {
                    Operation.AnthropicMessages => AnthropicUsage.FromResponse(root),
                    Operation.GeminiGenerateContent or Operation.GeminiStreamGenerateContent => GeminiUsage.FromResponse(root),
                    _ => OpenAiUsage.FromResponse(operation, root),
                };
            }
            catch (UnreadableUsageException)
            {
                // An unreadable report is no report: the caller charges the counted tokens (usage source "estimated").
                return null;
            }
        }
    }
}
