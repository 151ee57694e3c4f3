using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>
/// The rules of seeds/qritor-credits.txt through the real gateway. gpt-4o costs 250 / 1,000 micro-credits per
/// input / output token, so the upstream's 19 + 10 tokens cost 4,750 + 10,000 = 14,750 micro = 0.01475 credits.
/// </summary>
public sealed class QritorSeedTests : SeedTestBase
{
    private const decimal ChatCost = 0.01475m;

    [Fact]
    public async Task OnlySuccessfulCallsAreCharged_FailedCallFree_SuccessfulCallChargedExactly()
    {
        await Upstream.StubJsonAsync("POST", "/v1/messages", 529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""");
        var (_, client) = await NewAccountAsync(credits: 10);

        using var failed = await client.PostJsonAsync("/anthropic/v1/messages",
            """{"model":"claude-sonnet-4","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""");
        using var succeeded = await ChatAsync(client);

        Assert.Equal(529, (int)failed.StatusCode);
        Assert.Equal(0m, (await client.CallAsync(RequestId(failed)))["credits"]!.GetValue<decimal>());
        Assert.Equal(ChatCost, Header(succeeded, "X-Credits-Charged"));
        Assert.Equal(10m - ChatCost, await client.AvailableAsync());
    }

    [Fact]
    public async Task CreditsRunOut_AiCallsRefused_EverythingElseKeepsWorking()
    {
        await Upstream.StubJsonAsync("GET", "/v1/models", 200, """{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}""");
        var (_, client) = await NewAccountAsync(credits: 0);
        var forwardedBefore = (await Upstream.ReceivedAsync()).Count;

        using var chat = await ChatAsync(client);
        var error = (await chat.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;

        Assert.Equal(HttpStatusCode.PaymentRequired, chat.StatusCode);
        Assert.Equal("insufficient_quota", error["code"]!.GetValue<string>());
        Assert.Equal(forwardedBefore, (await Upstream.ReceivedAsync()).Count(r => r.Method == "POST"));
        Assert.True((await client.BalanceAsync())["exhausted"]!.GetValue<bool>());
        foreach (var path in new[] { "/openai/v1/models", "/v1/credits/usage", "/v1/credits/log", "/v1/credits/usage/summary?groupBy=model", "/dashboard/" })
        {
            using var response = await client.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
        }
        using var estimate = await client.PostJsonAsync("/v1/credits/estimate/openai/v1/chat/completions",
            """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, estimate.StatusCode);
    }

    [Fact]
    public async Task SoonestExpiringFirst_ChargeTakesTheEarliestLotThenTheNext()
    {
        var (accountId, client) = await NewAccountAsync();
        var now = Clock.GetUtcNow();
        await AdminPostAsync($"/admin/accounts/{accountId}/grants", new { kind = "addon", credits = 1m, expiresAt = now.AddDays(20), reason = "pack" });
        await AdminPostAsync($"/admin/accounts/{accountId}/grants", new { kind = "referral", credits = 1m, expiresAt = now.AddDays(10), reason = "invite" });
        await AdminPostAsync($"/admin/accounts/{accountId}/grants", new { kind = "bonus", credits = 0.01m, expiresAt = now.AddDays(5), reason = "gift" });

        using var response = await ChatAsync(client);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lots = await LotsAsync(client);
        Assert.Equal(1m, lots.Single(l => l["kind"]!.GetValue<string>() == "addon")["remaining"]!.GetValue<decimal>());
        Assert.Equal(1m - (ChatCost - 0.01m), lots.Single(l => l["kind"]!.GetValue<string>() == "referral")["remaining"]!.GetValue<decimal>());
        Assert.DoesNotContain(lots, l => l["kind"]!.GetValue<string>() == "bonus" && l["remaining"]!.GetValue<decimal>() > 0);
    }

    [Fact]
    public async Task SubscriptionCredits_IssuedMonthly_ResetAtCycleEndWithoutRollover()
    {
        var (_, client) = await NewAccountAsync(plan: "qritor-pro");
        using (var first = await ChatAsync(client)) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var plan = Assert.Single(await LotsAsync(client), l => l["kind"]!.GetValue<string>() == "plan");
        Assert.Equal(1000m, plan["amount"]!.GetValue<decimal>());
        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), plan["expiresAt"]!.GetValue<DateTimeOffset>());

        Clock.Advance(TimeSpan.FromDays(25)); // 4 April: a new cycle
        using var second = await ChatAsync(client);

        Assert.Equal(1000m - ChatCost, await client.AvailableAsync());
    }

    [Fact]
    public async Task ReferralCredits_Referrer50Invitee30_ValidFor30Days()
    {
        var (referrer, referrerClient) = await NewAccountAsync();
        var (invitee, inviteeClient) = await NewAccountAsync();

        await AdminPostAsync("/admin/referrals", new { referrerAccountId = referrer, inviteeAccountId = invitee });

        var expected = Clock.GetUtcNow().AddDays(30);
        var given = Assert.Single(await LotsAsync(referrerClient));
        var received = Assert.Single(await LotsAsync(inviteeClient));
        Assert.Equal((50m, "referral", expected), (given["amount"]!.GetValue<decimal>(), given["kind"]!.GetValue<string>(), given["expiresAt"]!.GetValue<DateTimeOffset>()));
        Assert.Equal((30m, "referral", expected), (received["amount"]!.GetValue<decimal>(), received["kind"]!.GetValue<string>(), received["expiresAt"]!.GetValue<DateTimeOffset>()));
    }

    [Fact]
    public async Task AgentTaskOfSeveralCalls_UsageSummaryByTask_ShowsOneLineWithItsTotal()
    {
        var (_, client) = await NewAccountAsync(credits: 10);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await ChatAsync(client, task: "chapter-12", feature: "smart-writing");
            ids.Add(RequestId(response));
        }
        using (var other = await ChatAsync(client, feature: "ask")) ids.Add(RequestId(other));
        foreach (var id in ids) await client.CallAsync(id);
        Clock.Advance(TimeSpan.FromSeconds(1)); // the summary's default range ends now, exclusive

        var summary = await client.Http.GetFromJsonAsync<JsonObject>("/v1/credits/usage/summary?groupBy=task");

        var task = summary!["buckets"]!.AsArray().Single(b => b!["key"]!.GetValue<string>() == "chapter-12")!;
        Assert.Equal(3, task["calls"]!.GetValue<long>());
        Assert.Equal(3 * ChatCost, task["credits"]!.GetValue<decimal>());
        Assert.Equal(2, summary["buckets"]!.AsArray().Count); // the task and the untagged call
    }
}
