using System.Text;
using AiGateway.Providers;

namespace AiGateway.Tests.Providers;

public class ProviderRequestParserTests
{
    private static RequestParseResult Parse(ProviderFormat format, string path, string body, string? method = null) =>
        ProviderRequestParser.Parse(format, path, null, Encoding.UTF8.GetBytes(body), method);

    private static ParsedRequest Ok(ProviderFormat format, string path, string body)
    {
        var result = Parse(format, path, body);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Request;
    }

    private static GatewayError Bad(ProviderFormat format, string path, string body)
    {
        var result = Parse(format, path, body);
        Assert.False(result.IsSuccess);
        Assert.Equal(400, result.Error.StatusCode);
        return result.Error;
    }

    [Fact]
    public void Parse_OpenAiChatStreaming_ReadsModelStreamLimitAndN()
    {
        using var r = Ok(ProviderFormat.OpenAi, "v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":50,"n":2}""");
        Assert.Equal(Operation.OpenAiChatCompletions, r.Operation);
        Assert.Equal("gpt-4o", r.Model);
        Assert.True(r.Stream);
        Assert.Equal(50, r.MaxOutputTokens);
        Assert.Equal(2, r.N);
        Assert.Equal("hi", r.Root.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public void Parse_OpenAiChatWithBothLimits_PrefersMaxCompletionTokens()
    {
        using var r = Ok(ProviderFormat.OpenAi, "/v1/chat/completions/",
            """{"model":"o3","messages":[],"max_tokens":50,"max_completion_tokens":70}""");
        Assert.Equal(70, r.MaxOutputTokens);
        Assert.False(r.Stream);
        Assert.Equal(1, r.N);
    }

    [Theory]
    [InlineData("v1/completions", Operation.OpenAiCompletions, """{"model":"gpt-3.5-turbo-instruct","prompt":"x","max_tokens":7}""")]
    [InlineData("v1/responses", Operation.OpenAiResponses, """{"model":"o4-mini","input":"x","max_output_tokens":7}""")]
    [InlineData("v1/embeddings", Operation.OpenAiEmbeddings, """{"model":"text-embedding-3-small","input":["a","b"]}""")]
    [InlineData("v1/images/generations", Operation.OpenAiImageGenerations, """{"model":"gpt-image-1","prompt":"cat"}""")]
    [InlineData("v1/videos", Operation.OpenAiVideos, """{"model":"sora-2","prompt":"cat"}""")]
    public void Parse_OpenAiMeteredPaths_RecognizesOperation(string path, Operation expected, string body)
    {
        using var r = Ok(ProviderFormat.OpenAi, path, body);
        Assert.Equal(expected, r.Operation);
        Assert.NotNull(r.Model);
    }

    [Fact]
    public void Parse_ResponsesMaxOutputTokens_IsRead()
    {
        using var r = Ok(ProviderFormat.OpenAi, "v1/responses", """{"model":"o4-mini","input":"x","max_output_tokens":321,"stream":true}""");
        Assert.Equal(321, r.MaxOutputTokens);
        Assert.True(r.Stream);
    }

    [Fact]
    public void Parse_ImageGeneration_ReadsCountSizeQuality()
    {
        using var r = Ok(ProviderFormat.OpenAi, "v1/images/generations",
            """{"model":"gpt-image-1","prompt":"a cat","n":3,"size":"1536x1024","quality":"high"}""");
        Assert.Equal(3, r.N);
        Assert.Equal("1536x1024", r.ImageSize);
        Assert.Equal("high", r.ImageQuality);
    }

    [Fact]
    public void Parse_VideoSecondsAsString_IsRead()
    {
        using var r = Ok(ProviderFormat.OpenAi, "v1/videos", """{"model":"sora-2-pro","prompt":"waves","seconds":"12"}""");
        Assert.Equal(12, r.VideoSeconds);
        Assert.Equal("sora-2-pro", r.Model);
    }

    [Fact]
    public void Parse_MultipartImageEdit_ReadsFormFields()
    {
        var body = "--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-image-1\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u0089PNG\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n2\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"size\"\r\n\r\n1024x1024\r\n--XyZ--\r\n";
        using var r = Ok(ProviderFormat.OpenAi, "v1/images/edits", body);
        Assert.Equal(Operation.OpenAiImageEdits, r.Operation);
        Assert.True(r.IsMultipart);
        Assert.False(r.HasJsonBody);
        Assert.Equal("gpt-image-1", r.Model);
        Assert.Equal(2, r.N);
        Assert.Equal("1024x1024", r.ImageSize);
    }

    [Theory]
    [InlineData(ProviderFormat.OpenAi, "v1/models", "")]
    [InlineData(ProviderFormat.OpenAi, "v1/files", "not json")]
    [InlineData(ProviderFormat.Anthropic, "v1/messages/count_tokens", """{"model":5}""")]
    [InlineData(ProviderFormat.Anthropic, "v1/models", "")]
    [InlineData(ProviderFormat.Gemini, "v1beta/models/gemini-2.5-pro:countTokens", "{}")]
    [InlineData(ProviderFormat.Gemini, "v1beta/models", "")]
    public void Parse_UnmeteredEndpoint_PassesWithoutParsingBody(ProviderFormat format, string path, string body)
    {
        using var r = Ok(format, path, body);
        Assert.Equal(Operation.Unmetered, r.Operation);
        Assert.False(r.HasJsonBody);
    }

    [Fact]
    public void Parse_GetOnMeteredPath_IsUnmetered()
    {
        var result = Parse(ProviderFormat.OpenAi, "v1/videos", "", "GET");
        Assert.True(result.IsSuccess);
        Assert.Equal(Operation.Unmetered, result.Request.Operation);
    }

    [Fact]
    public void Parse_AnthropicMessages_ReadsModelStreamAndMaxTokens()
    {
        using var r = Ok(ProviderFormat.Anthropic, "v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(Operation.AnthropicMessages, r.Operation);
        Assert.Equal("claude-sonnet-4-5", r.Model);
        Assert.True(r.Stream);
        Assert.Equal(1024, r.MaxOutputTokens);
    }

    [Theory]
    [InlineData("v1beta/models/gemini-2.5-pro:generateContent", Operation.GeminiGenerateContent, false)]
    [InlineData("v1beta/models/gemini-2.5-pro:streamGenerateContent", Operation.GeminiStreamGenerateContent, true)]
    [InlineData("v1beta/models/gemini-2.5-pro%3AstreamGenerateContent", Operation.GeminiStreamGenerateContent, true)]
    public void Parse_GeminiPath_TakesModelAndStreamFromPath(string path, Operation expected, bool stream)
    {
        using var r = Ok(ProviderFormat.Gemini, path,
            """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":256,"candidateCount":2}}""");
        Assert.Equal(expected, r.Operation);
        Assert.Equal("gemini-2.5-pro", r.Model);
        Assert.Equal(stream, r.Stream);
        Assert.Equal(256, r.MaxOutputTokens);
        Assert.Equal(2, r.N);
    }

    [Theory]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]""")] // truncated
    [InlineData("""{"model":"gpt-4o",]""")]
    [InlineData("")]
    [InlineData("[1,2,3]")]
    [InlineData("\"just a string\"")]
    [InlineData("""{"model":5,"messages":[]}""")]
    [InlineData("""{"model":"gpt-4o","messages":{}}""")]
    [InlineData("""{"model":"gpt-4o","messages":["hi"]}""")]
    [InlineData("""{"messages":[]}""")]
    [InlineData("""{"model":"","messages":[]}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"max_tokens":-1}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"max_tokens":0}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"max_tokens":1e400}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"max_tokens":99999999999}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"max_tokens":12.5}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"max_tokens":"100"}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"max_tokens":NaN}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"n":-3}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"stream":"yes"}""")]
    [InlineData("""{"model":"gpt-4o","messages":[],"model":"gpt-4o-mini"}""")] // duplicate key
    public void Parse_MalformedOpenAiChat_Returns400(string body)
    {
        var error = Bad(ProviderFormat.OpenAi, "v1/chat/completions", body);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Theory]
    [InlineData("""{"model":"claude","messages":"hi"}""")]
    [InlineData("""{"model":"claude","messages":[{"role":"user","content":5}]}""")]
    [InlineData("""{"model":"claude","messages":[],"system":5}""")]
    [InlineData("""{"model":"claude","messages":[],"max_tokens":-5}""")]
    [InlineData("""{"messages":[]}""")]
    public void Parse_MalformedAnthropic_Returns400(string body) => Bad(ProviderFormat.Anthropic, "v1/messages", body);

    [Theory]
    [InlineData("""{"contents":{}}""")]
    [InlineData("""{}""")]
    [InlineData("""{"contents":[],"generationConfig":{"maxOutputTokens":-1}}""")]
    [InlineData("""{"contents":[],"generationConfig":[]}""")]
    public void Parse_MalformedGemini_Returns400(string body) =>
        Bad(ProviderFormat.Gemini, "v1beta/models/gemini-2.5-flash:generateContent", body);

    [Fact]
    public void Parse_InvalidUtf8InString_Returns400()
    {
        byte[] body = [.. "{\"model\":\""u8, 0xFF, 0xFE, .. "\",\"messages\":[]}"u8];
        var result = ProviderRequestParser.Parse(ProviderFormat.OpenAi, "v1/chat/completions", null, body);
        Assert.False(result.IsSuccess);
        Assert.Equal(400, result.Error.StatusCode);
    }

    [Fact]
    public void Parse_WrongTypeError_NamesTheParam()
    {
        var error = Bad(ProviderFormat.OpenAi, "v1/chat/completions", """{"model":5,"messages":[]}""");
        Assert.Equal("model", error.Param);
        Assert.Equal(GatewayErrorKind.BadRequest, error.Kind);
    }

    [Fact]
    public void Parse_DeeplyNestedBody_Returns400InsteadOfCrashing()
    {
        // In a field nobody validates, so only the depth limit can reject it.
        var body = "{\"model\":\"gpt-4o\",\"messages\":[],\"metadata\":" + new string('[', 10_000) + new string(']', 10_000) + "}";
        var error = Bad(ProviderFormat.OpenAi, "v1/chat/completions", body);
        Assert.Contains("depth", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Parse_NestingAtTheLimit_IsAccepted()
    {
        // The root object plus 63 nested arrays is 64 levels: exactly MaxJsonDepth.
        var body = "{\"model\":\"gpt-4o\",\"messages\":[],\"metadata\":" + new string('[', 63) + new string(']', 63) + "}";
        Assert.True(Parse(ProviderFormat.OpenAi, "v1/chat/completions", body).IsSuccess);
    }

    [Fact]
    public void Dispose_ParsedRequest_RootThrowsAfterwards()
    {
        var r = Ok(ProviderFormat.OpenAi, "v1/embeddings", """{"model":"m","input":"x"}""");
        r.Dispose();
        Assert.Throws<ObjectDisposedException>(() => r.Root);
    }
}
