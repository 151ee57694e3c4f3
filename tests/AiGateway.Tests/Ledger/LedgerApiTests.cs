using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Ledger.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.Tests.Ledger;

/// <summary>The admin and user endpoints over a real SQLite ledger, mounted the way the host mounts them.</summary>
public sealed class LedgerApiTests(SqliteLedgerFixture db) : IClassFixture<SqliteLedgerFixture>, IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 7, 3, 10, 11, 12, TimeSpan.Zero));
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton(db.CreateLedger(_clock));
        _app = builder.Build();
        // Stands in for gateway-key authentication: the test names the caller's account in a header.
        _app.Use((context, next) =>
        {
            if (context.Request.Headers.TryGetValue("X-Test-Account", out var id))
                context.SetCallerAccount(new CallerAccount(Guid.Parse(id!), Guid.NewGuid(), "gk_test", null));
            return next(context);
        });
        _app.MapGroup("/admin").MapLedgerAdminApi();
        _app.MapGroup("/v1/credits").MapCreditsApi();
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private Task<HttpResponseMessage> GetAsCallerAsync(Guid account, string url)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Test-Account", account.ToString());
        return _client.SendAsync(request);
    }

    [Fact]
    public async Task PostGrant_SameIdempotencyKeyTwice_Returns201Then200WithSameGrant()
    {
        var account = await db.CreateAccountAsync();
        var body = new { kind = "addon", credits = 12.5m, validDays = 30, reason = "pack purchase", idempotencyKey = "stripe-evt-1" };
        var first = await _client.PostAsJsonAsync($"/admin/accounts/{account}/grants", body);
        var again = await _client.PostAsJsonAsync($"/admin/accounts/{account}/grants", body);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var a = await JsonAsync(first);
        var b = await JsonAsync(again);
        Assert.Equal(a.GetProperty("id").GetInt64(), b.GetProperty("id").GetInt64());
        Assert.Equal(12.5m, a.GetProperty("credits").GetDecimal());
        Assert.True(b.GetProperty("repeated").GetBoolean());
    }

    [Theory]
    [InlineData("""{"kind":"gold","credits":5,"reason":"x"}""")]
    [InlineData("""{"kind":"addon","credits":0,"reason":"x"}""")]
    [InlineData("""{"kind":"addon","credits":-3,"reason":"x"}""")]
    [InlineData("""{"kind":"addon","credits":3,"reason":""}""")]
    [InlineData("""{"kind":"bonus","credits":3,"reason":"x","expiresAt":"2020-01-01T00:00:00Z"}""")]
    public async Task PostGrant_InvalidBody_Returns400ProblemDetails(string json)
    {
        var account = await db.CreateAccountAsync();
        var response = await _client.PostAsync($"/admin/accounts/{account}/grants",
            new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PostGrant_UnknownAccount_Returns404()
    {
        var response = await _client.PostAsJsonAsync($"/admin/accounts/{Guid.NewGuid()}/grants", new { kind = "bonus", credits = 1, reason = "x" });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task GetCredits_AfterPlanAndGrant_ReturnsBalanceInDecimalCredits()
    {
        var account = await db.CreateAccountAsync();
        var plan = await _client.PostAsJsonAsync($"/admin/accounts/{account}/plan", new { plan = "free" });
        Assert.Equal(HttpStatusCode.OK, plan.StatusCode);
        await _client.PostAsJsonAsync($"/admin/accounts/{account}/grants", new { kind = "bonus", credits = 0.25m, reason = "welcome" });

        var response = await GetAsCallerAsync(account, "/v1/credits/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await JsonAsync(response);
        Assert.Equal(10.25m, json.GetProperty("available").GetDecimal());
        Assert.Equal(0m, json.GetProperty("held").GetDecimal());
        Assert.Equal(0m, json.GetProperty("overage").GetDecimal());
        var lots = json.GetProperty("lots").EnumerateArray().ToList();
        Assert.Equal(["plan", "bonus"], lots.Select(l => l.GetProperty("kind").GetString()!).ToArray());
        Assert.Equal(10m, lots[0].GetProperty("remaining").GetDecimal());
        Assert.Equal("2026-08-01T00:00:00+00:00", lots[0].GetProperty("expiresAt").GetString());
        Assert.Equal(JsonValueKind.Null, lots[1].GetProperty("expiresAt").ValueKind);
    }

    [Fact]
    public async Task GetCredits_WithoutCaller_Returns401()
    {
        var response = await _client.GetAsync("/v1/credits/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task GetLog_WithCursor_PagesThroughAcquisitions()
    {
        var account = await db.CreateAccountAsync();
        for (var i = 0; i < 5; i++)
            await _client.PostAsJsonAsync($"/admin/accounts/{account}/grants", new { kind = "addon", credits = i + 1, reason = $"pack {i}" });

        var reasons = new List<string>();
        string? cursor = null;
        do
        {
            var json = await JsonAsync(await GetAsCallerAsync(account, $"/v1/credits/log?limit=2{(cursor is null ? "" : $"&cursor={cursor}")}"));
            reasons.AddRange(json.GetProperty("items").EnumerateArray().Select(x => x.GetProperty("reason").GetString()!));
            cursor = json.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        Assert.Equal(["pack 4", "pack 3", "pack 2", "pack 1", "pack 0"], reasons);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsCallerAsync(account, "/v1/credits/log?limit=1000")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsCallerAsync(account, "/v1/credits/log?cursor=abc")).StatusCode);
    }

    [Fact]
    public async Task PostPlan_UnknownPlanOrAccount_Returns400Or404()
    {
        var account = await db.CreateAccountAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostAsJsonAsync($"/admin/accounts/{account}/plan", new { plan = "gold" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsJsonAsync($"/admin/accounts/{Guid.NewGuid()}/plan", new { plan = "free" })).StatusCode);
    }

    [Fact]
    public async Task PostReferral_TwiceAndByAnotherReferrer_GrantsOnceThenConflicts()
    {
        var referrer = await db.CreateAccountAsync();
        var invitee = await db.CreateAccountAsync();
        var other = await db.CreateAccountAsync();
        var first = await _client.PostAsJsonAsync("/admin/referrals", new { referrerAccountId = referrer, inviteeAccountId = invitee });
        var again = await _client.PostAsJsonAsync("/admin/referrals", new { referrerAccountId = referrer, inviteeAccountId = invitee });
        var stolen = await _client.PostAsJsonAsync("/admin/referrals", new { referrerAccountId = other, inviteeAccountId = invitee });
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("granted", (await JsonAsync(first)).GetProperty("status").GetString());
        Assert.Equal(50m, (await JsonAsync(first)).GetProperty("referrer").GetProperty("credits").GetDecimal());
        Assert.Equal("repeated", (await JsonAsync(again)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Conflict, stolen.StatusCode);
    }

    [Fact]
    public async Task DeleteGrant_ExistingThenUnknown_RevokesThen404()
    {
        var account = await db.CreateAccountAsync();
        var grant = await JsonAsync(await _client.PostAsJsonAsync($"/admin/accounts/{account}/grants", new { kind = "bonus", credits = 4, reason = "oops" }));
        var id = grant.GetProperty("id").GetInt64();
        var revoke = await _client.DeleteAsync($"/admin/grants/{id}");
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(4m, (await JsonAsync(revoke)).GetProperty("revokedCredits").GetDecimal());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/admin/grants/{long.MaxValue}")).StatusCode);
        Assert.Equal(0m, (await JsonAsync(await GetAsCallerAsync(account, "/v1/credits/"))).GetProperty("available").GetDecimal());
    }
}
