using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Telemetry;

/// <summary>
/// The meters are process-wide by name, and an OpenTelemetry meter provider listens to every meter of that name: the
/// scrape test runs alone (no other gateway in this process makes calls meanwhile), so the counters' deltas are exact.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics (runs alone)";
}

/// <summary>
/// <c>/metrics</c> after real metered calls: JSON and stream charged, a 402 refusal and a 429 rate-limit refusal, each
/// counter checked against what the responses and call records say.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private const string Body = """{"model":"gpt-4o","messages":[{"role":"user","content":"count the sheep"}]}""";
    private const string StreamBody = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"count the sheep"}]}""";
    private WireMockScope _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = (await SharedWireMock.GetAsync()).NewScope();
        _gateway = new GatewayFactory(_upstream, new Dictionary<string, string?>
        {
            ["Telemetry:PrometheusEnabled"] = "true",
            // Every scrape collects (the default reuses an answer for 300 ms, and warm calls are faster than that).
            ["Telemetry:PrometheusCacheMilliseconds"] = "0",
            // Two calls a minute per key: the third call of one key is refused (how many get through is read from the answers).
            ["RateLimits:PerKeyPerMinute"] = "2",
        });
        await StubAsync(_upstream);
    }

    /// <summary>Streams answer with SSE, other calls with the JSON fixture.</summary>
    internal static async Task StubAsync(WireMockScope upstream)
    {
        await upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200, ["body"] = Samples.OpenAiChatSse("Hel", "lo"),
            ["headers"] = new JsonObject { ["Content-Type"] = "text/event-stream" },
        }, priority: 1, extraRequest: new JsonObject { ["bodyPatterns"] = new JsonArray(new JsonObject { ["contains"] = "\"stream\":true" }) });
        await upstream.StubAsync("POST", "/v1/chat/completions", new JsonObject
        {
            ["status"] = 200, ["body"] = Fixtures.Read("openai/chat-completion.json"),
            ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
        }, priority: 5);
    }

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    private async Task<PrometheusScrape> ScrapeAsync()
    {
        using var admin = _gateway.CreateAdminClient();
        using var response = await admin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new PrometheusScrape(await response.Content.ReadAsStringAsync());
    }

    private static long Micro(HttpResponseMessage response, string header) =>
        (long)(decimal.Parse(response.Headers.GetValues(header).Single(), CultureInfo.InvariantCulture) * 1_000_000m);

    [Fact]
    public async Task Scrape_AfterJsonStreamRefusedAndRateLimitedCalls_CountersMoveByExactlyWhatTheCallsSay()
    {
        var (account, key, keyId) = await _gateway.CreateAccountWithKeyAsync("rich", credits: 10);
        var (brokeAccount, brokeKey, _) = await _gateway.CreateAccountWithKeyAsync("broke", credits: 0);
        using var client = new GatewayClient(_gateway, key);
        using var broke = new GatewayClient(_gateway, brokeKey);
        var before = await ScrapeAsync();

        long charged = 0, held = 0;
        var ok = new List<string>();
        // 1. A JSON call: charged what X-Credits-Charged says.
        using (var json = await client.PostJsonAsync("/openai/v1/chat/completions", Body))
        {
            Assert.Equal(HttpStatusCode.OK, json.StatusCode);
            charged += Micro(json, "X-Credits-Charged");
            held += Micro(json, "X-Credits-Held");
            ok.Add(json.Headers.GetValues("X-Request-Id").Single());
        }
        // 2. A stream: its charge is on its call record (headers go out before the usage arrives).
        using (var stream = await client.PostJsonAsync("/openai/v1/chat/completions", StreamBody))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            Assert.Contains("data: [DONE]", await stream.Content.ReadAsStringAsync());
            held += Micro(stream, "X-Credits-Held");
            var id = stream.Headers.GetValues("X-Request-Id").Single();
            ok.Add(id);
            charged += (long)((await client.CallAsync(id))["credits"]!.GetValue<decimal>() * 1_000_000m);
        }
        // 3. A 402: no credits.
        using (var refused = await broke.PostJsonAsync("/openai/v1/chat/completions", Body))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
            await broke.CallAsync(refused.Headers.GetValues("X-Request-Id").Single());
        }
        // 4. The key's third call within the minute is rate-limited (should a token have come back meanwhile, the call
        //    went through and is counted as such: the loop stops at the first 429).
        var limited = 0;
        for (var i = 0; i < 5 && limited == 0; i++)
        {
            using var response = await client.PostJsonAsync("/openai/v1/chat/completions", StreamBody);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited++;
                continue;
            }
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
            held += Micro(response, "X-Credits-Held");
            var id = response.Headers.GetValues("X-Request-Id").Single();
            ok.Add(id);
            charged += (long)((await client.CallAsync(id))["credits"]!.GetValue<decimal>() * 1_000_000m);
        }
        Assert.Equal(1, limited);
        // Every call's record exists, so every call has ended (the counters move before the record is written).
        foreach (var id in ok) await client.CallAsync(id);

        var after = await ScrapeAsync();
        double Delta(string name, params (string, string)[] labels) => after.Sum(name, labels) - before.Sum(name, labels);

        Assert.True(charged > 0);
        Assert.Equal(charged, Delta("aigateway_credits_charged_total", ("provider", "openai"), ("model", "gpt-4o")));
        Assert.Equal(held, Delta("aigateway_credits_held_total", ("provider", "openai"), ("model", "gpt-4o")));
        Assert.Equal(ok.Count, Delta("aigateway_calls_total", ("provider", "openai"), ("model", "gpt-4o"), ("status_class", "2xx"), ("usage_source", "provider")));
        Assert.Equal(1, Delta("aigateway_calls_total", ("status_class", "4xx"), ("usage_source", "none")));
        Assert.Equal(ok.Count + 1, Delta("aigateway_calls_total"));
        Assert.Equal(1, Delta("aigateway_admission_refusals_total", ("reason", "insufficient_quota")));
        Assert.Equal(1, Delta("aigateway_admission_refusals_total"));
        Assert.Equal(1, Delta("aigateway_rate_limit_refusals_total", ("limit", "key")));
        Assert.Equal(ok.Count, Delta("aigateway_upstream_attempts_total", ("provider", "openai"), ("outcome", "2xx")));
        Assert.Equal(ok.Count, Delta("aigateway_upstream_duration_seconds_count", ("provider", "openai"), ("status_class", "2xx")));
        Assert.Equal(0, after.Sum("aigateway_streams_open", ("provider", "openai")));
        Assert.True(after.Has("aigateway_streams_open"), after.Text);
        Assert.Equal(0, after.Sum("aigateway_settlement_journal_depth"));
        Assert.True(after.Has("aigateway_settlement_journal_depth"), after.Text);
        // The circuit of the destination that answered is closed (0).
        Assert.True(after.Has("aigateway_circuit_breaker_state"), after.Text);
        Assert.Equal(0, after.Sum("aigateway_circuit_breaker_state", ("provider", "openai"), ("destination", "primary")));
        // The ledger's own counter is exported (not duplicated): every admitted call held and settled in a transaction.
        Assert.True(Delta("aigateway_ledger_transactions_total") >= 2 * ok.Count, after.Text);
        Assert.True(Delta("aigateway_ledger_operation_duration_seconds_count", ("outcome", "commit")) >= 2 * ok.Count, after.Text);
        // Nothing about accounts, keys or prompts.
        foreach (var secret in new[] { key, key[..12], brokeKey, account.ToString(), brokeAccount.ToString(), keyId.ToString(), ok[0], "sheep" })
            Assert.DoesNotContain(secret, after.Text);
    }

    [Fact]
    public async Task Scrape_WithoutOrWithWrongAdminKey_Is401AndHasNoBody()
    {
        using var anonymous = _gateway.CreateClient();
        using var none = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("", await none.Content.ReadAsStringAsync());

        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayFactory.AdminKey + "x");
        using var wrong = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("", await wrong.Content.ReadAsStringAsync());
    }
}

/// <summary>With the default configuration there is no scrape endpoint at all, even for the admin key.</summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsEndpointOffTests
{
    [Fact]
    public async Task Scrape_ByDefault_Is404EvenWithTheAdminKey()
    {
        await using var gateway = new GatewayFactory((await SharedWireMock.GetAsync()).NewScope());
        using var admin = gateway.CreateAdminClient();
        using var response = await admin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
