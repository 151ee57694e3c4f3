using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Api;

/// <summary>What every client of the user and admin APIs can rely on: JSON error bodies, one paging name, an OpenAPI document.</summary>
public sealed partial class ApiContractTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;
    private Guid _account;
    private string _key = "";

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream);
        (_account, _key, _) = await _gateway.CreateAccountWithKeyAsync(credits: 10);
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private HttpRequestMessage Request(HttpMethod method, string path, string? credential, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (credential is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return request;
    }

    [Fact]
    public async Task Errors_UserAndAdminApis_EveryErrorHasAProblemDetailsBody()
    {
        var unknown = Guid.NewGuid();
        var admin = GatewayFactory.AdminKey;
        (HttpMethod Method, string Path, string? Credential, string? Json, HttpStatusCode Status)[] cases =
        [
            (HttpMethod.Get, "/v1/credits/calls/req_unknown", _key, null, HttpStatusCode.NotFound),
            (HttpMethod.Get, "/v1/credits/usage", null, null, HttpStatusCode.Unauthorized),
            (HttpMethod.Get, "/v1/credits/usage?limit=many", _key, null, HttpStatusCode.BadRequest),
            (HttpMethod.Get, "/v1/credits/usage?cursor=x", _key, null, HttpStatusCode.BadRequest),
            (HttpMethod.Get, "/v1/credits/ledger?from=yesterday", _key, null, HttpStatusCode.BadRequest),
            (HttpMethod.Post, "/v1/credits/actions/no-such-action", _key, null, HttpStatusCode.NotFound),
            (HttpMethod.Get, "/v1/credits/no-such-endpoint", _key, null, HttpStatusCode.NotFound),
            (HttpMethod.Get, $"/admin/accounts/{unknown}", admin, null, HttpStatusCode.NotFound),
            (HttpMethod.Get, $"/admin/accounts/{unknown}", "wrong", null, HttpStatusCode.Unauthorized),
            (HttpMethod.Post, $"/admin/accounts/{unknown}/keys", admin, "{}", HttpStatusCode.NotFound),
            (HttpMethod.Delete, $"/admin/keys/{unknown}", admin, null, HttpStatusCode.NotFound),
            (HttpMethod.Get, $"/admin/accounts/{unknown}/balance", admin, null, HttpStatusCode.NotFound),
            (HttpMethod.Post, "/admin/accounts", admin, "{not json", HttpStatusCode.BadRequest),
            (HttpMethod.Post, "/admin/accounts", admin, """{"name":""}""", HttpStatusCode.BadRequest),
            (HttpMethod.Get, "/admin/accounts?cursor=nope", admin, null, HttpStatusCode.BadRequest),
            (HttpMethod.Post, $"/admin/accounts/{_account}/grants", admin, """{"kind":"bonus"}""", HttpStatusCode.BadRequest),
            (HttpMethod.Delete, "/admin/grants/999999", admin, null, HttpStatusCode.NotFound),
            (HttpMethod.Get, "/admin/no-such-endpoint", admin, null, HttpStatusCode.NotFound),
        ];
        using var client = _gateway.CreateClient();
        var failures = new List<string>();
        foreach (var (method, path, credential, json, status) in cases)
        {
            using var request = Request(method, path, credential, json);
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            var problem = TryParse(body);
            if (response.StatusCode != status || response.Content.Headers.ContentType?.MediaType != "application/problem+json" ||
                problem?["status"]?.GetValue<int>() != (int)status || problem["title"] is null)
            {
                failures.Add($"{method} {path} -> {(int)response.StatusCode} {response.Content.Headers.ContentType} '{body}'");
            }
        }
        Assert.True(failures.Count == 0, "errors without a ProblemDetails body:\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task Paging_UsageLogLedgerAndAccounts_AllNameTheCursorNextCursor()
    {
        using var user = new GatewayClient(_gateway, _key);
        using var admin = _gateway.CreateAdminClient();
        await _gateway.CreateAccountWithKeyAsync("second", credits: 0);
        await _gateway.GrantAsync(_account, 1);

        var pages = new Dictionary<string, JsonObject>
        {
            ["/v1/credits/log"] = await GetPageAsync(user.Http, "/v1/credits/log?limit=1"),
            ["/v1/credits/ledger"] = await GetPageAsync(user.Http, "/v1/credits/ledger?limit=1"),
            ["/admin/accounts"] = await GetPageAsync(admin, "/admin/accounts?limit=1"),
            ["/admin/accounts/{id}/log"] = await GetPageAsync(admin, $"/admin/accounts/{_account}/log?limit=1"),
        };
        foreach (var (path, page) in pages)
        {
            Assert.True(page["nextCursor"] is JsonValue, $"{path}: no nextCursor in {page.ToJsonString()}");
        }

        // Usage pages (no calls yet): the property is there, null at the end; "next" stays one release as a deprecated alias.
        foreach (var page in new[] { await GetPageAsync(user.Http, "/v1/credits/usage"), await GetPageAsync(admin, $"/admin/accounts/{_account}/usage") })
        {
            Assert.True(page.ContainsKey("nextCursor") && page.ContainsKey("next"), page.ToJsonString());
            Assert.Equal(page["nextCursor"]?.ToJsonString(), page["next"]?.ToJsonString());
        }
    }

    private static async Task<JsonObject> GetPageAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    [Fact]
    public async Task OpenApi_Document_DescribesEveryMappedCreditsAndAdminEndpointWithSummaryAndTag()
    {
        using var client = _gateway.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["paths"]!.AsObject();

        var mapped = _gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } p && (p.StartsWith("/admin", StringComparison.Ordinal) || p.StartsWith("/v1/credits", StringComparison.Ordinal)))
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (Method: m.ToLowerInvariant(), Path: OpenApiPath(e.RoutePattern.RawText!))))
            .ToList();
        Assert.True(mapped.Count >= 25, $"only {mapped.Count} endpoints found"); // sanity: the enumeration really found the APIs

        var missing = new List<string>();
        foreach (var (method, path) in mapped)
        {
            var operation = paths[path]?[method];
            if (operation is null) missing.Add($"{method} {path}: not in the document");
            else if (string.IsNullOrWhiteSpace(operation["summary"]?.GetValue<string>())) missing.Add($"{method} {path}: no summary");
            else if (operation["tags"] is not JsonArray { Count: > 0 }) missing.Add($"{method} {path}: no tag");
        }
        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }

    [Fact]
    public async Task ApiReference_Page_IsServed()
    {
        using var client = _gateway.CreateClient();
        using var response = await client.GetAsync("/scalar/v1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync();
        Assert.True(page.Contains("openapi/v1.json", StringComparison.Ordinal), page);
    }

    /// <summary><c>/accounts/{id:guid}</c> → <c>/accounts/{id}</c>, <c>{**rest}</c> → <c>{rest}</c>: how OpenAPI writes a route.</summary>
    private static string OpenApiPath(string pattern) =>
        RouteParameter().Replace(pattern.Length > 1 ? pattern.TrimEnd('/') : pattern, m => "{" + m.Groups[1].Value + "}");

    [GeneratedRegex(@"\{\**([A-Za-z0-9_]+)(?::[^}]*)?\}")]
    private static partial Regex RouteParameter();

    private static JsonNode? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
