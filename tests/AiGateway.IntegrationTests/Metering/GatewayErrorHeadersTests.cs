using System.Net;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>Issue #12 item 3: no metered answer goes out without its request id and credit headers, gateway errors included.</summary>
public sealed class GatewayErrorHeadersTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            // Nothing listens on port 1: every attempt fails to connect.
            ["ReverseProxy:Clusters:openai:Destinations:primary:Address"] = "http://127.0.0.1:1/",
            ["Metering:MaxAttempts"] = "1",
        });
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task UpstreamUnreachable_502CarriesRequestIdAndCreditHeaders()
    {
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(_gateway, key);

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.True(response.Headers.Contains("X-Request-Id"), "no X-Request-Id");
        foreach (var header in new[] { "X-Credits-Estimate", "X-Credits-Held", "X-Credits-Remaining" })
            Assert.True(response.Headers.Contains(header), $"no {header}");
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(0m, record["credits"]!.GetValue<decimal>());
        Assert.Equal(10m, await client.AvailableAsync());
    }
}
