using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>
/// Issue #12 items 3 and 4: what an upstream reports is bounded by what the request allowed, never overflows, and
/// unreadable usage falls back to counted tokens. gpt-4o: 250 micro-credits per input token, 1,000 per output token.
/// </summary>
public sealed class ReportedUsageBoundTests : IAsyncLifetime
{
    private const string LimitedBody = """{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""";

    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;
    private GatewayClient _client = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 100);
        _client = new GatewayClient(_gateway, key);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _gateway.DisposeAsync();
    }

    private static string Chat(string usage) =>
        """{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, this is the answer."},"finish_reason":"stop"}],"usage":""" + usage + "}";

    [Theory]
    [InlineData("1000000000000")]
    [InlineData("9223372036854775807")]
    public async Task Json_OutputAboveTheRequestLimit_IsChargedAtTheLimitAndFlagged(string completionTokens)
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200,
            Chat($$"""{"prompt_tokens":10,"completion_tokens":{{completionTokens}},"total_tokens":0}"""));

        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions", LimitedBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains("X-Request-Id"), "no X-Request-Id");
        // 10 × 250 + 100 × 1,000 = 102,500 micro-credits.
        Assert.Equal("0.1025", response.Headers.GetValues("X-Credits-Charged").Single());
        var record = await _client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(100, record["outputTokens"]!.GetValue<long>());
        Assert.Equal("provider", record["usageSource"]!.GetValue<string>());
        Assert.True(record["usageClamped"]?.GetValue<bool>(), "the clamp is not flagged on the call record");
        Assert.Equal(100m - 0.1025m, await _client.AvailableAsync());
    }

    [Fact]
    public async Task Stream_UsageAtInt64Max_CompletesAndIsChargedAtTheLimit()
    {
        var sse = Samples.OpenAiChatSse("Hel", "lo").Replace(
            "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":2,\"total_tokens\":21}",
            "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":9223372036854775807,\"total_tokens\":0}");
        Assert.Contains("9223372036854775807", sse);
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", sse);

        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("data: [DONE]", text);
        var record = await _client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        // 19 × 250 + 100 × 1,000 = 104,750 micro-credits.
        Assert.Equal(0.10475m, record["credits"]!.GetValue<decimal>());
        Assert.Equal(100, record["outputTokens"]!.GetValue<long>());
        Assert.True(record["usageClamped"]?.GetValue<bool>(), "the clamp is not flagged on the call record");
    }

    [Fact]
    public async Task Json_InputFarAboveTheCountedPrompt_IsChargedAtTheBound()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200,
            Chat("""{"prompt_tokens":1000000000000000,"completion_tokens":5,"total_tokens":0}"""));

        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions", LimitedBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await _client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        var input = record["inputTokens"]!.GetValue<long>();
        // The documented bound: counted prompt × 4 + 1,048,576 tokens (a few tokens are counted for "hi").
        Assert.InRange(input, 1_048_576, 1_048_576 + 200);
        Assert.True(record["usageClamped"]?.GetValue<bool>(), "the clamp is not flagged on the call record");
        // Charged at the bound: input × 250 + 5 × 1,000 micro-credits.
        Assert.Equal((input * 250 + 5_000) / 1_000_000m, record["credits"]!.GetValue<decimal>());
    }

    [Theory]
    [InlineData("\"100000\"")]
    [InlineData("-5")]
    [InlineData("1e30")]
    [InlineData("12.5")]
    public async Task Json_UnreadableOutputCount_FallsBackToCountedTokens(string completionTokens)
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200,
            Chat($$"""{"prompt_tokens":10,"completion_tokens":{{completionTokens}},"total_tokens":0}"""));

        using var response = await _client.PostJsonAsync("/openai/v1/chat/completions", LimitedBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await _client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal("estimated", record["usageSource"]!.GetValue<string>());
        Assert.True(record["outputTokens"]!.GetValue<long>() > 0, "the delivered answer was charged as zero output");
        Assert.True(decimal.Parse(response.Headers.GetValues("X-Credits-Charged").Single(), CultureInfo.InvariantCulture) > 0.0025m);
    }
}
