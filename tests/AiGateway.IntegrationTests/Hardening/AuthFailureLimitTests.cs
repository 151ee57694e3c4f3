using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>
/// Failed authentications are limited per client address: after <c>RateLimits:FailedAuthPerMinute</c> unknown keys the
/// address gets 429 (provider shape, Retry-After) without a database lookup, while keys already known keep working.
/// </summary>
public sealed class AuthFailureLimitTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;

    public async Task InitializeAsync() => _upstream = (await SharedWireMock.GetAsync()).NewScope();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task UnknownKeysFromOneAddress_LimitedWith429_KnownKeyStillServed()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["RateLimits:FailedAuthPerMinute"] = "3",
            // The known key must stay cached for the whole test, however slow the machine.
            ["Gateway:KeyCacheTtl"] = "00:05:00",
        });
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 10);
        using var known = new GatewayClient(gateway, key);
        using (var first = await CallAsync(known.Http, key)) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var http = gateway.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            using var refused = await CallAsync(http, RandomKey());
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        using var limited = await CallAsync(http, RandomKey());
        using var anthropicLimited = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/anthropic/v1/messages")
        {
            Headers = { { "x-api-key", RandomKey() } },
            Content = new StringContent("""{"model":"claude-sonnet-4","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        });
        using var stillServed = await CallAsync(known.Http, key);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("rate_limit_exceeded", JsonNode.Parse(await limited.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.TooManyRequests, anthropicLimited.StatusCode);
        Assert.Equal("rate_limit_error", JsonNode.Parse(await anthropicLimited.Content.ReadAsStringAsync())!["error"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, stillServed.StatusCode);
        Assert.Equal(2, (await _upstream.ReceivedAsync()).Count);
    }

    private static string RandomKey() => "agw_" + Guid.NewGuid().ToString("N") + "abcdefgh";

    private static Task<HttpResponseMessage> CallAsync(HttpClient http, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http.SendAsync(request);
    }
}
