using AiGateway.Providers;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace AiGateway.Proxy;

/// <summary>
/// For provider routes: swaps the client's gateway key for the provider's real key (also removing gateway keys from the
/// query), drops client-sent <c>X-Credits-*</c> and <c>X-Gateway-*</c> headers, passes only allowlisted upstream
/// response headers (<see cref="UpstreamResponseHeaders"/>), and turns an upstream 401/403 into a gateway error.
/// </summary>
public sealed class ProviderTransformProvider(IConfiguration configuration, ILogger<ProviderTransformProvider> logger) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (GatewayRoute.FormatOf(context.Route) is not { } format) return;
        var variable = GatewayRoute.ApiKeyVariableOf(context.Cluster);
        // Read once per configuration load: the key is configuration, not per-request state.
        var providerKey = variable is null ? null : configuration[variable];
        if (variable is not null && string.IsNullOrEmpty(providerKey))
        {
            ProxyLog.ProviderKeyMissing(logger, variable, context.Cluster?.ClusterId);
        }

        context.AddRequestTransform(transform =>
        {
            ConnectionHeaders.RemoveNominated(transform.HttpContext.Request, transform.ProxyRequest.Headers);
            ProviderCredentials.RemoveClientKeys(transform.ProxyRequest);
            ProviderCredentials.RemoveClientKeys(transform.Query.Collection);
            RemoveGatewayHeaders(transform.ProxyRequest.Headers);
            if (transform.HttpContext.Features.Get<Metering.MeteredCall>() is not null)
            {
                // The gateway reads metered responses, so ask for them uncompressed.
                transform.ProxyRequest.Headers.AcceptEncoding.Clear();
            }
            if (!string.IsNullOrEmpty(providerKey)) ProviderCredentials.ApplyProviderKey(transform.ProxyRequest, format, providerKey);
            return ValueTask.CompletedTask;
        });

        // Upstream headers are copied by the allowlist below instead of YARP's copy-all (which would also mix the
        // provider's x-request-id into the gateway's X-Request-Id, the call record's id).
        context.CopyResponseHeaders = false;
        context.CopyResponseTrailers = false;
        var cluster = context.Cluster?.ClusterId;
        context.AddResponseTransform(async transform =>
        {
            if (transform.ProxyResponse is not { } upstream) return;
            UpstreamResponseHeaders.CopyAllowed(upstream, transform.HttpContext.Response);
            // Metered calls are answered by the ResponseMeter, which also releases their hold first.
            if (UpstreamCredentialRefusal.Is((int)upstream.StatusCode) && transform.HttpContext.Features.Get<Metering.MeteredCall>() is null)
            {
                transform.SuppressResponseBody = true;
                await UpstreamCredentialRefusal.WriteAsync(transform.HttpContext, format, (int)upstream.StatusCode, cluster, logger);
            }
        });
    }

    private static void RemoveGatewayHeaders(System.Net.Http.Headers.HttpRequestHeaders headers)
    {
        // Credit headers are the gateway's to set, and X-Gateway-* tags are for the gateway only.
        foreach (var name in headers.Select(h => h.Key)
                     .Where(n => IsCreditHeader(n) || n.StartsWith("X-Gateway-", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            headers.Remove(name);
        }
    }

    private static bool IsCreditHeader(string name) => name.StartsWith("X-Credits-", StringComparison.OrdinalIgnoreCase);
}
