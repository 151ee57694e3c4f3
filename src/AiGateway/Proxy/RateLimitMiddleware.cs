using System.Globalization;
using AiGateway.Accounts;
using AiGateway.Providers;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Proxy;

/// <summary>
/// Applies <see cref="GatewayRateLimiter"/> to authenticated provider calls: over a limit the call is refused with 429,
/// a <c>Retry-After</c> header and the provider's error shape, before anything is read, held or forwarded.
/// </summary>
public sealed class RateLimitMiddleware(RequestDelegate next, GatewayRateLimiter limiter, Telemetry.GatewayMetrics metrics)
{
    /// <summary>Error code in OpenAI-shaped answers.</summary>
    public const string ErrorCode = "rate_limit_exceeded";

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetCallerAccount() is not { } caller || GatewayRoute.FormatOf(context.GetReverseProxyFeature().Route.Config) is not { } format)
        {
            await next(context);
            return;
        }
        // Held until the call (including a stream) ends, so the concurrency slot covers the whole call.
        using var admission = limiter.Admit(caller);
        if (!admission.IsAcquired)
        {
            metrics.RateLimited(admission.Limit ?? "unknown");
            var seconds = Math.Max(1, (int)Math.Ceiling(admission.RetryAfter.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await ProviderErrorWriter.WriteAsync(context, format,
                new GatewayError(GatewayErrorKind.RateLimited, $"{admission.Refusal} Retry after {seconds} s.", Code: ErrorCode));
            return;
        }
        await next(context);
    }
}
