using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Notifications;

/// <summary>
/// Balance notifications end to end: real metered calls through the gateway, the outbox in its database, the dispatcher
/// sending to a real receiver (WireMock.Net), signatures verified here as a receiver would, restarts and a hanging receiver.
/// </summary>
public sealed class WebhookDeliveryTests
{
    // Samples.OpenAiChatJson: 19 × 250 + 10 × 1000 = 14,750 micro-credits per call.
    private const decimal CallCost = 0.01475m;
    private const string ChatBody = """{"model":"gpt-4o","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}""";

    private static Dictionary<string, string?> Settings(string receiverUrl, params (string Key, string? Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Notifications:Endpoints:0:Name"] = "billing",
            ["Notifications:Endpoints:0:Url"] = receiverUrl,
            ["Notifications:Endpoints:0:Secret"] = WebhookReceiver.Secret,
            ["Notifications:PollInterval"] = "00:00:00.100",
            ["Notifications:FirstRetryDelay"] = "00:00:00.200",
            ["Notifications:MaxRetryDelay"] = "00:00:01",
        };
        foreach (var (key, value) in more) settings[key] = value;
        return settings;
    }

    private static async Task<WireMockScope> UpstreamAsync()
    {
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        await upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        return upstream;
    }

    private static async Task CallAsync(GatewayClient client)
    {
        using var response = await client.PostJsonAsync("/openai/v1/chat/completions", ChatBody);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(CallCost.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("X-Credits-Charged").Single());
    }

    private static async Task PutSettingsAsync(GatewayFactory gateway, Guid account, object settings)
    {
        using var admin = gateway.CreateAdminClient();
        (await admin.PutAsJsonAsync($"/admin/accounts/{account}/notifications", settings)).EnsureSuccessStatusCode();
    }

