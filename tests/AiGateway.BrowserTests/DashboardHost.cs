using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.Dashboard;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.BrowserTests;

/// <summary>
/// The real gateway on a loopback Kestrel port with its own SQLite file and providers pointed at a WireMock scope,
/// like the integration tests' <c>GatewayFactory</c>, plus the dashboard's static files (added by a startup filter
/// so the tests do not depend on Program.cs calling <c>MapDashboard</c>; where it does, the first copy answers).
/// </summary>
public sealed class DashboardHost : WebApplicationFactory<Program>
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "aigw-browser-tests", Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, string?> _settings;

    /// <summary>Creates a host whose providers all point at <paramref name="upstream"/>, with <paramref name="extra"/> settings on top.</summary>
    public DashboardHost(WireMockScope upstream, IReadOnlyDictionary<string, string?>? extra = null)
    {
        Directory.CreateDirectory(_dataDir);
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Ledger"] = $"Data Source={Path.Combine(_dataDir, "gateway.db")}",
            ["Gateway:AdminKey"] = GatewayFactory.AdminKey,
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        foreach (var cluster in new[] { "openai", "anthropic", "gemini", "deepseek" })
        {
            _settings[$"ReverseProxy:Clusters:{cluster}:Destinations:primary:Address"] = upstream.UpstreamAddress;
        }
        foreach (var (k, v) in GatewayFactory.ProviderKeys) _settings[k] = v;
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>()) _settings[k] = v;
        UseKestrel(0);
    }

    /// <summary>The gateway's base address on loopback (starts the server).</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            return ClientOptions.BaseAddress;
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseContentRoot(RepoPaths.Root);
        builder.UseEnvironment("Production");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
        builder.ConfigureServices(services => services.AddTransient<IStartupFilter, DashboardStartupFilter>());
    }

    /// <summary>An HTTP client with the admin key.</summary>
    public HttpClient CreateAdminClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayFactory.AdminKey);
        return client;
    }

    /// <summary>An HTTP client with a gateway key.</summary>
    public HttpClient CreateKeyClient(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Creates an account with one key and a bonus grant through the admin API.</summary>
    public async Task<(Guid AccountId, string Key)> CreateAccountWithKeyAsync(string name, decimal credits)
    {
        using var admin = CreateAdminClient();
        var account = await (await admin.PostAsJsonAsync("/admin/accounts", new { name })).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonObject>();
        var id = Guid.Parse(account!["id"]!.GetValue<string>());
        var key = await (await admin.PostAsJsonAsync($"/admin/accounts/{id}/keys", new { name = "web" })).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonObject>();
        (await admin.PostAsJsonAsync($"/admin/accounts/{id}/grants",
            new { kind = "addon", credits, validDays = 3, reason = "Add-on pack" })).EnsureSuccessStatusCode();
        return (id, key!["key"]!.GetValue<string>());
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class DashboardStartupFilter : IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) =>
            app =>
            {
                app.UseDashboard();
                next(app);
            };
    }
}
