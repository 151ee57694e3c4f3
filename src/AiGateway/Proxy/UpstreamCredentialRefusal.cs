using AiGateway.Providers;

namespace AiGateway.Proxy;

/// <summary>
/// An upstream 401/403 means the provider refused the gateway's own key (the client's key was checked by the gateway):
/// that is the operator's problem, and the provider's message quotes a masked part of the operator's key. So the client
/// gets a gateway error in its provider's shape instead of the provider's body, and the operator gets a log line.
/// </summary>
public static class UpstreamCredentialRefusal
{
    /// <summary>Whether an upstream status is a refusal of the gateway's credentials.</summary>
    public static bool Is(int upstreamStatus) => upstreamStatus is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden;

    /// <summary>Replaces the upstream answer with a 502 gateway error (the upstream body must be suppressed by the caller).</summary>
    public static async Task WriteAsync(HttpContext context, ProviderFormat format, int upstreamStatus, string? cluster, ILogger logger)
    {
        // Only the status is logged: the provider's body holds key fragments too.
        ProxyLog.CredentialsRefused(logger, context.TraceIdentifier, cluster ?? "-", upstreamStatus);
        var response = context.Response;
        // Headers copied from the upstream answer describe its body, which is not sent.
        response.Headers.ContentLength = null;
        response.Headers.ContentEncoding = default;
        response.Headers.ContentDisposition = default;
        response.Headers.RetryAfter = default;
        // SDKs retry a 502 by default; this one will not heal by retrying, and the OpenAI and Anthropic SDKs honour this hint.
        response.Headers["x-should-retry"] = "false";
        await ProviderErrorWriter.WriteAsync(context, format, new GatewayError(GatewayErrorKind.BadGateway,
            "The AI provider refused the gateway's credentials; the gateway's operator has to fix its provider key. The call was not charged.",
            Code: "upstream_credentials_refused"));
    }
}
