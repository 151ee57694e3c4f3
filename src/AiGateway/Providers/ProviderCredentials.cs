using Microsoft.Extensions.Primitives;

namespace AiGateway.Providers;

/// <summary>Where each provider's SDK sends its API key: read the client's gateway key there, and put the real provider key there.</summary>
public static class ProviderCredentials
{
    /// <summary>The gateway key a client presented in its SDK's native place, or null.</summary>
    public static string? ReadClientKey(HttpRequest request, ProviderFormat format) => ProviderDialects.For(format).ReadClientKey(request);

    /// <summary>Removes every place a client may have put a key, so the gateway key never reaches the provider.</summary>
    public static void RemoveClientKeys(HttpRequestMessage proxyRequest)
    {
        proxyRequest.Headers.Authorization = null;
        // Every dialect's key headers, not just the route's: a key sent in another SDK's place must not leak either.
        foreach (var header in ProviderDialects.KeyHeaders) proxyRequest.Headers.Remove(header);
    }

    /// <summary>
    /// Removes gateway keys from the upstream query: the <c>key</c> parameter (Gemini's SDK puts its key there, and on
    /// other routes it can only be a misplaced key) and any parameter whose value carries a gateway key's marker.
    /// </summary>
    public static void RemoveClientKeys(IDictionary<string, StringValues> query)
    {
        query.Remove("key");
        foreach (var name in query.Where(p => p.Value.Any(v => v?.Contains(Accounts.GatewayKeyFormat.Marker, StringComparison.Ordinal) == true))
                     .Select(p => p.Key).ToList())
        {
            query.Remove(name);
        }
    }

    /// <summary>Puts the provider's real key where its API expects it.</summary>
    public static void ApplyProviderKey(HttpRequestMessage proxyRequest, ProviderFormat format, string providerKey) =>
        ProviderDialects.For(format).ApplyProviderKey(proxyRequest, providerKey);

    /// <summary>The token of an <c>Authorization: Bearer</c> header, or null.</summary>
    public static string? Bearer(StringValues header)
    {
        var value = header.ToString();
        return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? NullIfEmpty(value[7..].Trim()) : null;
    }

    /// <summary>The trimmed header or query value, or null when empty.</summary>
    internal static string? FirstNonEmpty(StringValues values) => NullIfEmpty(values.ToString().Trim());

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
