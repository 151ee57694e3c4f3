using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AiGateway.Packs;

/// <summary>Why a <c>Stripe-Signature</c> header was accepted or refused.</summary>
public enum StripeSignatureStatus
{
    /// <summary>One <c>v1</c> signature matches and the timestamp is within tolerance.</summary>
    Valid,
    /// <summary>No header.</summary>
    Missing,
    /// <summary>No parsable <c>t=</c> or no <c>v1=</c> entry.</summary>
    Malformed,
    /// <summary>No <c>v1</c> entry matches the body signed with the secret.</summary>
    Mismatch,
    /// <summary>The signature matches but the timestamp is outside the tolerance (a replay or a badly wrong clock).</summary>
    Stale,
}

/// <summary>
/// Stripe's documented webhook signature scheme: the header is <c>t=&lt;unix seconds&gt;,v1=&lt;hex&gt;[,v1=…][,v0=…]</c>;
/// each <c>v1</c> is HMAC-SHA256, keyed with the endpoint secret's UTF-8 bytes, of <c>"{t}." + raw body</c>. Several
/// <c>v1</c> entries appear while a secret is being rolled; any match is enough. <c>v0</c> (test-mode legacy) is ignored.
/// </summary>
public static class StripeSignature
{
    /// <summary>Checks <paramref name="header"/> against the exact bytes received.</summary>
    public static StripeSignatureStatus Verify(string? header, ReadOnlySpan<byte> rawBody, string secret, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (string.IsNullOrWhiteSpace(header)) return StripeSignatureStatus.Missing;
        long? timestamp = null;
        var signatures = new List<byte[]>();
        foreach (var part in header.Split(','))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) continue;
            var key = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (key == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t)) timestamp = t;
            // A v1 is 32 bytes as 64 hex digits; anything else cannot match and is skipped.
            else if (key == "v1" && value.Length == 64 && TryHex(value, out var bytes)) signatures.Add(bytes);
        }
        if (timestamp is not { } ts || signatures.Count == 0) return StripeSignatureStatus.Malformed;

        var expected = Compute(ts, rawBody, secret);
        var match = false;
        // Compare every entry in constant time, and do not stop at the first match: timing reveals nothing about the secret.
        foreach (var candidate in signatures) match |= CryptographicOperations.FixedTimeEquals(candidate, expected);
        if (!match) return StripeSignatureStatus.Mismatch;

        // Checked after the signature so the (signed) timestamp is trusted; both directions, so a future-dated header cannot be stockpiled.
        var age = now.ToUnixTimeSeconds() - ts;
        return age > tolerance.TotalSeconds || -age > tolerance.TotalSeconds ? StripeSignatureStatus.Stale : StripeSignatureStatus.Valid;
    }

    /// <summary>The raw <c>v1</c> HMAC-SHA256 of <c>"{timestamp}." + body</c> with <paramref name="secret"/>.</summary>
    public static byte[] Compute(long timestamp, ReadOnlySpan<byte> rawBody, string secret)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var payload = new byte[prefix.Length + rawBody.Length];
        prefix.CopyTo(payload, 0);
        rawBody.CopyTo(payload.AsSpan(prefix.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload);
    }

    private static bool TryHex(string hex, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
