using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>PostgreSQL stopped mid-run: new calls fail closed, the in-flight call is journaled and settled when it returns.</summary>
public sealed class PostgresOutageTests
{
    [Fact]
    public async Task PostgresStoppedMidRun_NewCallsFailClosed_InFlightCallSettledAfterRestart_NoRestartOfGateway()
    {
        await using var server = new DisposablePostgresServer();
        await server.InitializeAsync();
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        await using var gateway = new GatewayFactory(upstream, new Dictionary<string, string?>
        {
            ["Ledger:Provider"] = "Postgres",
            ["ConnectionStrings:Ledger"] = server.ConnectionString,
            ["Metering:JournalReplayInterval"] = "00:00:00.500",
        });
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(gateway, key);
        await upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse("a", "b", "c"),
            new JsonObject { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 6, ["totalDuration"] = 4000 } });
        Assert.Equal(10m, await client.AvailableAsync());

        using var inFlight = await client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, inFlight.StatusCode);
        var requestId = inFlight.Headers.GetValues("X-Request-Id").Single();

        await server.StopAsync();

        using var refused = await client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"while down"}]}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("server_error", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["type"]!.GetValue<string>());
        Assert.DoesNotContain(await upstream.ReceivedAsync(), r => r.Body.Contains("while down"));
        Assert.Contains("data: [DONE]", await inFlight.Content.ReadAsStringAsync());

        await server.StartAsync();

        var record = await client.CallAsync(requestId);
        Assert.Equal(0.00775m, record["credits"]!.GetValue<decimal>()); // 19 × 250 + 3 × 1000 micro
        var balance = await client.BalanceAsync();
        Assert.Equal(10m - 0.00775m, balance["available"]!.GetValue<decimal>());
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
    }
}
