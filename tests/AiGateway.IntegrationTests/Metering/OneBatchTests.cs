using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using AiGateway.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>
/// A leased call's charge and its record commit in one settlement batch transaction (#13), and so do an exact hold's
/// settlement and its record (leases off): the record stored is the call's record (usage, charge, status, usage source),
/// it exists before the client sees the end of the response, and the end of the call writes nothing more unless its
/// outcome changed after the settlement — then it corrects that one record (the client left before the end was
/// written), never a second charge or a second record.
/// </summary>
public sealed class OneBatchTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private WireMockScope _upstream = null!;

    public async Task InitializeAsync() => _upstream = (await SharedWireMock.GetAsync()).NewScope();

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Nothing else writes while the calls run: no lease renewal or expiry, no sweep, no rollup step.</summary>
    private static Dictionary<string, string?> QuietSettings(bool leases = true) => new()
    {
        ["Ledger:Leases"] = leases ? "true" : "false",
        ["Ledger:LeaseRefreshInterval"] = "01:00:00",
        ["Ledger:LeaseTtl"] = "03:00:00",
        ["Ledger:SweepInterval"] = "01:00:00",
        ["History:RollupInterval"] = "01:00:00",
    };

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public async Task SequentialCalls_JsonAndSse_ChargeAndRecordInOneLedgerTransaction_TheRecordIsTheCallsRecord(bool postgres, bool leases)
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200,
            """{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}""");
        await _upstream.StubSseAsync("POST", "/v1/messages", AnthropicStream());
        await using var database = postgres ? new TestPostgres() : null;
        var settings = QuietSettings(leases);
        if (database is not null)
        {
            await database.CreateAsync();
            settings["Ledger:Provider"] = "Postgres";
            settings["ConnectionStrings:Ledger"] = database.ConnectionString;
        }
        await using var gateway = new GatewayFactory(_upstream, settings);
        var (accountId, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 1000);
        using var client = new GatewayClient(gateway, key);
        var ledger = gateway.Services.GetRequiredService<CreditLedger>();
        Assert.Equal(leases, gateway.Services.GetRequiredService<CreditLeases>().Active);

        // With leases, the first calls take the lease (its own transaction); the calls measured then hold against it in
        // memory. Without, every call writes its hold, then settles it with its record.
        await CallAsync(client, json: true);
        await CallAsync(client, json: false);
        const int Calls = 10;
        var before = ledger.Transactions;
        var roundTripsBefore = ledger.RoundTrips;
        var ids = new List<(string RequestId, bool Json, decimal? ChargedHeader)>();
        for (var i = 0; i < Calls; i++)
        {
            var json = i % 2 == 0;
            ids.Add(await CallAsync(client, json));
        }
        // Every record is readable (the old path wrote it after the response, in a second batch): then count.
        var records = new List<JsonObject>();
        foreach (var (requestId, _, _) in ids) records.Add(await client.CallAsync(requestId));
        var transactions = ledger.Transactions - before;
        var roundTrips = ledger.RoundTrips - roundTripsBefore;
        var expected = leases ? Calls : 2 * Calls;
        output.WriteLine($"{Calls} {(leases ? "leased" : "exact")} calls: {transactions} ledger transactions, {roundTrips} round trips");
        Assert.True(transactions == expected,
            $"{Calls} sequential {(leases ? "leased" : "exact")} calls took {transactions} ledger transactions, expected {expected} (charge and record in one)");
        if (postgres)
        {
            // A leased call: one settlement batch of two round trips (the reads; the writes with the COMMIT). An exact
            // call: its hold (the lock and reads; the writes with the COMMIT), then its settlement (the lock and reads; one
            // batch of statements with the record and the COMMIT in it).
            var expectedTrips = (leases ? 2 : 4) * Calls;
            Assert.True(roundTrips == expectedTrips, $"{Calls} sequential calls took {roundTrips} round trips, expected {expectedTrips}");
        }

        var charges = await gateway.WithDbAsync(db => db.CreditCharges.Where(c => c.AccountId == accountId)
            .ToDictionaryAsync(c => c.RequestId, c => c.Amount));
        for (var i = 0; i < Calls; i++)
        {
            var (requestId, json, header) = ids[i];
            var record = records[i];
            var charged = record["credits"]!.GetValue<decimal>();
            Assert.True(charged > 0, $"call {requestId} recorded no charge");
            Assert.Equal(charges[requestId] / 1_000_000m, charged);
            if (header is { } shown) Assert.Equal(shown, charged);
            Assert.Equal((200, "provider", json ? 11L : 25L, json ? 7L : 30L, json ? "gpt-4o" : "claude-sonnet-4", !json, (string?)null),
                (record["status"]!.GetValue<int>(), record["usageSource"]!.GetValue<string>(), record["inputTokens"]!.GetValue<long>(),
                 record["outputTokens"]!.GetValue<long>(), record["model"]!.GetValue<string>(), record["stream"]!.GetValue<bool>(),
                 record["error"]?.GetValue<string>()));
            Assert.Equal(0m, record["overage"]!.GetValue<decimal>());
            Assert.Equal(1, record["attempts"]!.GetValue<int>());
        }
        // The attempt still open at the settlement is stored as it ended (destination and status).
        var attempts = await gateway.WithDbAsync(db => db.CallRecords.Where(r => r.AccountId == accountId).Select(r => r.Attempts).Distinct().ToListAsync());
        Assert.Equal(["primary:200"], attempts);
        // One record per call, one charge per call.
        var counts = await gateway.WithDbAsync(async db => (
            Records: await db.CallRecords.CountAsync(r => r.AccountId == accountId),
            Charges: await db.CreditCharges.CountAsync(c => c.AccountId == accountId)));
        Assert.Equal((Calls + 2, Calls + 2), counts);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SseStream_RecordStoredWithTheCharge_BeforeTheEnd_ClientThenLeaves_OneChargeOneRecordShowingTheDisconnect(bool leases)
    {
        // The whole stream (usage, [DONE]) comes at once; the upstream then keeps the connection open for 30 s.
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.HeldOpenSse(OpenAiStream()), Samples.HeldOpen());
        var settings = QuietSettings(leases);
        settings["Metering:DrainAfterDisconnect"] = "00:00:00"; // the client leaving ends the upstream read at once
        await using var gateway = new GatewayFactory(_upstream, settings);
        var (accountId, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 100);
        using var client = new GatewayClient(gateway, key);

        string requestId;
        JsonObject stored;
        using (var cts = new CancellationTokenSource())
        {
            var response = await client.PostJsonAsync("/openai/v1/chat/completions",
                """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"max_tokens":500,"messages":[{"role":"user","content":"hi"}]}""",
                HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            requestId = response.Headers.GetValues("X-Request-Id").Single();
            await Samples.ReadThroughDoneAsync(response, cts.Token);

            // The stream has not ended (the upstream is still open): the charge and the record are committed already.
            using (var view = await client.Http.GetAsync($"/v1/credits/calls/{requestId}"))
            {
                Assert.True(view.IsSuccessStatusCode, $"no call record when the client saw the stream's usage and [DONE] ({(int)view.StatusCode}): the record did not go with the charge");
                stored = JsonNode.Parse(await view.Content.ReadAsStringAsync())!.AsObject();
            }
            Assert.Equal((200, "provider", 19L, 17L, (string?)null),
                (stored["status"]!.GetValue<int>(), stored["usageSource"]!.GetValue<string>(), stored["inputTokens"]!.GetValue<long>(),
                 stored["outputTokens"]!.GetValue<long>(), stored["error"]?.GetValue<string>()));
            Assert.True(stored["credits"]!.GetValue<decimal>() > 0);

            // The client leaves before the end of the response was written.
            cts.Cancel();
            response.Dispose();
        }

        // The record is corrected to what the call's record shows (as before one record per call was folded into the
        // settlement): the disconnect, nothing else changed, charged once.
        JsonObject final;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            final = await client.CallAsync(requestId);
            if (final["error"] is not null || DateTime.UtcNow > until) break;
            await Task.Delay(100);
        }
        Assert.Equal("client disconnected", final["error"]?.GetValue<string>());
        Assert.Equal((200, "provider", 19L, 17L, stored["credits"]!.GetValue<decimal>(), stored["durationMs"]!.GetValue<int>()),
            (final["status"]!.GetValue<int>(), final["usageSource"]!.GetValue<string>(), final["inputTokens"]!.GetValue<long>(),
             final["outputTokens"]!.GetValue<long>(), final["credits"]!.GetValue<decimal>(), final["durationMs"]!.GetValue<int>()));
        var (records, charges, charged) = await gateway.WithDbAsync(async db => (
            await db.CallRecords.CountAsync(r => r.RequestId == requestId),
            await db.CreditCharges.CountAsync(c => c.RequestId == requestId),
            await db.CreditCharges.Where(c => c.AccountId == accountId).SumAsync(c => c.Amount)));
        Assert.Equal((1, 1), (records, charges));
        Assert.Equal(stored["credits"]!.GetValue<decimal>(), charged / 1_000_000m);
        var balance = await client.BalanceAsync();
        Assert.Equal((100m - charged / 1_000_000m, 0m), (balance["available"]!.GetValue<decimal>(), balance["held"]!.GetValue<decimal>()));
    }

    /// <summary>One call, read to its end: the request id and, for JSON, the charge header.</summary>
    private static async Task<(string RequestId, bool Json, decimal? ChargedHeader)> CallAsync(GatewayClient client, bool json)
    {
        using var response = json
            ? await client.PostJsonAsync("/openai/v1/chat/completions",
                """{"model":"gpt-4o","max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}""")
            : await client.PostJsonAsync("/anthropic/v1/messages",
                """{"model":"claude-sonnet-4","stream":true,"max_tokens":1000,"messages":[{"role":"user","content":"hi"}]}""");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        var header = response.Headers.TryGetValues("X-Credits-Charged", out var v) ? decimal.Parse(v.Single(), CultureInfo.InvariantCulture) : (decimal?)null;
        return (response.Headers.GetValues("X-Request-Id").Single(), json, header);
    }

    private static string AnthropicStream()
    {
        var sb = new StringBuilder();
        sb.Append("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-20250514\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n");
        sb.Append("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
        sb.Append("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hello\"}}\n\n");
        sb.Append("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
        sb.Append("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":30}}\n\n");
        sb.Append("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        return sb.ToString();
    }

    private static string OpenAiStream()
    {
        var sb = new StringBuilder();
        const string head = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4o\",";
        sb.Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
        for (var i = 0; i < 4; i++) sb.Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{\"content\":\" w").Append(i).Append("\"},\"finish_reason\":null}]}\n\n");
        sb.Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
        sb.Append(head).Append("\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":17,\"total_tokens\":36}}\n\n");
        sb.Append("data: [DONE]\n\n");
        return sb.ToString();
    }
}
