using System.Text.Json;
using AiGateway.Metering;

namespace AiGateway.Providers.OpenAi;

/// <summary>Reads streamed image generation/edit events: each <c>image_*.completed</c> event is one image and carries token usage.</summary>
internal sealed class OpenAiImageStreamTracker : StreamUsageTracker
{
    private CallUsage _tokens = CallUsage.None;
    private int _images;

    /// <summary>Reads one event; never withholds anything.</summary>
    public override bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        using var document = TryParse(data);
        if (document is null) return false;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            return false;
        if (!(type.ValueEquals("image_generation.completed") || type.ValueEquals("image_edit.completed"))) return false;

        _images++;
        // The docs do not say whether usage is per image or for the call; taking the last report never double-charges.
        if (UsageFields.TryGetObject(root, "usage", out var usage))
            _tokens = TryRead(() => OpenAiUsage.FromResponsesUsage(usage)) ?? _tokens;
        Usage = _tokens with { Images = _images };
        // The stream has no [DONE]; the last requested image completing is as terminal as it gets.
        SawTerminalEvent = true;
        return false;
    }
}
