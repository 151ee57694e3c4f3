using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using AiGateway.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AiGateway.Telemetry;

/// <summary>Registers the gateway's instruments and their OpenTelemetry export; maps the Prometheus scrape endpoint.</summary>
public static class TelemetryExtensions
{
    /// <summary>
    /// Adds <see cref="GatewayMetrics"/> and OpenTelemetry: metrics for the Prometheus endpoint and/or OTLP, traces for
    /// OTLP. Meters are only listened to when an export is on, so with both off the instruments cost a flag check.
    /// </summary>
    public static IServiceCollection AddGatewayTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.SectionName)
            .Validate(o => o.PrometheusPath.StartsWith('/'), "Telemetry:PrometheusPath must start with '/'.")
            .Validate(o => o.PrometheusPort is null or > 0 and <= 65535, "Telemetry:PrometheusPort must be a TCP port.")
            .Validate(o => o.PrometheusCacheMilliseconds is >= 0 and <= 60_000, "Telemetry:PrometheusCacheMilliseconds must be between 0 and 60000.")
            .ValidateOnStart();
        services.AddOptions<PrometheusAspNetCoreOptions>().Configure<IOptions<TelemetryOptions>>((prometheus, telemetry) =>
            prometheus.ScrapeResponseCacheDurationMilliseconds = telemetry.Value.PrometheusCacheMilliseconds);
        services.AddMetrics();
        services.AddSingleton<GatewayMetrics>();

        // OTLP is decided now (environment variables and config files are already loaded); the Prometheus switch is read
        // when the meter provider is built, so a hosting layer (tests) may still set it.
        var otlp = OtlpEndpoint(configuration);
        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService("aigateway"));
        otel.WithMetrics(metrics =>
        {
            metrics.AddPrometheusExporter();
            if (otlp is not null) metrics.AddOtlpExporter(o => o.Endpoint = otlp);
        });
        services.ConfigureOpenTelemetryMeterProvider((sp, metrics) =>
        {
            if (otlp is null && !sp.GetRequiredService<IOptions<TelemetryOptions>>().Value.PrometheusEnabled) return;
            metrics.AddMeter(GatewayMetrics.MeterName, GatewayMetrics.LedgerMeterName);
            // Meters are matched by name process-wide: export this host's gateway meter only, not another host's in the
            // same process (tests host several gateways; two instruments of one name would be merged or dropped).
            var own = sp.GetRequiredService<IMeterFactory>();
            metrics.AddView(instrument => instrument.Meter.Name == GatewayMetrics.MeterName && !ReferenceEquals(instrument.Meter.Scope, own)
                ? MetricStreamConfiguration.Drop : null);
        });
        if (otlp is not null)
        {
            otel.WithTracing(tracing => tracing
                .AddSource(GatewayActivitySource.Name)
                // The forwarded request's own span (System.Net.Http), a child of aigateway.forward.
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(o => o.Endpoint = otlp));
        }
        return services;
    }

    private static Uri? OtlpEndpoint(IConfiguration configuration)
    {
        var value = configuration[$"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.OtlpEndpoint)}"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) ? uri : null;
    }

    /// <summary>
    /// Maps the Prometheus scrape endpoint when <see cref="TelemetryOptions.PrometheusEnabled"/>: on
    /// <see cref="TelemetryOptions.PrometheusPort"/> only when one is set, otherwise for the admin key only.
    /// </summary>
    public static IEndpointRouteBuilder MapMetricsEndpoint(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (!options.PrometheusEnabled) return app;
        var gateway = app.ServiceProvider.GetRequiredService<IOptionsMonitor<GatewayOptions>>();
        app.MapPrometheusScrapingEndpoint(options.PrometheusPath, meterProvider: null,
            configureBranchedPipeline: branch => branch.Use(async (context, next) =>
            {
                if (ScrapeRefusal(context, options.PrometheusPort, gateway.CurrentValue.AdminKey) is { } status)
                {
                    context.Response.StatusCode = status;
                    return;
                }
                await next(context);
            }), optionsName: null);
        return app;
    }

    /// <summary>Why a scrape is refused: 404 on another port than the metrics port, 401 without the admin key; null to serve it.</summary>
    internal static int? ScrapeRefusal(HttpContext context, int? metricsPort, string? adminKey)
    {
        if (metricsPort is { } port) return context.Connection.LocalPort == port ? null : StatusCodes.Status404NotFound;
        if (string.IsNullOrEmpty(adminKey)) return StatusCodes.Status401Unauthorized;
        var presented = Providers.ProviderCredentials.Bearer(context.Request.Headers.Authorization) ?? "";
        // Compare hashes so the comparison time depends on neither key's length nor content (as AdminKeyFilter does).
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(adminKey)))
            ? null : StatusCodes.Status401Unauthorized;
    }
}
