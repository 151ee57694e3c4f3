using System.Buffers;
using System.Text.Json;
using AiGateway.Providers.Sse;

namespace AiGateway.Providers.OpenAi;

/// <summary>
/// Turns one attempt's native provider event stream into OpenAI <c>chat.completion.chunk</c> events, incrementally:
/// each complete upstream event is translated as soon as it arrives, and nothing else is held. Create one per attempt.
/// </summary>
internal abstract class ChatStreamTranslator(bool includeUsage, int maxEventBytes = SseReader.DefaultMaxEventBytes) : IChatStreamTranslator
{
    private readonly SseReader _reader = new(maxEventBytes);
    private bool _completed;

    /// <summary>The OpenAI chunk writer (id, model and the stream's progress).</summary>
    protected OpenAiChatChunkWriter Chunks { get; } = new(includeUsage);

    /// <summary>Whether the translated stream ended properly (<c>[DONE]</c> or an error event was written).</summary>
    public bool Ended => Chunks.Ended;

    /// <summary>Translates one upstream chunk (split anywhere) into what the client receives.</summary>
    public void Process(ReadOnlySpan<byte> upstreamChunk, IBufferWriter<byte> toClient)
    {
        if (_completed) throw new InvalidOperationException("The stream translator has already completed.");
        var rest = upstreamChunk;
        while (!rest.IsEmpty)
        {
            var blockDone = _reader.Advance(rest, out var consumed);
            rest = rest[consumed..];
            if (!blockDone) break;
            if (_reader.HasEvent) Dispatch(_reader.EventType, _reader.Data, toClient);
        }
    }

    /// <summary>Ends the upstream stream: translates a final unterminated event, then lets the provider finish the client stream.</summary>
    public void Complete(IBufferWriter<byte> toClient)
    {
        if (_completed) return;
        _completed = true;
        if (_reader.Finish()) Dispatch(_reader.EventType, _reader.Data, toClient);
        OnUpstreamEnd(toClient);
    }

    /// <summary>Translates one upstream event.</summary>
    protected abstract void OnEvent(ReadOnlySpan<byte> eventType, JsonElement data, IBufferWriter<byte> toClient);

    /// <summary>Called once when the upstream stream ended; a translator that has everything it needs ends the client stream here.</summary>
    protected virtual void OnUpstreamEnd(IBufferWriter<byte> toClient)
    {
    }

    private void Dispatch(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data, IBufferWriter<byte> toClient)
    {
        if (Chunks.Ended) return;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data.ToArray());
        }
        catch (JsonException)
        {
            // Not JSON (a provider keep-alive or a broken event): nothing the OpenAI stream could carry.
            return;
        }
        using (document)
        {
            if (document.RootElement.ValueKind == JsonValueKind.Object) OnEvent(eventType, document.RootElement, toClient);
        }
    }

    /// <summary>A string property, or null.</summary>
    protected static string? String(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
