using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Api;

/// <summary>The admin API for accounts and keys, and the health probes.</summary>
public sealed class AdminAccountsApiTests : IAsyncLifetime
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
    public async Task AdminApi_NoAdminKeyConfigured_IsClosed()
    {
        await using var gateway = new GatewayFactory(_upstream, new Dictionary<string, string?> { ["Gateway:AdminKey"] = "" });
        using var client = gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "");

        using var response = await client.PostAsJsonAsync("/admin/accounts", new { name = "x" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, await gateway.WithDbAsync(db => db.Accounts.CountAsync()));
    }

    [Fact]
    public async Task AdminApi_WrongAdminKey_Returns401()
    {
        using var client = _gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayFactory.AdminKey + "x");

        using var response = await client.PostAsJsonAsync("/admin/accounts", new { name = "x" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task CreateAccount_MissingName_Returns400Problem()
    {
        using var admin = _gateway.CreateAdminClient();

        using var response = await admin.PostAsJsonAsync("/admin/accounts", new { name = "" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task CreateKey_StoresOnlyHashAndPrefix()
    {
        var (accountId, key, keyId) = await _gateway.CreateAccountWithKeyAsync();

        var stored = await _gateway.WithDbAsync(db => db.GatewayKeys.AsNoTracking().SingleAsync(k => k.Id == keyId));

        Assert.StartsWith("agw_", key);
        Assert.Equal(accountId, stored.AccountId);
        Assert.Equal(key[..12], stored.Prefix);
        Assert.NotEqual(key, stored.Hash);
        Assert.DoesNotContain(key[12..], stored.Hash);
        Assert.Equal(64, stored.Hash.Length);
        var dbFile = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(
            _gateway.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>().GetConnectionString("Ledger")).DataSource;
        var bytes = await File.ReadAllBytesAsync(dbFile);
        Assert.DoesNotContain(key, System.Text.Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public async Task CreateKey_UnknownAccount_Returns404()
    {
        using var admin = _gateway.CreateAdminClient();

        using var response = await admin.PostAsJsonAsync($"/admin/accounts/{Guid.NewGuid()}/keys", new { name = "x" });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task RevokeKey_TakesEffectImmediately()
    {
        var (_, key, keyId) = await _gateway.CreateAccountWithKeyAsync();
        await _upstream.StubJsonAsync("GET", "/v1/models", 200, """{"object":"list","data":[]}""");
        using var client = _gateway.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/openai/v1/models")).StatusCode);
        using var admin = _gateway.CreateAdminClient();

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/keys/{keyId}")).StatusCode);
        using var after = await client.GetAsync("/openai/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        var json = await after.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("invalid_api_key", json!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Health_LiveAndReady_Return200()
    {
        using var client = _gateway.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task AnyResponse_CarriesUniqueRequestId()
    {
        using var client = _gateway.CreateClient();

        var a = (await client.GetAsync("/healthz")).Headers.GetValues("X-Request-Id").Single();
        var b = (await client.GetAsync("/healthz")).Headers.GetValues("X-Request-Id").Single();

        Assert.StartsWith("req_", a);
        Assert.NotEqual(a, b);
    }
}
