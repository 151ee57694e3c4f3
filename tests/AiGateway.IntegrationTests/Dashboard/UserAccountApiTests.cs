using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Dashboard;

/// <summary>Shares one <see cref="AccountApiFixture"/> between the account API test classes.</summary>
[CollectionDefinition(Name)]
public sealed class AccountApiCollection : ICollectionFixture<AccountApiFixture>
{
    /// <summary>The collection name.</summary>
    public const string Name = "account-api";
}

/// <summary><c>GET /v1/credits/ledger</c> and <c>GET /v1/credits/usage/summary</c>: content, paging, filters and account isolation.</summary>
public abstract class UserAccountApiTestsBase(AccountApiFixture f)
{
    private static async Task<JsonObject> GetAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task Ledger_DefaultTypes_GrantThenOneSettlePerChargedCallWithBalanceAfter()
    {
        var page = await GetAsync(f.A.Http, "/v1/credits/ledger");
        var items = page["items"]!.AsArray();

        // Newest first: three charged gpt-4o calls (the 400 is not charged), then the grant; no holds or releases by default.
        Assert.Equal(["settle", "settle", "settle", "grant"], items.Select(i => i!["type"]!.GetValue<string>()));
        Assert.Null(page["nextCursor"]);
        var grant = items[^1]!;
        Assert.Equal("in", grant["direction"]!.GetValue<string>());
        Assert.Equal(100m, grant["amount"]!.GetValue<decimal>());
        Assert.Equal("bonus", grant["lotKind"]!.GetValue<string>());
        Assert.Equal("test grant", grant["lotReason"]!.GetValue<string>());
        var newest = items[0]!;
        Assert.Equal("out", newest["direction"]!.GetValue<string>());
        Assert.Equal(0.01475m, newest["amount"]!.GetValue<decimal>()); // 19 × 250 + 10 × 1000 micro-credits
        Assert.Equal("gpt-4o", newest["model"]!.GetValue<string>());
        Assert.Equal(f.CallsA[^1], newest["requestId"]!.GetValue<string>());
        Assert.Equal(await f.A.AvailableAsync(), newest["availableAfter"]!.GetValue<decimal>());
        Assert.Equal(100m - 3 * 0.01475m, newest["availableAfter"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Ledger_PagedWithCursor_ReturnsEveryEntryOnceNewestFirst()
    {
        var all = (await GetAsync(f.A.Http, "/v1/credits/ledger?type=all&limit=200"))["items"]!.AsArray()
            .Select(i => i!["id"]!.GetValue<long>()).ToList();
        Assert.True(all.Count >= 8, $"expected grant + holds/settles/releases, got {all.Count}");

        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await GetAsync(f.A.Http, "/v1/credits/ledger?type=all&limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            var ids = page["items"]!.AsArray().Select(i => i!["id"]!.GetValue<long>()).ToList();
            Assert.InRange(ids.Count, 1, 3);
            seen.AddRange(ids);
            cursor = page["nextCursor"]?.GetValue<string>();
            pages++;
        } while (cursor is not null && pages < 20);

        Assert.Equal(all, seen);
        Assert.Equal(all.OrderDescending(), seen);
        Assert.Equal((all.Count + 2) / 3, pages);
    }

    [Fact]
    public async Task Ledger_TypeFilter_ReturnsOnlyThatType()
    {
        var items = (await GetAsync(f.A.Http, "/v1/credits/ledger?type=hold,release"))["items"]!.AsArray();

        // Four metered calls each held; the 400 call was released.
        Assert.Equal(4, items.Count(i => i!["type"]!.GetValue<string>() == "hold"));
        Assert.Equal(1, items.Count(i => i!["type"]!.GetValue<string>() == "release"));
        Assert.Equal(5, items.Count);
    }

    [Theory]
    [InlineData("/v1/credits/ledger?type=bogus")]
    [InlineData("/v1/credits/ledger?limit=0")]
    [InlineData("/v1/credits/ledger?limit=201")]
    [InlineData("/v1/credits/ledger?cursor=abc")]
    [InlineData("/v1/credits/ledger?from=2026-02-01&to=2026-01-01")]
    [InlineData("/v1/credits/usage/summary?groupBy=hour")]
    [InlineData("/v1/credits/usage/summary?from=2024-01-01&to=2026-01-01")]
    [InlineData("/v1/credits/usage/summary?tzOffset=900")]
    public async Task UserEndpoints_InvalidArguments_Return400ProblemDetails(string url)
    {
        using var response = await f.A.Http.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(400, problem!["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["detail"]?.GetValue<string>()));
    }

    [Fact]
    public async Task Summary_GroupByDay_SumsCallsTokensCreditsWithModelAndStatusBreakdown()
    {
        var summary = await GetAsync(f.A.Http, "/v1/credits/usage/summary?groupBy=day");

        var totals = summary["totals"]!;
        Assert.Equal(4, totals["calls"]!.GetValue<long>());
        Assert.Equal(3 * 0.01475m, totals["credits"]!.GetValue<decimal>());
        Assert.Equal(3 * 10, totals["outputTokens"]!.GetValue<long>()); // the refused call has no output
        var day = Assert.Single(summary["buckets"]!.AsArray())!;
        Assert.Equal(DateTimeOffset.UtcNow.ToString("yyyy-MM-dd"), day["key"]!.GetValue<string>());
        Assert.Equal(4, day["calls"]!.GetValue<long>());
        Assert.Equal(3, day["statuses"]!["200"]!.GetValue<long>());
        Assert.Equal(1, day["statuses"]!["400"]!.GetValue<long>());
        var models = day["models"]!.AsArray();
        Assert.Equal("gpt-4o", models[0]!["model"]!.GetValue<string>());
        Assert.Equal(3, models[0]!["calls"]!.GetValue<long>());
        Assert.Equal(3 * 0.01475m, models[0]!["credits"]!.GetValue<decimal>());
        Assert.Equal("gpt-4o-mini", models[1]!["model"]!.GetValue<string>());
        Assert.Equal(0m, models[1]!["credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Summary_GroupByModelKeyFeature_BucketsByThatField()
    {
        var byModel = (await GetAsync(f.A.Http, "/v1/credits/usage/summary?groupBy=model"))["buckets"]!.AsArray();
        var byKey = (await GetAsync(f.A.Http, "/v1/credits/usage/summary?groupBy=key"))["buckets"]!.AsArray();
        var byFeature = (await GetAsync(f.A.Http, "/v1/credits/usage/summary?groupBy=feature"))["buckets"]!.AsArray();

        Assert.Equal(["gpt-4o", "gpt-4o-mini"], byModel.Select(b => b!["key"]!.GetValue<string>()));
        Assert.Null(byModel[0]!["models"]);
        var keys = byKey.ToDictionary(b => b!["key"]!.GetValue<string>(), b => b!);
        Assert.Equal(3, keys[f.KeyA1.ToString()]["calls"]!.GetValue<long>());
        Assert.Equal(1, keys[f.KeyA2.ToString()]["calls"]!.GetValue<long>());
        Assert.StartsWith("cli (agw_", keys[f.KeyA2.ToString()]["label"]!.GetValue<string>());
        var features = byFeature.ToDictionary(b => b!["key"]!.GetValue<string>(), b => b!["calls"]!.GetValue<long>());
        Assert.Equal(new Dictionary<string, long> { ["draft"] = 2, ["chat, \"summary\""] = 1, [""] = 1 }, features);
    }

    [Fact]
    public async Task Summary_RangeBeforeTheCalls_IsEmpty()
    {
        var summary = await GetAsync(f.A.Http, "/v1/credits/usage/summary?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z");

        Assert.Empty(summary["buckets"]!.AsArray());
        Assert.Equal(0, summary["totals"]!["calls"]!.GetValue<long>());
    }

    [Fact]
    public async Task Ledger_KeyOfAnotherAccount_SeesOnlyItsOwnEntries()
    {
        var items = (await GetAsync(f.B.Http, "/v1/credits/ledger?type=all"))["items"]!.AsArray();

        Assert.DoesNotContain(items, i => f.CallsA.Contains(i!["requestId"]?.GetValue<string>() ?? ""));
        var settle = Assert.Single(items, i => i!["type"]!.GetValue<string>() == "settle")!;
        Assert.Equal(f.CallB, settle["requestId"]!.GetValue<string>());
        var grant = Assert.Single(items, i => i!["type"]!.GetValue<string>() == "grant")!;
        Assert.Equal(50m, grant["amount"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Summary_KeyOfAnotherAccount_CountsOnlyItsOwnCalls()
    {
        var byKey = (await GetAsync(f.B.Http, "/v1/credits/usage/summary?groupBy=key"))["buckets"]!.AsArray();

        var bucket = Assert.Single(byKey)!;
        Assert.Equal(1, bucket["calls"]!.GetValue<long>());
        Assert.NotEqual(f.KeyA1.ToString(), bucket["key"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/v1/credits/ledger")]
    [InlineData("/v1/credits/usage/summary")]
    public async Task UserEndpoints_BadKey_Return401(string url)
    {
        using var http = f.Gateway.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", "agw_not-a-real-key-0000000000000000000000000");

        using var response = await http.GetAsync(url);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

/// <summary>The tests above on the default SQLite ledger.</summary>
[Collection(AccountApiCollection.Name)]
public sealed class UserAccountApiTests(AccountApiFixture f) : UserAccountApiTestsBase(f);

/// <summary>The tests above on PostgreSQL, where the same LINQ becomes different SQL.</summary>
[Collection(PostgresAccountApiCollection.Name)]
public sealed class UserAccountApiTestsPostgres(PostgresAccountApiFixture f) : UserAccountApiTestsBase(f);
