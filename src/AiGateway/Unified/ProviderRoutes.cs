using AiGateway.Providers;
using AiGateway.Proxy;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Unified;

/// <summary>A native provider route the unified endpoint can hand a call to: its route, cluster, wire format and path prefix.</summary>
/// <param name="Route">The YARP route (its transforms put the provider key in place and strip <paramref name="Prefix"/>).</param>
/// <param name="Cluster">The route's cluster.</param>
/// <param name="Format">The provider's wire format.</param>
/// <param name="Prefix">The route's path prefix, e.g. <c>/anthropic</c>.</param>
public sealed record ProviderRoute(RouteModel Route, ClusterState Cluster, ProviderFormat Format, string Prefix);

/// <summary>
/// Finds the native route serving a price book provider: the provider route (one with a <c>Format</c>) whose cluster is
/// named after the provider (<c>anthropic</c>, <c>gemini</c>, <c>deepseek</c>…) and whose path is <c>/prefix/{**rest}</c>.
/// Read from YARP's live state, so a configuration reload is seen at once.
/// </summary>
public sealed class ProviderRoutes(IProxyStateLookup proxy)
{
    /// <summary>Route metadata key marking the unified endpoint's own routes (never a target).</summary>
    public const string UnifiedKey = "Unified";

    private const string RestSuffix = "/{**rest}";

    /// <summary>Whether <paramref name="route"/> is one of the unified endpoint's routes.</summary>
    public static bool IsUnified(RouteConfig route) =>
        route.Metadata is not null && route.Metadata.TryGetValue(UnifiedKey, out var value) && bool.TryParse(value, out var on) && on;

    /// <summary>The route serving <paramref name="provider"/>, or null when none is configured.</summary>
    public ProviderRoute? Find(string provider)
    {
        foreach (var route in proxy.GetRoutes())
        {
            var config = route.Config;
            if (IsUnified(config) || GatewayRoute.FormatOf(config) is not { } format || route.Cluster is not { } cluster) continue;
            if (!string.Equals(config.ClusterId, provider, StringComparison.OrdinalIgnoreCase)) continue;
            var path = config.Match.Path;
            if (path is null || !path.EndsWith(RestSuffix, StringComparison.Ordinal)) continue;
            return new ProviderRoute(route, cluster, format, path[..^RestSuffix.Length]);
        }
        return null;
    }
}
