using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AiGateway.Hosting;

/// <summary>
/// Binds Kestrel's request limits from <c>Kestrel:Limits</c> (e.g. <c>MaxRequestHeadersTotalSize</c>, <c>MaxRequestHeaderCount</c>,
/// <c>MaxRequestLineSize</c>, <c>RequestHeadersTimeout</c>, <c>MaxRequestBodySize</c>); unset keys keep Kestrel's defaults.
/// </summary>
public static class KestrelLimitsExtensions
{
    /// <summary>The configuration section holding Kestrel's limits.</summary>
    public const string SectionName = "Kestrel:Limits";

    /// <summary>Applies <c>Kestrel:Limits</c> from the final configuration when Kestrel's options are built.</summary>
    public static IServiceCollection AddGatewayKestrelLimits(this IServiceCollection services)
    {
        // Bound when the options are first built, not at start-up, so configuration layered on by the host (and by tests) counts.
        services.AddOptions<KestrelServerOptions>().Configure<IConfiguration>((options, configuration) =>
            configuration.GetSection(SectionName).Bind(options.Limits));
        return services;
    }
}
