using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>Upstream faults injected with real WireMock; each ends in a defined outcome (failover, release, partial charge).</summary>
public sealed class UpstreamFaultTests : IAsyncLifetime
{
    private const string ChatBody = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""";
    private const string StreamBody = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
    private WireMockScope _upstream = null!;

    public async Task InitializeAsync() => _upstream = (await SharedWireMock.GetAsync()).NewScope();

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<(GatewayFactory Gateway, GatewayClient Client)> GatewayAsync(Dictionary<string, string?> settings)
    {
        var gateway = new GatewayFactory(_upstream, settings);
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 10);
        return (gateway, new GatewayClient(gateway, key));
    }

    private static async Task AssertNothingHeldAsync(GatewayClient client, decimal available = 10m)
    {
        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
        Assert.Equal(available, balance["available"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task ConnectionRefused_FailsOverToSecondary_ChargedOnce()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        var (gateway, client) = await GatewayAsync(new()
        {
            ["ReverseProxy:Clusters:openai:Destinations:primary:Address"] = "http://127.0.0.1:1/",
            ["ReverseProxy:Clusters:openai:Destinations:secondary:Address"] = _upstream.UpstreamAddress,
        });
        await using var _ = gateway;
        using var __ = client;

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", ChatBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(2, record["attempts"]!.GetValue<int>());
        await AssertNothingHeldAsync(client, 10m - 0.01475m);
    }

    [Fact]
    public async Task ConnectionRefused_NoOtherDestination_Returns502InProviderShape_NothingCharged()
    {
        var (gateway, client) = await GatewayAsync(new() { ["ReverseProxy:Clusters:openai:Destinations:primary:Address"] = "http://127.0.0.1:1/" });
        await using var _ = gateway;
        using var __ = client;

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", ChatBody);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("server_error", (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["type"]!.GetValue<string>());
        await AssertNothingHeldAsync(client);
    }

    [Fact]
    public async Task ConnectionResetByPeer_Returns502_NothingCharged()
    {
        await _upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject { ["fault"] = "CONNECTION_RESET_BY_PEER" });
        var (gateway, client) = await GatewayAsync(new() { ["Metering:MaxAttempts"] = "2" });
        await using var _ = gateway;
        using var __ = client;

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", ChatBody);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(2, (await _upstream.ReceivedAsync()).Count);
        await AssertNothingHeldAsync(client);
    }

    [Fact]
    public async Task MalformedChunkMidStream_NothingDelivered_IsReleased()
    {
        await _upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject { ["fault"] = "MALFORMED_RESPONSE_CHUNK" });
        var (gateway, client) = await GatewayAsync(new() { ["Metering:MaxAttempts"] = "1" });
        await using var _ = gateway;
        using var __ = client;

        try
        {
            using var response = await client.PostJsonAsync("/openai/v1/chat/completions", StreamBody);
            await response.Content.ReadAsStringAsync();
        }
        catch (HttpRequestException)
        {
            // The client may see the broken stream as an error; either way nothing may be charged.
        }

        await AssertNothingHeldAsync(client);
    }

    [Fact]
    public async Task SlowFirstByte_BeyondActivityTimeout_Returns504_NothingCharged()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson, new JsonObject { ["fixedDelayMilliseconds"] = 4000 });
        var (gateway, client) = await GatewayAsync(new()
        {
            ["ReverseProxy:Clusters:openai:HttpRequest:ActivityTimeout"] = "00:00:01",
            ["Metering:MaxAttempts"] = "1",
        });
        await using var _ = gateway;
        using var __ = client;

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", ChatBody);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("did not answer in time", await response.Content.ReadAsStringAsync());
        await AssertNothingHeldAsync(client);
    }

    [Fact]
    public async Task EndlessStream_CutAtMaxDuration_ChargedForWhatWasDelivered()
    {
        var pieces = Enumerable.Range(0, 40).Select(i => $" word{i}").ToArray();
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse(pieces),
            new JsonObject { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 40, ["totalDuration"] = 20000 } });
        var (gateway, client) = await GatewayAsync(new() { ["Metering:MaxStreamDuration"] = "00:00:02" });
        await using var _ = gateway;
        using var __ = client;

        var started = DateTime.UtcNow;
        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", StreamBody, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "the stream was not cut");
        Assert.DoesNotContain("[DONE]", body);
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal("partial", record["usageSource"]!.GetValue<string>());
        Assert.True(record["outputTokens"]!.GetValue<long>() > 0);
        var charged = record["credits"]!.GetValue<decimal>();
        Assert.True(charged > 0);
        await AssertNothingHeldAsync(client, 10m - charged);
    }

    [Fact]
    public async Task MalformedUsage_ChargedFromCountedTokensAsEstimated()
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200,
            """{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello there, general"}}],"usage":"garbage"}""");
        var (gateway, client) = await GatewayAsync(new());
        await using var _ = gateway;
        using var __ = client;

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", ChatBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal("estimated", record["usageSource"]!.GetValue<string>());
        Assert.True(record["outputTokens"]!.GetValue<long>() > 0);
        Assert.True(record["credits"]!.GetValue<decimal>() > 0);
    }

    [Fact]
    public async Task BurstOf502s_RetriedUntilSuccess_ChargedOnce()
    {
        var wm = await SharedWireMock.GetAsync();
        var scenario = "burst" + Guid.NewGuid().ToString("N");
        string[] states = ["Started", "one", "two"];
        for (var i = 0; i < 2; i++)
        {
            await wm.StubAsync(new JsonObject
            {
                ["scenarioName"] = scenario, ["requiredScenarioState"] = states[i], ["newScenarioState"] = states[i + 1],
                ["request"] = new JsonObject { ["method"] = "POST", ["urlPath"] = _upstream.Prefix + "/v1/chat/completions" },
                ["response"] = new JsonObject { ["status"] = 502, ["body"] = "bad gateway" },
            });
        }
        await wm.StubAsync(new JsonObject
        {
            ["scenarioName"] = scenario, ["requiredScenarioState"] = "two",
            ["request"] = new JsonObject { ["method"] = "POST", ["urlPath"] = _upstream.Prefix + "/v1/chat/completions" },
            ["response"] = new JsonObject { ["status"] = 200, ["body"] = Samples.OpenAiChatJson, ["headers"] = new JsonObject { ["Content-Type"] = "application/json" } },
        });
        var (gateway, client) = await GatewayAsync(new() { ["Metering:MaxAttempts"] = "3" });
        await using var _ = gateway;
        using var __ = client;

        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", ChatBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await client.CallAsync(response.Headers.GetValues("X-Request-Id").Single());
        Assert.Equal(3, record["attempts"]!.GetValue<int>());
        await AssertNothingHeldAsync(client, 10m - 0.01475m);
    }
}
