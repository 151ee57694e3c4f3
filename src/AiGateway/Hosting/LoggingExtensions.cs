using Serilog;

namespace AiGateway.Hosting;

/// <summary>Serilog set-up from the <c>Serilog</c> configuration section (console by default).</summary>
public static class LoggingExtensions
{
    /// <summary>Makes Serilog, configured from configuration, the host's logger and registers its <see cref="IDiagnosticContext"/>.</summary>
    public static WebApplicationBuilder AddGatewayLogging(this WebApplicationBuilder builder)
    {
        // The delegate runs when the container first needs a logger, so configuration added later by a hosting layer
        // (WebApplicationFactory in tests) is seen. The static Log.Logger is left alone: tests run several gateways in
        // one process, and each must write to its own sinks.
        builder.Services.AddSerilog(
            (services, logger) => logger.ReadFrom.Configuration(services.GetRequiredService<IConfiguration>()).Enrich.FromLogContext(),
            preserveStaticLogger: true);
        return builder;
    }
}
