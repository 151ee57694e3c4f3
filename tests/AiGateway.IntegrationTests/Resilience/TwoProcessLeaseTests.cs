using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Npgsql;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>
/// Two real gateway processes on one PostgreSQL ledger with credit leases on: parallel calls of one account split
/// across both never charge more than was granted, and what is left can be spent from either instance (a small
/// balance is never stranded in the other instance's lease).
/// </summary>
public sealed class TwoProcessLeaseTests(Xunit.Abstractions.ITestOutputHelper output)
{
    // Each call is charged exactly 0.1 credits (100 output tokens of gpt-4o, no input reported) and holds a bit more.
    private const string Body = """{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task TwoProcessesOnPostgres_ParallelThenSpendDown_NeverMoreThanGrantedAndNothingStranded()
    {
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        await upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
            ["body"] = """{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"length"}],"usage":{"prompt_tokens":0,"completion_tokens":{{jsonPath request.body '$.max_tokens'}},"total_tokens":0}}""",
            ["transformers"] = new JsonArray("response-template"),
        });
        await using var postgres = new TestPostgres();
        await postgres.CreateAsync();
        var dir = Path.Combine(Path.GetTempPath(), "aigw-lease2-" + Guid.NewGuid().ToString("N"));
        Dictionary<string, string> Environment(string name) => new()
        {
            ["Ledger__Provider"] = "Postgres",
            ["Ledger__Leases"] = "true",
            ["ConnectionStrings__Ledger"] = postgres.ConnectionString + ";Maximum Pool Size=20",
            ["Gateway__AdminKey"] = "lease-admin-key",
            ["ReverseProxy__Clusters__openai__Destinations__primary__Address"] = upstream.UpstreamAddress,
            ["OPENAI_API_KEY"] = "sk-provider-lease",
            // Each instance has its own journal folder, so each derives its own instance id there.
            ["Metering__JournalPath"] = Path.Combine(dir, name, "journal.jsonl"),
            ["RateLimits__PerKeyPerMinute"] = "0", ["RateLimits__PerAccountPerMinute"] = "0", ["RateLimits__ConcurrentPerAccount"] = "0",
            ["Serilog__MinimumLevel__Default"] = "Warning",
        };
        await using var first = new GatewayProcess(Environment("a"));
        await using var second = new GatewayProcess(Environment("b"));
        await Task.WhenAll(first.StartAsync(), second.StartAsync());

        using var admin = new HttpClient { BaseAddress = first.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "lease-admin-key");
        var account = (await (await admin.PostAsJsonAsync("/admin/accounts", new { name = "leased" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var key = (await (await admin.PostAsJsonAsync($"/admin/accounts/{account}/keys", new { name = "k" })).Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
        // 60 credits: enough for leases (Ledger:LeaseMinFreeCredits is 50), spent down to nothing below.
        (await admin.PostAsJsonAsync($"/admin/accounts/{account}/grants", new { kind = "bonus", credits = 60, reason = "lease test" })).EnsureSuccessStatusCode();
        using var a = Client(first, key);
        using var b = Client(second, key);

        // 1. Parallel load from both instances: 800 calls of 0.1 for 60 credits.
        // 64 in flight at a time (32 per instance): each instance keeps 20 database connections, as a deployment would.
        using var inFlight = new SemaphoreSlim(64);
        var results = await Task.WhenAll(Enumerable.Range(0, 800).Select(i => Task.Run(async () =>
        {
            await inFlight.WaitAsync();
            try
            {
                return await CallAsync(i % 2 == 0 ? a : b);
            }
            finally
            {
                inFlight.Release();
            }
        })));
        Assert.True(results.All(r => r.Status is 200 or 402),
            $"statuses {string.Join(", ", results.GroupBy(r => r.Status).Select(g => $"{g.Key}×{g.Count()}"))}\nA: " +
            string.Join("\n", first.Output.TakeLast(40)) + "\nB: " + string.Join("\n", second.Output.TakeLast(40)));
        var parallelCharged = results.Sum(r => r.Charged);

        // 2. Spend down what is left from alternating instances; a refusal while credits sit unused in the other
        // instance's lease lasts one refresh (Ledger:LeaseRefreshInterval, 1 s): retry after 1.5 s before giving up.
        var downCharged = 0m;
        var served = new[] { 0, 0 };
        var refusedInARow = 0;
        for (var i = 0; refusedInARow < 4 && i < 1000; i++)
        {
            var (status, paid) = await CallAsync(i % 2 == 0 ? a : b);
            if (status == 200)
            {
                downCharged += paid;
                served[i % 2]++;
                refusedInARow = 0;
            }
            else
            {
                Assert.Equal(402, status);
                refusedInARow++;
                if (refusedInARow % 2 == 0) await Task.Delay(1500);
            }
        }
        var charged = parallelCharged + downCharged;
        var chargedInDb = await ChargedMicroAsync(postgres.ConnectionString);
        output.WriteLine($"parallel: {results.Count(r => r.Status == 200)} served, {results.Count(r => r.Status == 402)} refused, charged {parallelCharged}; " +
                         $"spend-down: served {served[0]} on A, {served[1]} on B, charged {downCharged}; database {chargedInDb / 1_000_000m}");

        Assert.True(charged <= 60m, $"charged {charged} of 60; " + await DescribeAsync(postgres.ConnectionString) + "\nA: " + string.Join("\n", first.Output.TakeLast(15)) + "\nB: " + string.Join("\n", second.Output.TakeLast(15)));
        Assert.Equal(charged, chargedInDb / 1_000_000m);
        Assert.True(parallelCharged >= 30m, $"only {parallelCharged} charged under parallel load");
        // Nothing stranded: what is left is less than one call's hold (0.1 charged + input estimate), on both instances.
        var balanceA = (await a.GetFromJsonAsync<JsonObject>("/v1/credits"))!;
        var balanceB = (await b.GetFromJsonAsync<JsonObject>("/v1/credits"))!;
        var left = balanceA["available"]!.GetValue<decimal>() + balanceA["held"]!.GetValue<decimal>();
        Assert.True(left < 0.11m, $"{left} credits left unspent (available {balanceA["available"]}, held {balanceA["held"]}): {balanceB}");
        Assert.Equal(60m - charged, balanceA["available"]!.GetValue<decimal>() + balanceA["held"]!.GetValue<decimal>());
        Assert.Equal(0m, balanceA["overage"]!.GetValue<decimal>());

        // 3. A small balance (3 credits, below the lease threshold) spends all it can through both instances: 29 calls
        // of 0.1 (the 30th would need a hold above the 0.1 left), every one admitted whichever instance serves it.
        var small = (await (await admin.PostAsJsonAsync("/admin/accounts", new { name = "small" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var smallKey = (await (await admin.PostAsJsonAsync($"/admin/accounts/{small}/keys", new { name = "k" })).Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
        (await admin.PostAsJsonAsync($"/admin/accounts/{small}/grants", new { kind = "bonus", credits = 3, reason = "small" })).EnsureSuccessStatusCode();
        using var sa = Client(first, smallKey);
        using var sb = Client(second, smallKey);
        var smallResults = new List<(int Status, decimal Charged)>();
        for (var i = 0; i < 31; i++) smallResults.Add(await CallAsync(i % 2 == 0 ? sa : sb));
        Assert.Equal(29, smallResults.Count(r => r.Status == 200));
        Assert.Equal(2.9m, smallResults.Sum(r => r.Charged));
        Assert.All(smallResults.Take(29), r => Assert.Equal(200, r.Status));
        Directory.Delete(dir, recursive: true);
    }

    private static HttpClient Client(GatewayProcess gateway, string key)
    {
        var client = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task<(int Status, decimal Charged)> CallAsync(HttpClient client)
    {
        using var response = await client.PostAsync("/openai/v1/chat/completions", new StringContent(Body, Encoding.UTF8, "application/json"));
        await response.Content.ReadAsStringAsync();
        var charged = response.StatusCode == HttpStatusCode.OK && response.Headers.TryGetValues("X-Credits-Charged", out var v)
            ? decimal.Parse(v.Single(), CultureInfo.InvariantCulture)
            : 0m;
        return ((int)response.StatusCode, charged);
    }

    private static async Task<string> DescribeAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var parts = new List<string>();
        foreach (var sql in new[]
        {
            "SELECT string_agg(kind || ' ' || amount || ' ' || remaining, '; ') FROM credit_lots",
            "SELECT string_agg(held || ' ' || overage, '; ') FROM ledger_accounts",
            "SELECT string_agg(COALESCE(note, '-') || ' ' || c || ' overage ' || o || ' first-overage-id ' || f, '; ') FROM (SELECT e.note, COUNT(*) c, SUM(ch.overage) o, MIN(CASE WHEN ch.overage > 0 THEN e.id END) f FROM ledger_entries e JOIN credit_charges ch ON ch.id = e.charge_id WHERE e.type = 'settle' GROUP BY e.note) x",
            "SELECT string_agg(type || ' ' || c, '; ') FROM (SELECT type, COUNT(*) c FROM ledger_entries GROUP BY type) x",
            "SELECT string_agg(instance_id || ' ' || amount || ' ' || recall, '; ') FROM credit_leases",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            parts.Add(Convert.ToString(await command.ExecuteScalarAsync()) ?? "");
        }
        return string.Join(" | ", parts);
    }

    private static async Task<long> ChargedMicroAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT COALESCE(SUM(amount), 0) FROM credit_charges", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
