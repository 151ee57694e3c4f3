using System.Net.Http.Headers;

namespace AiGateway.Proxy;

/// <summary>
/// Removes the headers a client names in its <c>Connection</c> header from the upstream request: they are hop-by-hop
/// by declaration (RFC 9110 §7.6.1), and YARP drops only the fixed hop-by-hop set.
/// </summary>
public static class ConnectionHeaders
{
    /// <summary>Drops every request header nominated by the incoming <c>Connection</c> header from <paramref name="upstream"/>.</summary>
    public static void RemoveNominated(HttpRequest incoming, HttpRequestHeaders upstream)
    {
        foreach (var value in incoming.Headers.Connection)
        {
            if (string.IsNullOrEmpty(value)) continue;
            foreach (var token in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                // Options such as keep-alive/close are not header names worth keeping upstream either; Remove ignores unknown names.
                upstream.Remove(token);
            }
        }
    }
}
