using System.Text.Json.Nodes;
using AiGateway.Providers.Anthropic;

namespace AiGateway.Tests.Providers.Translation;

public class AnthropicChatTranslatorTests
{
    private const string Conversation = """
        {"model":"anthropic/claude-sonnet-4.5","max_tokens":500,"temperature":0.3,"top_p":0.9,"stop":["END"],"user":"u-1",
         "messages":[
          {"role":"system","content":"Be brief."},
          {"role":"developer","content":[{"type":"text","text":"Use tools."}]},
          {"role":"user","content":[{"type":"text","text":"Weather?"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
            {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"high"}}]},
          {"role":"assistant","content":"Checking.","tool_calls":[
            {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"18C"},
          {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"21C"}]},
          {"role":"user","content":"Thanks"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
         "tool_choice":"required","parallel_tool_calls":false}
        """;

    [Fact]
    public void TranslateRequest_FullConversation_MapsSystemImagesToolCallsAndResults()
    {
        ChatJson.Equal("""
            {"model":"claude-sonnet-4-5","max_tokens":500,
             "system":[{"type":"text","text":"Be brief."},{"type":"text","text":"Use tools."}],
             "messages":[
              {"role":"user","content":[{"type":"text","text":"Weather?"},
                {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
                {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]},
              {"role":"assistant","content":[{"type":"text","text":"Checking."},
                {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
                {"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Rome"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"18C"},
                {"type":"tool_result","tool_use_id":"call_2","content":"21C"},{"type":"text","text":"Thanks"}]}],
             "stop_sequences":["END"],"temperature":0.3,"top_p":0.9,"metadata":{"user_id":"u-1"},
             "tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
             "tool_choice":{"type":"any","disable_parallel_tool_use":true}}
            """, ChatJson.ToAnthropic(Conversation));
    }

    [Theory]
    [InlineData("\"auto\"", """{"type":"auto"}""")]
    [InlineData("\"none\"", """{"type":"none"}""")]
    [InlineData("\"required\"", """{"type":"any"}""")]
    [InlineData("""{"type":"function","function":{"name":"f"}}""", """{"type":"tool","name":"f"}""")]
    public void TranslateRequest_ToolChoice_MapsToAnthropicChoice(string choice, string expected)
    {
        var body = ChatJson.ToAnthropic($$$"""
            {"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{{{choice}}},
             "tools":[{"type":"function","function":{"name":"f"}}]}
            """);
        ChatJson.Equal(expected, body["tool_choice"]);
        ChatJson.Equal("""[{"name":"f","input_schema":{"type":"object","properties":{}}}]""", body["tools"]);
    }

