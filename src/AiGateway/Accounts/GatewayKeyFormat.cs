using System.Security.Cryptography;
using System.Text;

namespace AiGateway.Accounts;

/// <summary>Creates gateway keys and computes their stored form (hash and visible prefix).</summary>
public static class GatewayKeyFormat
{
    /// <summary>Every gateway key starts with this marker so leaked keys are recognisable.</summary>
    public const string Marker = "agw_";

    private const int RandomChars = 40;
    private const int PrefixLength = 12;
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>Creates a new random key (≈238 bits of entropy).</summary>
    public static string NewKey() => Marker + RandomNumberGenerator.GetString(Alphabet, RandomChars);

    /// <summary>The short, non-secret prefix shown in logs and UIs.</summary>
    public static string PrefixOf(string key) => key.Length <= PrefixLength ? key : key[..PrefixLength];

    /// <summary>Lower-case hex SHA-256 of the key; keys are long random strings, so a fast hash is enough.</summary>
    public static string HashOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Whether the text has the shape of a gateway key (cheap rejection before any lookup).</summary>
    public static bool LooksLikeKey(string? key) =>
        key is not null && key.Length == Marker.Length + RandomChars && key.StartsWith(Marker, StringComparison.Ordinal);
}
