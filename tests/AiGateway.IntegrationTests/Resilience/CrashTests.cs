using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>
/// kill -9 of the gateway process with 50 calls (streaming and not) in flight, then a restart on the same database:
/// completed calls are charged once, and the interrupted ones appear as <c>interrupted</c> call records charged nothing.
/// </summary>
public sealed class CrashTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private sealed record Outcome(string? RequestId, bool FullyReceived, string Kind, string? Error = null);

    // Exact holds: a cut call's hold row carries its interrupted record. Credit leases: cut calls were held in memory,
    // their interrupted records wait in admission markers (resolved when the killed instance restarts), and the killed
    // instance's lease returns when it restarts.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task KillDashNine_50CallsInFlight_CompletedChargedOnceInterruptedRecordedConservationHolds(bool leases)
    {
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        var dir = Path.Combine(Path.GetTempPath(), "aigw-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var dbPath = GatewayProcess.DatabasePath(dir);
        var environment = GatewayProcess.SqliteFileEnvironment(dir, upstream, "crash-admin-key", "sk-provider-crash");
        environment["Ledger__HoldTtl"] = "00:00:03";
        environment["Ledger__SweepInterval"] = "00:00:01";
        // Idle leases are kept for 30 s and live 30 s: only the restart itself can return the killed instance's lease in time.
        environment["Ledger__LeaseSpendWindow"] = "00:00:30";
        environment["Ledger__LeaseTtl"] = "00:00:30";
        environment["Ledger__Leases"] = leases ? "true" : "false";
        // Non-streaming answers take 0.1–8 s; streams dribble over 6 s: at the kill some are done, some midway.
        await upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200, ["body"] = Samples.OpenAiChatSse("x", "y", "z"),
            ["headers"] = new JsonObject { ["Content-Type"] = "text/event-stream" },
            ["chunkedDribbleDelay"] = new JsonObject { ["numberOfChunks"] = 5, ["totalDuration"] = 6000 },
        }, priority: 1, extraRequest: new JsonObject { ["bodyPatterns"] = new JsonArray(new JsonObject { ["contains"] = "\"stream\":true" }) });
        await upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200, ["body"] = Samples.OpenAiChatJson,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
            ["delayDistribution"] = new JsonObject { ["type"] = "uniform", ["lower"] = 100, ["upper"] = 8000 },
        }, priority: 5);

        string key;
        await using (var gateway = new GatewayProcess(environment))
        {
            await gateway.StartAsync();
            key = await CreateAccountKeyAsync(gateway);

            // Calls without an output limit hold gpt-4o's maximum output (16,384 tokens, 16.4 credits): 1,000 credits admit all 50.
            using var client = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            // Warm up the gateway and WireMock (JIT, vocabularies) so the kill lands among calls, not before them.
            Assert.True((await CallAsync(client, stream: false)).FullyReceived);
            Assert.True((await CallAsync(client, stream: true)).FullyReceived);
            var calls = Enumerable.Range(0, 50).Select(i => Task.Run(() => CallAsync(client, stream: i % 2 == 0))).ToList();
            // Kill once some calls have completed (so both kinds of outcome exist), at the latest after 15 s.
            var killAt = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (calls.Count(c => c.IsCompleted) < 8 && DateTime.UtcNow < killAt) await Task.Delay(50);
            await gateway.KillAsync();
            var outcomes = await Task.WhenAll(calls);

            Assert.True(outcomes.Any(o => o.FullyReceived), string.Join("\n", outcomes.Select(o => o.ToString())) + "\n" + string.Join("\n", gateway.Output.TakeLast(30)));
            Assert.Contains(outcomes, o => !o.FullyReceived);

            // Restart on the same database; in-flight holds expire (TTL 3 s) and the sweep releases them.
            await using var restarted = new GatewayProcess(environment);
            await restarted.StartAsync();
            var swept = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((await ActiveHoldsAsync(dbPath) > 0 || await ScalarAsync(dbPath, "SELECT COUNT(*) FROM lease_admissions") > 0)
                   && DateTime.UtcNow < swept) await Task.Delay(200);

            using var user = new HttpClient { BaseAddress = restarted.BaseAddress };
            user.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var balance = (await user.GetFromJsonAsync<JsonObject>("/v1/credits"))!;
            // The calls the kill interrupted are in the usage API: status interrupted, nothing charged, model and estimate kept.
            var interruptedViews = new List<JsonObject>();
            foreach (var cut in outcomes.Where(o => !o.FullyReceived && o.RequestId is not null))
            {
                using var view = await user.GetAsync($"/v1/credits/calls/{cut.RequestId}");
                if (view.IsSuccessStatusCode) interruptedViews.Add((await view.Content.ReadFromJsonAsync<JsonObject>())!);
            }
            var usage = (await user.GetFromJsonAsync<JsonObject>("/v1/credits/usage?limit=500"))!["items"]!.AsArray();
            await restarted.KillAsync();

            var holds = await HoldsAsync(dbPath);
            var records = await RecordsAsync(dbPath);
            var expired = holds.Where(h => h.Value == "expired").Select(h => h.Key).ToList();
            var leasedSettles = (await RequestIdsAsync(dbPath, "SELECT request_id FROM ledger_entries WHERE note = 'leased'")).ToHashSet();
            if (!leases) Assert.NotEmpty(expired);
            foreach (var requestId in expired)
            {
                Assert.True(records.TryGetValue(requestId, out var record), $"call {requestId} was interrupted by the kill (hold expired) but has no call record");
                Assert.Equal(("interrupted", 0L, "gpt-4o"), (record!.UsageSource, record.ChargedMicro, record.Model));
                Assert.True(record.EstimateMicro > 0, $"interrupted call {requestId} lost its estimate");
            }
            // Never for a call whose exact hold was settled: its record (if the kill let it be written) is the real one.
            Assert.All(holds.Where(h => h.Value == "settled" && !leasedSettles.Contains(h.Key)), h =>
                Assert.False(records.TryGetValue(h.Key, out var r) && r.UsageSource == "interrupted", $"settled call {h.Key} recorded as interrupted"));
            Assert.All(interruptedViews.Where(v => expired.Contains(v["requestId"]!.GetValue<string>())), v =>
                Assert.Equal(("interrupted", 0m), (v["usageSource"]!.GetValue<string>(), v["credits"]!.GetValue<decimal>())));
            var charges = await ChargesByRequestAsync(dbPath);
            // Every call the kill cut before it was charged (leased or exact) is recorded once as interrupted, nothing charged.
            var uncharged = outcomes.Where(o => !o.FullyReceived && o.RequestId is not null && !charges.ContainsKey(o.RequestId)).ToList();
            Assert.NotEmpty(uncharged);
            foreach (var cut in uncharged)
            {
                Assert.True(records.TryGetValue(cut.RequestId!, out var record), $"{cut.Kind} call {cut.RequestId} was cut by the kill before it was charged but has no call record");
                Assert.Equal(("interrupted", 0L, "gpt-4o"), (record!.UsageSource, record.ChargedMicro, record.Model));
                Assert.True(record.EstimateMicro > 0, $"interrupted call {cut.RequestId} lost its estimate");
            }
            // An interrupted record shows what its call was charged (nothing, unless its charge was written before the kill).
            var chargedMicro = await ChargedMicroByRequestAsync(dbPath);
            Assert.All(records.Where(r => r.Value.UsageSource == "interrupted"), r => Assert.Equal(chargedMicro.GetValueOrDefault(r.Key), r.Value.ChargedMicro));
            Assert.Equal(records.Count(r => r.Value.UsageSource == "interrupted"), usage.Count(c => c!["usageSource"]!.GetValue<string>() == "interrupted"));
            Assert.Equal(0, await ScalarAsync(dbPath, "SELECT COUNT(*) FROM lease_admissions"));
            foreach (var done in outcomes.Where(o => o.FullyReceived))
            {
                Assert.True(charges.TryGetValue(done.RequestId!, out var count) && count == 1,
                    $"{done.Kind} call {done.RequestId} was fully received but charged {count} times");
            }
            Assert.All(charges, c => Assert.Equal(1, c.Value));
            // Every charge has its call's record (the record commits with the charge, exact or leased): no kill point
            // between the two.
            Assert.All(charges, c => Assert.True(records.ContainsKey(c.Key), $"call {c.Key} was charged but has no call record"));
            Assert.Equal(0, await ActiveHoldsAsync(dbPath));
            // The calls held against a credit lease (100 credits are above Ledger:LeaseMinFreeCredits), and the killed
            // instance's lease was returned when it restarted (same instance id, kept next to its journal).
            Assert.Equal(leases, await ScalarAsync(dbPath, "SELECT COUNT(*) FROM ledger_entries WHERE note = 'leased'") > 0);
            Assert.Equal(0, await ScalarAsync(dbPath, "SELECT COALESCE(SUM(amount), 0) FROM credit_leases"));
            Assert.Equal(0m, balance["held"]!.GetValue<decimal>());
            output.WriteLine($"calls: {outcomes.Length}, fully received: {outcomes.Count(o => o.FullyReceived)} " +
                             $"(streams {outcomes.Count(o => o.FullyReceived && o.Kind == "stream")}), cut by the kill: {outcomes.Count(o => !o.FullyReceived)}; " +
                             $"charges: {charges.Count}, charged micro: {await ChargedMicroAsync(dbPath)}, available after restart: {balance["available"]}, held: {balance["held"]}");
            // Conservation: the grant is what is left plus what was charged.
            Assert.Equal(1_000_000_000L, (long)(balance["available"]!.GetValue<decimal>() * 1_000_000m) + await ChargedMicroAsync(dbPath));
        }
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    // A stream's usage and [DONE] reach the client (it is settled: charged before the final chunk goes out) while the
    // upstream keeps the connection open; kill -9 then. Its charge must have its record — exact hold or lease — although
    // the call never ended (the record commits with the charge, not at the end of the call).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task KillDashNine_AfterAStreamWasSettled_BeforeItEnded_TheChargeHasItsRecord(bool leases)
    {
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        var dir = Path.Combine(Path.GetTempPath(), "aigw-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var dbPath = GatewayProcess.DatabasePath(dir);
        var environment = GatewayProcess.SqliteFileEnvironment(dir, upstream, "crash-admin-key", "sk-provider-crash");
        environment["Ledger__Leases"] = leases ? "true" : "false";
        await upstream.StubSseAsync("POST", "/v1/chat/completions", Samples.HeldOpenSse(Samples.OpenAiChatSse("x", "y", "z")), Samples.HeldOpen());

        await using (var gateway = new GatewayProcess(environment))
        {
            await gateway.StartAsync();
            var key = await CreateAccountKeyAsync(gateway);

            using var client = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            }, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var requestId = response.Headers.GetValues("X-Request-Id").Single();
            await Samples.ReadThroughDoneAsync(response);
            await gateway.KillAsync();

            var charged = await ChargedMicroByRequestAsync(dbPath);
            Assert.True(charged.TryGetValue(requestId, out var amount) && amount > 0, $"the settled stream {requestId} was not charged");
            var records = await RecordsAsync(dbPath);
            Assert.True(records.TryGetValue(requestId, out var record),
                $"the stream {requestId} was charged {amount} µcr before the kill but has no call record");
            Assert.Equal(("provider", amount), (record!.UsageSource, record.ChargedMicro));
            output.WriteLine($"{(leases ? "leased" : "exact")}: charged {amount} µcr, record {record}");
        }
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>An account with 1,000 credits and its key, made through the admin API of <paramref name="gateway"/>.</summary>
    private static async Task<string> CreateAccountKeyAsync(GatewayProcess gateway)
    {
        using var admin = new HttpClient { BaseAddress = gateway.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "crash-admin-key");
        var account = (await (await admin.PostAsJsonAsync("/admin/accounts", new { name = "crash" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var key = (await (await admin.PostAsJsonAsync($"/admin/accounts/{account}/keys", new { name = "k" })).Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
        (await admin.PostAsJsonAsync($"/admin/accounts/{account}/grants", new { kind = "bonus", credits = 1000, reason = "crash test" })).EnsureSuccessStatusCode();
        return key;
    }

    private static async Task<Outcome> CallAsync(HttpClient client, bool stream)
    {
        var body = stream
            ? """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"""
            : """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""";
        string? requestId = null;
        try
        {
            using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            }, HttpCompletionOption.ResponseHeadersRead);
            requestId = response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.Single() : null;
            var text = await response.Content.ReadAsStringAsync();
            var complete = response.StatusCode == HttpStatusCode.OK && (stream ? text.Contains("data: [DONE]") : text.Contains("\"usage\""));
            return new Outcome(requestId, complete, stream ? "stream" : "json");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            return new Outcome(requestId, false, stream ? "stream" : "json", ex.GetType().Name + ": " + ex.Message + " " + ex.InnerException?.Message);
        }
    }

    private static async Task<Dictionary<string, int>> ChargesByRequestAsync(string dbPath)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id, COUNT(*) FROM credit_charges GROUP BY request_id";
        var result = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[reader.GetString(0)] = reader.GetInt32(1);
        return result;
    }

    private sealed record RecordRow(string UsageSource, long ChargedMicro, string Model, long EstimateMicro);

    /// <summary>Every call record by request id (the unique index makes it at most one per request).</summary>
    private static async Task<Dictionary<string, RecordRow>> RecordsAsync(string dbPath)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id, usage_source, charged_micro, model, estimate_micro FROM call_records";
        var result = new Dictionary<string, RecordRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result.Add(reader.GetString(0), new RecordRow(reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetInt64(4)));
        return result;
    }

    private static async Task<Dictionary<string, string>> HoldsAsync(string dbPath)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id, status FROM credit_holds";
        var result = new Dictionary<string, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[reader.GetString(0)] = reader.GetString(1);
        return result;
    }

    private static async Task<Dictionary<string, long>> ChargedMicroByRequestAsync(string dbPath)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id, SUM(amount) FROM credit_charges GROUP BY request_id";
        var result = new Dictionary<string, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[reader.GetString(0)] = reader.GetInt64(1);
        return result;
    }

    private static async Task<List<string>> RequestIdsAsync(string dbPath, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var result = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result.Add(reader.GetString(0));
        return result;
    }

    private static async Task<long> ChargedMicroAsync(string dbPath)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(SUM(amount), 0) FROM credit_charges";
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private static async Task<long> ScalarAsync(string dbPath, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private static async Task<long> ActiveHoldsAsync(string dbPath)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM credit_holds WHERE status = 'active'";
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
