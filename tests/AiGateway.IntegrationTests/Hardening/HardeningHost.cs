using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>The three client wire formats plus the estimate dry run, as the hardening tests address them.</summary>
public enum Target
{
    OpenAi,
    Anthropic,
    Gemini,
    Estimate,
}

/// <summary>
/// One gateway, one account and 200-with-usage stubs for every provider, shared by a test class (starting a host per
/// case would make the theories slow); tests compare balances and upstream counts before and after each call.
/// </summary>
public sealed class HardeningHost : IAsyncLifetime
{
    /// <summary>Credits granted to the account at start.</summary>
    public const decimal Granted = 1000m;

    /// <summary>The upstream WireMock scope.</summary>
    public WireMockScope Upstream { get; private set; } = null!;

    /// <summary>The gateway under test.</summary>
    public GatewayFactory Gateway { get; private set; } = null!;

    /// <summary>The account's gateway key.</summary>
    public string Key { get; private set; } = "";

    /// <summary>The account id.</summary>
    public Guid AccountId { get; private set; }

    /// <summary>A client carrying the key as Bearer (user API).</summary>
    public GatewayClient Client { get; private set; } = null!;

    private readonly IDictionary<string, string?> _settings;

    /// <summary>A host with the test defaults (rate limits off); xUnit class fixtures need exactly one public constructor.</summary>
    public HardeningHost() : this(new Dictionary<string, string?>())
    {
    }

    /// <summary>A host with extra configuration settings.</summary>
    private HardeningHost(IDictionary<string, string?> settings)
    {
        // The console sink becomes a file sink at Information: tests read what the gateway logged (keys must never appear),
        // and thousands of fuzzed calls stay off the test console.
        _settings = new Dictionary<string, string?>
        {
            ["Serilog:Using:1"] = "Serilog.Sinks.File",
            ["Serilog:WriteTo:0:Name"] = "File",
            ["Serilog:WriteTo:0:Args:path"] = LogPath,
            ["Serilog:WriteTo:0:Args:shared"] = "true",
            ["Serilog:WriteTo:0:Args:flushToDiskInterval"] = "00:00:00.100",
            ["Serilog:MinimumLevel:Default"] = "Information",
        };
        foreach (var (k, v) in settings) _settings[k] = v;
    }

    /// <summary>The file the gateway logs to.</summary>
    public string LogPath { get; } = Path.Combine(Path.GetTempPath(), "aigw-tests", "log-" + Guid.NewGuid().ToString("N") + ".txt");

    /// <summary>Everything the gateway logged so far (the file sink is shared, so it can be read while the host runs).</summary>
    public async Task<string> ReadLogAsync()
    {
        await Task.Delay(300); // one flush interval and then some
        if (!File.Exists(LogPath)) return "";
        await using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Starts a host with extra settings; the caller disposes it.</summary>
    public static async Task<HardeningHost> StartAsync(IDictionary<string, string?> settings)
    {
        var host = new HardeningHost(settings);
        await host.InitializeAsync();
        return host;
    }

    /// <summary>The usual good body of a target.</summary>
    public static string GoodBody(Target target) => target switch
    {
        Target.Anthropic => """{"model":"claude-sonnet-4-20250514","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""",
        Target.Gemini => """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":64}}""",
        _ => """{"model":"gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""",
    };

    /// <summary>The gateway path a target is called on.</summary>
    public static string PathOf(Target target, string geminiModel = "gemini-2.5-flash") => target switch
    {
        Target.Anthropic => "/anthropic/v1/messages",
        Target.Gemini => $"/gemini/v1beta/models/{geminiModel}:generateContent",
        Target.Estimate => "/v1/credits/estimate/openai/v1/chat/completions",
        _ => "/openai/v1/chat/completions",
    };

    /// <summary>A POST of raw bytes to a target with the key in that SDK's header.</summary>
    public HttpRequestMessage Request(Target target, byte[] body, string? path = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path ?? PathOf(target)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        AddKey(request, target, Key);
        return request;
    }

    /// <summary>Puts a key where the target's SDK puts it.</summary>
    public static void AddKey(HttpRequestMessage request, Target target, string key)
    {
        switch (target)
        {
            case Target.Anthropic:
                request.Headers.Add("x-api-key", key);
                request.Headers.Add("anthropic-version", "2023-06-01");
                break;
            case Target.Gemini:
                request.Headers.Add("x-goog-api-key", key);
                break;
            default:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                break;
        }
    }

    /// <summary>Sends a body to a target with the shared client.</summary>
    public async Task<HttpResponseMessage> SendAsync(Target target, byte[] body, string? path = null)
    {
        using var request = Request(target, body, path);
        return await Http.SendAsync(request);
    }

    /// <summary>Sends a string body to a target.</summary>
    public Task<HttpResponseMessage> SendAsync(Target target, string body) => SendAsync(target, Encoding.UTF8.GetBytes(body));

    /// <summary>A plain client without default headers (keys are added per request).</summary>
    public HttpClient Http { get; private set; } = null!;

    /// <summary>Balance snapshot: available and held credits.</summary>
    public async Task<(decimal Available, decimal Held)> BalanceAsync()
    {
        var balance = await Client.BalanceAsync();
        return (balance["available"]!.GetValue<decimal>(), balance["held"]!.GetValue<decimal>());
    }

    /// <summary>How many requests the upstream received so far.</summary>
    public async Task<int> ReceivedCountAsync() => (await Upstream.ReceivedAsync()).Count;

    /// <summary>Stubs the three providers' metered endpoints with 200 and a usage body.</summary>
    public async Task StubProvidersAsync(JsonObject? extraResponse = null)
    {
        await Upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson, extraResponse);
        await Upstream.StubJsonAsync("POST", "/v1/messages", 200, Samples.AnthropicMessageJson, extraResponse);
        await Upstream.StubJsonAsync("POST", "/v1beta/models/gemini-2.5-flash:generateContent", 200, Samples.GeminiJson, extraResponse);
    }

    public async Task InitializeAsync()
    {
        Upstream = (await SharedWireMock.GetAsync()).NewScope();
        Gateway = new GatewayFactory(Upstream, _settings);
        (AccountId, Key, _) = await Gateway.CreateAccountWithKeyAsync(credits: Granted);
        Client = new GatewayClient(Gateway, Key);
        Http = Gateway.CreateClient();
        Http.Timeout = TimeSpan.FromSeconds(60);
        await StubProvidersAsync();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Client.Dispose();
        await Gateway.DisposeAsync();
        try
        {
            File.Delete(LogPath);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The response body parsed as JSON (null when it is not JSON).</summary>
    public static async Task<JsonNode?> JsonOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>The error type/status of a provider-shaped error body, or null when the body has none of the shapes.</summary>
    public static string? ErrorTypeOf(Target target, JsonNode? body) => target switch
    {
        Target.Anthropic => body?["type"]?.GetValue<string>() == "error" ? body["error"]?["type"]?.GetValue<string>() : null,
        Target.Gemini => body?["error"]?["status"]?.GetValue<string>(),
        _ => body?["error"]?["type"]?.GetValue<string>(),
    };

    /// <summary>Creates a further key of the same account (admin API).</summary>
    public async Task<string> CreateKeyAsync()
    {
        using var admin = Gateway.CreateAdminClient();
        var key = await (await admin.PostAsJsonAsync($"/admin/accounts/{AccountId}/keys", new { name = "extra" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        return key!["key"]!.GetValue<string>();
    }
}
