using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AiGateway.Ledger;

/// <summary>
/// A short hash of a request's parameters, stored beside its idempotency key: a repeat with the same parameters is the
/// same request (answered with the original), a reuse with different ones is a client error (409), as payment APIs do.
/// </summary>
public static class IdempotencyFingerprint
{
    /// <summary>Lower-case hex SHA-256 of the parts, each length-prefixed so no two lists of parts hash alike.</summary>
    public static string Of(params object?[] parts)
    {
        var text = new StringBuilder();
        foreach (var part in parts)
        {
            var value = part switch
            {
                null => "\0",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => part.ToString() ?? "",
            };
            text.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append('|');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
