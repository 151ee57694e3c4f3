using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using AiGateway.IntegrationTests.Notifications;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.IntegrationTests.Storage;

/// <summary>
/// GUIDs on SQLite are 16-byte BLOBs (migration 0015, <c>Storage/SqliteGuid.cs</c>): a gateway put through every kind of
/// write — accounts, keys, grants, a revocation, leased and exact metered calls, a task budget, a video job, a balance
/// notification and its delivery, rollups — stores no GUID as anything else, and every view shows the ids as before.
/// </summary>
public sealed class GuidStorageTests
{
    private const string Chat = """{"model":"gpt-4o","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}""";
    private const string Video = """{"model":"refly/seedance-1-lite","prompt":"a cat","seconds":"4"}""";

    [Fact]
    public async Task EveryWriter_StoresGuidsAsBlobs_AndViewsShowTheSameIds()
    {
        using var receiver = WebhookReceiver.Answering(200);
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        await upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        await using var gateway = new GatewayFactory(upstream, new Dictionary<string, string?>
        {
            ["Notifications:Endpoints:0:Name"] = "billing",
            ["Notifications:Endpoints:0:Url"] = receiver.Url,
            ["Notifications:Endpoints:0:Secret"] = WebhookReceiver.Secret,
            ["Notifications:PollInterval"] = "00:00:00.100",
            ["History:RollupInterval"] = "00:00:00.200",
        });
        var (account, key, keyId) = await gateway.CreateAccountWithKeyAsync("guids", credits: 1);
        var (_, videoKey, _) = await gateway.CreateAccountWithKeyAsync("video", credits: 100);
        using var admin = gateway.CreateAdminClient();
        var spare = await (await admin.PostAsJsonAsync($"/admin/accounts/{account}/keys", new { name = "spare" })).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonObject>();
        (await admin.DeleteAsync($"/admin/keys/{spare!["id"]!.GetValue<string>()}")).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync($"/admin/accounts/{account}/notifications", new { lowBalanceCredits = 0.99m })).EnsureSuccessStatusCode();

        using var client = new GatewayClient(gateway, key);
        var ids = new List<string>();
        // Leased (the default path), with a feature; then exact holds: a task with a budget.
        ids.Add(await CallAsync(client, ("X-Gateway-Feature", "draft")));
        ids.Add(await CallAsync(client, ("X-Gateway-Task", "task-1"), ("X-Gateway-Task-Budget", "0.5")));
        ids.Add(await CallAsync(client));
        await receiver.WaitForAsync(a => a.Count >= 1, "the low-balance webhook");

        // A video job: held at creation (exact), charged when a poll shows it completed.
        using var videos = new GatewayClient(gateway, videoKey);
        await upstream.StubJsonAsync("POST", "/v1/videos", 200, Job("queued"));
        using (var created = await videos.PostJsonAsync("/openai/v1/videos", Video)) Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        await upstream.StubJsonAsync("GET", "/v1/videos/video_1", 200, Job("completed"));
        using (var done = await videos.Http.GetAsync("/openai/v1/videos/video_1")) Assert.Equal(HttpStatusCode.OK, done.StatusCode);

        // Rollups fold every call.
        for (var i = 0; ; i++)
        {
            var folded = await gateway.WithDbAsync(async db =>
                await db.HistoryWatermarks.Where(w => w.Name == "usage_rollups").Select(w => w.Position).SingleOrDefaultAsync() >=
                await db.CallRecords.MaxAsync(r => r.Id));
            if (folded) break;
            Assert.True(i < 600, "the rollup step did not fold the calls");
            await Task.Delay(100);
        }

        // The views show the ids exactly as before (Guid's lower-case D format, as the TEXT ids were read into Guids).
        var byKey = await (await admin.GetAsync($"/admin/accounts/{account}/usage/summary?groupBy=key")).EnsureSuccessStatusCode().Content.ReadAsStringAsync();
        Assert.Contains($"\"{keyId}\"", byKey, StringComparison.Ordinal);
        var csv = await (await admin.GetAsync($"/admin/accounts/{account}/usage.csv")).EnsureSuccessStatusCode().Content.ReadAsStringAsync();
        Assert.All(ids, id => Assert.Contains(id, csv, StringComparison.Ordinal));
        Assert.Contains(keyId.ToString(), csv, StringComparison.Ordinal);
        var list = await (await admin.GetAsync($"/admin/accounts?search={account}")).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(account.ToString(), list!["items"]![0]!["id"]!.GetValue<string>());
        Assert.Contains(account.ToString(), receiver.Arrived[0].Body, StringComparison.Ordinal);

        var rows = await gateway.WithDbAsync(async db => new[]
        {
            await db.CallRecords.CountAsync(), await db.CreditCharges.CountAsync(), await db.VideoJobs.CountAsync(),
            await db.NotificationEvents.CountAsync(), await db.UsageRollups.CountAsync(), await db.TaskBudgets.CountAsync(),
        });
        Assert.All(rows, n => Assert.True(n > 0, "every kind of row was written: " + string.Join(", ", rows)));
        // Read beside the running host (WAL); GatewayFactory scans again once the host has stopped.
        Assert.Empty(await GuidStorageScan.NonBlobGuidsAsync($"Data Source={Path.Combine(gateway.DataDirectory, "gateway.db")};Pooling=False"));
    }

    private static string Job(string status) =>
        $$"""{"id":"video_1","object":"video","model":"refly/seedance-1-lite","status":"{{status}}","progress":0,"seconds":"4","size":"720x1280"}""";

    private static async Task<string> CallAsync(GatewayClient client, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = new StringContent(Chat, System.Text.Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers) request.Headers.Add(name, value);
        using var response = await client.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = response.Headers.GetValues("X-Request-Id").Single();
        await client.CallAsync(id);
        return id;
    }
}
