using System.Globalization;
using AiGateway.Accounts;
using AiGateway.Providers;
using AiGateway.Proxy;

namespace AiGateway.Api;

/// <summary>
/// Authenticates the user API with a gateway key (<c>Authorization: Bearer</c>, <c>x-api-key</c> or <c>x-goog-api-key</c>);
/// failed authentications count against the client's address as on provider routes (<see cref="AuthFailureLimiter"/>).
/// </summary>
public sealed class GatewayKeyFilter(GatewayKeyAuthenticator authenticator, AuthFailureLimiter failures) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var headers = http.Request.Headers;
        var presented = ProviderCredentials.Bearer(headers.Authorization)
                        ?? (headers["x-api-key"].ToString() is { Length: > 0 } apiKey ? apiKey : headers["x-goog-api-key"].ToString());
        if (!authenticator.TryResolveCached(presented, out var caller))
        {
            if (failures.IsBlocked(http, out var retryAfter)) return TooManyFailures(http, retryAfter);
            caller = await authenticator.AuthenticateAsync(presented, http.RequestAborted);
        }
        if (caller is null)
        {
            if (!failures.TryRecordFailure(http, out var wait)) return TooManyFailures(http, wait);
            return TypedResults.Problem(statusCode: 401, title: "Invalid API key",
                detail: "Send your gateway key as 'Authorization: Bearer <key>'.");
        }
        http.SetCallerAccount(caller);
        return await next(context);
    }

    private static IResult TooManyFailures(HttpContext http, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: 429, title: "Too many failed authentications",
            detail: $"Too many failed authentications from this address. Retry after {seconds} s.");
    }
}
