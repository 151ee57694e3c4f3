using AiGateway.Providers;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Proxy;

/// <summary>
/// Refuses provider-route paths that could mean one thing to the gateway and another upstream: encoded slashes or
/// backslashes, empty or dot segments, double encoding and control characters (400 in the provider's shape, nothing forwarded).
/// </summary>
/// <remarks>
/// Kestrel decodes the path but keeps <c>%2F</c> encoded, and YARP forwards what it was given; an upstream that decodes
/// <c>..%2F</c> or collapses <c>//</c> could then serve a path outside the cluster's base path, or an endpoint the gateway
/// classified as unmetered. No provider SDK sends such paths, so refusing them costs legitimate clients nothing.
/// </remarks>
public sealed class ProviderPathGuardMiddleware(RequestDelegate next)
{
    /// <summary>Error code in OpenAI-shaped answers.</summary>
    public const string ErrorCode = "invalid_path";

    public async Task InvokeAsync(HttpContext context)
    {
        if (GatewayRoute.FormatOf(context.GetReverseProxyFeature().Route.Config) is { } format && !IsSafe(context))
        {
            await ProviderErrorWriter.WriteAsync(context, format, new GatewayError(GatewayErrorKind.BadRequest,
                "The request path is not allowed: encoded slashes, backslashes, empty or dot segments, double encoding and control characters are refused.",
                Code: ErrorCode));
            return;
        }
        await next(context);
    }

    /// <summary>True when both the raw request target and the decoded path are plain.</summary>
    public static bool IsSafe(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        var query = raw.IndexOf('?');
        var rawPath = query < 0 ? raw : raw[..query];
        if (rawPath.Contains("%2f", StringComparison.OrdinalIgnoreCase) || rawPath.Contains("%5c", StringComparison.OrdinalIgnoreCase) ||
            rawPath.Contains("%00", StringComparison.Ordinal) || rawPath.Contains('\\') || rawPath.Contains("//", StringComparison.Ordinal))
        {
            return false;
        }
        var path = context.Request.Path.Value ?? "";
        if (path.Contains("//", StringComparison.Ordinal)) return false;
        foreach (var c in path)
        {
            // '%' left after Kestrel's decoding means the client encoded twice.
            if (c < 0x20 || c == 0x7F || c == '%' || c == '\\') return false;
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "." or "..") return false;
        }
        return true;
    }
}
