using Serilog;

namespace AiGateway.Hosting;

/// <summary>Serilog set-up from the <c>Serilog</c> configuration section (console by default).</summary>
public static class LoggingExtensions
{
    /// <summary>Replaces the default logging providers with Serilog configured from configuration.</summary>
    public static WebApplicationBuilder AddGatewayLogging(this WebApplicationBuilder builder)
    {
        var logger = new LoggerConfiguration()
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext()
            .CreateLogger();
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger, dispose: true);
        return builder;
    }
}
