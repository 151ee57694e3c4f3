using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Dashboard;

/// <summary>The operator's read endpoints: account search and paging, keys without hashes, and any account's balance, ledger and usage.</summary>
public abstract class AdminAccountApiTestsBase(AccountApiFixture f)
{
    private async Task<JsonObject> AdminGetAsync(string url)
    {
        using var admin = f.Gateway.CreateAdminClient();
        using var response = await admin.GetAsync(url);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task ListAccounts_SearchByNameFragment_IsCaseInsensitive()
    {
        var page = await AdminGetAsync("/admin/accounts?search=" + Uri.EscapeDataString("ACME, \"q"));

        var item = Assert.Single(page["items"]!.AsArray())!;
        Assert.Equal(f.AccountA.ToString(), item["id"]!.GetValue<string>());
        Assert.Equal(AccountApiFixture.NameA, item["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task ListAccounts_SearchByKeyPrefixOrId_FindsTheOwner()
    {
        var keys = await AdminGetAsync($"/admin/accounts/{f.AccountB}/keys");
        var prefix = keys["items"]![0]!["prefix"]!.GetValue<string>();

        var byPrefix = await AdminGetAsync("/admin/accounts?search=" + prefix);
        var byId = await AdminGetAsync($"/admin/accounts?search={f.AccountB}");

        Assert.Equal(f.AccountB.ToString(), Assert.Single(byPrefix["items"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Equal(f.AccountB.ToString(), Assert.Single(byId["items"]!.AsArray())!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task ListAccounts_PagedWithCursor_ListsEachAccountOnceInIdOrder()
    {
        var token = "pg" + Guid.NewGuid().ToString("N")[..8];
        var created = new List<string>();
        using (var admin = f.Gateway.CreateAdminClient())
        {
            for (var i = 0; i < 5; i++)
            {
                var a = await (await admin.PostAsJsonAsync("/admin/accounts", new { name = $"{token}-{i}" })).EnsureSuccessStatusCode()
                    .Content.ReadFromJsonAsync<JsonObject>();
                created.Add(a!["id"]!.GetValue<string>());
            }
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await AdminGetAsync($"/admin/accounts?search={token}&limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
            cursor = page["nextCursor"]?.GetValue<string>();
        } while (cursor is not null && seen.Count < 20);

        // Ids are version-7 GUIDs: ordered by creation time to the millisecond, randomly within one millisecond.
        Assert.Equal(created.Order(StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task ListKeys_ShowsPrefixesAndRevocationButNeverHashes()
    {
        using var admin = f.Gateway.CreateAdminClient();
        var raw = await admin.GetStringAsync($"/admin/accounts/{f.AccountA}/keys");
        var items = JsonNode.Parse(raw)!["items"]!.AsArray();

        Assert.Equal(3, items.Count);
        Assert.DoesNotContain("hash", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(f.A.Key, raw);
        var first = items.Single(k => k!["id"]!.GetValue<string>() == f.KeyA1.ToString())!;
        Assert.Equal(f.A.Key[..first["prefix"]!.GetValue<string>().Length], first["prefix"]!.GetValue<string>());
        Assert.NotNull(first["lastUsedAt"]);
        Assert.Null(first["revokedAt"]);
        var revoked = items.Single(k => k!["id"]!.GetValue<string>() == f.KeyRevoked.ToString())!;
        Assert.NotNull(revoked["revokedAt"]);
        Assert.Equal("old", revoked["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Balance_SameAsTheUsersOwnView()
    {
        var admin = await AdminGetAsync($"/admin/accounts/{f.AccountA}/balance");
        var user = await f.A.BalanceAsync();

        Assert.True(JsonNode.DeepEquals(user, admin), $"{user}\n{admin}");
        Assert.Equal(100m - 3 * 0.01475m, admin["available"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task LedgerUsageAndLog_SameAsTheUsersOwnViews()
    {
        await AssertSameAsync("/v1/credits/ledger?type=all", $"/admin/accounts/{f.AccountA}/ledger?type=all");
        await AssertSameAsync("/v1/credits/log", $"/admin/accounts/{f.AccountA}/log");
        await AssertSameAsync("/v1/credits/usage/summary?groupBy=model&from=2026-01-01&to=2026-12-31",
            $"/admin/accounts/{f.AccountA}/usage/summary?groupBy=model&from=2026-01-01&to=2026-12-31");
        var usage = await AdminGetAsync($"/admin/accounts/{f.AccountA}/usage");
        Assert.Equal(f.CallsA.AsEnumerable().Reverse(), usage["items"]!.AsArray().Select(i => i!["requestId"]!.GetValue<string>()));
    }

    private async Task AssertSameAsync(string userUrl, string adminUrl)
    {
        var user = JsonNode.Parse(await f.A.Http.GetStringAsync(userUrl));
        var admin = await AdminGetAsync(adminUrl);
        Assert.True(JsonNode.DeepEquals(user, admin), $"{userUrl} and {adminUrl} differ:\n{user}\n{admin}");
    }

    [Fact]
    public async Task Usage_FiltersAndPages()
    {
        var refused = await AdminGetAsync($"/admin/accounts/{f.AccountA}/usage?status=400");
        var mini = await AdminGetAsync($"/admin/accounts/{f.AccountA}/usage?model=gpt-4o-mini");
        var page1 = await AdminGetAsync($"/admin/accounts/{f.AccountA}/usage?limit=3");
        var page2 = await AdminGetAsync($"/admin/accounts/{f.AccountA}/usage?limit=3&cursor={page1["nextCursor"]!.GetValue<string>()}");

        Assert.Equal(f.CallsA[2], Assert.Single(refused["items"]!.AsArray())!["requestId"]!.GetValue<string>());
        Assert.Equal(f.CallsA[2], Assert.Single(mini["items"]!.AsArray())!["requestId"]!.GetValue<string>());
        Assert.Equal(3, page1["items"]!.AsArray().Count);
        Assert.Equal(f.CallsA[0], Assert.Single(page2["items"]!.AsArray())!["requestId"]!.GetValue<string>());
        Assert.Null(page2["nextCursor"]);
    }

    [Theory]
    [InlineData("keys")]
    [InlineData("balance")]
    [InlineData("log")]
    [InlineData("ledger")]
    [InlineData("usage")]
    [InlineData("usage/summary")]
    [InlineData("usage.csv")]
    [InlineData("ledger.csv")]
    public async Task AccountEndpoints_UnknownAccount_Return404ProblemDetails(string path)
    {
        using var admin = f.Gateway.CreateAdminClient();
        using var response = await admin.GetAsync($"/admin/accounts/{Guid.NewGuid()}/{path}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/admin/accounts")]
    [InlineData("/admin/usage.csv")]
    public async Task AdminEndpoints_GatewayKeyInsteadOfAdminKey_Return401(string url)
    {
        using var response = await f.A.Http.GetAsync(url);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

/// <summary>The tests above on the default SQLite ledger.</summary>
[Collection(AccountApiCollection.Name)]
public sealed class AdminAccountApiTests(AccountApiFixture f) : AdminAccountApiTestsBase(f);

/// <summary>The tests above on PostgreSQL, where the same LINQ becomes different SQL.</summary>
[Collection(PostgresAccountApiCollection.Name)]
public sealed class AdminAccountApiTestsPostgres(PostgresAccountApiFixture f) : AdminAccountApiTestsBase(f);
