using AiGateway.Providers;
using Yarp.ReverseProxy.Configuration;

namespace AiGateway.Proxy;

/// <summary>Reads the gateway's metadata from YARP route and cluster configuration.</summary>
public static class GatewayRoute
{
    /// <summary>Route metadata key naming the client wire format (OpenAi, Anthropic, Gemini).</summary>
    public const string FormatKey = "Format";

    /// <summary>Cluster metadata key naming the configuration key (usually an environment variable) holding the provider's API key.</summary>
    public const string ApiKeyVariableKey = "ApiKeyVariable";

    /// <summary>The route's provider format, or null for routes that are not provider routes.</summary>
    public static ProviderFormat? FormatOf(RouteConfig route) =>
        route.Metadata is not null && route.Metadata.TryGetValue(FormatKey, out var text) &&
        Enum.TryParse<ProviderFormat>(text, ignoreCase: true, out var format)
            ? format
            : null;

    /// <summary>The configuration key holding the cluster's provider key, or null.</summary>
    public static string? ApiKeyVariableOf(ClusterConfig? cluster) =>
        cluster?.Metadata is not null && cluster.Metadata.TryGetValue(ApiKeyVariableKey, out var name) && !string.IsNullOrWhiteSpace(name)
            ? name
            : null;
}
