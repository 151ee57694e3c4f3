using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>
/// The rules of seeds/store-writer-credits.txt through the real gateway: fixed action prices from
/// <c>Pricing:Actions</c> (draft, regenerate, automation draft = 2; cover image, rewrite = 1; research = 0) charged
/// with <c>POST /v1/credits/actions/{name}</c>, on the <c>store-free</c> plan's 10 monthly credits.
/// </summary>
public sealed class StoreWriterSeedTests : SeedTestBase
{
    private static async Task<HttpResponseMessage> ActionAsync(GatewayClient client, string name, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/credits/actions/{name}");
        request.Headers.Add("Idempotency-Key", key ?? Guid.NewGuid().ToString("N"));
        return await client.Http.SendAsync(request);
    }

    private static async Task<decimal> ChargedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["charged"]!.GetValue<decimal>();
    }

    [Theory]
    [InlineData("draft", 2)]
    [InlineData("regenerate", 2)]
    [InlineData("automation-draft", 2)]
    [InlineData("cover-image", 1)]
    [InlineData("rewrite", 1)]
    [InlineData("research", 0)]
    public async Task FixedActionPrices_EachActionChargesItsPrice(string action, decimal price)
    {
        var (_, client) = await NewAccountAsync(plan: "store-free");
        using (var warm = await ChatAsync(client)) { } // any metered use issues the plan's monthly credits

        var before = await client.AvailableAsync();
        using var response = await ActionAsync(client, action);

        Assert.Equal(price, await ChargedAsync(response));
        Assert.Equal(before - price, await client.AvailableAsync());
    }

    [Fact]
    public async Task ContentWithCoverImage_Budgets3Credits_RetriedRequestChargedOnce()
    {
        var (_, client) = await NewAccountAsync(credits: 10);

        using var draft = await ActionAsync(client, "draft", "job-1-draft");
        using var cover = await ActionAsync(client, "cover-image", "job-1-cover");
        using var retry = await ActionAsync(client, "draft", "job-1-draft");

        Assert.Equal(2m, await ChargedAsync(draft));
        Assert.Equal(1m, await ChargedAsync(cover));
        Assert.True((await retry.Content.ReadFromJsonAsync<JsonObject>())!["repeated"]!.GetValue<bool>());
        Assert.Equal(7m, await client.AvailableAsync());
    }

    [Fact]
    public async Task FreePlan10MonthlyCredits_TopUpAddsHeadroom_LimitRefusesTheSixthDraft()
    {
        var (accountId, client) = await NewAccountAsync(plan: "store-free");
        for (var i = 0; i < 5; i++)
        {
            using var ok = await ActionAsync(client, "draft");
            Assert.Equal(2m, await ChargedAsync(ok));
        }
        using var refused = await ActionAsync(client, "draft");
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);

        await Gateway.GrantAsync(accountId, 20, kind: "addon");
        using var afterTopUp = await ActionAsync(client, "draft");

        Assert.Equal(2m, await ChargedAsync(afterTopUp));
        Assert.Equal(18m, await client.AvailableAsync());
    }
}
