using System.Text.Json.Nodes;
using AiGateway.Providers.Gemini;

namespace AiGateway.Tests.Providers.Translation;

public class GeminiChatTranslatorTests
{
    [Fact]
    public void TranslateRequest_FullConversation_MapsSystemImagesCallsResponsesAndConfig()
    {
        var (body, request) = ChatJson.ToGemini("""
            {"model":"google/gemini-2.5-flash","max_completion_tokens":300,"temperature":1.4,"top_p":0.5,"stop":"END","seed":11,"presence_penalty":0.5,
             "messages":[
              {"role":"system","content":"Be brief."},
              {"role":"user","content":[{"type":"text","text":"Weather?"},
                {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},
                {"type":"image_url","image_url":{"url":"https://example.com/a/cat.PNG?x=1"}}]},
              {"role":"assistant","tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_2","content":"noon"},
              {"role":"tool","tool_call_id":"call_1","content":"18C"},
              {"role":"assistant","content":"Noon and 18C."},
              {"role":"user","content":"Thanks"}],
             "tools":[
              {"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
                "properties":{"city":{"type":"string","description":"City"},"unit":{"type":["string","null"],"enum":["c","f"]},"days":{"type":"integer","minimum":1},
                  "tags":{"type":"array","items":{"const":"x"}}},"required":["city"],"additionalProperties":false}}},
              {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}},
             "response_format":{"type":"json_object"}}
            """);
        Assert.Equal("v1beta/models/gemini-2.5-flash:generateContent", request.Path);
        Assert.Null(request.Query);
        ChatJson.Equal("""
            {"systemInstruction":{"parts":[{"text":"Be brief."}]},
             "contents":[
              {"role":"user","parts":[{"text":"Weather?"},{"inlineData":{"mimeType":"image/jpeg","data":"/9j/4AAQ"}},
                {"fileData":{"mimeType":"image/png","fileUri":"https://example.com/a/cat.PNG?x=1"}}]},
              {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_time","args":{}}}]},
              {"role":"user","parts":[{"functionResponse":{"name":"get_time","response":{"content":"noon"}}},
                {"functionResponse":{"name":"get_weather","response":{"content":"18C"}}}]},
              {"role":"model","parts":[{"text":"Noon and 18C."}]},
              {"role":"user","parts":[{"text":"Thanks"}]}],
             "tools":[{"functionDeclarations":[
              {"name":"get_weather","description":"Weather","parameters":{"type":"OBJECT",
                "properties":{"city":{"type":"STRING","description":"City"},"unit":{"type":"STRING","nullable":true,"enum":["c","f"]},
                  "days":{"type":"INTEGER","minimum":1},"tags":{"type":"ARRAY","items":{"enum":["x"]}}},"required":["city"]}},
              {"name":"get_time"}]}],
             "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},
             "generationConfig":{"stopSequences":["END"],"temperature":1.4,"topP":0.5,"maxOutputTokens":300,"seed":11,"presencePenalty":0.5,
               "responseMimeType":"application/json"}}
            """, body);
    }

