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
        var (_, client) = await NewAccountAsync(plan: "costrict-free");

        using var chat = await ChatAsync(client, "costrict/claude");
        using var models = await client.Http.GetAsync("/openai/v1/models");

        Assert.Equal(HttpStatusCode.PaymentRequired, chat.StatusCode);
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }
}
