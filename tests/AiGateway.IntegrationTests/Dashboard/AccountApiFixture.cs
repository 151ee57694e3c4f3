using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Dashboard;

/// <summary>
/// One gateway with two accounts and real metered calls through WireMock, shared (read-only) by the account API tests:
/// account A has two keys (plus a revoked one) and four calls (three gpt-4o 200s with features, one gpt-4o-mini the
/// upstream refuses with 400); account B has one call.
/// </summary>
public class AccountApiFixture : IAsyncLifetime
{
    /// <summary>Account A's name: a comma and quotes, so CSV quoting is exercised.</summary>
    public const string NameA = "Acme, \"Quoted\" Co";

    /// <summary>The running gateway.</summary>
    public GatewayFactory Gateway { get; private set; } = null!;

    /// <summary>Account A's id.</summary>
    public Guid AccountA { get; private set; }

    /// <summary>Account B's id.</summary>
    public Guid AccountB { get; private set; }

    /// <summary>A client with account A's first key.</summary>
    public GatewayClient A { get; private set; } = null!;

    /// <summary>A client with account A's second key.</summary>
    public GatewayClient A2 { get; private set; } = null!;

    /// <summary>A client with account B's key.</summary>
    public GatewayClient B { get; private set; } = null!;

    /// <summary>Key ids of account A: first, second and the revoked one.</summary>
    public Guid KeyA1 { get; private set; }

    /// <summary>Account A's second key id.</summary>
    public Guid KeyA2 { get; private set; }

    /// <summary>Account A's revoked key id.</summary>
    public Guid KeyRevoked { get; private set; }

    /// <summary>Request ids of account A's calls, oldest first.</summary>
    public List<string> CallsA { get; } = [];

    /// <summary>Request id of account B's call.</summary>
    public string CallB { get; private set; } = "";

    /// <summary>Extra host settings (the database); none means the default SQLite file.</summary>
    protected virtual Task<IDictionary<string, string?>?> CreateSettingsAsync() => Task.FromResult<IDictionary<string, string?>?>(null);

    /// <summary>Removes what <see cref="CreateSettingsAsync"/> made.</summary>
    protected virtual Task DropAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        // Exact holds, explicitly (leases are on by default): the activity tests read each call's hold/settle/release
        // entries, which exact holds write. Calls held against a credit lease write one settle entry each (note
        // "leased") and nothing for holds and releases, which stay in memory; the lease tests cover that path.
        var settings = await CreateSettingsAsync() ?? new Dictionary<string, string?>();
        settings["Ledger:Leases"] = "false";
        Gateway = new GatewayFactory(upstream, settings);
        await upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 400,
            ["body"] = """{"error":{"message":"bad model","type":"invalid_request_error","param":null,"code":null}}""",
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
        }, priority: 1, extraRequest: new JsonObject { ["bodyPatterns"] = new JsonArray(new JsonObject { ["contains"] = "gpt-4o-mini" }) });
        await upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200,
            ["body"] = Samples.OpenAiChatJson,
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
        }, priority: 5);

        (AccountA, var keyA, KeyA1) = await Gateway.CreateAccountWithKeyAsync(NameA, credits: 100);
        (AccountB, var keyB, _) = await Gateway.CreateAccountWithKeyAsync("beta-other", credits: 50);
        using var admin = Gateway.CreateAdminClient();
        var second = await (await admin.PostAsJsonAsync($"/admin/accounts/{AccountA}/keys", new { name = "cli" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        KeyA2 = Guid.Parse(second!["id"]!.GetValue<string>());
        var revoked = await (await admin.PostAsJsonAsync($"/admin/accounts/{AccountA}/keys", new { name = "old" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        KeyRevoked = Guid.Parse(revoked!["id"]!.GetValue<string>());
        (await admin.DeleteAsync($"/admin/keys/{KeyRevoked}")).EnsureSuccessStatusCode();

        A = new GatewayClient(Gateway, keyA);
        A2 = new GatewayClient(Gateway, second["key"]!.GetValue<string>());
        B = new GatewayClient(Gateway, keyB);

        CallsA.Add(await CallAsync(A, "gpt-4o", "draft"));
        CallsA.Add(await CallAsync(A, "gpt-4o", "chat, \"summary\""));
        CallsA.Add(await CallAsync(A, "gpt-4o-mini", "draft"));
        CallsA.Add(await CallAsync(A2, "gpt-4o", null));
        CallB = await CallAsync(B, "gpt-4o", "draft");
    }

    /// <summary>Makes one chat call and waits for its record; returns the request id.</summary>
    public static async Task<string> CallAsync(GatewayClient client, string model, string? feature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hello"}]}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        if (feature is not null) request.Headers.Add("X-Gateway-Feature", feature);
        using var response = await client.Http.SendAsync(request);
        var id = response.Headers.GetValues("X-Request-Id").Single();
        await client.CallAsync(id);
        return id;
    }

    public async Task DisposeAsync()
    {
        A.Dispose();
        A2.Dispose();
        B.Dispose();
        await Gateway.DisposeAsync();
        await DropAsync();
    }
}