    [Fact]
    public void TranslateRequest_StreamAndJsonSchema_UsesSseMethodAndResponseSchema()
    {
        var (body, request) = ChatJson.ToGemini("""
            {"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}],"tool_choice":"none",
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"number"}}}}}],
             "response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}}}
            """);
        Assert.Equal("v1beta/models/gemini-2.5-flash:streamGenerateContent", request.Path);
        Assert.Equal("alt=sse", request.Query);
        ChatJson.Equal("""{"functionCallingConfig":{"mode":"NONE"}}""", body["toolConfig"]);
        ChatJson.Equal("""{"responseMimeType":"application/json","responseSchema":{"type":"OBJECT","properties":{"n":{"type":"INTEGER"}},"required":["n"]}}""", body["generationConfig"]);
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"a":{"$ref":"#/$defs/x"}}}""", "tools[0].function.parameters.properties.a.$ref")]
    [InlineData("""{"type":"object","properties":{"a":{"oneOf":[{"type":"string"}]}}}""", "tools[0].function.parameters.properties.a.oneOf")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer","enum":[1,2]}}}""", "tools[0].function.parameters.properties.a.enum")]
    [InlineData("""{"type":"object","properties":{"a":{"type":["string","integer"]}}}""", "tools[0].function.parameters.properties.a.type")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"object","additionalProperties":{"type":"string"}}}}""", "tools[0].function.parameters.properties.a.additionalProperties")]
    public void TranslateRequest_SchemaGeminiCannotExpress_IsRefusedNamingTheKeyword(string schema, string param)
    {
        var e = ChatJson.Refusal(() => ChatJson.ToGemini($$$"""
            {"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{{{schema}}}}}]}
            """));
        Assert.Equal(param, e.Param);
        Assert.Contains("Gemini", e.Message);
    }

    [Theory]
    [InlineData("""{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/picture"}}]}""", "messages")]
    [InlineData("""{"role":"tool","tool_call_id":"nope","content":"x"}""", "messages")]
    public void TranslateRequest_UntranslatableMessage_IsRefused(string message, string param)
    {
        var e = ChatJson.Refusal(() => ChatJson.ToGemini($$"""{"model":"m","messages":[{{message}}]}"""));
        Assert.Equal(param, e.Param);
    }

    [Fact]
    public void TranslateRequest_ParallelToolCallsFalse_IsRefused()
    {
        var e = ChatJson.Refusal(() => ChatJson.ToGemini("""
            {"model":"m","messages":[{"role":"user","content":"hi"}],"parallel_tool_calls":false,"tools":[{"type":"function","function":{"name":"f"}}]}
            """));
        Assert.Equal("parallel_tool_calls", e.Param);
    }

    [Fact]
    public void TranslateResponse_FunctionCalls_GiveToolCallsReasoningAndCachedTokens()
    {
        var json = GeminiChatTranslator.TranslateResponse(Fixture.Bytes("gemini/generate-content-function-call.json"), "x", 5);
        // Thought parts are not the answer; thoughts (100) are completion and reasoning tokens; STOP after calls is tool_calls.
        ChatJson.Equal("""
            {"id":"chatcmpl-fc1ResponseId","object":"chat.completion","created":5,"model":"gemini-2.5-flash",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Looking both up.","refusal":null,"tool_calls":[
               {"id":"call_fc1ResponseId_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"celsius\"}"}},
               {"id":"call_fc1ResponseId_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Zürich\"}"}}]},
               "logprobs":null,"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":150,"completion_tokens":140,"total_tokens":290,"prompt_tokens_details":{"cached_tokens":100},
               "completion_tokens_details":{"reasoning_tokens":100}}}
            """, JsonNode.Parse(json!));
    }

    [Fact]
    public void TranslateResponse_Text_GivesStopAndUsage()
    {
        var json = JsonNode.Parse(GeminiChatTranslator.TranslateResponse(Fixture.Bytes("gemini/generate-content.json"), "x", 5)!)!;
        Assert.Equal("The sky is blue because of Rayleigh scattering.", (string?)json["choices"]![0]!["message"]!["content"]);
        Assert.Equal("stop", (string?)json["choices"]![0]!["finish_reason"]);
        ChatJson.Equal("""{"prompt_tokens":4096,"completion_tokens":427,"total_tokens":4523,"prompt_tokens_details":{"cached_tokens":4000},"completion_tokens_details":{"reasoning_tokens":416}}""", json["usage"]);
    }

    [Fact]
    public void TranslateResponse_BlockedPrompt_IsContentFilterWithoutContent()
    {
        var json = JsonNode.Parse(GeminiChatTranslator.TranslateResponse("""{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":7}}"""u8, "g", 1)!)!;
        Assert.Equal("content_filter", (string?)json["choices"]![0]!["finish_reason"]);
        Assert.Null(json["choices"]![0]!["message"]!["content"]);
        Assert.Equal(7, (int)json["usage"]!["prompt_tokens"]!);
    }

    [Theory]
    [InlineData("STOP", false, "stop")]
    [InlineData("STOP", true, "tool_calls")]
    [InlineData("MAX_TOKENS", true, "length")]
    [InlineData("SAFETY", false, "content_filter")]
    [InlineData("RECITATION", false, "content_filter")]
    [InlineData("PROHIBITED_CONTENT", false, "content_filter")]
    public void FinishReason_MapsGeminiReasons(string reason, bool sawToolCall, string expected) =>
        Assert.Equal(expected, GeminiChatTranslator.FinishReason(reason, sawToolCall));

    [Fact]
    public void TranslateError_GeminiShape_BecomesOpenAiShape()
    {
        var json = GeminiChatTranslator.TranslateError("""{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"""u8, 429);
        ChatJson.Equal("""{"error":{"message":"Quota exceeded","type":"rate_limit_exceeded","param":null,"code":"RESOURCE_EXHAUSTED"}}""", JsonNode.Parse(json));
    }

    [Fact]
    public void StreamTranslator_FunctionCallStream_GivesChunksInOrder()
    {
        var output = ChatJson.Run(new GeminiChatStreamTranslator(includeUsage: true, "x", 9), Fixture.Bytes("gemini/stream-function-call.sse"));
        var deltas = ChatJson.Events(output).Select(e => e == "[DONE]" ? e : AnthropicChatTranslatorTests.Summary(JsonNode.Parse(e)!)).ToList();
        Assert.Equal(
        [
            """{"role":"assistant","content":""}|""",
            """{"content":"Sure — "}|""",
            """{"tool_calls":[{"index":0,"id":"call_gStreamFc_0","type":"function","function":{"name":"get_weather","arguments":""}}]}|""",
            """{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Paris\"}"}}]}|""",
            """{"tool_calls":[{"index":1,"id":"call_gStreamFc_1","type":"function","function":{"name":"get_time","arguments":""}}]}|""",
            """{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":\"Europe/Rome\"}"}}]}|""",
            """{}|tool_calls""",
            """usage {"prompt_tokens":80,"completion_tokens":55,"total_tokens":135,"prompt_tokens_details":{"cached_tokens":20},"completion_tokens_details":{"reasoning_tokens":30}}""",
            "[DONE]",
        ], deltas);
        Assert.Equal("chatcmpl-gStreamFc", (string?)JsonNode.Parse(ChatJson.Events(output)[0])!["id"]);
    }

    [Fact]
    public void StreamTranslator_TextStream_HidesThoughts()
    {
        var folded = ChatJson.Fold(ChatJson.Run(new GeminiChatStreamTranslator(includeUsage: true, "x", 9), Fixture.Bytes("gemini/stream-generate-content.sse")));
        Assert.Equal("The sky looks blue because air scatters short wavelengths — ça marche.", folded.Text);
        Assert.Equal("stop", folded.Finish);
        Assert.Equal(12, (int)folded.Usage!["prompt_tokens"]!);
        Assert.Equal(145, (int)folded.Usage!["completion_tokens"]!);
        Assert.True(folded.Done);
    }

    [Fact]
    public void StreamTranslator_CutBeforeFinishReason_DoesNotEndTheClientStream()
    {
        var body = System.Text.Encoding.UTF8.GetString(Fixture.Bytes("gemini/stream-function-call.sse"));
        var cut = Fixture.Utf8(body[..body.IndexOf("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall", StringComparison.Ordinal)]);
        var events = ChatJson.Events(ChatJson.Run(new GeminiChatStreamTranslator(includeUsage: true, "x", 1), cut));
        Assert.Equal(2, events.Count);
        Assert.DoesNotContain("[DONE]", events);
    }

    [Theory]
    [InlineData("gemini/stream-function-call.sse")]
    [InlineData("gemini/stream-generate-content.sse")]
    public void StreamTranslator_SplitAtEveryByte_GivesIdenticalOutput(string fixture)
    {
        var body = Fixture.WithLineEnding(fixture, "\r\n");
        var whole = ChatJson.Run(new GeminiChatStreamTranslator(true, "x", 1), body);
        Assert.True(ChatJson.Fold(whole).Done);
        for (var split = 0; split <= body.Length; split++)
        {
            var output = ChatJson.Run(new GeminiChatStreamTranslator(true, "x", 1), body[..split], body[split..]);
            Assert.True(whole.AsSpan().SequenceEqual(output), $"output differs at split {split}");
        }
        var bytes = ChatJson.Run(new GeminiChatStreamTranslator(true, "x", 1), body.Select(b => new[] { b }).ToArray());
        Assert.True(whole.AsSpan().SequenceEqual(bytes), "output differs with one-byte chunks");
    }
}
