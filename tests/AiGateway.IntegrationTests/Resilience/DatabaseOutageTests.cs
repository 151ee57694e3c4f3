using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>The ledger database becomes unusable (SQLite write-locked by another process) while calls are in flight.</summary>
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            // A short busy timeout so a locked database is noticed in a second, not thirty.
            ["Metering:JournalReplayInterval"] = "00:00:00.300",
            // The client leaving ends the upstream read at once (the correction test below).
            ["Metering:DrainAfterDisconnect"] = "00:00:00",
        });
        _gateway.AppendToConnectionString = ";Default Timeout=1";
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task LockedDatabase_NewCallsFailClosed_InFlightCallIsJournaledAndSettledAfterRecovery()
    {
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(_gateway, key);
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.OpenAiChatSse("a", "b", "c"),
            new JsonObject { ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 6, ["totalDuration"] = 3000 } });
        var body = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
        Assert.Equal(10m, await client.AvailableAsync()); // warms the key cache while the database is fine

        // A: held and forwarded while the database works.
        using var a = await client.PostJsonAsync("/openai/v1/chat/completions", body, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        var requestA = a.Headers.GetValues("X-Request-Id").Single();

        // Another process takes the write lock.
        var dbPath = new SqliteConnectionStringBuilder(
            $"Data Source={Path.Combine(_gateway.DataDirectory, "gateway.db")}").DataSource;
        await using (var locker = new SqliteConnection($"Data Source={dbPath};Pooling=False"))
        {
            await locker.OpenAsync();
            await using (var begin = locker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE;";
                await begin.ExecuteNonQueryAsync();
            }

            // B: cannot be held, so it is refused in the provider's shape and never forwarded.
            using var b = await client.PostJsonAsync("/openai/v1/chat/completions", body.Replace("hi", "second"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, b.StatusCode);
            var error = await b.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal("server_error", error!["error"]!["type"]!.GetValue<string>());
            Assert.DoesNotContain(await _upstream.ReceivedAsync(), r => r.Body.Contains("second"));

            // A completes while the database is still locked: the client gets everything.
            var streamed = await a.Content.ReadAsStringAsync();
            Assert.Contains("data: [DONE]", streamed);
            Assert.True(File.Exists(Path.Combine(_gateway.DataDirectory, "settlement-journal.jsonl")));

            await using var rollback = locker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }

        // Recovery without a restart: the journal replays, A is charged once and recorded.
        var record = await client.CallAsync(requestA);
        Assert.Equal(0.00775m, record["credits"]!.GetValue<decimal>()); // 19 × 250 + 3 × 1000 micro
        var balance = await client.BalanceAsync();
        Assert.Equal(10m - 0.00775m, balance["available"]!.GetValue<decimal>());
        Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
        // The replay removes its entries right after applying them; the record can be visible a moment before.
        var journalFile = Path.Combine(_gateway.DataDirectory, "settlement-journal.jsonl");
        var waited = Stopwatch.StartNew();
        while ((await File.ReadAllTextAsync(journalFile)).Trim().Length > 0 && waited.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(50);
        Assert.Empty((await File.ReadAllTextAsync(journalFile)).Trim());

        // And new calls work again.
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        using var c = await client.PostJsonAsync("/openai/v1/chat/completions", """{"model":"gpt-4o","messages":[{"role":"user","content":"third"}]}""");
        Assert.Equal(HttpStatusCode.OK, c.StatusCode);
    }

    [Fact]
    public async Task LockedDatabase_WhenTheClientLeavesASettledStream_TheRecordsCorrectionIsJournaledAndAppliedAfterRecovery()
    {
        var (accountId, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(_gateway, key);
        // The whole stream (usage, [DONE]) comes at once; the upstream then keeps the connection open.
        await _upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.HeldOpenSse(Samples.OpenAiChatSse("a", "b", "c")), Samples.HeldOpen());
        var response = await client.PostJsonAsync("/openai/v1/chat/completions",
            """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""",
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        await Samples.ReadThroughDoneAsync(response);
        // Settled and recorded with its charge while the stream is still open.
        var stored = await client.CallAsync(requestId);
        Assert.Null(stored["error"]);
        var charged = stored["credits"]!.GetValue<decimal>();
        Assert.True(charged > 0);

        var journalFile = Path.Combine(_gateway.DataDirectory, "settlement-journal.jsonl");
        var dbPath = Path.Combine(_gateway.DataDirectory, "gateway.db");
        await using (var locker = new SqliteConnection($"Data Source={dbPath};Pooling=False"))
        {
            await locker.OpenAsync();
            await using (var begin = locker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE;";
                await begin.ExecuteNonQueryAsync();
            }
            // The client leaves: the end of the call corrects the record, the database cannot take it, the journal does.
            response.Dispose();
            var waited = Stopwatch.StartNew();
            while (!(File.Exists(journalFile) && (await File.ReadAllTextAsync(journalFile)).Contains("\"correct\"")) && waited.Elapsed < TimeSpan.FromSeconds(20))
                await Task.Delay(50);
            Assert.True(File.Exists(journalFile) && (await File.ReadAllTextAsync(journalFile)).Contains("\"correct\""),
                "the record's correction was not journaled while the database was locked");
            await using var rollback = locker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }

        // Recovery: the replay corrects that one record; the charge is the one made before, once.
        JsonObject final;
        var until = Stopwatch.StartNew();
        while (true)
        {
            final = await client.CallAsync(requestId);
            if (final["error"] is not null || until.Elapsed > TimeSpan.FromSeconds(20)) break;
            await Task.Delay(100);
        }
        Assert.Equal("client disconnected", final["error"]?.GetValue<string>());
        Assert.Equal(charged, final["credits"]!.GetValue<decimal>());
        var (records, charges) = await _gateway.WithDbAsync(async db => (
            await db.CallRecords.CountAsync(r => r.RequestId == requestId),
            await db.CreditCharges.CountAsync(c => c.RequestId == requestId)));
        Assert.Equal((1, 1), (records, charges));
        Assert.Equal(10m - charged, (await client.BalanceAsync())["available"]!.GetValue<decimal>());
    }
}
