using System.Text.Json;
using System.Text.Unicode;

namespace AiGateway.Providers.OpenAi;

/// <summary>
/// Reads chat completion (and legacy completion) chunks. Usage arrives only when <c>stream_options.include_usage</c>
/// is set, in an extra final chunk with empty <c>choices</c>; when the gateway injected the option, that chunk is withheld.
/// </summary>
internal sealed class OpenAiChatStreamTracker(bool hideUsageChunk) : StreamUsageTracker
{
    /// <summary>Only when the gateway asked for usage itself is there a chunk to withhold.</summary>
    public override bool MayWithhold => hideUsageChunk;

    /// <summary>Reads one chunk; returns true for the usage-only chunk the client did not ask for.</summary>
    public override bool OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        if (data.SequenceEqual("[DONE]"u8))
        {
            SawTerminalEvent = true;
            return false;
        }
        if (!Utf8.IsValid(data)) return false;
        if (TryReadTextChunk(data)) return false;
        using var document = TryParse(data);
        if (document is null) return false;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return false;

        var choiceCount = 0;
        if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array)
        {
            foreach (var choice in choices.EnumerateArray())
            {
                choiceCount++;
                AppendDelivered(choice, "text"); // legacy completions
                if (!choice.TryGetProperty("delta", out var delta)) continue;
                AppendDelivered(delta, "content");
                AppendDelivered(delta, "reasoning_content"); // DeepSeek, Qwen and other compatible servers
                AppendDelivered(delta, "refusal");
                if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                    foreach (var call in calls.EnumerateArray())
                        if (call.TryGetProperty("function", out var function))
                            AppendDelivered(function, "arguments");
            }
        }

        // Compatible servers may attach usage to the last content chunk instead; it is read but such a chunk is never hidden.
        if (!UsageFields.TryGetObject(root, "usage", out var usage)) return false;
        if (TryRead(() => OpenAiUsage.FromChatUsage(usage)) is { } read) Usage = read;
        return hideUsageChunk && choiceCount == 0;
    }

    /// <summary>
    /// The fast path for the chunks that make up almost all of a stream (text deltas, no usage report): reads the
    /// delivered text in one pass of <see cref="Utf8JsonReader"/> instead of building a <see cref="JsonDocument"/> per
    /// chunk, appending exactly what the document read in <see cref="OnEvent"/> would (same fields, same order). Returns
    /// false — having appended nothing — for anything else, which then takes the document read: a usage object, a
    /// repeated field (the document reads the last one), a choice, delta or tool call that is not an object (the document
    /// read throws there), a string it cannot decode, or malformed JSON.
    /// </summary>
    internal bool TryReadTextChunk(ReadOnlySpan<byte> data)
    {
        var start = DeliveredLength;
        try
        {
            var reader = new Utf8JsonReader(data, JsonFastRead.Options);
            if (!reader.Read()) return false;
            // Not an object: the document read finds nothing in it either (or cannot parse it), and appends nothing.
            if (reader.TokenType != JsonTokenType.StartObject) return true;
            var sawChoices = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    if (sawChoices) return Undo(start);
                    sawChoices = true;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray && !ReadChoices(ref reader)) return Undo(start);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject) return Undo(start);
                    reader.Skip();
                }
                else
                {
                    reader.Skip();
                }
            }
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return Undo(start);
        }
    }

    private bool Undo(int start)
    {
        TruncateDelivered(start);
        return false;
    }

    /// <summary>Reads the choices array (the reader on its start); false when the document read must decide.</summary>
    private bool ReadChoices(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) return false;
            string? text = null, content = null, reasoning = null, refusal = null;
            List<string?>? arguments = null;
            bool sawText = false, sawDelta = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("text"u8))
                {
                    if (sawText) return false;
                    sawText = true;
                    text = JsonFastRead.StringOrSkip(ref reader);
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    if (sawDelta) return false;
                    sawDelta = true;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject || !ReadDelta(ref reader, out content, out reasoning, out refusal, out arguments))
                        return false;
                }
                else
                {
                    reader.Skip();
                }
            }
            // The document read's order: the legacy text, then the delta's content, reasoning, refusal and tool arguments.
            AppendDelivered(text);
            AppendDelivered(content);
            AppendDelivered(reasoning);
            AppendDelivered(refusal);
            if (arguments is not null) foreach (var argument in arguments) AppendDelivered(argument);
        }
        return true;
    }

    private static bool ReadDelta(ref Utf8JsonReader reader, out string? content, out string? reasoning, out string? refusal, out List<string?>? arguments)
    {
        content = reasoning = refusal = null;
        arguments = null;
        bool sawContent = false, sawReasoning = false, sawRefusal = false, sawCalls = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8))
            {
                if (sawContent) return false;
                sawContent = true;
                content = JsonFastRead.StringOrSkip(ref reader);
            }
            else if (reader.ValueTextEquals("reasoning_content"u8))
            {
                if (sawReasoning) return false;
                sawReasoning = true;
                reasoning = JsonFastRead.StringOrSkip(ref reader);
            }
            else if (reader.ValueTextEquals("refusal"u8))
            {
                if (sawRefusal) return false;
                sawRefusal = true;
                refusal = JsonFastRead.StringOrSkip(ref reader);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                if (sawCalls) return false;
                sawCalls = true;
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }
                arguments = [];
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject || !ReadToolCall(ref reader, arguments)) return false;
                }
            }
            else
            {
                reader.Skip();
            }
        }
        return true;
    }

    /// <summary>One tool call object (the reader on its start): its function's arguments, if a string.</summary>
    private static bool ReadToolCall(ref Utf8JsonReader reader, List<string?> arguments)
    {
        var sawFunction = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("function"u8))
            {
                reader.Skip();
                continue;
            }
            if (sawFunction) return false;
            sawFunction = true;
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            var sawArguments = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("arguments"u8))
                {
                    reader.Skip();
                    continue;
                }
                if (sawArguments) return false;
                sawArguments = true;
                arguments.Add(JsonFastRead.StringOrSkip(ref reader));
            }
        }
        return true;
    }
}
