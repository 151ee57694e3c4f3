using System.Text.Json;

namespace AiGateway.Providers.OpenAi;

/// <summary>Reads Responses API events: text deltas, and the usage inside the final <c>response.completed</c> (or incomplete/failed) event.</summary>
internal sealed class OpenAiResponsesStreamTracker : StreamUsageTracker
{
    /// <summary>Reads one event; never withholds anything.</summary>
    public override bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        using var document = TryParse(data);
        if (document is null) return false;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            return false;

        switch (typeElement.GetString())
        {
            case "response.output_text.delta":
            case "response.refusal.delta":
            case "response.reasoning_text.delta":
            case "response.reasoning_summary_text.delta":
            case "response.function_call_arguments.delta":
                AppendDelivered(root, "delta");
                break;
            // All three end the stream, and each carries the final response object with its usage.
            case "response.completed":
            case "response.incomplete":
            case "response.failed":
                SawTerminalEvent = true;
                if (UsageFields.TryGetObject(root, "response", out var response) && UsageFields.TryGetObject(response, "usage", out var usage))
                    Usage = TryRead(() => OpenAiUsage.FromResponsesUsage(usage)) ?? Usage;
                break;
        }
        return false;
    }
}
