using System.Net;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>An upstream 429 is back-pressure on one caller's traffic, not a failing destination: it never opens the circuit for everyone.</summary>
public sealed class RateLimitBreakerTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;

    public async Task InitializeAsync() => _upstream = (await SharedWireMock.GetAsync()).NewScope();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task UpstreamRateLimitsOneAccount_OtherAccountsCallsStillServed()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        await _upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 429,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
            ["body"] = """{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}""",
        }, priority: 1, extraRequest: new JsonObject { ["bodyPatterns"] = new JsonArray(new JsonObject { ["contains"] = "from-account-a" }) });
        await using var gateway = new GatewayFactory(_upstream);
        var (_, keyA, _) = await gateway.CreateAccountWithKeyAsync("a", credits: 10);
        var (_, keyB, _) = await gateway.CreateAccountWithKeyAsync("b", credits: 10);
        using var a = new GatewayClient(gateway, keyA);
        using var b = new GatewayClient(gateway, keyB);

        for (var i = 0; i < 3; i++)
        {
            using var limited = await a.PostJsonAsync("/openai/v1/chat/completions",
                """{"model":"gpt-4o","messages":[{"role":"user","content":"from-account-a"}]}""");
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        }
        using var served = await b.PostJsonAsync("/openai/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }
}
