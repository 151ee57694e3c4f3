using System.Text.Json;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Tests.Providers.Translation;

public class OpenAiChatRequestTests
{
    private static OpenAiChatRequest Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return OpenAiChatRequest.Parse(document.RootElement.Clone());
    }

    [Theory]
    [InlineData("\"n\":2", "n")]
    [InlineData("\"logprobs\":true", "logprobs")]
    [InlineData("\"top_logprobs\":3", "top_logprobs")]
    [InlineData("\"logit_bias\":{\"50256\":-100}", "logit_bias")]
    [InlineData("\"reasoning_effort\":\"high\"", "reasoning_effort")]
    [InlineData("\"modalities\":[\"audio\"]", "modalities")]
    [InlineData("\"functions\":[]", "functions")]
    [InlineData("\"web_search_options\":{}", "web_search_options")]
    [InlineData("\"stream_options\":{\"include_obfuscation\":true}", "stream_options.include_obfuscation")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"strict\":true}}]", "tools[0].function.strict")]
    [InlineData("\"tools\":[{\"type\":\"custom\",\"custom\":{\"name\":\"f\"}}]", "tools[0].type")]
    public void Parse_UnsupportedParameter_IsRefusedByName(string parameter, string param)
    {
        var e = Assert.Throws<AiGateway.Providers.InvalidRequestException>(() => Parse($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],{{parameter}}}"""));
        Assert.Equal(param, e.Param);
    }

    [Theory]
    [InlineData("""{"role":"user","name":"bob","content":"hi"}""", "messages[0].name")]
    [InlineData("""{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}""", "messages[0].content[0].type")]
    [InlineData("""{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""{"role":"tool","content":"x"}""", "messages[0].tool_call_id")]
    [InlineData("""{"role":"function","content":"x"}""", "messages[0].role")]
    public void Parse_UnsupportedMessage_IsRefusedByName(string message, string param)
    {
        var e = Assert.Throws<AiGateway.Providers.InvalidRequestException>(() => Parse($$"""{"model":"m","messages":[{{message}}]}"""));
        Assert.Equal(param, e.Param);
    }

    [Fact]
    public void Parse_NeutralValues_AreAccepted()
    {
        var request = Parse("""
            {"model":"m","messages":[{"role":"user","content":"hi"}],"n":1,"logprobs":false,"store":false,"metadata":{},"logit_bias":{},
             "presence_penalty":0,"frequency_penalty":0,"stream":true,"stream_options":{"include_usage":true},"parallel_tool_calls":true}
            """);
        Assert.Null(request.PresencePenalty);
        Assert.Null(request.FrequencyPenalty);
        Assert.True(request.Stream);
        Assert.True(request.IncludeUsage);
    }
}
