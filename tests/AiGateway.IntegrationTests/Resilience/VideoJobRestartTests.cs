using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AiGateway.IntegrationTests.Resilience;

/// <summary>
/// A video job created before a kill -9 is still settled after the restart: pending jobs live in the database and the
/// restarted gateway polls them itself, although the client never polls. <c>sora-2</c>, 8 s: 80 credits.
/// </summary>
public sealed class VideoJobRestartTests
{
    [Fact]
    public async Task KillDashNine_VideoJobPending_RestartedGatewayPollsAndChargesItOnce()
    {
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        var dir = Path.Combine(Path.GetTempPath(), "aigw-video-restart-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var dbPath = GatewayProcess.DatabasePath(dir);
        var environment = GatewayProcess.SqliteFileEnvironment(dir, upstream, "video-admin-key", "sk-provider-video");
        environment["Metering__VideoPollInterval"] = "00:00:00.500";
        environment["Metering__VideoPollMaxInterval"] = "00:00:01";
        await StubJobAsync(upstream, "POST", "/v1/videos", "queued");
        await StubJobAsync(upstream, "GET", "/v1/videos/video_restart", "in_progress");

        await using (var gateway = new GatewayProcess(environment))
        {
            await gateway.StartAsync();
            using var admin = new HttpClient { BaseAddress = gateway.BaseAddress };
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "video-admin-key");
            var account = (await (await admin.PostAsJsonAsync("/admin/accounts", new { name = "video" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
            var key = (await (await admin.PostAsJsonAsync($"/admin/accounts/{account}/keys", new { name = "k" })).Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
            (await admin.PostAsJsonAsync($"/admin/accounts/{account}/grants", new { kind = "bonus", credits = 100, reason = "video restart test" })).EnsureSuccessStatusCode();
            using var client = new HttpClient { BaseAddress = gateway.BaseAddress };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

            using var created = await client.PostAsync("/openai/v1/videos",
                new StringContent("""{"model":"sora-2","prompt":"a cat","seconds":"8"}""", Encoding.UTF8, "application/json"));
            created.EnsureSuccessStatusCode();
            var requestId = created.Headers.GetValues("X-Request-Id").Single();
            await WaitAsync(async () => (await client.GetAsync($"/v1/credits/calls/{requestId}")).IsSuccessStatusCode, "the creating call's record");
            Assert.Equal(80m, (await client.GetFromJsonAsync<JsonObject>("/v1/credits"))!["held"]!.GetValue<decimal>());
            await gateway.KillAsync();

            // While the gateway is down the job completes upstream; the client never polls.
            await StubJobAsync(upstream, "GET", "/v1/videos/video_restart", "completed");
            await using var restarted = new GatewayProcess(environment);
            await restarted.StartAsync();
            using var after = new HttpClient { BaseAddress = restarted.BaseAddress };
            after.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            // Settled first, then shown on the creating call's record.
            await WaitAsync(async () => (await after.GetFromJsonAsync<JsonObject>("/v1/credits"))!["held"]!.GetValue<decimal>() == 0m
                                        && (await after.GetFromJsonAsync<JsonObject>($"/v1/credits/calls/{requestId}"))!["usageSource"]!.GetValue<string>() != "pending",
                "the restarted gateway to settle the pending video job");
            var balance = (await after.GetFromJsonAsync<JsonObject>("/v1/credits"))!;
            var record = (await after.GetFromJsonAsync<JsonObject>($"/v1/credits/calls/{requestId}"))!;
            await restarted.KillAsync();

            Assert.Equal(20m, balance["available"]!.GetValue<decimal>());
            Assert.Equal(80m, record["credits"]!.GetValue<decimal>());
            Assert.Equal(1L, await ScalarAsync(dbPath, "SELECT COUNT(*) FROM credit_charges"));
            Assert.Equal(1L, await ScalarAsync(dbPath, "SELECT COUNT(*) FROM video_jobs WHERE outcome = 'completed'"));
        }
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private static Task StubJobAsync(WireMockScope upstream, string method, string path, string status) =>
        upstream.StubJsonAsync(method, path, 200,
            $$"""{"id":"video_restart","object":"video","model":"sora-2","status":"{{status}}","progress":0,"seconds":"8","size":"720x1280"}""");

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(200);
        }
    }

    private static async Task<long> ScalarAsync(string dbPath, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
