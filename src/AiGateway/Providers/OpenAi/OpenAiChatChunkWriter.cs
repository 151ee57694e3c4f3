using System.Buffers;
using System.Text.Json;
using AiGateway.Providers.Sse;

namespace AiGateway.Providers.OpenAi;

/// <summary>
/// Writes an OpenAI <c>chat.completion.chunk</c> stream for a translated provider stream: the role first, then content
/// and tool-call deltas, one chunk with the finish reason, the usage chunk when asked for, and <c>data: [DONE]</c>.
/// The id, model and creation time are those of the first chunk and repeat on every chunk, as OpenAI does.
/// </summary>
internal sealed class OpenAiChatChunkWriter(bool includeUsage)
{
    private readonly ArrayBufferWriter<byte> _json = new(512);
    private string _id = "";
    private string _model = "";
    private long _created;

    /// <summary>Whether <see cref="Start"/> was written.</summary>
    public bool Started { get; private set; }

    /// <summary>Whether the finish chunk was written.</summary>
    public bool Finished { get; private set; }

    /// <summary>Whether <c>[DONE]</c> (or an error) ended the stream.</summary>
    public bool Ended { get; private set; }

    /// <summary>Writes the first chunk (<c>role: assistant</c>) and fixes the id, model and creation time of the stream.</summary>
    public void Start(IBufferWriter<byte> output, string id, string model, long created)
    {
        if (Started) return;
        (_id, _model, _created, Started) = (id, model, created, true);
        Write(output, w =>
        {
            w.WriteString("role", "assistant");
            w.WriteString("content", "");
        }, null);
    }

    /// <summary>A text delta.</summary>
    public void Content(IBufferWriter<byte> output, string text)
    {
        if (text.Length == 0) return;
        Write(output, w => w.WriteString("content", text), null);
    }

    /// <summary>The start of tool call <paramref name="index"/>: its id, name and empty arguments.</summary>
    public void ToolCallStart(IBufferWriter<byte> output, int index, string id, string name) =>
        WriteToolCall(output, index, id, name, "");

    /// <summary>A fragment of tool call <paramref name="index"/>'s arguments.</summary>
    public void ToolCallArguments(IBufferWriter<byte> output, int index, string fragment)
    {
        if (fragment.Length == 0) return;
        WriteToolCall(output, index, null, null, fragment);
    }

    /// <summary>The chunk carrying the finish reason (once).</summary>
    public void Finish(IBufferWriter<byte> output, string finishReason)
    {
        if (Finished) return;
        Finished = true;
        Write(output, _ => { }, finishReason);
    }

    /// <summary>Ends the stream: the usage chunk when the client asked for one, then <c>[DONE]</c>.</summary>
    public void End(IBufferWriter<byte> output, ChatUsage? usage)
    {
        if (Ended) return;
        Ended = true;
        if (includeUsage && usage is not null)
        {
            _json.ResetWrittenCount();
            using (var w = new Utf8JsonWriter(_json, OpenAiChatCompletion.WriterOptions))
            {
                WriteHeader(w);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                w.WritePropertyName("usage");
                usage.Write(w);
                w.WriteEndObject();
            }
            SseWriter.WriteEvent(output, default, _json.WrittenSpan);
        }
        SseWriter.WriteEvent(output, default, "[DONE]"u8);
    }

    /// <summary>Ends the stream with an error event in OpenAI's shape (what OpenAI sends when a stream fails).</summary>
    public void Error(IBufferWriter<byte> output, string message, string type, string? code)
    {
        if (Ended) return;
        Ended = true;
        SseWriter.WriteEvent(output, default, OpenAiChatCompletion.ErrorJson(message, type, code));
    }

    private void WriteToolCall(IBufferWriter<byte> output, int index, string? id, string? name, string arguments) =>
        Write(output, w =>
        {
            w.WriteStartArray("tool_calls");
            w.WriteStartObject();
            w.WriteNumber("index", index);
            if (id is not null)
            {
                w.WriteString("id", id);
                w.WriteString("type", "function");
            }
            w.WriteStartObject("function");
            if (name is not null) w.WriteString("name", name);
            w.WriteString("arguments", arguments);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
        }, null);

    private void Write(IBufferWriter<byte> output, Action<Utf8JsonWriter> delta, string? finishReason)
    {
        _json.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_json, OpenAiChatCompletion.WriterOptions))
        {
            WriteHeader(w);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            delta(w);
            w.WriteEndObject();
            w.WriteNull("logprobs");
            if (finishReason is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", finishReason);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        SseWriter.WriteEvent(output, default, _json.WrittenSpan);
    }

    private void WriteHeader(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("id", _id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", _created);
        w.WriteString("model", _model);
    }
}
