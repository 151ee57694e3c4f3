namespace AiGateway.Telemetry;

/// <summary>Metrics and traces export, bound from the <c>Telemetry</c> section (README "Metrics and traces").</summary>
public sealed class TelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Telemetry";

    /// <summary>Serves the Prometheus scrape endpoint <see cref="PrometheusPath"/> (off by default).</summary>
    public bool PrometheusEnabled { get; set; }

    /// <summary>The scrape endpoint's path.</summary>
    public string PrometheusPath { get; set; } = "/metrics";

    /// <summary>
    /// When set, the scrape endpoint answers only requests that arrived on this local port (listen on it with
    /// <c>Urls</c>, bound to an internal interface), and needs no key there; otherwise it needs the admin key.
    /// </summary>
    public int? PrometheusPort { get; set; }

    /// <summary>
    /// How long a scrape's answer is reused for the next scrapes (the exporter's protection against scrape storms);
    /// 0 collects on every scrape.
    /// </summary>
    public int PrometheusCacheMilliseconds { get; set; } = 300;

    /// <summary>OTLP collector endpoint for metrics and traces; the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> works too.</summary>
    public string? OtlpEndpoint { get; set; }
}
