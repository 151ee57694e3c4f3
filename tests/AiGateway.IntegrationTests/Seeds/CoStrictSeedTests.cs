using System.Net;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>
/// The rules of seeds/costrict-credits.txt through the real gateway: a base of 1 credit per request with per-model
/// multipliers (<c>costrict/deepseek-r1</c> × 0.5, <c>costrict/claude</c> × 1.5), whatever the token counts.
/// </summary>
public sealed class CoStrictSeedTests : SeedTestBase
{
    [Theory]
    [InlineData("costrict/deepseek-r1", 0.5)]
    [InlineData("costrict/claude", 1.5)]
    public async Task PerRequestMultiplier_ChargesBaseTimesModelMultiplier(string model, decimal expected)
    {
        var (_, client) = await NewAccountAsync(credits: 10);

        using var first = await ChatAsync(client, model);
        using var second = await ChatAsync(client, model);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(expected, Header(first, "X-Credits-Charged"));
        Assert.Equal(expected, Header(second, "X-Credits-Charged"));
        Assert.Equal(10m - 2 * expected, await client.AvailableAsync());
    }

    [Fact]
    public async Task OtherSuppliersUnaffected_NoCredits_RefusesOnlyMeteredCalls()
    {
        await Upstream.StubJsonAsync("GET", "/v1/models", 200, """{"object":"list","data":[]}""");
        var (_, client) = await NewAccountAsync(credits: 0);

        using var chat = await ChatAsync(client, "costrict/claude");
        using var models = await client.Http.GetAsync("/openai/v1/models");

        Assert.Equal(HttpStatusCode.PaymentRequired, chat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }

    [Fact]
    public async Task NewUsersReceive50Credits_OnceAtRegistration_EvenAfterPlanChanges()
    {
        var (accountId, client) = await NewAccountAsync(plan: "costrict-free");

        var welcome = Assert.Single(await LotsAsync(client), l => l["reason"]!.GetValue<string>().StartsWith("Welcome"));
        Assert.Equal(50m, welcome["amount"]!.GetValue<decimal>());
        Assert.Equal(Clock.GetUtcNow().AddDays(30), welcome["expiresAt"]!.GetValue<DateTimeOffset>());
        await AdminPostAsync($"/admin/accounts/{accountId}/plan", new { plan = "free" });
        await AdminPostAsync($"/admin/accounts/{accountId}/plan", new { plan = "costrict-free" });
        Assert.Single(await LotsAsync(client), l => l["reason"]!.GetValue<string>().StartsWith("Welcome"));
    }

    [Fact]
    public async Task Around10CreditsEachWeek_IssuedOncePerWeek_ExpireAtWeekEnd()
    {
        var (_, client) = await NewAccountAsync(plan: "costrict-free");
        var weekly = Assert.Single(await LotsAsync(client), l => l["reason"]!.GetValue<string>().Contains("weekly"));
        Assert.Equal(10m, weekly["amount"]!.GetValue<decimal>());
        Assert.Equal(new DateTimeOffset(2026, 3, 16, 0, 0, 0, TimeSpan.Zero), weekly["expiresAt"]!.GetValue<DateTimeOffset>()); // next Monday
        using (var sameWeek = await ChatAsync(client, "costrict/claude")) Assert.Equal(HttpStatusCode.OK, sameWeek.StatusCode);
        Assert.Equal(60m - 1.5m, await client.AvailableAsync());

        Clock.Advance(TimeSpan.FromDays(7));
        using var nextWeek = await ChatAsync(client, "costrict/claude");

        // Last week's 8.5 left expired unspent (no accumulation); this week's 10 arrived.
        Assert.Equal(50m + 10m - 1.5m, await client.AvailableAsync());
        Assert.Single(await LotsAsync(client), l => l["reason"]!.GetValue<string>().Contains("weekly"));
    }
}
