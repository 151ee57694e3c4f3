using System.Net;
using System.Net.Http.Json;
using AiGateway.IntegrationTests.Seeds;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Storage;

/// <summary>
/// Writers outside the ledger take their turn through the process's one <see cref="DatabaseWriter"/> (on SQLite, a write
/// that bypassed it would collide with the ledger's group commit on the database lock). Each write through it moves
/// <see cref="DatabaseWriter.Writes"/>; the background history steps are slowed to once an hour so nothing else does
/// during these tests. A gateway key is loaded (and its "last used" touched: one write) when its cache entry is missing;
/// that cache expires on real time, not the host's clock, so its lifetime is raised to the longest allowed here — with
/// the default 5 s a loaded machine (the test once took 30 s in CI) reloaded the key between the measured calls and
/// counted one write too many. The ledger's sweep and the rollup step run once as the gateway starts (their next runs are
/// an hour away or on the frozen clock) and write through the same writer: each test waits for the writes to stop
/// before it counts — a loaded CI run once counted two of theirs inside the first measured call ((4, 5, 6) for (2, 3, 4)).
/// </summary>
public sealed class WriteTurnTests : SeedTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Metering:MaxAttempts"] = "1",
        ["History:RollupInterval"] = "01:00:00",
        ["History:SqliteCheckpointInterval"] = "01:00:00",
        ["Gateway:KeyCacheTtl"] = "00:05:00",
    };

    private DatabaseWriter Writer => Gateway.Services.GetRequiredService<DatabaseWriter>();

    /// <summary>Waits until no write has gone through the writer for a second (the start-up runs of background steps are done).</summary>
    private async Task UntilWritesStopAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var last = Writer.Writes;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var now = Writer.Writes;
            if (now == last) return;
            last = now;
        }
        throw new Xunit.Sdk.XunitException($"the gateway's writer did not go quiet within 30 s ({last} writes)");
    }

    [Fact]
    public async Task AdminAccountAndKeyWrites_GoThroughTheWriteTurn()
    {
        using var admin = Gateway.CreateAdminClient();
        await UntilWritesStopAsync();

        var before = Writer.Writes;
        using var account = await admin.PostAsJsonAsync("/admin/accounts", new { name = "turn" });
        var afterAccount = Writer.Writes;
        var accountId = (await account.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["id"]!.GetValue<Guid>();
        using var key = await admin.PostAsJsonAsync($"/admin/accounts/{accountId}/keys", new { name = "k" });
        var afterKey = Writer.Writes;
        var keyId = (await key.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["id"]!.GetValue<Guid>();
        using var revoke = await admin.DeleteAsync($"/admin/keys/{keyId}");
        var afterRevoke = Writer.Writes;

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.NoContent), (account.StatusCode, key.StatusCode, revoke.StatusCode));
        Assert.Equal((before + 1, before + 2, before + 3), (afterAccount, afterKey, afterRevoke));
        Assert.NotNull(await Gateway.WithDbAsync(db => db.GatewayKeys.Where(k => k.Id == keyId).Select(k => k.RevokedAt).SingleAsync()));
    }

    [Fact]
    public async Task VideoJobWrites_GoThroughTheWriteTurn()
    {
        var (_, client) = await NewAccountAsync(credits: 100);
        // Loads (and touches) the key once; the video calls below find it cached (Gateway:KeyCacheTtl above).
        using (var warm = await ChatAsync(client)) Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        await StubJobAsync("POST", "/v1/videos", "queued");
        await StubJobAsync("GET", "/v1/videos/video_1", "completed");
        await UntilWritesStopAsync();

        var before = Writer.Writes;
        using var created = await client.PostJsonAsync("/openai/v1/videos", """{"model":"refly/seedance-1-lite","prompt":"a cat","seconds":"4"}""");
        var afterCreate = Writer.Writes;
        using var done = await client.Http.GetAsync("/openai/v1/videos/video_1");
        var afterDone = Writer.Writes;

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (created.StatusCode, done.StatusCode));
        Assert.Equal("completed", await Gateway.WithDbAsync(db => db.VideoJobs.Where(j => j.VideoId == "video_1").Select(j => j.Outcome).SingleAsync()));
        // Creating the job inserts it; resolving it corrects the creating call's record and marks the job resolved.
        Assert.Equal((before + 1, before + 3), (afterCreate, afterDone));
    }

    private Task StubJobAsync(string method, string path, string status) =>
        Upstream.StubJsonAsync(method, path, 200,
            $$"""{"id":"video_1","object":"video","model":"refly/seedance-1-lite","status":"{{status}}","progress":0,"seconds":"4","size":"720x1280"}""");
}
