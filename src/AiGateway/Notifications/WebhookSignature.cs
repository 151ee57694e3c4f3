using System.Security.Cryptography;
using System.Text;

namespace AiGateway.Notifications;

/// <summary>
/// Standard Webhooks signing (standardwebhooks.com): the signed content is <c>{webhook-id}.{webhook-timestamp}.{body}</c>,
/// signed with HMAC-SHA256 keyed by the bytes of the secret (the base64 after <c>whsec_</c>), sent as
/// <c>webhook-signature: v1,{base64 signature}</c>.
/// </summary>
public static class WebhookSignature
{
    /// <summary>The prefix of a Standard Webhooks symmetric secret.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>Decodes a <c>whsec_…</c> secret into its key bytes (24–64 bytes); false when malformed.</summary>
    public static bool TryReadSecret(string? secret, out byte[] key)
    {
        key = [];
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal)) return false;
        try
        {
            key = Convert.FromBase64String(secret[SecretPrefix.Length..]);
        }
        catch (FormatException)
        {
            return false;
        }
        return key.Length is >= 24 and <= 64;
    }

    /// <summary>The <c>webhook-signature</c> header value for a message: <c>v1,</c> + base64 HMAC-SHA256.</summary>
    public static string Sign(byte[] key, string messageId, long timestamp, string body)
    {
        var content = Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.{body}");
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }
}
