using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>
/// One real gateway host per seed test class (real WireMock upstream, own SQLite file), with helpers to create
/// accounts on the seed plans of config/plans.json and to make metered calls. Charges in the tests are computed
/// by hand from config/prices.json (1 credit = 1,000,000 micro-credits).
/// </summary>
public abstract class SeedTestBase : IAsyncLifetime
{
    /// <summary>The OpenAI chat completion every seed test upstream answers with: 19 prompt + 10 completion tokens.</summary>
    protected const string ChatJson = Samples.OpenAiChatJson;

    /// <summary>The upstream scope of this class's host.</summary>
    protected WireMockScope Upstream { get; private set; } = null!;

    /// <summary>The gateway host of this class.</summary>
    protected GatewayFactory Gateway { get; private set; } = null!;

    /// <summary>The host's clock, starting mid-month at noon UTC so periods can be crossed deliberately.</summary>
    protected SeedClock Clock { get; } = new(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Extra host settings of a test class.</summary>
    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Metering:MaxAttempts"] = "1" };

    public virtual async Task InitializeAsync()
    {
        Upstream = (await SharedWireMock.GetAsync()).NewScope();
        Gateway = new GatewayFactory(Upstream, Settings) { ConfigureServices = s => s.AddSingleton<TimeProvider>(Clock) };
        await Upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, ChatJson);
    }

    public virtual async Task DisposeAsync() => await Gateway.DisposeAsync();

    /// <summary>Creates an account (optionally on a plan, optionally with bonus credits) and a client with a key of it.</summary>
    protected async Task<(Guid AccountId, GatewayClient Client)> NewAccountAsync(string? plan = null, decimal credits = 0)
    {
        var (accountId, key, _) = await Gateway.CreateAccountWithKeyAsync("seed", plan, credits);
        return (accountId, new GatewayClient(Gateway, key));
    }

    /// <summary>Posts an OpenAI chat completion for <paramref name="model"/> through the gateway.</summary>
    protected static Task<HttpResponseMessage> ChatAsync(GatewayClient client, string model = "gpt-4o", string? task = null, string? feature = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        if (task is not null) request.Headers.Add("X-Gateway-Task", task);
        if (feature is not null) request.Headers.Add("X-Gateway-Feature", feature);
        return client.Http.SendAsync(request);
    }

    /// <summary>A credits header of a response as a decimal.</summary>
    protected static decimal Header(HttpResponseMessage response, string name) =>
        decimal.Parse(response.Headers.GetValues(name).Single(), CultureInfo.InvariantCulture);

    /// <summary>The request id of a metered response.</summary>
    protected static string RequestId(HttpResponseMessage response) => response.Headers.GetValues("X-Request-Id").Single();

    /// <summary>The lots of <c>GET /v1/credits</c>.</summary>
    protected static async Task<List<JsonObject>> LotsAsync(GatewayClient client) =>
        (await client.BalanceAsync())["lots"]!.AsArray().Select(l => l!.AsObject()).ToList();

    /// <summary>Sends an admin POST and returns the JSON answer (asserting success).</summary>
    protected async Task<JsonObject> AdminPostAsync(string path, object body)
    {
        using var admin = Gateway.CreateAdminClient();
        using var response = await admin.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
