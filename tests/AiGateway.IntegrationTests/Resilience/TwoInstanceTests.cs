using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>Two gateway instances sharing one PostgreSQL ledger, under parallel load from both.</summary>
public sealed class TwoInstanceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoInstancesOnPostgres_ParallelLoad_NoOverdraftNoDoubleIssuanceConservation(bool leases)
    {
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        // The upstream honours max_tokens exactly, so actual cost never exceeds the hold (no overage by design).
        await upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
            ["body"] = """{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":{{jsonPath request.body '$.max_tokens'}},"total_tokens":0}}""",
            ["transformers"] = new JsonArray("response-template"),
        });
        await using var postgres = new TestPostgres();
        await postgres.CreateAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Ledger:Provider"] = "Postgres",
            // Each instance keeps its pool well under the server's max_connections (100 by default), as a deployment must.
            ["ConnectionStrings:Ledger"] = postgres.ConnectionString + ";Maximum Pool Size=20",
            ["Serilog:MinimumLevel:Default"] = "Error",
            ["Ledger:Leases"] = leases ? "true" : "false",
        };
        await using var first = new GatewayFactory(upstream, settings);
        await using var second = new GatewayFactory(upstream, settings);
        // The plan "daily" issues 100 credits a day: both instances issue lazily, so they race to issue it.
        var (accountId, key, _) = await first.CreateAccountWithKeyAsync("shared", plan: "daily", credits: 0);
        using var a = new GatewayClient(first, key);
        using var b = new GatewayClient(second, key);
        var body = """{"model":"gpt-4o","max_tokens":2000,"messages":[{"role":"user","content":"hi"}]}""";

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            using var response = await (i % 2 == 0 ? a : b).PostJsonAsync("/openai/v1/chat/completions", body);
            var charged = response.Headers.TryGetValues("X-Credits-Charged", out var v) ? decimal.Parse(v.Single(), CultureInfo.InvariantCulture) : 0m;
            return ((int)response.StatusCode, charged);
        })));

        // Credits an instance leased and no longer uses show as held on the other one until it returns them (idle
        // leases are returned after Ledger:LeaseSpendWindow, 5 s by default): wait for that, then the books are exact.
        var balanceA = await a.BalanceAsync();
        var balanceB = await b.BalanceAsync();
        var until = DateTime.UtcNow.AddSeconds(60);
        while ((balanceA["held"]!.GetValue<decimal>() != 0 || balanceB["held"]!.GetValue<decimal>() != 0) && DateTime.UtcNow < until)
        {
            await Task.Delay(250);
            balanceA = await a.BalanceAsync();
            balanceB = await b.BalanceAsync();
        }
        var dailyLots = await first.WithDbAsync(db => db.CreditLots.CountAsync(l => l.AccountId == accountId && l.Kind == "daily"));
        var totalCharged = results.Sum(r => r.charged);
        output.WriteLine($"200: {results.Count(r => r.Item1 == 200)}, 402: {results.Count(r => r.Item1 == 402)}, other: {results.Count(r => r.Item1 is not (200 or 402))}, " +
                         $"charged {totalCharged}, available {balanceA["available"]}, daily lots {dailyLots}");

        Assert.All(results, r => Assert.Contains(r.Item1, new[] { 200, 402 }));
        Assert.Equal(1, dailyLots);
        var chargedInDb = await first.WithDbAsync(db => db.CreditCharges.Where(c => c.AccountId == accountId).SumAsync(c => c.Amount));
        Assert.True(totalCharged <= 100m, $"charged {totalCharged} of 100 (database: {chargedInDb} micro-credits)");
        Assert.Equal(totalCharged, chargedInDb / 1_000_000m);
        // Each full call holds ~2 credits of the 100; the plan's clamp policy then admits smaller calls with what is left.
        Assert.True(results.Count(r => r.Item1 == 200) >= 45);
        Assert.Equal(100m - totalCharged, balanceA["available"]!.GetValue<decimal>());
        Assert.Equal(balanceA["available"]!.GetValue<decimal>(), balanceB["available"]!.GetValue<decimal>());
        Assert.Equal(0m, balanceA["held"]!.GetValue<decimal>());
        Assert.Equal(0m, balanceA["overage"]!.GetValue<decimal>());
    }
}
