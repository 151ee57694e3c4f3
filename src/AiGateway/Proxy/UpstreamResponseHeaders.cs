using System.Net.Http.Headers;

namespace AiGateway.Proxy;

/// <summary>
/// The upstream response headers a client may see. Everything else stays at the gateway: providers describe the
/// operator's account in their headers (<c>openai-organization</c>, <c>openai-project</c>, <c>anthropic-organization-id</c>,
/// the operator's rate limits in <c>x-ratelimit-*</c> / <c>anthropic-ratelimit-*</c>), set cookies for their own edge,
/// and test doubles add their own (<c>Matched-Stub-Id</c>). An allowlist keeps new ones out by default.
/// </summary>
public static class UpstreamResponseHeaders
{
    /// <summary>
    /// Headers that describe the body or tell an SDK how to behave: content description and caching (file and video
    /// downloads need them), redirects, and the retry hints SDKs honour (<c>retry-after</c>, <c>retry-after-ms</c>,
    /// <c>x-should-retry</c>). Provider request ids are not passed: the gateway's <c>X-Request-Id</c> names the call.
    /// </summary>
    public static readonly IReadOnlySet<string> Allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Type", "Content-Length", "Content-Encoding", "Content-Disposition", "Content-Language", "Content-Range",
        "Accept-Ranges", "Cache-Control", "ETag", "Last-Modified", "Expires", "Vary", "Location",
        "Retry-After", "retry-after-ms", "x-should-retry",
    };

    /// <summary>Copies the allowed headers of <paramref name="upstream"/> (message and content headers) to <paramref name="response"/>.</summary>
    public static void CopyAllowed(HttpResponseMessage upstream, HttpResponse response)
    {
        Copy(upstream.Headers, response);
        Copy(upstream.Content.Headers, response);
    }

    private static void Copy(HttpHeaders headers, HttpResponse response)
    {
        foreach (var (name, values) in headers.NonValidated)
        {
            if (!Allowed.Contains(name)) continue;
            var copy = new string[values.Count];
            var i = 0;
            foreach (var value in values) copy[i++] = value;
            response.Headers[name] = copy;
        }
    }
}
