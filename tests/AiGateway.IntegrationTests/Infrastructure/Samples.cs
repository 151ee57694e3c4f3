using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>Small provider responses in their documented shapes, for proxy-level tests.</summary>
public static class Samples
{
    /// <summary>An OpenAI chat completion with usage.</summary>
    public const string OpenAiChatJson = """
        {"id":"chatcmpl-abc123","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06",
         "choices":[{"index":0,"message":{"role":"assistant","content":"Hello from WireMock.","refusal":null},"logprobs":null,"finish_reason":"stop"}],
         "usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,
                  "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
                  "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
         "service_tier":"default","system_fingerprint":"fp_test"}
        """;

    /// <summary>An OpenAI chat completion stream with the final usage chunk.</summary>
    public static string OpenAiChatSse(params string[] pieces)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
        foreach (var piece in pieces)
        {
            sb.Append("data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"")
              .Append(piece).Append("\"},\"finish_reason\":null}]}\n\n");
        }
        sb.Append("data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
        sb.Append("data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":").Append(pieces.Length).Append(",\"total_tokens\":").Append(19 + pieces.Length).Append("}}\n\n");
        sb.Append("data: [DONE]\n\n");
        return sb.ToString();
    }

    /// <summary>An Anthropic message with usage.</summary>
    public const string AnthropicMessageJson = """
        {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
         "content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","stop_sequence":null,
         "usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":6}}
        """;

    /// <summary>An Anthropic message stream.</summary>
    public const string AnthropicMessageSse =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-20250514\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n" +
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
        "event: ping\ndata: {\"type\":\"ping\"}\n\n" +
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n" +
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}\n\n" +
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n" +
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    /// <summary>A Gemini generateContent response.</summary>
    public const string GeminiJson = """
        {"candidates":[{"content":{"parts":[{"text":"Hello from Gemini."}],"role":"model"},"finishReason":"STOP","index":0}],
         "usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":5,"totalTokenCount":13},"modelVersion":"gemini-2.5-flash"}
        """;

    /// <summary>A Gemini streamGenerateContent?alt=sse response.</summary>
    public const string GeminiSse =
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hello\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":8,\"totalTokenCount\":8},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n" +
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" there.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":3,\"totalTokenCount\":11},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n";

    /// <summary>
    /// A stream body whose every event (usage, <c>[DONE]</c>) reaches the client at once while the upstream keeps the
    /// connection open: the events, then an SSE comment as long as them, served in two chunks 30 s apart with <see cref="HeldOpen"/>.
    /// </summary>
    public static string HeldOpenSse(string events) => events + ": " + new string('p', events.Length) + "\n\n";

    /// <summary>The WireMock response fields that serve a <see cref="HeldOpenSse"/> body as it describes.</summary>
    public static JsonObject HeldOpen() => new() { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 2, ["totalDuration"] = 60_000 } };

    /// <summary>
    /// Reads a streamed response's lines up to <c>data: [DONE]</c> (asserting it came) and leaves the response open: the
    /// client has not left (disposing the response is what leaves).
    /// </summary>
    public static async Task ReadThroughDoneAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), leaveOpen: true);
        string? line;
        while ((line = await reader.ReadLineAsync(cancellationToken)) is not null && line != "data: [DONE]") { }
        Assert.Equal("data: [DONE]", line);
    }
}
