using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.Ledger;
using AiGateway.Pricing;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Dashboard;

/// <summary>The admin reads behind the operator console: an account's active holds, and the plan and pack catalogs.</summary>
public abstract class AdminConsoleApiTestsBase(AccountApiFixture f)
{
    private async Task<JsonObject> AdminGetAsync(string url)
    {
        using var admin = f.Gateway.CreateAdminClient();
        using var response = await admin.GetAsync(url);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task ListHolds_ShowsOnlyTheAccountsActiveHolds_NewestFirstAndPaged()
    {
        var (account, _, _) = await f.Gateway.CreateAccountWithKeyAsync("holds-" + Guid.NewGuid().ToString("N")[..6], credits: 10);
        var (other, _, _) = await f.Gateway.CreateAccountWithKeyAsync("holds-other", credits: 10);
        var ledger = f.Gateway.Services.GetRequiredService<CreditLedger>();
        var tag = Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, Credits.FromDecimal(2m), $"h1-{tag}")).Status);
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, Credits.FromDecimal(3.5m), $"h2-{tag}", task: "agent-7")).Status);
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(account, Credits.FromDecimal(1m), $"h3-{tag}")).Status);
        Assert.Equal(ReserveStatus.Reserved, (await ledger.ReserveAsync(other, Credits.FromDecimal(1m), $"h4-{tag}")).Status);
        await ledger.ReleaseAsync($"h3-{tag}");

        var all = await AdminGetAsync($"/admin/accounts/{account}/holds");
        var first = await AdminGetAsync($"/admin/accounts/{account}/holds?limit=1");
        var second = await AdminGetAsync($"/admin/accounts/{account}/holds?limit=1&cursor={first["nextCursor"]!.GetValue<string>()}");

        // The released hold and the other account's hold are not listed.
        Assert.Equal([$"h2-{tag}", $"h1-{tag}"], all["items"]!.AsArray().Select(h => h!["requestId"]!.GetValue<string>()));
        var h2 = all["items"]![0]!;
        Assert.Equal(3.5m, h2["amount"]!.GetValue<decimal>());
        Assert.Equal("agent-7", h2["task"]!.GetValue<string>());
        Assert.True(h2["expiresAt"]!.GetValue<DateTimeOffset>() > h2["createdAt"]!.GetValue<DateTimeOffset>());
        Assert.Null(all["nextCursor"]);
        Assert.Equal($"h2-{tag}", Assert.Single(first["items"]!.AsArray())!["requestId"]!.GetValue<string>());
        Assert.Equal($"h1-{tag}", Assert.Single(second["items"]!.AsArray())!["requestId"]!.GetValue<string>());
        Assert.Null(second["nextCursor"]);
        // The balance the console shows next to the list agrees with it.
        Assert.Equal(5.5m, (await AdminGetAsync($"/admin/accounts/{account}/balance"))["held"]!.GetValue<decimal>());
        await ledger.ReleaseAsync($"h1-{tag}");
        await ledger.ReleaseAsync($"h2-{tag}");
        await ledger.ReleaseAsync($"h4-{tag}");
    }

    [Theory]
    [InlineData("holds?limit=0")]
    [InlineData("holds?limit=201")]
    [InlineData("holds?cursor=abc")]
    public async Task ListHolds_BadArguments_Return400ProblemDetails(string path)
    {
        using var admin = f.Gateway.CreateAdminClient();
        using var response = await admin.GetAsync($"/admin/accounts/{f.AccountA}/{path}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ListHolds_UnknownAccount_Returns404ProblemDetails()
    {
        using var admin = f.Gateway.CreateAdminClient();
        using var response = await admin.GetAsync($"/admin/accounts/{Guid.NewGuid()}/holds");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ListPlans_ShowsTheConfiguredPlansByName()
    {
        var plans = (await AdminGetAsync("/admin/plans"))["plans"]!.AsArray();

        var names = plans.Select(p => p!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(names.Order(StringComparer.OrdinalIgnoreCase), names);
        Assert.Contains("pro", names);
        var free = plans.Single(p => p!["name"]!.GetValue<string>() == "free")!;
        Assert.Equal(10m, free["monthlyCredits"]!.GetValue<decimal>());
        Assert.Equal("clamp", free["overagePolicy"]!.GetValue<string>());
        // Every name listed is one a plan change accepts.
        var (account, _, _) = await f.Gateway.CreateAccountWithKeyAsync("plan-list", credits: 1);
        using var admin = f.Gateway.CreateAdminClient();
        foreach (var name in new[] { names[0], names[^1] })
        {
            using var change = await admin.PostAsJsonAsync($"/admin/accounts/{account}/plan", new { plan = name });
            Assert.Equal(HttpStatusCode.OK, change.StatusCode);
        }
    }

    [Fact]
    public async Task ListPacks_AdminKey_AnswersTheUsersCatalog()
    {
        var admin = await AdminGetAsync("/admin/packs");
        var user = await f.A.Http.GetFromJsonAsync<JsonObject>("/v1/credits/packs");

        Assert.Equal(user!.ToJsonString(), admin.ToJsonString());
        Assert.Equal(3, admin["packs"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("/admin/plans")]
    [InlineData("/admin/packs")]
    public async Task ConsoleReads_GatewayKeyInsteadOfAdminKey_Return401(string url)
    {
        using var response = await f.A.Http.GetAsync(url);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

/// <summary>The tests above on the default SQLite ledger.</summary>
[Collection(AccountApiCollection.Name)]
public sealed class AdminConsoleApiTests(AccountApiFixture f) : AdminConsoleApiTestsBase(f);

/// <summary>The tests above on PostgreSQL.</summary>
[Collection(PostgresAccountApiCollection.Name)]
public sealed class AdminConsoleApiTestsPostgres(PostgresAccountApiFixture f) : AdminConsoleApiTestsBase(f);
