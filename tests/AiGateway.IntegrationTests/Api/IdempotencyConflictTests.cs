using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Api;

/// <summary>
/// An idempotency key names one request: repeating it with the same parameters returns the original, reusing it with
/// different parameters is refused with 409 (as payment APIs do) instead of silently answering the original.
/// </summary>
public sealed class IdempotencyConflictTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task ActionKeyReusedForAnotherAction_409_NothingMoreCharged()
    {
        var (_, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(_gateway, key);

        using var draft = await ActionAsync(client, "draft", "k-1");
        using var cover = await ActionAsync(client, "cover-image", "k-1");
        using var repeat = await ActionAsync(client, "draft", "k-1");

        Assert.Equal(HttpStatusCode.OK, draft.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, cover.StatusCode);
        var problem = (await cover.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Contains("different", problem["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        Assert.True((await repeat.Content.ReadFromJsonAsync<JsonObject>())!["repeated"]!.GetValue<bool>());
        Assert.Equal(8m, await client.AvailableAsync());
    }

    [Fact]
    public async Task GrantKeyReusedWithOtherParameters_409_OriginalKept()
    {
        var (account, key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 0);
        using var client = new GatewayClient(_gateway, key);
        using var admin = _gateway.CreateAdminClient();

        Task<HttpResponseMessage> Grant(decimal credits, string reason = "refund #42", int validDays = 30) =>
            admin.PostAsJsonAsync($"/admin/accounts/{account}/grants", new { kind = "bonus", credits, validDays, reason, idempotencyKey = "refund-42" });

        using var first = await Grant(5);
        using var same = await Grant(5);
        using var moreCredits = await Grant(50);
        using var otherReason = await Grant(5, reason: "refund #43");
        using var otherValidity = await Grant(5, validDays: 60);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, moreCredits.StatusCode);
        Assert.Contains("refund-42", (await moreCredits.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, otherReason.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, otherValidity.StatusCode);
        Assert.Equal(5m, await client.AvailableAsync());
    }

    private static Task<HttpResponseMessage> ActionAsync(GatewayClient client, string name, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/credits/actions/{name}");
        request.Headers.Add("Idempotency-Key", key);
        return client.Http.SendAsync(request);
    }
}