    private static async Task<JsonArray> EventsAsync(GatewayFactory gateway, Guid account)
    {
        using var admin = gateway.CreateAdminClient();
        var page = await (await admin.GetAsync($"/admin/accounts/{account}/notifications/events")).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonObject>();
        return page!["items"]!.AsArray();
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow.AddMinutes(1);
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("Never happened: " + what);
            await Task.Delay(50);
        }
    }

    private static async Task<bool> AllDeliveredAsync(GatewayFactory gateway, Guid account, int events) =>
        await EventsAsync(gateway, account) is { } items && items.Count == events &&
        items.All(e => e!["deliveries"]!.AsArray().All(d => d!["status"]!.GetValue<string>() == "delivered"));

    [Fact]
    public async Task MeteredCalls_CrossThresholdHoverAndRearmAfterGrant_OneSignedWebhookPerEpisode()
    {
        using var receiver = WebhookReceiver.Answering(200);
        await using var gateway = new GatewayFactory(await UpstreamAsync(), Settings(receiver.Url));
        var (account, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 0.1m);
        using var client = new GatewayClient(gateway, key);
        await PutSettingsAsync(gateway, account, new { lowBalanceCredits = 0.07m });

        await CallAsync(client); // 0.08525
        await CallAsync(client); // 0.0705
        await CallAsync(client); // 0.05575: below 0.07, first episode
        await CallAsync(client); // 0.041: hovering below, no event
        await gateway.GrantAsync(account, 0.05m); // 0.091: back above, re-armed
        await CallAsync(client); // 0.07625
        await CallAsync(client); // 0.0615: second episode
        await EventuallyAsync(() => AllDeliveredAsync(gateway, account, 2), "two delivered events");

        var arrived = receiver.Arrived;
        Assert.Equal(2, arrived.Count);
        Assert.Equal(2, arrived.Select(d => d.Id).Distinct().Count());
        Assert.All(arrived, d => Assert.StartsWith("msg_", d.Id));
        Assert.All(arrived, d => Assert.True(d.SignatureValid(), "signature does not verify"));
        Assert.All(arrived, d => Assert.False(d.SignatureValid(d.Body.Replace("0.0", "1.0")), "a tampered body verified"));
        Assert.All(arrived, d => Assert.Equal("balance.low", d.Json["type"]!.GetValue<string>()));
        Assert.All(arrived, d => Assert.Equal(account, d.Json["data"]!["accountId"]!.GetValue<Guid>()));
        Assert.Equal([0.05575m, 0.0615m], arrived.Select(d => d.Json["data"]!["balance"]!.GetValue<decimal>()));
        Assert.Equal([0.0705m, 0.07625m], arrived.Select(d => d.Json["data"]!["balanceBefore"]!.GetValue<decimal>()));
        Assert.All(arrived, d => Assert.Equal(0.07m, d.Json["data"]!["threshold"]!.GetValue<decimal>()));
        var events = await EventsAsync(gateway, account);
        Assert.All(events, e => Assert.Equal(1, e!["deliveries"]![0]!["attempts"]!.GetValue<int>()));
    }

    [Fact]
    public async Task MeteredCallsSettledThroughCreditLeases_CrossThreshold_OneEvent()
    {
        using var receiver = WebhookReceiver.Answering(200);
        await using var gateway = new GatewayFactory(await UpstreamAsync(), Settings(receiver.Url, ("Ledger:Leases", "true")));
        var (account, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 100);
        using var client = new GatewayClient(gateway, key);
        await PutSettingsAsync(gateway, account, new { lowBalanceCredits = 99.8m });

        for (var i = 0; i < 30; i++) await CallAsync(client); // crosses at the 14th call (99.7935), then hovers below
        await EventuallyAsync(() => AllDeliveredAsync(gateway, account, 1), "one delivered event");

        var leased = await gateway.WithDbAsync(db => db.LedgerEntries.CountAsync(e => e.AccountId == account && e.Note == "leased"));
        Assert.True(leased > 0, "no call was settled through a lease: the test would not exercise that path");
        var only = Assert.Single(receiver.Arrived);
        Assert.Equal("balance.low", only.Json["type"]!.GetValue<string>());
        Assert.True(only.Json["data"]!["balance"]!.GetValue<decimal>() < 99.8m);
        Assert.True(only.SignatureValid());
        Assert.Single(await EventsAsync(gateway, account));
    }

    [Fact]
    public async Task ReceiverFailsTwice_GatewayRestartedBetween_DeliveredExactlyOnceAfterRestartWithTheSameWebhookId()
    {
        using var receiver = new WebhookReceiver(n => Task.FromResult(n <= 2 ? 500 : 200));
        var dir = Path.Combine(Path.GetTempPath(), "aigw-webhooks-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var upstream = await UpstreamAsync();
        var database = ("ConnectionStrings:Ledger", (string?)$"Data Source={Path.Combine(dir, "gateway.db")}");
        var journal = ("Metering:JournalPath", (string?)Path.Combine(dir, "journal.jsonl"));
        Guid account;
        int arrivedBeforeRestart;
        try
        {
            // First life: the first attempt fails and the next one is an hour away when the gateway stops.
            await using (var first = new GatewayFactory(upstream, Settings(receiver.Url, database, journal,
                ("Notifications:FirstRetryDelay", "01:00:00"), ("Notifications:MaxRetryDelay", "02:00:00"))))
            {
                (account, var key, _) = await first.CreateAccountWithKeyAsync(credits: 0.1m);
                await PutSettingsAsync(first, account, new { lowBalanceCredits = 0.09m });
                using var client = new GatewayClient(first, key);
                await CallAsync(client); // 0.08525: below 0.09
                await EventuallyAsync(async () => (await EventsAsync(first, account)) is [{ } e] && e["deliveries"]![0]!["attempts"]!.GetValue<int>() == 1,
                    "the first attempt recorded");
                var delivery = (await EventsAsync(first, account))[0]!["deliveries"]![0]!;
                Assert.Equal(("pending", 500, "HTTP 500"), (delivery["status"]!.GetValue<string>(), delivery["lastStatus"]!.GetValue<int>(), delivery["lastError"]!.GetValue<string>()));
                arrivedBeforeRestart = receiver.Arrived.Count;
            }

            // Second life, on the same file, two hours later: the pending delivery is retried until the receiver takes it.
            await using var second = new GatewayFactory(upstream, Settings(receiver.Url, database, journal))
            {
                ConfigureServices = services => services.AddSingleton<TimeProvider>(new ShiftedTimeProvider(TimeSpan.FromHours(2))),
            };
            _ = second.BaseAddress;
            await EventuallyAsync(() => AllDeliveredAsync(second, account, 1), "the event delivered after the restart");

            Assert.Equal(1, arrivedBeforeRestart);
            var arrived = receiver.Arrived;
            Assert.Equal(3, arrived.Count);
            Assert.Equal([500, 500, 200], arrived.Select(d => receiver.AnswerTo(d.Number)));
            Assert.Single(arrived.Select(d => d.Id).Distinct());
            Assert.Single(arrived.Select(d => d.Body).Distinct());
            Assert.All(arrived, d => Assert.True(d.SignatureValid(), "signature does not verify"));
            var delivered = (await EventsAsync(second, account))[0]!["deliveries"]![0]!;
            Assert.Equal(3, delivered["attempts"]!.GetValue<int>());
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task ReceiverHangs_MeteredCallsStillComplete()
    {
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var receiver = new WebhookReceiver(n => n == 1 ? release.Task : Task.FromResult(200));
        await using var gateway = new GatewayFactory(await UpstreamAsync(), Settings(receiver.Url, ("Notifications:Timeout", "00:05:00")));
        var (account, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 1);
        using var client = new GatewayClient(gateway, key);
        await PutSettingsAsync(gateway, account, new { lowBalanceCredits = 0.99m });
        await CallAsync(client); // 0.98525 crosses: the dispatcher sends and the receiver holds the request
        await receiver.WaitForAsync(a => a.Count == 1, "the first webhook");

        var calls = Task.WhenAll(Enumerable.Range(0, 5).Select(_ => CallAsync(client)));
        try
        {
            await calls.WaitAsync(TimeSpan.FromMinutes(1));
        }
        catch (TimeoutException)
        {
            Assert.Fail("metered calls did not complete while the webhook receiver hung");
        }

        Assert.Null(receiver.AnswerTo(1)); // still hanging while the calls completed
        Assert.Equal(1m - 6 * CallCost, await client.AvailableAsync());
        release.SetResult(200);
        await EventuallyAsync(() => AllDeliveredAsync(gateway, account, 1), "the held webhook delivered");
    }

    [Fact]
    public async Task AdminApi_SettingsEventsAndResend_ProblemDetailsOnBadInput()
    {
        using var receiver = new WebhookReceiver(n => Task.FromResult(n == 1 ? 500 : 200));
        await using var gateway = new GatewayFactory(await UpstreamAsync(), Settings(receiver.Url,
            ("Notifications:FirstRetryDelay", "01:00:00"), ("Notifications:MaxRetryDelay", "02:00:00")));
        var (account, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 0.1m);
        using var admin = gateway.CreateAdminClient();
        using var client = new GatewayClient(gateway, key);

        using var both = await admin.PutAsJsonAsync($"/admin/accounts/{account}/notifications", new { lowBalanceCredits = 1, lowBalancePercent = 5 });
        using var unknownType = await admin.PutAsJsonAsync($"/admin/accounts/{account}/notifications", new { events = new[] { "balance.lowish" } });
        using var unknownAccount = await admin.GetAsync($"/admin/accounts/{Guid.NewGuid()}/notifications");
        using var unknownEvent = await admin.PostAsync("/admin/notifications/msg_nope/resend", null);
        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.NotFound, HttpStatusCode.NotFound),
            (both.StatusCode, unknownType.StatusCode, unknownAccount.StatusCode, unknownEvent.StatusCode));
        Assert.Equal("application/problem+json", both.Content.Headers.ContentType!.MediaType);
        Assert.Contains("not both", (await both.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>());
        Assert.Equal("application/problem+json", unknownAccount.Content.Headers.ContentType!.MediaType);

        using var put = await admin.PutAsJsonAsync($"/admin/accounts/{account}/notifications",
            new { lowBalancePercent = 90, events = new[] { "balance.low", "credits.exhausted" } });
        var view = await put.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(0.09m, view!["effective"]!["lowBalanceThreshold"]!.GetValue<decimal>()); // 90 % of the 0.1 grant
        Assert.Equal(["balance.low", "credits.exhausted"], view["effective"]!["events"]!.AsArray().Select(e => e!.GetValue<string>()));

        await CallAsync(client); // 0.08525 < 0.09: the first attempt gets a 500, the next is an hour away
        await EventuallyAsync(async () => (await EventsAsync(gateway, account)) is [{ } e] && e["deliveries"]![0]!["attempts"]!.GetValue<int>() == 1, "first attempt");
        var failed = (await EventsAsync(gateway, account))[0]!;
        var id = failed["id"]!.GetValue<string>();
        Assert.Equal(("pending", "HTTP 500"), (failed["deliveries"]![0]!["status"]!.GetValue<string>(), failed["deliveries"]![0]!["lastError"]!.GetValue<string>()));
        Assert.NotNull(failed["deliveries"]![0]!["nextAttemptAt"]);

        using var resend = await admin.PostAsync($"/admin/notifications/{id}/resend", null);
        Assert.Equal(HttpStatusCode.Accepted, resend.StatusCode);
        await EventuallyAsync(() => AllDeliveredAsync(gateway, account, 1), "delivered after the re-send");
        using var again = await admin.PostAsync($"/admin/notifications/{id}/resend", null); // a delivered event can be sent again too
        await receiver.WaitForAsync(a => a.Count == 3, "the second re-send");

        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.All(receiver.Arrived, d => Assert.Equal(id, d.Id));
        using var openApi = await admin.GetAsync("/openapi/v1.json");
        var paths = (await openApi.Content.ReadFromJsonAsync<JsonObject>())!["paths"]!.AsObject();
        Assert.NotNull(paths["/admin/accounts/{id}/notifications"]!["put"]);
        Assert.NotNull(paths["/admin/accounts/{id}/notifications"]!["get"]);
        Assert.NotNull(paths["/admin/accounts/{id}/notifications/events"]!["get"]);
        Assert.NotNull(paths["/admin/notifications/{id}/resend"]!["post"]);
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("Postgres")]
    public async Task TwoInstancesSharingTheDatabase_EachEventSentOnce(string provider)
    {
        using var receiver = new WebhookReceiver(async _ =>
        {
            await Task.Delay(100); // a slow receiver widens the window in which both instances could claim the same delivery
            return 200;
        });
        await using var postgres = new TestPostgres();
        var dir = Path.Combine(Path.GetTempPath(), "aigw-webhooks-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        (string, string?)[] database = provider == "Postgres"
            ? [("Ledger:Provider", "Postgres"), ("ConnectionStrings:Ledger", await CreateAsync(postgres) + ";Maximum Pool Size=20")]
            : [("ConnectionStrings:Ledger", $"Data Source={Path.Combine(dir, "gateway.db")}")];
        var settings = Settings(receiver.Url, [.. database, ("Notifications:ExpiryScanInterval", "00:00:00.200")]);
        var upstream = await UpstreamAsync();
        try
        {
            await using var first = new GatewayFactory(upstream, settings);
            await using var second = new GatewayFactory(upstream, settings);
            _ = second.BaseAddress;
            var accounts = new List<Guid>();
            for (var i = 0; i < 6; i++)
            {
                var (account, _, _) = await first.CreateAccountWithKeyAsync(credits: 0);
                await first.GrantAsync(account, 5, kind: "addon", validDays: 3); // announced by the expiry scan of either instance
                accounts.Add(account);
            }
            foreach (var account in accounts) await EventuallyAsync(() => AllDeliveredAsync(second, account, 1), "each lot.expiring event delivered");

            var arrived = receiver.Arrived;
            Assert.Equal(6, arrived.Select(d => d.Id).Distinct().Count());
            Assert.Equal(6, arrived.Count);
            Assert.All(arrived, d => Assert.Equal("lot.expiring", d.Json["type"]!.GetValue<string>()));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<string> CreateAsync(TestPostgres postgres)
    {
        await postgres.CreateAsync();
        return postgres.ConnectionString;
    }

    /// <summary>The system clock moved forward: a gateway restarted after time has passed.</summary>
    private sealed class ShiftedTimeProvider(TimeSpan by) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + by;
    }
}
