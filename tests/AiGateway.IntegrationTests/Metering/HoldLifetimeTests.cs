using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>
/// A hold lives as long as its call: real parallel streams that outlast <c>Ledger:HoldTtl</c> keep their credits held,
/// so a second wave of calls is not admitted against credits the first wave is still spending.
/// </summary>
public sealed class HoldLifetimeTests : IAsyncLifetime
{
    private static readonly TimeSpan HoldTtl = TimeSpan.FromSeconds(4);
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["Ledger:HoldTtl"] = HoldTtl.ToString("c", CultureInfo.InvariantCulture),
            ["Ledger:SweepInterval"] = "00:00:00.250",
            ["Metering:MaxAttempts"] = "1",
            // Exact holds, explicitly (leases are on by default): these tests are about the hold row's expiry and its
            // renewal while a call runs. A call held against a credit lease has no hold row; its cover is the lease,
            // renewed by the instance (LedgerLeaseModelTests, CrashTests and LeaseAdmissionTests cover that path).
            ["Ledger:Leases"] = "false",
        });
        // Streams dribble for 14 s, far past the hold TTL, and report 900 output tokens (0.9 credits of gpt-4o): close
        // to what each call holds, so calls admitted twice against the same credits show up as overage too.
        var sse = Samples.OpenAiChatSse("a", "b", "c", "d", "e", "f")
            .Replace("\"completion_tokens\":6,\"total_tokens\":25", "\"completion_tokens\":900,\"total_tokens\":919");
        Assert.Contains("\"completion_tokens\":900", sse);
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", sse, new JsonObject
        {
            ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 7, ["totalDuration"] = 14_000 },
        });
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task StreamsLongerThanHoldTtl_SecondWaveWhileTheyRun_NotAdmittedBeyondTheBalance()
    {
        // Plan "free": 10 credits, clamp. Each call holds ~1 credit (1,000 output tokens of gpt-4o), so ~10 fit.
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync("long-streams", plan: "free", credits: 0);
        using var client = new GatewayClient(_gateway, key);
        const string body = """{"model":"gpt-4o","stream":true,"max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}""";

        var firstWave = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => StartAsync(client, body))));
        // Wait until every first-wave hold is past its TTL (and swept, were it not renewed); the streams still run.
        await Task.Delay(HoldTtl + TimeSpan.FromSeconds(2));
        var held = (await client.BalanceAsync())["held"]!.GetValue<decimal>();
        var secondWave = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => StartAsync(client, body))));
        var all = firstWave.Concat(secondWave).ToList();
        var finished = await Task.WhenAll(all.Select(FinishAsync));

        var served = all.Where(c => c.Response.StatusCode == HttpStatusCode.OK).ToList();
        var promised = served.Sum(c => c.Estimate);
        var balance = await client.BalanceAsync();
        var charged = 0m;
        foreach (var call in served) charged += (await client.CallAsync(call.Response.Headers.GetValues("X-Request-Id").Single()))["credits"]!.GetValue<decimal>();
        var report = $"served {served.Count} (first wave {firstWave.Count(c => c.Response.StatusCode == HttpStatusCode.OK)}, " +
                     $"second wave {secondWave.Count(c => c.Response.StatusCode == HttpStatusCode.OK)}), held before the second wave {held}, " +
                     $"holds of served calls {promised}, charged {charged}, overage {balance["overage"]}, available {balance["available"]}";
        Assert.True(promised <= 10m, "more admitted than the balance covers: " + report);
        Assert.All(finished.Where(f => f.Status == HttpStatusCode.OK), f => Assert.True(f.Complete, "a served stream was cut: " + report));
        Assert.True(charged <= 10m, "charged more than the plan's 10 credits: " + report);
        Assert.Equal(0m, balance["overage"]!.GetValue<decimal>());
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
        Assert.True(held > 0m, "the first wave's holds were gone while it streamed: " + report);
    }

    [Fact]
    public async Task HoldExpiresWhileStreaming_RenewalFindsItGone_CallStoppedAndRecordedWithTheReason()
    {
        // E.g. the process was frozen past the TTL, or the ledger was unreachable while another instance swept.
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync("lost-hold", credits: 100);
        using var client = new GatewayClient(_gateway, key);
        var started = await StartAsync(client, """{"model":"gpt-4o","stream":true,"max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, started.Response.StatusCode);
        var requestId = started.Response.Headers.GetValues("X-Request-Id").Single();

        var ledger = _gateway.Services.GetRequiredService<CreditLedger>();
        for (var i = 0; await HoldStatusAsync(requestId) != HoldStatuses.Expired; i++)
        {
            Assert.True(i < 50, "could not expire the hold");
            await _gateway.WithDbAsync(db => db.Database.ExecuteSqlInterpolatedAsync($"UPDATE credit_holds SET expires_at = 0 WHERE request_id = {requestId}"));
            await ledger.ExpireHoldsAsync();
        }
        var (_, complete) = await FinishOrCutAsync(started);

        Assert.False(complete, "the stream went on to its end although its hold was gone");
        // The sweep stored an interrupted record when it expired the hold; the call's own record, written as it ends, replaces it.
        var record = await client.CallAsync(requestId);
        for (var i = 0; record["usageSource"]!.GetValue<string>() == "interrupted" && i < 100; i++)
        {
            await Task.Delay(100);
            record = await client.CallAsync(requestId);
        }
        Assert.Contains("credit hold expired", record["error"]!.GetValue<string>());
        Assert.Equal(200, record["status"]!.GetValue<int>());
    }

    private Task<string?> HoldStatusAsync(string requestId) =>
        _gateway.WithDbAsync(db => db.CreditHolds.AsNoTracking().Where(h => h.RequestId == requestId).Select(h => h.Status).SingleOrDefaultAsync());

    private static async Task<(HttpStatusCode Status, bool Complete)> FinishOrCutAsync(Started started)
    {
        try
        {
            return await FinishAsync(started);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return (started.Response.StatusCode, false);
        }
    }

    private sealed record Started(HttpResponseMessage Response, decimal Estimate);

    private static async Task<Started> StartAsync(GatewayClient client, string body)
    {
        var response = await client.PostJsonAsync("/openai/v1/chat/completions", body, HttpCompletionOption.ResponseHeadersRead);
        // What the call holds (X-Credits-Held where the gateway states it separately from the expected estimate).
        var held = response.Headers.TryGetValues("X-Credits-Held", out var values) || response.Headers.TryGetValues("X-Credits-Estimate", out values)
            ? decimal.Parse(values.Single(), CultureInfo.InvariantCulture) : 0m;
        return new Started(response, held);
    }

    private static async Task<(HttpStatusCode Status, bool Complete)> FinishAsync(Started started)
    {
        using var response = started.Response;
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Contains("data: [DONE]"));
    }
}
