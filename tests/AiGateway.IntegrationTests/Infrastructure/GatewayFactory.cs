using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>
/// The real gateway host on a real loopback Kestrel port, with its own SQLite file, an admin key and every
/// provider cluster pointed at a WireMock scope.
/// </summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    /// <summary>The admin key the test host is configured with.</summary>
    public const string AdminKey = "test-admin-key-0123456789";

    /// <summary>The provider keys the gateway injects (what WireMock must receive).</summary>
    public static readonly IReadOnlyDictionary<string, string> ProviderKeys = new Dictionary<string, string>
    {
        ["OPENAI_API_KEY"] = "sk-provider-openai-test",
        ["ANTHROPIC_API_KEY"] = "sk-ant-provider-test",
        ["GEMINI_API_KEY"] = "gemini-provider-test",
    };

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "aigw-tests", Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, string?> _settings;

    /// <summary>Creates a host whose providers all point at <paramref name="upstream"/>.</summary>
    public GatewayFactory(WireMockScope upstream, IDictionary<string, string?>? settings = null)
    {
        Upstream = upstream;
        Directory.CreateDirectory(_dataDir);
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Ledger"] = $"Data Source={Path.Combine(_dataDir, "gateway.db")}",
            ["Gateway:AdminKey"] = AdminKey,
            ["Metering:JournalPath"] = Path.Combine(_dataDir, "settlement-journal.jsonl"),
            ["Serilog:MinimumLevel:Default"] = "Warning",
            // Tests that are not about rate limits must not be throttled (e.g. 100 parallel calls of one account).
            ["RateLimits:PerKeyPerMinute"] = "0", ["RateLimits:PerAccountPerMinute"] = "0", ["RateLimits:ConcurrentPerAccount"] = "0",
            ["RateLimits:FailedAuthPerMinute"] = "0",
        };
        foreach (var cluster in new[] { "openai", "anthropic", "gemini", "deepseek" })
        {
            _settings[$"ReverseProxy:Clusters:{cluster}:Destinations:primary:Address"] = upstream.UpstreamAddress;
        }
        foreach (var (k, v) in ProviderKeys) _settings[k] = v;
        if (settings is not null)
        {
            foreach (var (k, v) in settings) _settings[k] = v;
        }
        UseKestrel(0);
    }

    /// <summary>The WireMock scope the providers point at.</summary>
    public WireMockScope Upstream { get; }

    /// <summary>The folder holding this host's SQLite file and journal.</summary>
    public string DataDirectory => _dataDir;

    /// <summary>The gateway's base address on loopback.</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            return ClientOptions.BaseAddress;
        }
    }

    /// <summary>Text appended to the SQLite connection string before the host starts (e.g. a short busy timeout).</summary>
    public string AppendToConnectionString { get; set; } = "";

    /// <summary>Service overrides applied after the host's own registrations (e.g. a test clock).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        _settings["ConnectionStrings:Ledger"] += AppendToConnectionString;
        builder.UseContentRoot(RepoPaths.Root);
        builder.UseEnvironment("Production");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
        if (ConfigureServices is { } configure) builder.ConfigureTestServices(configure);
    }

    /// <summary>An HTTP client for the admin API.</summary>
    public HttpClient CreateAdminClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }

    /// <summary>Creates an account and a key through the admin API, and grants it <paramref name="credits"/> bonus credits.</summary>
    public async Task<(Guid AccountId, string Key, Guid KeyId)> CreateAccountWithKeyAsync(string name = "test", string? plan = null, decimal credits = 1000)
    {
        using var admin = CreateAdminClient();
        var account = await (await admin.PostAsJsonAsync("/admin/accounts", new { name, plan })).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonObject>();
        var accountId = Guid.Parse(account!["id"]!.GetValue<string>());
        var key = await (await admin.PostAsJsonAsync($"/admin/accounts/{accountId}/keys", new { name = "k" })).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonObject>();
        if (credits > 0) await GrantAsync(accountId, credits);
        return (accountId, key!["key"]!.GetValue<string>(), Guid.Parse(key["id"]!.GetValue<string>()));
    }

    /// <summary>Grants credits through the admin API.</summary>
    public async Task GrantAsync(Guid accountId, decimal credits, string kind = "bonus", int? validDays = null, string? idempotencyKey = null)
    {
        using var admin = CreateAdminClient();
        using var response = await admin.PostAsJsonAsync($"/admin/accounts/{accountId}/grants",
            new { kind, credits, validDays, reason = "test grant", idempotencyKey });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Runs a query against the gateway's own database.</summary>
    public async Task<T> WithDbAsync<T>(Func<LedgerDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<LedgerDbContext>());
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        // Every GUID the host wrote to its SQLite file must be a 16-byte BLOB (migration 0015, Storage/SqliteGuid.cs).
        var database = Path.Combine(_dataDir, "gateway.db");
        if (_settings["ConnectionStrings:Ledger"]?.StartsWith($"Data Source={database}", StringComparison.Ordinal) == true && File.Exists(database))
        {
            var text = await GuidStorageScan.NonBlobGuidsAsync($"Data Source={database};Pooling=False");
            if (text.Count > 0) throw new InvalidOperationException("GUIDs written as something other than 16-byte BLOBs: " + string.Join("; ", text));
        }
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