    [Fact]
    public void TranslateRequest_NoLimit_UsesPriceBookMaximumAndStreams()
    {
        var body = ChatJson.ToAnthropic("""{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""", 64000);
        ChatJson.Equal("""{"model":"claude-sonnet-4-5","max_tokens":64000,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true}""", body);
        // With both limits set, the larger is what the client allowed (as the native parser reads it).
        var both = ChatJson.ToAnthropic("""{"model":"m","max_tokens":10,"max_completion_tokens":20,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(20, (int)both["max_tokens"]!);
        // Metered calls leave it to the metering, which writes the limit the hold covers.
        Assert.Null(ChatJson.ToAnthropic("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", null)["max_tokens"]);
    }

    [Theory]
    [InlineData("""{"type":"json_object"}""", "response_format")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}""", "response_format")]
    public void TranslateRequest_JsonMode_IsRefused(string format, string param)
    {
        var e = ChatJson.Refusal(() => ChatJson.ToAnthropic($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{{format}}}"""));
        Assert.Equal(param, e.Param);
        Assert.Contains("Anthropic", e.Message);
    }

    [Theory]
    [InlineData("\"temperature\":1.5", "temperature")]
    [InlineData("\"seed\":7", "seed")]
    [InlineData("\"presence_penalty\":0.5", "presence_penalty")]
    [InlineData("\"frequency_penalty\":-1", "frequency_penalty")]
    public void TranslateRequest_ParameterAnthropicLacks_IsRefused(string parameter, string param)
    {
        var e = ChatJson.Refusal(() => ChatJson.ToAnthropic($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],{{parameter}}}"""));
        Assert.Equal(param, e.Param);
    }

    [Fact]
    public void TranslateResponse_ToolUse_GivesToolCallsWithJsonArgumentsAndTotalPromptTokens()
    {
        var json = AnthropicChatTranslator.TranslateResponse(Fixture.Bytes("anthropic/messages-tool-use.json"), "claude-sonnet-4-5", 1_700_000_000);
        // prompt_tokens = 312 uncached + 1000 cache reads + 50 cache writes; Anthropic reports no reasoning split.
        ChatJson.Equal("""
            {"id":"msg_01Aq9w938a90dw8q","object":"chat.completion","created":1700000000,"model":"claude-sonnet-4-5-20250929",
             "choices":[{"index":0,"message":{"role":"assistant","content":"I'll check both cities.","refusal":null,"tool_calls":[
               {"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"celsius\"}"}},
               {"id":"toolu_01B7x2kq81mz3kq8d1p4lz2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Zürich\"}"}}]},
               "logprobs":null,"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":1362,"completion_tokens":97,"total_tokens":1459,
               "prompt_tokens_details":{"cached_tokens":1000},"completion_tokens_details":{"reasoning_tokens":0}}}
            """, JsonNode.Parse(json!));
    }

    [Fact]
    public void TranslateResponse_Text_GivesStopAndCachedTokens()
    {
        var json = JsonNode.Parse(AnthropicChatTranslator.TranslateResponse(Fixture.Bytes("anthropic/messages.json"), "x", 1)!)!;
        Assert.Equal("Hello! The cached system prompt says you are a helpful assistant.", (string?)json["choices"]![0]!["message"]!["content"]);
        Assert.Null(json["choices"]![0]!["message"]!["tool_calls"]);
        Assert.Equal("stop", (string?)json["choices"]![0]!["finish_reason"]);
        ChatJson.Equal("""{"prompt_tokens":2009,"completion_tokens":393,"total_tokens":2402,"prompt_tokens_details":{"cached_tokens":1800},"completion_tokens_details":{"reasoning_tokens":0}}""", json["usage"]);
    }

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    public void FinishReason_MapsStopReasons(string stopReason, string finishReason) =>
        Assert.Equal(finishReason, AnthropicChatTranslator.FinishReason(stopReason));

    [Fact]
    public void TranslateError_AnthropicShape_BecomesOpenAiShape()
    {
        var json = AnthropicChatTranslator.TranslateError("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""u8, 529);
        ChatJson.Equal("""{"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded_error"}}""", JsonNode.Parse(json));
    }

    [Fact]
    public void StreamTranslator_ToolUseStream_GivesChunksInOrder()
    {
        var output = ChatJson.Run(new AnthropicChatStreamTranslator(includeUsage: true, "fallback", 42), Fixture.Bytes("anthropic/messages-stream-tool-use.sse"));
        var deltas = ChatJson.Events(output).Select(e => e == "[DONE]" ? e : Summary(JsonNode.Parse(e)!)).ToList();
        Assert.Equal(
        [
            """{"role":"assistant","content":""}|""",
            """{"content":"Checking ünits"}|""",
            """{"tool_calls":[{"index":0,"id":"toolu_01Paris","type":"function","function":{"name":"get_weather","arguments":""}}]}|""",
            """{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Pa"}}]}|""",
            """{"tool_calls":[{"index":0,"function":{"arguments":"ris\"}"}}]}|""",
            """{"tool_calls":[{"index":1,"id":"toolu_02Rome","type":"function","function":{"name":"get_time","arguments":""}}]}|""",
            """{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":\"Europe/Rome\"}"}}]}|""",
            """{}|tool_calls""",
            """usage {"prompt_tokens":1000,"completion_tokens":58,"total_tokens":1058,"prompt_tokens_details":{"cached_tokens":600},"completion_tokens_details":{"reasoning_tokens":0}}""",
            "[DONE]",
        ], deltas);
        var first = JsonNode.Parse(ChatJson.Events(output)[0])!;
        Assert.Equal("msg_01TooLStream", (string?)first["id"]);
        Assert.Equal("claude-sonnet-4-5-20250929", (string?)first["model"]);
        Assert.Equal(42, (long)first["created"]!);
    }

    [Fact]
    public void StreamTranslator_ThinkingAndTextStream_HidesThinkingAndOmitsUsageUnlessAsked()
    {
        var folded = ChatJson.Fold(ChatJson.Run(new AnthropicChatStreamTranslator(includeUsage: false, "x", 1), Fixture.Bytes("anthropic/messages-stream.sse")));
        Assert.Equal("Hello, wörld — 你好!", folded.Text);
        Assert.Equal("stop", folded.Finish);
        Assert.Null(folded.Usage);
        Assert.True(folded.Done);
    }

    [Fact]
    public void StreamTranslator_CutBeforeMessageStop_DoesNotEndTheClientStream()
    {
        var body = Fixture.Bytes("anthropic/messages-stream-tool-use.sse");
        var cut = body.AsSpan(0, System.Text.Encoding.UTF8.GetString(body).IndexOf("event: message_delta", StringComparison.Ordinal)).ToArray();
        var events = ChatJson.Events(ChatJson.Run(new AnthropicChatStreamTranslator(includeUsage: true, "x", 1), cut));
        Assert.DoesNotContain("[DONE]", events);
        Assert.DoesNotContain(events, e => e.Contains("finish_reason\":\"", StringComparison.Ordinal));
    }

    [Fact]
    public void StreamTranslator_ErrorEvent_BecomesOpenAiErrorAndEndsStream()
    {
        var sse = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":1}}}\n\n"
                  + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        var events = ChatJson.Events(ChatJson.Run(new AnthropicChatStreamTranslator(includeUsage: true, "x", 1), Fixture.Utf8(sse)));
        Assert.Equal(2, events.Count);
        ChatJson.Equal("""{"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded_error"}}""", JsonNode.Parse(events[1]));
    }

    [Theory]
    [InlineData("anthropic/messages-stream-tool-use.sse")]
    [InlineData("anthropic/messages-stream.sse")]
    public void StreamTranslator_SplitAtEveryByte_GivesIdenticalOutput(string fixture)
    {
        var body = Fixture.Bytes(fixture);
        var whole = ChatJson.Run(new AnthropicChatStreamTranslator(true, "x", 1), body);
        for (var split = 0; split <= body.Length; split++)
        {
            var output = ChatJson.Run(new AnthropicChatStreamTranslator(true, "x", 1), body[..split], body[split..]);
            Assert.True(whole.AsSpan().SequenceEqual(output), $"output differs at split {split}");
        }
        var bytes = ChatJson.Run(new AnthropicChatStreamTranslator(true, "x", 1), body.Select(b => new[] { b }).ToArray());
        Assert.True(whole.AsSpan().SequenceEqual(bytes), "output differs with one-byte chunks");
    }

    /// <summary>A chunk as "delta|finish_reason", or "usage {...}" for the usage chunk.</summary>
    internal static string Summary(JsonNode chunk)
    {
        var choices = chunk["choices"]!.AsArray();
        if (choices.Count == 0) return "usage " + chunk["usage"]!.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var options = new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        return choices[0]!["delta"]!.ToJsonString(options) + "|" + (string?)choices[0]!["finish_reason"];
    }
}
