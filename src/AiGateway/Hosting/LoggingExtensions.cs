using Serilog;

namespace AiGateway.Hosting;

/// <summary>Serilog set-up from the <c>Serilog</c> configuration section (console by default).</summary>
public static class LoggingExtensions
{
    /// <summary>Replaces the default logging providers with Serilog configured from configuration.</summary>
    public static WebApplicationBuilder AddGatewayLogging(this WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        // Built from the final configuration when the container first needs a logger, not from builder.Configuration now:
        // configuration added later by a hosting layer (WebApplicationFactory in tests) would otherwise be ignored.
        builder.Logging.Services.AddSingleton<ILoggerProvider>(services => new Serilog.Extensions.Logging.SerilogLoggerProvider(
            new LoggerConfiguration().ReadFrom.Configuration(services.GetRequiredService<IConfiguration>()).Enrich.FromLogContext().CreateLogger(),
            dispose: true));
        return builder;
    }
}
