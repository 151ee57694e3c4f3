using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace AiGateway.Hosting;

/// <summary>Start-up plumbing of the host: options, clock, schema, and the start-up hint for newcomers.</summary>
public static class HostingExtensions
{
    /// <summary>Adds gateway options, the system clock, ProblemDetails and the memory trim after bursts.</summary>
    public static IServiceCollection AddGatewayHosting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.SectionName)
            .Validate(o => o.KeyCacheTtl >= TimeSpan.Zero && o.KeyCacheTtl <= TimeSpan.FromMinutes(5), "Gateway:KeyCacheTtl must be between 0 and 5 minutes.")
            .Validate(o => o.MaxRequestBodyBytes > 0, "Gateway:MaxRequestBodyBytes must be positive.")
            .Validate(o => o.MemoryTrimInterval >= TimeSpan.Zero, "Gateway:MemoryTrimInterval must not be negative.")
            .Validate(o => o.MemoryTrimSurplusBytes > 0, "Gateway:MemoryTrimSurplusBytes must be positive.")
            .ValidateOnStart();
        services.AddHostedService<MemoryTrimService>();
        services.AddSingleton(TimeProvider.System);
        services.AddGatewayKestrelLimits();
        services.AddProblemDetails();
        return services;
    }

    /// <summary>Creates or upgrades the ledger schema before the first request.</summary>
    public static async Task InitializeLedgerAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AiGateway.Storage.Migrations");
        // Each migration is logged: converting a large ledger (0015 on 3 M SQLite calls: ≈ 5 min) delays the start.
        await LedgerDatabase.InitializeAsync(scope.ServiceProvider.GetRequiredService<LedgerDbContext>(), default,
            (id, elapsed) =>
            {
                if (elapsed is { } e) HostingLog.MigrationApplied(logger, id, e.TotalSeconds);
                else HostingLog.MigrationStarting(logger, id);
            });
    }

    /// <summary>Once listening, logs where the gateway is and how to create a first account and key.</summary>
    public static void LogStartupHelp(this WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AiGateway");
            var address = app.Services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                          ?? "http://127.0.0.1:8080";
            var adminConfigured = !string.IsNullOrEmpty(app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.AdminKey);
            HostingLog.StartupHelp(logger, StartupHelp(address, adminConfigured));
        });
    }

    /// <summary>The start-up hint: where the gateway listens and copy-paste commands for a first account, key and call.</summary>
    public static string StartupHelp(string address, bool adminConfigured) =>
        $$"""
        AiGateway listening on {{address}} (admin API {{(adminConfigured ? "enabled" : "disabled: set Gateway__AdminKey")}}).
          Admin key:          export ADMIN_KEY="$(cat data/admin-key.txt)"   (where scripts/run.sh keeps it; otherwise your Gateway__AdminKey value)
          Create an account:  curl -s -X POST {{address}}/admin/accounts -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json" -d '{"name":"demo"}'
          Create a key:       curl -s -X POST {{address}}/admin/accounts/<account id>/keys -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json" -d '{"name":"cli"}'
          Grant credits:      curl -s -X POST {{address}}/admin/accounts/<account id>/grants -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json" -d '{"kind":"bonus","credits":100,"reason":"welcome"}'
          Call a model:       OpenAI SDK base URL {{address}}/openai/v1 with the gateway key as the API key
        """;
}
