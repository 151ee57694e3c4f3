using AiGateway.Accounts;
using AiGateway.Providers;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Proxy;

/// <summary>
/// First step of every provider call: the gateway key in the SDK's native header must name a live account (else 401 in
/// the provider's shape). An address with too many failures gets 429 for keys that would need a lookup (<see cref="AuthFailureLimiter"/>).
/// </summary>
public sealed class GatewayAuthMiddleware(RequestDelegate next, GatewayKeyAuthenticator authenticator, AuthFailureLimiter failures, Telemetry.GatewayMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var route = context.GetReverseProxyFeature().Route.Config;
        if (GatewayRoute.FormatOf(route) is not { } format)
        {
            await next(context);
            return;
        }
        var presented = ProviderCredentials.ReadClientKey(context.Request, format);
        CallerAccount? caller;
        try
        {
            if (!authenticator.TryResolveCached(presented, out caller))
            {
                if (failures.IsBlocked(context, out var retryAfter))
                {
                    await WriteTooManyFailuresAsync(context, format, retryAfter);
                    return;
                }
                caller = await authenticator.AuthenticateAsync(presented, context.RequestAborted);
            }
        }
        catch (Exception ex) when (Metering.DatabaseFailure.Is(ex))
        {
            // Fail closed: without the database no key can be checked, so nothing is forwarded.
            context.Response.Headers.RetryAfter = "2";
            await ProviderErrorWriter.WriteAsync(context, format, new GatewayError(GatewayErrorKind.Unavailable,
                "The gateway is temporarily unable to check API keys. Retry shortly."));
            return;
        }
        if (caller is null)
        {
            if (!failures.TryRecordFailure(context, out var wait))
            {
                await WriteTooManyFailuresAsync(context, format, wait);
                return;
            }
            var message = presented is null
                ? "Missing API key. Send your gateway key the way your SDK sends its API key."
                : "Invalid API key (unknown or revoked gateway key).";
            await ProviderErrorWriter.WriteAsync(context, format,
                new GatewayError(GatewayErrorKind.Unauthorized, message, Code: "invalid_api_key"));
            return;
        }
        context.SetCallerAccount(caller);
        await next(context);
    }

    private Task WriteTooManyFailuresAsync(HttpContext context, ProviderFormat format, TimeSpan retryAfter)
    {
        metrics.RateLimited("failed_auth");
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ProviderErrorWriter.WriteAsync(context, format, new GatewayError(GatewayErrorKind.RateLimited,
            $"Too many failed authentications from this address. Retry after {seconds} s.", Code: RateLimitMiddleware.ErrorCode));
    }
}
