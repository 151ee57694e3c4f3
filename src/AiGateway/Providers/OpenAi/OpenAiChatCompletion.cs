using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AiGateway.Providers.OpenAi;

/// <summary>Token usage in OpenAI's terms: cached and reasoning tokens are sub-counts of prompt and completion tokens.</summary>
internal sealed record ChatUsage(long PromptTokens, long CompletionTokens, long CachedTokens, long ReasoningTokens)
{
    /// <summary>Writes the <c>usage</c> object's value.</summary>
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("prompt_tokens", PromptTokens);
        w.WriteNumber("completion_tokens", CompletionTokens);
        w.WriteNumber("total_tokens", checked(PromptTokens + CompletionTokens));
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", CachedTokens);
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details");
        w.WriteNumber("reasoning_tokens", ReasoningTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

/// <summary>A complete assistant answer, written as an OpenAI <c>chat.completion</c> object.</summary>
/// <param name="Id">The completion id.</param>
/// <param name="Model">The model that answered.</param>
/// <param name="Created">Unix seconds.</param>
/// <param name="Text">The answer text, or null when there is none (tool calls only).</param>
/// <param name="ToolCalls">The tool calls, arguments as JSON text.</param>
/// <param name="FinishReason">stop, length, tool_calls or content_filter.</param>
/// <param name="Usage">The usage, or null when the provider reported none.</param>
internal sealed record OpenAiChatCompletion(string Id, string Model, long Created, string? Text, IReadOnlyList<ChatToolCall> ToolCalls,
    string FinishReason, ChatUsage? Usage)
{
    /// <summary>Responses go to SDKs, not HTML: keep non-ASCII text as it is.</summary>
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Serializes the completion.</summary>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", Created);
            w.WriteString("model", Model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            if (Text is null) w.WriteNull("content"); else w.WriteString("content", Text);
            w.WriteNull("refusal");
            if (ToolCalls.Count > 0)
            {
                w.WriteStartArray("tool_calls");
                foreach (var call in ToolCalls)
                {
                    w.WriteStartObject();
                    w.WriteString("id", call.Id);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", call.Name);
                    w.WriteString("arguments", call.Arguments);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", FinishReason);
            w.WriteEndObject();
            w.WriteEndArray();
            if (Usage is not null)
            {
                w.WritePropertyName("usage");
                Usage.Write(w);
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Compact JSON text of a provider's argument object (Anthropic <c>input</c>, Gemini <c>args</c>); <c>{}</c> when absent.</summary>
    public static string ArgumentsText(JsonElement? arguments)
    {
        if (arguments is not { ValueKind: JsonValueKind.Object } obj) return "{}";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions)) obj.WriteTo(w);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// An upstream error body re-shaped as OpenAI's <c>{"error":{message,type,param,code}}</c>, so the OpenAI SDK
    /// reports the provider's message; a body that is not the provider's error shape yields a generic message.
    /// </summary>
    public static byte[] ErrorJson(string message, string type, string? code)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type);
            w.WriteNull("param");
            if (code is null) w.WriteNull("code"); else w.WriteString("code", code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
