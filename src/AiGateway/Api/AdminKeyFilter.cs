using System.Security.Cryptography;
using System.Text;
using AiGateway.Hosting;
using Microsoft.Extensions.Options;

namespace AiGateway.Api;

/// <summary>Admits admin requests carrying <c>Authorization: Bearer {Gateway:AdminKey}</c>; with no admin key configured, admits nobody.</summary>
public sealed class AdminKeyFilter(IOptionsMonitor<GatewayOptions> options) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var configured = options.CurrentValue.AdminKey;
        if (string.IsNullOrEmpty(configured))
        {
            return TypedResults.Problem(statusCode: 401, title: "Admin API disabled",
                detail: "Set Gateway:AdminKey (environment variable Gateway__AdminKey) to enable the admin API.");
        }
        var presented = Providers.ProviderCredentials.Bearer(context.HttpContext.Request.Headers.Authorization) ?? "";
        // Compare hashes so the comparison time depends on neither key's length nor content.
        var ok = CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(configured)));
        if (!ok)
        {
            return TypedResults.Problem(statusCode: 401, title: "Invalid admin key");
        }
        return await next(context);
    }
}
