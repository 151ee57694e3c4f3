using AiGateway.Accounts;
using AiGateway.Providers;

namespace AiGateway.Api;

/// <summary>Authenticates the user API with a gateway key (<c>Authorization: Bearer</c>, <c>x-api-key</c> or <c>x-goog-api-key</c>).</summary>
public sealed class GatewayKeyFilter(GatewayKeyAuthenticator authenticator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var headers = http.Request.Headers;
        var presented = ProviderCredentials.Bearer(headers.Authorization)
                        ?? (headers["x-api-key"].ToString() is { Length: > 0 } apiKey ? apiKey : headers["x-goog-api-key"].ToString());
        var caller = await authenticator.AuthenticateAsync(presented, http.RequestAborted);
        if (caller is null)
        {
            return TypedResults.Problem(statusCode: 401, title: "Invalid API key",
                detail: "Send your gateway key as 'Authorization: Bearer <key>'.");
        }
        http.SetCallerAccount(caller);
        return await next(context);
    }
}
