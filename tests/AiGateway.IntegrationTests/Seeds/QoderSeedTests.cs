using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>The rules of seeds/qoder-credits.txt through the real gateway (gpt-4o call = 0.01475 credits, see <see cref="QritorSeedTests"/>).</summary>
public sealed class QoderSeedTests : SeedTestBase
{
    private const decimal ChatCost = 0.01475m;

    [Fact]
    public async Task CreditsSharedAcrossProducts_TwoKeysOfOneAccount_SpendOneBalance()
    {
        var (accountId, ide) = await NewAccountAsync(credits: 10);
        var cli = await AdminPostAsync($"/admin/accounts/{accountId}/keys", new { name = "cli" });
        using var cliClient = new Infrastructure.GatewayClient(Gateway, cli["key"]!.GetValue<string>());

        using var a = await ChatAsync(ide);
        using var b = await ChatAsync(cliClient);
        await ide.CallAsync(RequestId(a)); // call records are written as each request ends
        await ide.CallAsync(RequestId(b));
        Clock.Advance(TimeSpan.FromSeconds(1)); // the summary's default range ends now, exclusive

        Assert.Equal(10m - 2 * ChatCost, await ide.AvailableAsync());
        Assert.Equal(10m - 2 * ChatCost, await cliClient.AvailableAsync());
        var summary = await ide.Http.GetFromJsonAsync<JsonObject>("/v1/credits/usage/summary?groupBy=key");
        Assert.Equal(2, summary!["buckets"]!.AsArray().Count);
    }

    [Fact]
    public async Task PlanUpgrade_ShortensExpiryOfCurrentPlanCredits()
    {
        var (accountId, client) = await NewAccountAsync(plan: "qoder-pro");
        using (var call = await ChatAsync(client)) Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        Assert.Equal(2000m - ChatCost, await client.AvailableAsync());

        var change = await AdminPostAsync($"/admin/accounts/{accountId}/plan", new { plan = "qoder-pro-plus" });

        Assert.Equal(2000m - ChatCost, change["expiredCredits"]!.GetValue<decimal>());
        Assert.Equal(6000m, await client.AvailableAsync());
        var log = (await client.Http.GetFromJsonAsync<JsonObject>("/v1/credits/log"))!["items"]!.AsArray();
        Assert.Equal(2, log.Count(i => i!["kind"]!.GetValue<string>() == "plan"));
    }

    [Fact]
    public async Task EqualExpiry_PlanCreditsBeforeAddonCredits()
    {
        var (accountId, client) = await NewAccountAsync();
        var expiry = Clock.GetUtcNow().AddDays(15);
        // The add-on is granted first, so only the kind priority can put the plan lot ahead of it.
        await AdminPostAsync($"/admin/accounts/{accountId}/grants", new { kind = "addon", credits = 1m, expiresAt = expiry, reason = "pack" });
        await AdminPostAsync($"/admin/accounts/{accountId}/grants", new { kind = "plan", credits = 0.01m, expiresAt = expiry, reason = "plan" });

        using (var call = await ChatAsync(client)) Assert.Equal(HttpStatusCode.OK, call.StatusCode);

        var lots = await LotsAsync(client);
        Assert.Equal(1m - (ChatCost - 0.01m), lots.Single(l => l["kind"]!.GetValue<string>() == "addon")["remaining"]!.GetValue<decimal>());
        Assert.DoesNotContain(lots, l => l["kind"]!.GetValue<string>() == "plan" && l["remaining"]!.GetValue<decimal>() > 0);
    }

    [Fact]
    public async Task FailedRequests_AreNotCharged()
    {
        await Upstream.StubJsonAsync("POST", "/v1beta/models/gemini-2.5-flash:generateContent", 500,
            """{"error":{"code":500,"message":"Internal error","status":"INTERNAL"}}""");
        var (_, client) = await NewAccountAsync(credits: 5);

        using var response = await client.PostJsonAsync("/gemini/v1beta/models/gemini-2.5-flash:generateContent",
            """{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""");

        Assert.Equal(500, (int)response.StatusCode);
        Assert.Equal(5m, await client.AvailableAsync());
        Assert.Equal(0m, (await client.CallAsync(RequestId(response)))["credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task CreditTypes_PlanUntilCycleEnd_AddonPack30Days_LoggedWithReasonAndDates()
    {
        var (accountId, client) = await NewAccountAsync(plan: "qoder-pro");
        await AdminPostAsync($"/admin/accounts/{accountId}/grants", new { kind = "addon", credits = 500m, reason = "Credit Purchase" });
        using (var call = await ChatAsync(client)) Assert.Equal(HttpStatusCode.OK, call.StatusCode);

        var log = (await client.Http.GetFromJsonAsync<JsonObject>("/v1/credits/log"))!["items"]!.AsArray().Select(i => i!.AsObject()).ToList();
        var plan = log.Single(i => i["kind"]!.GetValue<string>() == "plan");
        var addon = log.Single(i => i["kind"]!.GetValue<string>() == "addon");
        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), plan["expiresAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal(Clock.GetUtcNow().AddDays(30), addon["expiresAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal("Credit Purchase", addon["reason"]!.GetValue<string>());
        Assert.Equal(500m, addon["amount"]!.GetValue<decimal>());
    }
}
